// Analytic gradients of the tape autograd through the whole llama graph and the masked loss,
// against central finite differences, on tiny models (MHA and grouped-query, tied and untied,
// qwen2 with q/k/v biases and NeoX RoPE, Llama 3 RoPE factors with linear scaling).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import { TrainSession, type Batch } from "../../src/train/session.js";
import { attentionInputs } from "../../src/train/data.js";
import { initWeights, type Weights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { Rng } from "../../src/util/rng.js";

const backend = Backend.create({ threads: 1 });

function tinyConfig(over: Partial<LlamaConfig>): LlamaConfig {
  return { vocabSize: 11, contextLength: 8, dModel: 16, nLayers: 2, nHeads: 4, nKvHeads: 4, ffnDim: 24, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false, ...over };
}

function randomBatch(cfg: LlamaConfig, T: number, B: number, rng: Rng): Batch {
  const N = T * B;
  const tokens = Int32Array.from({ length: N }, () => rng.int(0, cfg.vocabSize - 1));
  const targetIndex = new Int32Array(N);
  const weight = new Float32Array(N);
  const mask: number[] = [];
  for (let i = 0; i < N; i++) {
    targetIndex[i] = i * cfg.vocabSize + rng.int(0, cfg.vocabSize - 1);
    // A ragged mask: some positions unsupervised, as prompts are.
    if (rng.next() < 0.6) mask.push(i);
  }
  for (const i of mask) weight[i] = 1 / mask.length;
  // Two packed examples per row: per-example positions and a block-causal mask.
  const segments = Int32Array.from({ length: N }, (_, i) => ((i % T) < T / 2 - 1 ? 0 : 1));
  return { tokens, targetIndex, weight, supervised: mask.length, ...attentionInputs(segments, T, B) };
}

function scaled(w: Weights, rng: Rng): Weights {
  // Larger weights than the training init make every block matter for the loss.
  const out: Weights = new Map();
  for (const [k, v] of w) {
    out.set(k, k.endsWith("norm.weight") ? v.map(() => 0.5 + rng.next()) : k.endsWith(".bias") ? v.map(() => rng.normal() * 0.5) : v.map((x) => x * 20));
  }
  return out;
}

for (const [label, over, mode] of [
  ["MHA, untied output, OUT_PROD weight gradients", {}, "out_prod"],
  ["MHA, untied output, MUL_MAT weight gradients", {}, "mul_mat"],
  ["GQA (4 query heads, 2 kv heads), tied output", { nKvHeads: 2, tiedOutput: true }, "out_prod"],
  ["qwen2: q/k/v biases, NeoX RoPE, GQA", { arch: "qwen2", qkvBias: true, nKvHeads: 2 }, "out_prod"],
  ["llama: Llama 3 RoPE factors and linear scaling, tied output", { nHeads: 2, nKvHeads: 2, ropeFactors: [1, 2.5, 8, 8], ropeFreqScale: 0.5, ropeFreqBase: 30, tiedOutput: true }, "out_prod"],
] as const satisfies ReadonlyArray<readonly [string, Partial<LlamaConfig>, string]>) {
  test(`gradients match finite differences: ${label}`, () => {
    const cfg = tinyConfig(over);
    const rng = new Rng(7);
    const weights = scaled(initWeights(cfg, 3), rng);
    const T = 8;
    const B = 2;
    const s = new TrainSession({ config: cfg, weights, batch: B, seqLen: T, backend, matmulGrad: mode });
    try {
      const batch = randomBatch(cfg, T, B, rng);
      s.microStep(batch);
      const grads = s.accumulatedGradients();
      let checked = 0;
      let worst = 0;
      for (const [name, g] of grads) {
        // The entries with the largest gradients, plus one random entry, of every tensor.
        const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
        const picks = [order[0], order[1], order[rng.int(0, order.length - 1)]];
        for (const i of picks) {
          const w = weights.get(name)!;
          const orig = w[i];
          const h = 1e-2 * Math.max(1, Math.abs(orig));
          w[i] = orig + h;
          s.setWeights(weights);
          const lp = s.lossOf(batch);
          w[i] = orig - h;
          s.setWeights(weights);
          const lm = s.lossOf(batch);
          w[i] = orig;
          const fd = (lp - lm) / (2 * h);
          const err = Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i]));
          worst = Math.max(worst, err);
          assert.ok(err < 0.03, `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd} (relative error ${err.toFixed(4)})`);
          checked++;
        }
      }
      assert.ok(checked >= 3 * grads.size);
      // Every tensor gets a non-zero gradient.
      for (const [name, g] of grads) assert.ok(g.some((x) => x !== 0), `${name} has an all-zero gradient`);
    } finally {
      s.dispose();
    }
  });
}
