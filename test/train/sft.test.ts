// The SFT trainer in-process: a toy task is learned, resume is bit-for-bit, divergence and bad
// input fail with clear errors before anything half-written is left.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MathtuneError } from "../../src/errors.js";
import { runSft, type SftOptions } from "../../src/train/sft.js";
import { loadCheckpoint } from "../../src/train/checkpoints.js";
import { writeUppercaseTask } from "./helpers.js";
import { TEST_DEVICE, deviceSkip } from "../device.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-sft-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, "upper.jsonl");
writeUppercaseTask(data, 600);
const base: Omit<SftOptions, "out"> = { data, batch: 8, seqLen: 64, threads: 1, seed: 3 };

test(`a tiny model learns the toy task (${TEST_DEVICE}): validation loss below 0.3 nats/token in 150 steps`, { skip: deviceSkip() }, async (t) => {
  // From ln(vocab) = 5.6 at start; 2.56 is what the completion letters' frequencies alone give,
  // so getting under 0.3 requires copying the prompt.
  const t0 = Date.now();
  const r = await runSft({ ...base, out: join(dir, "toy"), steps: 150, lr: 3e-3, evalEvery: 50, device: TEST_DEVICE });
  const secs = (Date.now() - t0) / 1000;
  t.diagnostic(`validation loss ${r.valLoss?.toFixed(3)} after ${r.step} steps in ${secs.toFixed(1)} s`);
  assert.equal(r.step, 150);
  assert.ok(r.valLoss !== null && r.valLoss < 0.3, `validation loss ${r.valLoss}`);
  assert.ok(secs < 60, `took ${secs} s`);
  assert.ok(r.modelPath && existsSync(r.modelPath));
  const metrics = readFileSync(join(dir, "toy", "metrics.jsonl"), "utf8").trim().split("\n");
  assert.equal(metrics.length, 150);
});

test("an interrupted run resumed with --resume ends bit-for-bit where an uninterrupted one does", async () => {
  const opts = { ...base, steps: 8, lr: 2e-3, evalEvery: 3, accumulation: 2 };
  const straight = await runSft({ ...opts, out: join(dir, "straight") });
  let stopAfter = 5;
  const first = await runSft({ ...opts, out: join(dir, "split") }, { shouldStop: () => stopAfter-- <= 0 });
  assert.equal(first.stopped, true);
  assert.equal(first.step, 5);
  assert.equal(first.modelPath, null);
  const second = await runSft({ ...opts, out: join(dir, "split"), resume: true });
  assert.equal(second.step, 8);
  assert.deepEqual(readFileSync(second.modelPath!), readFileSync(straight.modelPath!));
  const a = loadCheckpoint(straight.checkpoint);
  const b = loadCheckpoint(second.checkpoint);
  assert.equal(b.optimizer.step, 8);
  for (const [name, m] of a.optimizer.m) {
    assert.deepEqual(b.optimizer.m.get(name), m, `${name}.m`);
    assert.deepEqual(b.optimizer.v.get(name), a.optimizer.v.get(name), `${name}.v`);
  }
  assert.deepEqual(b.state.stream, a.state.stream);
  // Metrics of the resumed run have one line per step, none duplicated.
  const steps = readFileSync(join(dir, "split", "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test("resuming with default settings works (defaults resolve the same way), and more steps continue the run", async () => {
  const out = join(dir, "defaults");
  const opts = { data, threads: 1, batch: 4, steps: 2 };
  await runSft({ ...opts, out });
  const more = await runSft({ ...opts, out, steps: 3, resume: true });
  assert.equal(more.step, 3);
});

test("resuming refuses changed data settings, and a finished folder needs --resume", async () => {
  const out = join(dir, "straight");
  await assert.rejects(runSft({ ...base, steps: 8, out }), (e: MathtuneError) => e.code === "E_USAGE" && /already holds a run/.test(e.message));
  await assert.rejects(runSft({ ...base, steps: 10, batch: 4, out, resume: true }), (e: MathtuneError) => e.code === "E_USAGE" && /batch/.test(e.message));
  await assert.rejects(runSft({ ...base, out: join(dir, "nothing"), resume: true }), (e: MathtuneError) => /no checkpoint/.test(e.message));
});

test("a diverging run stops with an error naming the step and keeps the last good checkpoint", async () => {
  const out = join(dir, "nan");
  await assert.rejects(runSft({ ...base, out, steps: 30, lr: 1e4, clipNorm: 0, warmup: 0, saveEvery: 1 }), (e: MathtuneError) => {
    assert.equal(e.code, "E_DIVERGED");
    const m = /at step (\d+)/.exec(e.message);
    assert.ok(m, e.message);
    const ck = /checkpoint-(\d+)/.exec(e.hint ?? "");
    assert.ok(ck, e.hint);
    assert.equal(Number(ck[1]), Number(m[1]) - 1);
    const loaded = loadCheckpoint(join(out, `checkpoint-${ck[1]}`));
    for (const w of loaded.model.weights.values()) assert.ok(w.every(Number.isFinite));
    return true;
  });
});

test("bad records fail with file:line: field before training; bad base models fail clearly", async () => {
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"prompt":"1+1=","completion":"2"}\n{"prompt":"2+2="}\n');
  const out = join(dir, "bad-run");
  await assert.rejects(runSft({ ...base, data: bad, out }), (e: MathtuneError) => e.code === "E_INPUT" && e.message === `${bad}:2: field completion: Invalid input: expected string, received undefined`);
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, "nothing written for bad data");
  const notGguf = join(dir, "not.gguf");
  writeFileSync(notGguf, "this is not a gguf file");
  await assert.rejects(runSft({ ...base, base: notGguf, out: join(dir, "bad-base") }), (e: MathtuneError) => e.code === "E_GGUF");
  await assert.rejects(runSft({ ...base, out: join(dir, "x"), steps: 0 }), (e: MathtuneError) => e.code === "E_USAGE" && /steps/.test(e.message));
});
