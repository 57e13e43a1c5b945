// Checkpoint folders: a save commits through latest.json and cleans up what killed saves left.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presetConfig } from "../../src/model/config.js";
import { initWeights } from "../../src/model/checkpoint.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { latestCheckpoint, saveCheckpoint, type CheckpointData } from "../../src/train/checkpoints.js";

function tinyCheckpoint(step: number): CheckpointData {
  const tokenizer = CharTokenizer.ascii();
  const config = presetConfig("tiny", tokenizer.vocabSize, { nLayers: 1, dModel: 16, nHeads: 2, nKvHeads: 2, ffnDim: 32 });
  const weights = initWeights(config, 1);
  const zeros = new Map([...weights].map(([k, v]) => [k, new Float32Array(v.length)]));
  return {
    config,
    tokenizer,
    weights,
    optimizer: { step, m: zeros, v: zeros },
    state: { step, stream: { epoch: 0, row: 0 }, run: {} },
  };
}

test("a save removes temp folders of dead processes, keeps a live one's, and prunes old checkpoints", async () => {
  const out = mkdtempSync(join(tmpdir(), "mathtune-ckpt-"));
  try {
    // A pid that surely is dead: a child that has exited.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    const staleDead = join(out, `.checkpoint-7.${dead}.tmp`);
    const staleLive = join(out, `.checkpoint-7.${process.ppid}.tmp`);
    for (const d of [staleDead, staleLive]) {
      mkdirSync(d);
      writeFileSync(join(d, "model.gguf"), "partial");
    }
    await saveCheckpoint(out, tinyCheckpoint(1));
    await saveCheckpoint(out, tinyCheckpoint(2));
    assert.equal(existsSync(staleDead), false, "a dead process's temp folder is removed");
    assert.equal(existsSync(staleLive), true, "a live process's temp folder is left alone");
    assert.deepEqual(readdirSync(out).filter((n) => !n.startsWith(".")).sort(), ["checkpoint-2", "latest.json"]);
    assert.equal(latestCheckpoint(out)?.step, 2);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
