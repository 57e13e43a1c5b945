import { test } from "node:test";
import assert from "node:assert/strict";
import type { Worker } from "node:worker_threads";
import { createGraderPool, gradeSolution } from "../../src/grade/index.js";
import { MathtuneError } from "../../src/errors.js";

test("grader pool grades many jobs in input order, like the synchronous API", async () => {
  const pool = createGraderPool({ workers: 2, timeoutMs: 10_000 });
  try {
    const jobs = [
      { gold: "\\frac{1}{2}", pred: "so the answer is $\\boxed{0.5}$" },
      { gold: "3", pred: "The answer is 4." },
      { gold: "x=5", pred: "5", solution: false },
      { gold: "(1,2)", pred: "Final Answer: The final answer is $(2,1)$. I hope it is correct." },
    ];
    let progress = 0;
    const got = await pool.gradeMany(jobs, (done) => (progress = done));
    assert.equal(progress, jobs.length);
    assert.deepEqual(
      got.map((r) => r.correct),
      [true, false, true, false],
    );
    assert.deepEqual(got[0], gradeSolution(jobs[0].gold, jobs[0].pred));
    assert.deepEqual(await pool.verify("1/2", "0.5"), { correct: true, reason: "equal" });
  } finally {
    await pool.close();
  }
});

test("grader pool terminates a worker that overruns and reports timeout, then keeps working", async () => {
  // Budgets inside the worker are lifted so that only the pool's hard limit can stop this job
  // (a 200-element set comparison: tens of thousands of probed comparisons, far over 40 ms).
  const pool = createGraderPool({ workers: 1, timeoutMs: 40, verifyOptions: { deadlineMs: 1e9, maxSteps: 1e15 } });
  try {
    const slow = Array.from({ length: 200 }, (_, k) => `x^{${k}}+${k}y`).join(",");
    const slowRev = Array.from({ length: 200 }, (_, k) => `x^{${199 - k}}+${199 - k}y`).join(",");
    const r = await pool.verify(slow, slowRev);
    assert.deepEqual(r, { correct: false, reason: "timeout" });
    // The replacement worker grades the next job (identical strings: no work, well under the limit).
    assert.deepEqual(await pool.verify("2", "2"), { correct: true, reason: "equal" });
  } finally {
    await pool.close();
  }
});

test("grader pool: invalid worker count and time limit fall back to the defaults", async () => {
  // NaN used to start no worker (Math.max(1, NaN)) and fire the per-job timer at once.
  const pool = createGraderPool({ workers: Number.NaN, timeoutMs: Number.NaN, verifyOptions: { maxSteps: Number.NaN, deadlineMs: -1 } });
  try {
    assert.deepEqual(await pool.verify("1/2", "0.5"), { correct: true, reason: "equal" });
    assert.equal((await pool.gradeSolution("7", "**Answer: 7**")).correct, true);
  } finally {
    await pool.close();
  }
});

/**
 * Calls `onStart(worker, k)` for each worker thread this process starts from now on (k counts from
 * 0), until the returned function is called. Node announces every new thread with a "worker" event
 * before the pool attaches its own listeners.
 */
function watchWorkers(onStart: (w: Worker, k: number) => void): () => void {
  let k = 0;
  const on = (w: Worker): void => onStart(w, k++);
  process.on("worker", on);
  return () => process.off("worker", on);
}

/** Terminates `w` a moment after it has loaded, while it grades a slow job. */
function killSoonAfterReady(w: Worker): void {
  w.on("message", (m: { ready?: boolean }) => {
    if (m.ready) setTimeout(() => void w.terminate(), 150);
  });
}

// A job that takes about two seconds with the in-worker budgets lifted (10,000 probed comparisons
// of a 100-element set): a worker killed 150 ms after it loaded dies while grading it.
const SLOW = {
  gold: Array.from({ length: 100 }, (_, k) => `x^{${k}}+${k}y`).join(","),
  pred: Array.from({ length: 100 }, (_, k) => `x^{${99 - k}}+${99 - k}y`).join(","),
  solution: false,
};
const LIFTED = { deadlineMs: 1e9, maxSteps: 1e15 };
const JOBS = Array.from({ length: 12 }, (_, k) => ({ gold: `${k}`, pred: `so the answer is $\\boxed{${k % 3 === 0 ? k + 1 : k}}$` }));
const WANT = JOBS.map((_, k) => k % 3 !== 0);

test("grader pool: a worker killed in the middle of a batch is replaced and its job graded on a fresh worker", async () => {
  const stop = watchWorkers((w, k) => {
    if (k === 0) killSoonAfterReady(w);
  });
  const pool = createGraderPool({ workers: 1, timeoutMs: 60_000, verifyOptions: LIFTED });
  try {
    const got = await pool.gradeMany([SLOW, ...JOBS]);
    assert.deepEqual(
      got.map((r) => r.correct),
      [true, ...WANT],
    );
    assert.ok(got.every((r) => r.reason === "equal" || r.reason === "not-equal"));
  } finally {
    stop();
    await pool.close();
  }
});

test("grader pool: a job whose worker is killed twice is an error (E_GRADER), never a grade", async () => {
  // Every worker is killed while it grades the slow fourth job: first the one it started on, then
  // the fresh worker it is retried on.
  const stop = watchWorkers(killSoonAfterReady);
  const pool = createGraderPool({ workers: 1, timeoutMs: 60_000, verifyOptions: LIFTED });
  const jobs = [...JOBS.slice(0, 3), SLOW, ...JOBS.slice(3)].map((j, k) => ({ ...j, where: `pairs.jsonl:${k + 1}` }));
  try {
    await assert.rejects(pool.gradeMany(jobs), (err: unknown) => {
      assert.ok(err instanceof MathtuneError);
      assert.equal(err.code, "E_GRADER");
      assert.match(err.message, /crashed twice on pairs\.jsonl:4 \(worker exited with code 1\)/);
      assert.match(err.hint ?? "", /not a wrong answer/);
      return true;
    });
  } finally {
    stop();
    await pool.close();
  }
});

test("grader pool: workers that cannot start are retried once, then every job is an error", async () => {
  // The first worker dies before it has loaded; its replacement starts and grades.
  let stop = watchWorkers((w, k) => {
    if (k === 0) void w.terminate();
  });
  let pool = createGraderPool({ workers: 1, timeoutMs: 10_000 });
  try {
    assert.deepEqual(await pool.verify("1/2", "0.5"), { correct: true, reason: "equal" });
  } finally {
    stop();
    await pool.close();
  }
  // No worker can start: the jobs are rejected, not graded "unparsable".
  stop = watchWorkers((w) => void w.terminate());
  pool = createGraderPool({ workers: 2, timeoutMs: 10_000 });
  try {
    await assert.rejects(pool.gradeMany(JOBS), (err: unknown) => err instanceof MathtuneError && err.code === "E_GRADER" && /cannot start/.test(err.message));
    await assert.rejects(pool.verify("1", "1"), /closed/);
  } finally {
    stop();
    await pool.close();
  }
});

test("grader pool: close() rejects the jobs still pending instead of grading them", async () => {
  const pool = createGraderPool({ workers: 1, timeoutMs: 10_000 });
  const pending = assert.rejects(pool.gradeMany(JOBS), (err: unknown) => err instanceof MathtuneError && err.code === "E_GRADER" && /closed before job \d+ was graded/.test(err.message));
  await pool.close();
  await pending;
  await assert.rejects(pool.gradeSolution("1", "1"), /grader pool is closed/);
});
