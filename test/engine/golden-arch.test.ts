// Golden tests of the architectures users bring, on tiny models with the real metadata keys,
// tensor names and a byte-level BPE vocabulary (test/model/arch-fixtures.ts): Qwen2.5-style
// qwen2, Llama 3-style llama with RoPE factors, and a tied llama. For each, our forward pass and
// llama.cpp (node-llama-cpp) must agree on every next-token log-probability within 1e-3, on the
// random model as loaded by the trainer and on the same model after a few SFT steps; the
// fine-tuned file must keep every key of the base that the config does not determine.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend } from "../../src/engine/backend.js";
import { loadModelGguf } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { readGguf } from "../../src/model/gguf.js";
import { runSft } from "../../src/train/sft.js";
import { ARCH_CASES, mathCorpus, promptIds, saveArchModel, type ArchName } from "../model/arch-fixtures.js";
import { llamaCppLogProbs, maxAbsDiff, tsLogProbs } from "./logprobs.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-golden-arch-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const backend = Backend.create({ threads: 1 });
const TEXT = "Problem: What is 128+35? Solution: We add $128 + 35 = 163$.\nThe answer is \\boxed{163}. π ≈ 3.14";

/** Loads `path` as the trainer does and compares both forward passes; returns the max abs difference and the rows. */
async function compareFile(path: string): Promise<{ worst: number; config: LlamaConfig; ids: number[]; reference: Float64Array[] }> {
  const m = loadModelGguf(path);
  const ids = await promptIds(path, TEXT);
  assert.ok(ids.length > 20 && ids.length < 64, `prompt of ${ids.length} tokens`);
  const reference = await llamaCppLogProbs(path, ids, m.config.vocabSize);
  return { worst: maxAbsDiff(tsLogProbs(m.config, m.weights, ids, backend), reference), config: m.config, ids, reference };
}

/** Each case's distinctive settings: the same weights computed without one must disagree clearly. */
const WITHOUT: Record<ArchName, Array<{ what: string; change: (c: LlamaConfig) => LlamaConfig }>> = {
  qwen2: [
    { what: "llama's RoPE pairing instead of NeoX", change: (c) => ({ ...c, arch: "llama" }) },
    { what: "no q/k/v biases", change: (c) => ({ ...c, qkvBias: false }) },
  ],
  llama3: [{ what: "no RoPE factors", change: ({ ropeFactors: _, ...c }) => c }],
  tiedLlama: [{ what: "no linear RoPE scaling", change: (c) => ({ ...c, ropeFreqScale: 1 }) }],
};

for (const name of Object.keys(ARCH_CASES) as ArchName[]) {
  const { label } = ARCH_CASES[name];

  test(`${label}: random model, TS forward matches llama.cpp within 1e-3`, async (t) => {
    const path = join(dir, `${name}.gguf`);
    const saved = await saveArchModel(path, name, { seed: 3 });
    const { worst, config, ids, reference } = await compareFile(path);
    assert.deepEqual(config, saved.config, "the loaded config is the one saved");
    t.diagnostic(`max abs log-prob difference: ${worst.toExponential(2)} over ${ids.length} positions x ${config.vocabSize} tokens`);
    assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
    // The comparison sees each setting: leaving it out moves the log-probs far beyond the tolerance.
    for (const off of WITHOUT[name]) {
      const wrong = maxAbsDiff(tsLogProbs(off.change(config), saved.weights, ids, backend), reference);
      t.diagnostic(`with ${off.what}: ${wrong.toExponential(2)}`);
      assert.ok(wrong > 0.05, `${off.what} changes the log-probs by only ${wrong}`);
    }
  });

  test(`${label}: after SFT steps, the saved model keeps its keys and matches llama.cpp within 1e-3`, async (t) => {
    const base = join(dir, `${name}-base.gguf`);
    await saveArchModel(base, name, { seed: 4, spread: 2 });
    const data = join(dir, `${name}.jsonl`);
    const lines = mathCorpus(9, 40).split("\n").filter((l) => l.length > 30);
    writeFileSync(data, lines.map((l, i) => JSON.stringify({ prompt: `Q${i}: ${l.slice(0, 20)}`, completion: l.slice(20) })).join("\n") + "\n");
    const out = join(dir, `${name}-sft`);
    const r = await runSft({ data, out, base, steps: 4, batch: 2, seqLen: 64, lr: 3e-3, warmup: 0, threads: 1, valFraction: 0, evalEvery: 4 });
    assert.ok(r.modelPath);
    const before = loadModelGguf(base);
    const after = loadModelGguf(r.modelPath);
    assert.deepEqual(after.config, before.config);
    let moved = 0;
    for (const [k, v] of after.weights) moved = Math.max(moved, ...v.map((x, i) => Math.abs(x - before.weights.get(k)![i])));
    assert.ok(moved > 1e-4, `training did not move the weights (${moved})`);
    // Every key of the base is in the result with the same value, except the name and file type.
    const a = readGguf(base).metadata;
    const b = readGguf(r.modelPath).metadata;
    for (const [k, v] of a) if (k !== "general.name" && k !== "general.file_type") assert.deepEqual(b.get(k), v, k);
    const { worst } = await compareFile(r.modelPath);
    t.diagnostic(`max abs log-prob difference after ${r.step} steps: ${worst.toExponential(2)}`);
    assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
  });
}
