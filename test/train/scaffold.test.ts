// The trainer scaffold shared by SFT, the evaluator and MTSF: resume guard, frozen settings,
// metrics cut back to the checkpoint (a torn last line included), a checkpoint put back, divergence
// checks.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MathtuneError } from "../../src/errors.js";
import { checkFinite, checkFrozenSettings, checkpointToResume, restoreCheckpoint, runFolderState, trimMetrics } from "../../src/train/scaffold.js";
import type { OptimizerState } from "../../src/train/checkpoints.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-scaffold-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const usage = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_USAGE" && re.test(e.message);

test("metrics.jsonl is cut back to the checkpoint's step, a torn last line and bad lines dropped", () => {
  const path = join(dir, "metrics.jsonl");
  writeFileSync(path, '{"step":1,"loss":2}\n{"step":2,"loss":1.5}\nnot json\n{"step":3,"loss":1}\n{"step":4,"lo');
  trimMetrics(path, 2);
  assert.equal(readFileSync(path, "utf8"), '{"step":1,"loss":2}\n{"step":2,"loss":1.5}\n');
  trimMetrics(join(dir, "absent.jsonl"), 2);
});

test("the resume guard, the run folder state and the frozen settings", () => {
  const out = join(dir, "run");
  assert.equal(checkpointToResume(out, false), undefined);
  assert.throws(() => checkpointToResume(out, true), usage(/no checkpoint to resume from/));
  mkdirSync(join(out, "checkpoint-3"), { recursive: true });
  writeFileSync(join(out, "checkpoint-3", "state.json"), "{}\n");
  writeFileSync(join(out, "latest.json"), JSON.stringify({ checkpoint: "checkpoint-3", step: 3 }) + "\n");
  assert.throws(() => checkpointToResume(out, false), usage(/already holds a run \(checkpoint at step 3\)/));
  assert.deepEqual(checkpointToResume(out, true), { dir: join(out, "checkpoint-3"), step: 3 });
  assert.equal(runFolderState(out, join(out, "model.gguf")), "resume");
  assert.equal(runFolderState(join(dir, "none"), join(dir, "none", "model.gguf")), "start");
  writeFileSync(join(out, "model.gguf"), "");
  assert.equal(runFolderState(out, join(out, "model.gguf")), "skip");

  checkFrozenSettings({ batch: 8, seed: 1 }, { batch: 8, seed: 1, lr: 2 }, ["batch", "seed"], "h");
  assert.throws(() => checkFrozenSettings({ batch: 8 }, { batch: 4 }, ["batch"], "h"), usage(/--resume: batch was 8 in the run, now 4/));
  // A key the old run did not record takes its value from `before`.
  checkFrozenSettings({}, { template: "T" }, ["template"], "h", { template: "T" });
  assert.throws(() => checkFrozenSettings({}, { template: "U" }, ["template"], "h", { template: "T" }), usage(/template/));
});

test("a loss or gradient norm that is not finite ends the run with E_DIVERGED", () => {
  checkFinite("loss", 1.5, 1, 1e-3);
  assert.throws(
    () => checkFinite("gradient norm", Infinity, 7, 0.1, "the last good checkpoint is c"),
    (e: unknown) => e instanceof MathtuneError && e.code === "E_DIVERGED" && e.message === "training diverged: gradient norm is Infinity at step 7" && e.hint === "lower --lr (was 0.1); the last good checkpoint is c",
  );
  assert.throws(() => checkFinite("loss", NaN, 2, 1), (e: unknown) => e instanceof MathtuneError && /loss is NaN at step 2/.test(e.message) && /keep --clip on/.test(e.hint ?? ""));
});

test("restoreCheckpoint puts the optimizer state and a copy of the stream position back and returns the step", () => {
  const optimizer = { step: 7, m: new Map(), v: new Map() } as unknown as OptimizerState;
  const given: OptimizerState[] = [];
  const stream = { state: { epoch: 0, row: 0 } };
  const saved = { epoch: 2, row: 5 };
  const step = restoreCheckpoint({ optimizer, state: { step: 7, stream: saved, run: {} } }, { setOptimizerState: (s) => given.push(s) }, stream);
  assert.equal(step, 7);
  assert.deepEqual(given, [optimizer]);
  assert.deepEqual(stream.state, saved);
  assert.notEqual(stream.state, saved);
});
