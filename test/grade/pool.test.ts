import { test } from "node:test";
import assert from "node:assert/strict";
import { createGraderPool, gradeSolution } from "../../src/grade/index.js";

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
