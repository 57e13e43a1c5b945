// Training in a child process: a native abort becomes a clear error in the parent with the last
// good checkpoint intact; an interrupt saves and stops; the run then resumes to completion.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MathtuneError } from "../../src/errors.js";
import { runSftInChild } from "../../src/train/runner.js";
import { loadCheckpoint, latestCheckpoint } from "../../src/train/checkpoints.js";
import { writeUppercaseTask } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-runner-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, "upper.jsonl");
writeUppercaseTask(data, 100);
const base = { data, batch: 4, seqLen: 32, threads: 1, steps: 6, saveEvery: 2, evalEvery: 2 };

test("a GGML_ASSERT abort in the training process is reported with the last good checkpoint", async () => {
  const out = join(dir, "abort");
  await assert.rejects(runSftInChild({ ...base, out }, { env: { MATHTUNE_FAULT: "abort@3" } }), (e: MathtuneError) => {
    assert.equal(e.code, "E_NATIVE");
    assert.match(e.message, /killed by SIGABRT after step 3: GGML_ASSERT/);
    assert.match(e.hint ?? "", /checkpoint-2/);
    return true;
  });
  const latest = latestCheckpoint(out);
  assert.equal(latest?.step, 2);
  const ck = loadCheckpoint(latest!.dir);
  assert.equal(ck.optimizer.step, 2);
});

test("an interrupt saves a checkpoint and stops; --resume then finishes the run", async () => {
  const out = join(dir, "interrupt");
  const events: string[] = [];
  const r = await runSftInChild({ ...base, out }, { env: { MATHTUNE_FAULT: "sigint@3" }, onEvent: (e) => events.push(e.kind) });
  assert.equal(r.stopped, true);
  assert.equal(r.step, 3);
  assert.equal(latestCheckpoint(out)?.step, 3);
  assert.ok(events.includes("start") && events.includes("step"));
  const done = await runSftInChild({ ...base, out, resume: true });
  assert.equal(done.stopped, false);
  assert.equal(done.step, 6);
});
