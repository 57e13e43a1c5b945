/**
 * A pool of worker threads for bulk grading with hard termination: a worker that overruns its
 * per-job time limit is terminated and replaced, and that job's verdict is reason "timeout". The
 * synchronous API is already bounded by its own budget; the pool is the second line of defence
 * (and the way to grade on several cores).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { extractAnswer } from "./extract.js";
import type { GradeResult, VerifyOptions, VerifyResult } from "./verify.js";

/** One grading job. */
export interface GradeJob {
  gold: string;
  /** A bare answer, or a full solution when `solution` is true. */
  pred: string;
  /** Extract the final answer from `pred` first (gradeSolution). Defaults to true. */
  solution?: boolean;
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

/** A running pool; call close() when done. */
export interface GraderPool {
  verify(gold: string, pred: string): Promise<VerifyResult>;
  gradeSolution(gold: string, solution: string): Promise<GradeResult>;
  /** Grades many jobs; results in input order. `onProgress(done, total)` after each job. */
  gradeMany(jobs: readonly GradeJob[], onProgress?: (done: number, total: number) => void): Promise<GradeResult[]>;
  close(): Promise<void>;
}

interface Pending {
  id: number;
  job: GradeJob;
  resolve: (r: GradeResult) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: Pending | null;
  timer: NodeJS.Timeout | null;
}

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
  let startFailures = 0;
  let keepAlive: NodeJS.Timeout | null = null;
  const holdWhileBusy = (): void => {
    const busy = !closed && (queue.length > 0 || slots.some((x) => x.busy !== null));
    if (busy && keepAlive === null) keepAlive = setInterval(() => undefined, 1 << 30);
    if (!busy && keepAlive !== null) {
      clearInterval(keepAlive);
      keepAlive = null;
    }
  };

  const spawn = (): Slot => {
    const slot: Slot = { worker: startWorker(), ready: false, busy: null, timer: null };
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
    const failed = (): void => {
      if (closed || !slots.includes(slot)) return;
      const p = slot.busy;
      if (!slot.ready && ++startFailures >= 3) {
        // Workers cannot start (a broken install): fail the queued jobs instead of respawning forever.
        closed = true;
        for (const q of queue.splice(0)) q.resolve({ correct: false, reason: "unparsable", extracted: null });
        if (p) p.resolve({ correct: false, reason: "unparsable", extracted: null });
        for (const s of slots) void s.worker.terminate();
        holdWhileBusy();
        return;
      }
      replace(slot);
      if (p) p.resolve({ correct: false, reason: "unparsable", extracted: null });
      pump();
    };
    // Workers never hold the process open themselves (an idle pool must not block exit); while
    // there is work, a timer does. Toggling worker.ref() before a thread is online proved racy.
    slot.worker.unref();
    slot.worker.on("error", failed);
    slot.worker.on("exit", failed);
    return slot;
  };

  const replace = (slot: Slot): void => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.busy = null;
    void slot.worker.terminate();
    const i = slots.indexOf(slot);
    if (i >= 0 && !closed) slots[i] = spawn();
    if (closed) return;
  };

  const pump = (): void => {
    for (const slot of slots) {
      if (!slot.ready || slot.busy || queue.length === 0 || closed) continue;
      const p = queue.shift() as Pending;
      slot.busy = p;
      slot.worker.postMessage({ id: p.id, gold: p.job.gold, pred: p.job.pred, solution: p.job.solution ?? true, options: verifyOptions });
      slot.timer = setTimeout(() => {
        const extracted = (p.job.solution ?? true) ? extractAnswer(p.job.pred) : p.job.pred;
        replace(slot);
        p.resolve({ correct: false, reason: "timeout", extracted });
        pump();
      }, timeoutMs);
    }
    holdWhileBusy();
  };

  for (let i = 0; i < size; i++) slots.push(spawn());
  pump();

  const submit = (job: GradeJob): Promise<GradeResult> => {
    if (closed) return Promise.reject(new Error("grader pool is closed"));
    return new Promise((resolve) => {
      queue.push({ id: nextId++, job, resolve });
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
      closed = true;
      holdWhileBusy();
      for (const s of slots) if (s.timer) clearTimeout(s.timer);
      await Promise.all(slots.map((s) => s.worker.terminate()));
      for (const p of queue.splice(0)) p.resolve({ correct: false, reason: "timeout", extracted: null });
    },
  };
}

/**
 * Grades sampled solutions against their gold answers (`golds[i]` for `samples[i]`) on a pool
 * opened and closed here, and returns each sample with `extracted` and `correct` filled in, plus
 * the grader's verdicts (with their reasons). The one bulk path of `mathtune grade --samples` and
 * the recipe's grading stages.
 */
export async function gradeSamples<S extends { text: string }>(
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
      samples.map((s, i) => ({ gold: golds[i], pred: s.text, solution: true })),
      onProgress,
    );
  } finally {
    await pool.close();
  }
  return { graded: samples.map((s, i) => ({ ...s, extracted: results[i].extracted, correct: results[i].correct })), results };
}
