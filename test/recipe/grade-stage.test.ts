// The recipe's grading stage when grading workers die: a worker thread killed for real in the
// middle of the stage is retried on a fresh one; one killed again fails the stage, which then
// writes no output and is not marked done (a rerun grades again instead of reusing wrong grades).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { MathtuneError } from "../../src/errors.js";
import { readMarker, runStages } from "../../src/recipe/framework.js";
import { paths, planStages } from "../../src/recipe/stages/index.js";
import { loadRecipe } from "../../src/recipe/schema.js";

const recipe = loadRecipe(fileURLToPath(new URL("../../recipes/mini.json", import.meta.url)));
const stage = planStages(recipe).find((s) => s.id === "grade/terse");
const quiet = { say: () => {}, handleSigint: false };

/** Kills (Worker.terminate) every grading worker started from now on, 120 ms after it loaded. */
function killWorkers(): () => void {
  const on = (w: Worker): void => {
    w.on("message", (m: { ready?: boolean }) => {
      if (m.ready) setTimeout(() => void w.terminate(), 120);
    });
  };
  process.on("worker", on);
  return () => process.off("worker", on);
}

/** A run folder holding the stage's inputs: three problems, the second one slow to grade (250 ms). */
function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-stage-"));
  const slowGold = Array.from({ length: 100 }, (_, k) => `x^{${k}}+${k}y`).join(",");
  const slowPred = Array.from({ length: 100 }, (_, k) => `x^{${99 - k}}+${99 - k}y`).join(",");
  const problems = [
    { id: "a", problem: "1+1?", answer: "2" },
    { id: "b", problem: "the set?", answer: slowGold },
    { id: "c", problem: "2+2?", answer: "4" },
  ];
  const samples = [
    { problem_id: "a", sample: 0, text: "The answer is $\\boxed{2}$." },
    { problem_id: "b", sample: 0, text: `\\boxed{${slowPred}}` },
    { problem_id: "c", sample: 0, text: "The answer is $\\boxed{5}$." },
  ];
  for (const [rel, rows] of [
    [paths.test, problems],
    [paths.samples("terse"), samples],
  ] as const) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  }
  return dir;
}

test("recipe grade stage: a job whose worker is killed twice fails the stage, writes nothing, caches nothing", async () => {
  assert.ok(stage, "the mini recipe has a grade/terse stage");
  const dir = runDir();
  try {
    const stop = killWorkers();
    try {
      await assert.rejects(runStages(dir, [stage], quiet), (err: unknown) => {
        assert.ok(err instanceof MathtuneError);
        assert.equal(err.code, "E_GRADER");
        assert.match(err.message, /crashed twice on sample 0 of problem "b"/);
        return true;
      });
    } finally {
      stop();
    }
    assert.equal(existsSync(join(dir, paths.graded("terse"))), false);
    assert.equal(readMarker(dir, stage.id)?.status, "started");

    // Rerun with healthy workers: the stage runs (not cached) and grades every sample.
    const [outcome] = await runStages(dir, [stage], quiet);
    assert.notEqual(outcome.status, "cached");
    assert.equal(readMarker(dir, stage.id)?.status, "done");
    const graded = readFileSync(join(dir, paths.graded("terse")), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { correct: boolean });
    assert.deepEqual(
      graded.map((s) => s.correct),
      [true, false, false],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
