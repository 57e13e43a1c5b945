/**
 * Bounds on the grader's work. Every synchronous entry point is bounded by construction: inputs are
 * capped in length, the parser caps nesting depth, exact arithmetic caps the size of its integers,
 * and a step budget with a wall-clock deadline is checked inside every loop that can grow.
 */

/** Longest answer string the parser looks at; longer answers are compared as strings only. */
export const MAX_ANSWER_CHARS = 4000;
/** Longest solution text the extractor scans; answers live at the end, so the tail is kept. */
export const MAX_TEXT_CHARS = 200_000;
/** Deepest bracket / operator nesting the parser accepts. */
export const MAX_DEPTH = 120;
/** Largest exact integer (in bits) that exact arithmetic builds before falling back to floats. */
export const MAX_EXACT_BITS = 4096;
/** Default wall-clock bound of one synchronous call, in milliseconds. */
export const DEFAULT_DEADLINE_MS = 250;
/** Default step bound of one synchronous call (parser tokens + evaluation nodes + comparisons). */
export const DEFAULT_MAX_STEPS = 2_000_000;

/** Thrown inside the grader when a budget runs out; never escapes the public API. */
export class BudgetExceeded extends Error {
  constructor() {
    super("grader budget exceeded");
  }
}

/** Thrown inside the grader when an answer cannot be parsed; never escapes the public API. */
export class Unparsable extends Error {
  constructor(why: string) {
    super(why);
  }
}

/** A step counter with a deadline; `tick` is cheap and checks the clock only every 1024 steps. */
export class Budget {
  private steps = 0;
  private readonly deadline: number;

  constructor(
    readonly maxSteps: number = DEFAULT_MAX_STEPS,
    deadlineMs: number = DEFAULT_DEADLINE_MS,
  ) {
    this.deadline = performance.now() + deadlineMs;
  }

  tick(n = 1): void {
    this.steps += n;
    if (this.steps > this.maxSteps) throw new BudgetExceeded();
    if ((this.steps & 1023) < n && performance.now() > this.deadline) throw new BudgetExceeded();
  }
}
