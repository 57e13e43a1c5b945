/**
 * A pool of worker threads for bulk grading with hard termination: a worker that overruns its
 * per-job time limit is terminated and replaced, and that job's verdict is reason "timeout". The
 * synchronous API is already bounded by its own budget; the pool is the second line of defence
 * (and the way to grade on several cores).
 *
 * A timeout is a grade (the answer is too costly to compare). A worker that crashes, or cannot
 * start, is not: the job is retried once on a fresh worker, and a job that fails again is rejected
 * with a MathtuneError (code E_GRADER), as are the jobs still pending when the pool is closed.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ErrorCode, MathtuneError } from "../errors.js";
import { extractAnswer } from "./extract.js";
import type { GradeResult, VerifyOptions, VerifyResult } from "./verify.js";

/** One grading job. */
export interface GradeJob {
  gold: string;
  /** A bare answer, or a full solution when `solution` is true. */
  pred: string;
  /** Extract the final answer from `pred` first (gradeSolution). Defaults to true. */
  solution?: boolean;
  /** Where the job comes from (`file:line`, a sample id), for error messages. Defaults to its position. */
  where?: string;
}

/** Options of {@link createGraderPool}. */
export interface GraderPoolOptions {
  /** Worker threads. Defaults to min(4, available parallelism). */
  workers?: number;
  /** Hard per-job limit in milliseconds; an overrunning worker is terminated. Defaults to 2000. */
  timeoutMs?: number;
  /** Options passed to each synchronous call inside the workers. Defaults to {}. */
  verifyOptions?: VerifyOptions;
}

/**
 * A running pool; call close() when done. Its promises resolve to grades, or reject with a
 * MathtuneError (code E_GRADER) when a job could not be graded (its worker crashed twice, workers
 * cannot start, or the pool was closed first).
 */
export interface GraderPool {
  verify(gold: string, pred: string): Promise<VerifyResult>;
  gradeSolution(gold: string, solution: string): Promise<GradeResult>;
  /** Grades many jobs; results in input order. `onProgress(done, total)` after each job. */
  gradeMany(jobs: readonly GradeJob[], onProgress?: (done: number, total: number) => void): Promise<GradeResult[]>;
  /** Stops the workers; jobs not graded yet are rejected. */
  close(): Promise<void>;
}

interface Pending {
  id: number;
  job: GradeJob;
  /** Workers that died while holding this job. */
  crashes: number;
  resolve: (r: GradeResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: Pending | null;
  /** A job whose worker crashed, kept for this fresh worker. */
  retry: Pending | null;
  /** This worker replaces one that could not start: if it cannot start either, the pool gives up. */
  restarted: boolean;
  timer: NodeJS.Timeout | null;
}

const HINT_CRASH =
  "a crash is not a wrong answer, so nothing was graded or written: rerun, and if the same job fails again, report its gold and pred (they crash the grader)";
const HINT_START = "the grading workers could not load: reinstall (npm ci) or rebuild (npm run build), then rerun";

function startWorker(): Worker {
  // Installed, the sources are compiled .js files. Under tsx (tests, development) they are .ts
  // files, and a worker thread needs the tsx loader registered explicitly.
  const self = import.meta.url;
  // A parent run under `node --test` must not make each worker a test runner too.
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
  if (!self.endsWith(".ts")) return new Worker(new URL("./worker.js", self), { execArgv });
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./worker.ts", self).href);
  return new Worker(`import(${api}).then((m) => { m.register(); return import(${entry}); })`, { eval: true, execArgv });
}

/** Starts a grader pool. */
export function createGraderPool(options: GraderPoolOptions = {}): GraderPool {
  // Invalid numbers (NaN, negative, Infinity) fall back to the defaults: they must not switch the
  // hard time limit off or start no worker at all.
  const positive = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;
  const size = positive(options.workers) ? Math.max(1, Math.floor(options.workers)) : Math.min(4, availableParallelism());
  const timeoutMs = positive(options.timeoutMs) ? options.timeoutMs : 2000;
  const verifyOptions = options.verifyOptions ?? {};
  const queue: Pending[] = [];
  const slots: Slot[] = [];
  let nextId = 0;
  let closed = false;
  let keepAlive: NodeJS.Timeout | null = null;
  const holdWhileBusy = (): void => {
    const busy = !closed && (queue.length > 0 || slots.some((x) => x.busy !== null || x.retry !== null));
    if (busy && keepAlive === null) keepAlive = setInterval(() => undefined, 1 << 30);
    if (!busy && keepAlive !== null) {
      clearInterval(keepAlive);
      keepAlive = null;
    }
  };
  const label = (p: Pending): string => p.job.where ?? `job ${p.id + 1}`;

  /** Stops every worker and rejects every job not graded yet. */
  const shutDown = (why: (p: Pending) => MathtuneError): Promise<unknown> => {
    closed = true;
    const left: Pending[] = [];
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      if (s.busy) left.push(s.busy);
      if (s.retry) left.push(s.retry);
      s.busy = s.retry = null;
    }
    left.push(...queue.splice(0));
    left.sort((a, b) => a.id - b.id);
    for (const p of left) p.reject(why(p));
    holdWhileBusy();
    return Promise.all(slots.map((s) => s.worker.terminate()));
  };

  const spawn = (restarted: boolean, retry: Pending | null): Slot => {
    const slot: Slot = { worker: startWorker(), ready: false, busy: null, retry, restarted, timer: null };
    slot.worker.on("message", (m: (GradeResult & { id: number }) | { ready: true }) => {
      if ("ready" in m) {
        slot.ready = true;
        pump();
        return;
      }
      const p = slot.busy;
      if (!p || p.id !== m.id) return;
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.busy = null;
      p.resolve({ correct: m.correct, reason: m.reason, extracted: m.extracted });
      pump();
    });
    let cause: string | null = null;
    const failed = (): void => {
      // Exits of workers we terminated ourselves (timeouts, close) are not failures.
      if (closed || !slots.includes(slot)) return;
      const why = cause ?? "the worker stopped";
      if (!slot.ready) {
        if (slot.restarted) {
          void shutDown((p) => new MathtuneError(ErrorCode.grader, `grading workers cannot start (${why}); ${label(p)} was not graded`, { hint: HINT_START }));
          return;
        }
        // One fresh try for a worker that could not start; its reserved job goes with it.
        replace(slot, true, slot.retry);
        return;
      }
      const p = slot.busy ?? slot.retry;
      slot.busy = slot.retry = null;
      if (p && ++p.crashes >= 2) {
        p.reject(new MathtuneError(ErrorCode.grader, `the grading worker crashed twice on ${label(p)} (${why}); it has no grade`, { hint: HINT_CRASH }));
        replace(slot, false, null);
      } else replace(slot, false, p);
      pump();
    };
    // Workers never hold the process open themselves (an idle pool must not block exit); while
    // there is work, a timer does. Toggling worker.ref() before a thread is online proved racy.
    slot.worker.unref();
    slot.worker.on("error", (err: Error) => {
      cause = `worker error: ${err.message}`;
      failed();
    });
    slot.worker.on("exit", (code: number) => {
      cause ??= `worker exited with code ${code}`;
      failed();
    });
    return slot;
  };

  /** Terminates a slot's worker and starts a fresh one in its place (holding `retry` for it). */
  const replace = (slot: Slot, restarted: boolean, retry: Pending | null): void => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.busy = null;
    slot.retry = null;
    void slot.worker.terminate();
    const i = slots.indexOf(slot);
    if (i >= 0 && !closed) slots[i] = spawn(restarted, retry);
  };

  const pump = (): void => {
    for (const slot of slots) {
      if (closed || !slot.ready || slot.busy) continue;
      const p = slot.retry ?? queue.shift();
      if (p === undefined) continue;
      slot.retry = null;
      slot.busy = p;
      slot.worker.postMessage({ id: p.id, gold: p.job.gold, pred: p.job.pred, solution: p.job.solution ?? true, options: verifyOptions });
      slot.timer = setTimeout(() => {
        const extracted = (p.job.solution ?? true) ? extractAnswer(p.job.pred) : p.job.pred;
        replace(slot, false, null);
        p.resolve({ correct: false, reason: "timeout", extracted });
        pump();
      }, timeoutMs);
    }
    holdWhileBusy();
  };

  for (let i = 0; i < size; i++) slots.push(spawn(false, null));
  pump();

  const submit = (job: GradeJob): Promise<GradeResult> => {
    if (closed) return Promise.reject(new MathtuneError(ErrorCode.grader, "the grader pool is closed", { hint: "open a new pool with createGraderPool" }));
    return new Promise((resolve, reject) => {
      queue.push({ id: nextId++, job, crashes: 0, resolve, reject });
      pump();
    });
  };

  return {
    verify: async (gold, pred) => {
      const r = await submit({ gold, pred, solution: false });
      return { correct: r.correct, reason: r.reason };
    },
    gradeSolution: (gold, solution) => submit({ gold, pred: solution, solution: true }),
    gradeMany: async (jobs, onProgress) => {
      let done = 0;
      return Promise.all(
        jobs.map((j) =>
          submit(j).then((r) => {
            done++;
            onProgress?.(done, jobs.length);
            return r;
          }),
        ),
      );
    },
    close: async () => {
      if (closed) {
        await Promise.all(slots.map((s) => s.worker.terminate()));
        return;
      }
      await shutDown(
        (p) => new MathtuneError(ErrorCode.grader, `the grader pool was closed before ${label(p)} was graded`, { hint: "close the pool only after its grading promises have settled" }),
      );
    },
  };
}

/**
 * Grades sampled solutions against their gold answers (`golds[i]` for `samples[i]`) on a pool
 * opened and closed here, and returns each sample with `extracted` and `correct` filled in, plus
 * the grader's verdicts (with their reasons). The one bulk path of `mathtune grade --samples` and
 * the recipe's grading stages. Rejects (MathtuneError, code E_GRADER) when a sample could not be
 * graded: then nothing is returned, so that callers write nothing.
 */
export async function gradeSamples<S extends { text: string; problem_id?: string; sample?: number }>(
  samples: readonly S[],
  golds: readonly string[],
  options: GraderPoolOptions = {},
  onProgress?: (done: number, total: number) => void,
): Promise<{ graded: Array<S & { extracted: string | null; correct: boolean }>; results: GradeResult[] }> {
  if (golds.length !== samples.length) throw new Error(`gradeSamples: ${samples.length} samples but ${golds.length} gold answers`);
  const pool = createGraderPool(options);
  let results: GradeResult[];
  try {
    results = await pool.gradeMany(
      samples.map((s, i) => ({
        gold: golds[i],
        pred: s.text,
        solution: true,
        where: s.problem_id !== undefined ? `sample ${s.sample ?? "?"} of problem ${JSON.stringify(s.problem_id)}` : `sample ${i + 1}`,
      })),
      onProgress,
    );
  } finally {
    await pool.close();
  }
  return { graded: samples.map((s, i) => ({ ...s, extracted: results[i].extracted, correct: results[i].correct })), results };
}
