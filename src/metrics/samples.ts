/**
 * From Sample records (one line per candidate) to {@link ProblemSamples} (one entry per problem):
 * grouping, index checks, optional re-grading, and joining with problem metadata.
 */
import { inputError, MathtuneError, ErrorCode } from "../errors.js";
import { readJsonlRaw, parseRecord } from "../util/jsonl.js";
import { ProblemSchema, SampleSchema, type Problem, type Sample } from "../data/records.js";
import type { ProblemSamples } from "./compute.js";

/** A sample with the line it came from. */
export interface LocatedSample {
  sample: Sample;
  file: string;
  line: number;
}

/** Reads and validates a samples file, keeping line numbers for later errors. */
export function readSamples(file: string): LocatedSample[] {
  return readJsonlRaw(file).map(({ line, value }) => ({ sample: parseRecord(SampleSchema, value, file, line), file, line }));
}

/** Reads a problems file into a map by id (ids must be unique). */
export function readProblemsById(file: string): Map<string, Problem> {
  const out = new Map<string, Problem>();
  for (const { line, value } of readJsonlRaw(file)) {
    const p = parseRecord(ProblemSchema, value, file, line);
    if (out.has(p.id)) throw inputError(file, line, `field id: "${p.id}" appears twice`);
    out.set(p.id, p);
  }
  return out;
}

/** What the grader must provide to re-grade samples. */
export interface Regrader {
  /** The final answer of a solution text, or null. */
  extract(text: string): string | null;
  /** Whether `pred` is a correct answer for `gold`. */
  verify(gold: string, pred: string): boolean;
  /**
   * Extracts and verifies in one step, when the grader reads a solution by what the gold calls for
   * (so that re-grading agrees with `mathtune grade`); used instead of extract + verify when given.
   */
  grade?(gold: string, text: string): { answer: string | null; correct: boolean };
}

/** Options of {@link groupSamples}. */
export interface GroupOptions {
  /** Problems by id: gold answers for re-grading, level and subject for breakdowns. */
  problems?: ReadonlyMap<string, Problem>;
  /**
   * Re-grade with this grader; when absent, the samples' own `extracted` and `correct` fields are
   * trusted (and required).
   */
  regrade?: Regrader;
  /** When re-grading, keep the samples' `extracted` field (if present) instead of re-extracting. */
  keepExtracted?: boolean;
  /**
   * Accept problems that have a greedy sample and no sampled candidates (a recipe that samples N
   * only on the first test problems): they are left out of `problems` and listed in `greedyOnly`.
   * Without it such a problem is an input error.
   */
  allowGreedyOnly?: boolean;
}

/** The problems of a samples file, with the number of samples re-graded. */
export interface Grouped {
  problems: ProblemSamples[];
  /** Samples with an evaluator score / without one (greedy samples excluded). */
  scored: number;
  unscored: number;
  /** The first sample without a score, for error messages. */
  firstUnscored?: LocatedSample;
  /** With `allowGreedyOnly`: problems with only a greedy sample, and whether it is correct. */
  greedyOnly: Array<{ id: string; correct: boolean; level?: number; subject?: string }>;
}

/**
 * Groups samples by problem (in order of first appearance). Non-greedy sample indices of a problem
 * must be exactly 0..N-1; a problem may have one greedy sample besides.
 */
export function groupSamples(samples: readonly LocatedSample[], options: GroupOptions = {}): Grouped {
  const byId = new Map<string, { main: LocatedSample[]; greedy?: LocatedSample }>();
  for (const ls of samples) {
    const id = ls.sample.problem_id;
    let g = byId.get(id);
    if (!g) byId.set(id, (g = { main: [] }));
    if (ls.sample.greedy) {
      if (g.greedy) {
        throw inputError(ls.file, ls.line, `field greedy: second greedy sample for problem "${id}" (first on line ${g.greedy.line})`);
      }
      g.greedy = ls;
    } else {
      g.main.push(ls);
    }
  }

  let scored = 0;
  let unscored = 0;
  let firstUnscored: LocatedSample | undefined;
  const problems: ProblemSamples[] = [];
  const greedyOnly: Grouped["greedyOnly"] = [];
  for (const [id, g] of byId) {
    if (g.main.length === 0 && !options.allowGreedyOnly) {
      const at = g.greedy as LocatedSample;
      throw inputError(at.file, at.line, `problem "${id}" has a greedy sample but no sampled candidates`);
    }
    const n = g.main.length;
    const slots: Array<LocatedSample | undefined> = new Array(n);
    for (const ls of g.main) {
      const k = ls.sample.sample;
      if (k >= n) {
        throw inputError(ls.file, ls.line, `field sample: index ${k} but problem "${id}" has ${n} samples`, "indices must be 0..N-1");
      }
      const prev = slots[k];
      if (prev) throw inputError(ls.file, ls.line, `field sample: index ${k} of problem "${id}" repeats line ${prev.line}`);
      slots[k] = ls;
    }
    const ordered = slots as LocatedSample[];
    const meta = options.problems?.get(id);
    if (options.problems && !meta && options.regrade) {
      const at = ordered[0];
      throw inputError(at.file, at.line, `field problem_id: "${id}" is not in the problems file`, "pass the problems the samples were drawn from with --problems");
    }
    const grade = (ls: LocatedSample): { answer: string | null; correct: boolean } => {
      const s = ls.sample;
      if (options.regrade) {
        if (!meta) {
          throw inputError(ls.file, ls.line, `cannot re-grade problem "${id}": no gold answer`, "pass --problems PROBLEMS.jsonl, or --correct-from-file to trust the samples' own grades");
        }
        const keep = options.keepExtracted && s.extracted !== undefined;
        if (!keep && options.regrade.grade) return options.regrade.grade(meta.answer, s.text);
        const answer = keep ? (s.extracted as string | null) : options.regrade.extract(s.text);
        return { answer, correct: answer !== null && answer.trim() !== "" && options.regrade.verify(meta.answer, answer) };
      }
      if (s.correct === undefined) {
        throw inputError(ls.file, ls.line, "field correct: missing", "grade the samples first, or re-grade here with --problems (without --correct-from-file)");
      }
      if (s.extracted === undefined) {
        throw inputError(ls.file, ls.line, "field extracted: missing", "grade the samples first, or re-grade here with --problems (without --correct-from-file)");
      }
      return { answer: s.extracted, correct: s.correct };
    };

    if (g.main.length === 0) {
      const only: Grouped["greedyOnly"][number] = { id, correct: grade(g.greedy as LocatedSample).correct };
      if (meta?.level !== undefined) only.level = meta.level;
      if (meta?.subject !== undefined) only.subject = meta.subject;
      greedyOnly.push(only);
      continue;
    }
    const answers: Array<string | null> = [];
    const correct: boolean[] = [];
    const scores: Array<number | undefined> = [];
    for (const ls of ordered) {
      const r = grade(ls);
      answers.push(r.answer);
      correct.push(r.correct);
      scores.push(ls.sample.score);
      if (ls.sample.score === undefined) {
        unscored++;
        firstUnscored ??= ls;
      } else {
        scored++;
      }
    }
    const ps: ProblemSamples = { id, answers, correct, scores };
    if (g.greedy) ps.greedyCorrect = grade(g.greedy).correct;
    if (meta?.level !== undefined) ps.level = meta.level;
    if (meta?.subject !== undefined) ps.subject = meta.subject;
    problems.push(ps);
  }
  if (problems.length === 0) {
    throw new MathtuneError(ErrorCode.input, "the samples file has no samples", { hint: "check the path" });
  }
  const out: Grouped = { problems, scored, unscored, greedyOnly };
  if (firstUnscored) out.firstUnscored = firstUnscored;
  return out;
}
