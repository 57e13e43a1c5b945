/**
 * Choosing the CPU thread count of training while it runs.
 *
 * ggml's CPU threads meet at a spin barrier after every graph node. On a quiet machine one thread
 * per core is fastest (about 1.45x one thread fewer on a 2-core machine). When another process
 * takes a core, a thread that loses its core stalls the others at every barrier and a step runs
 * several times slower (5-7x measured on a 2-core machine), while one thread fewer than the cores
 * keeps its speed. Thread count does not change the numbers a step computes, so the count can
 * change between steps without changing the run.
 *
 * {@link ThreadGovernor} starts on the safe count (`low`), tries the fast one (`high`) now and
 * then, keeps it while it is faster, and drops back as soon as a step at `high` runs slow. After a
 * failed try it waits twice as long before the next (up to `maxInterval` steps), so on a machine
 * that stays busy the cost of trying shrinks to a step in hundreds.
 */
import { ErrorCode, MathtuneError } from "../errors.js";

/** Options of {@link ThreadGovernor}. */
export interface ThreadGovernorOptions {
  /** The safe thread count (cores - 1 on a multi-core machine). */
  low: number;
  /** The fast thread count on a quiet machine (the core count). */
  high: number;
  /** Steps between tries of the other count at first. Defaults to 16. */
  interval?: number;
  /** Longest wait between tries. Defaults to 256. */
  maxInterval?: number;
  /** A step at `high` slower than this factor times the best recent `high` step drops to `low`. Defaults to 1.5. */
  slowdown?: number;
  /** `high` is kept only when at least this much faster than `low` (a ratio). Defaults to 1.05. */
  minGain?: number;
}

/** Decides the thread count of each training step from the durations of the steps before. */
export class ThreadGovernor {
  private readonly low: number;
  private readonly high: number;
  private readonly baseInterval: number;
  private readonly maxInterval: number;
  private readonly slowdown: number;
  private readonly minGain: number;
  /** The count the next step runs with. */
  current: number;
  /** The count chosen between tries (current differs from it during a try). */
  private settled: number;
  private interval: number;
  private sinceTry = 0;
  private trying = false;
  /** Latest step time at each count, and the best recent one at `high`. */
  private last = new Map<number, number>();
  private bestHigh = Infinity;
  private seen = 0;

  constructor(o: ThreadGovernorOptions) {
    for (const [k, v] of [["low", o.low], ["high", o.high]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new MathtuneError(ErrorCode.usage, `thread governor: ${k} must be a positive integer (got ${v})`);
    }
    if (o.high < o.low) throw new MathtuneError(ErrorCode.usage, `thread governor: high (${o.high}) < low (${o.low})`);
    this.low = o.low;
    this.high = o.high;
    this.baseInterval = o.interval ?? 16;
    this.maxInterval = o.maxInterval ?? 256;
    this.slowdown = o.slowdown ?? 1.5;
    this.minGain = o.minGain ?? 1.05;
    this.interval = this.baseInterval;
    this.current = o.low;
    this.settled = o.low;
    // The first try comes after two timed steps at `low`.
    this.sinceTry = this.interval - 2;
  }

  /** Whether the governor can change anything (low and high differ). */
  get adaptive(): boolean {
    return this.low !== this.high;
  }

  /**
   * Records that the step just run with {@link current} threads took `ms` milliseconds and returns
   * the thread count of the next step (also left in {@link current}).
   */
  record(ms: number): number {
    if (!this.adaptive || !(ms > 0)) return this.current;
    const n = this.current;
    this.seen++;
    // The first step pays one-time costs (first touch of the buffers): it says nothing of threads.
    if (this.seen === 1) return this.current;
    this.last.set(n, ms);
    if (n === this.high) {
      if (ms < this.bestHigh) this.bestHigh = ms;
      // Stale after a long busy spell: let the best decay towards recent steps.
      else this.bestHigh = Math.min(ms, this.bestHigh * 1.02);
    }
    if (this.trying) {
      this.trying = false;
      this.decide();
    } else if (n === this.high && ms > this.slowdown * this.bestHigh) {
      // Another process took a core: fall back at once and wait longer before the next try.
      this.settled = this.low;
      this.interval = Math.min(this.maxInterval, this.interval * 2);
      this.sinceTry = 0;
    } else if (++this.sinceTry >= this.interval) {
      this.sinceTry = 0;
      this.trying = true;
      this.current = this.settled === this.low ? this.high : this.low;
      return this.current;
    }
    this.current = this.settled;
    return this.current;
  }

  /** After a try: keep `high` only if its latest step beat `low`'s by minGain. */
  private decide(): void {
    const lo = this.last.get(this.low);
    const hi = this.last.get(this.high);
    if (lo === undefined || hi === undefined) return;
    const highWins = hi * this.minGain <= lo;
    if (highWins) {
      // Newly fast: try low again soon; fast again: try it ever more rarely.
      this.interval = this.settled === this.low ? this.baseInterval : Math.min(this.maxInterval, this.interval * 2);
      this.settled = this.high;
    } else {
      if (this.settled === this.low) this.interval = Math.min(this.maxInterval, this.interval * 2);
      this.settled = this.low;
    }
  }
}

/** The governor for a "threads: auto" training on a machine with `cores` cores: between cores - 1 and cores. */
export function autoThreadGovernor(cores: number): ThreadGovernor {
  const high = Math.max(1, cores);
  return new ThreadGovernor({ low: Math.max(1, high - 1), high });
}
