// Analytic gradients of the tape autograd through the whole llama graph and the masked loss,
// against central finite differences, on tiny models (MHA and grouped-query, tied and untied,
// qwen2 with q/k/v biases and NeoX RoPE, Llama 3 RoPE factors with linear scaling).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import { TrainSession, type Batch } from "../../src/train/session.js";
import { attentionInputs } from "../../src/train/data.js";
import { initWeights, tensorShapes, type StoredWeights, type Weights } from "../../src/model/checkpoint.js";
import { dequantizeQ8_0, f16ToF32, f32ToF16, GgmlType, quantizeQ8_0 } from "../../src/model/gguf.js";
import { initLora, loraShapes, loraSpec } from "../../src/model/lora.js";
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

/** Central finite differences of the session's loss against its accumulated gradients, on the largest and a random entry of every trained tensor. */
function checkGradients(s: TrainSession, weights: Weights, batch: Batch, rng: Rng, step = 1e-2): void {
  s.microStep(batch);
  const grads = s.accumulatedGradients();
  let checked = 0;
  for (const [name, g] of grads) {
    // The entries with the largest gradients, plus one random entry, of every tensor.
    const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
    const picks = [order[0], order[1], order[rng.int(0, order.length - 1)]];
    for (const i of picks) {
      const w = weights.get(name)!;
      const orig = w[i];
      const h = step * Math.max(1, Math.abs(orig));
      w[i] = orig + h;
      s.setWeights(weights);
      const lp = s.lossOf(batch);
      w[i] = orig - h;
      s.setWeights(weights);
      const lm = s.lossOf(batch);
      w[i] = orig;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd) + Math.abs(g[i]));
      assert.ok(err < 0.03, `${name}[${i}]: analytic ${g[i]} vs finite difference ${fd} (relative error ${err.toFixed(4)})`);
      checked++;
    }
  }
  assert.ok(checked >= 3 * grads.size);
  // Every tensor gets a non-zero gradient.
  for (const [name, g] of grads) assert.ok(g.some((x) => x !== 0), `${name} has an all-zero gradient`);
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
      checkGradients(s, weights, batch, rng);
    } finally {
      s.dispose();
    }
  });
}

// LoRA: only the adapter is trained; the base is a constant in its stored type.
const loraCfg = tinyConfig({ arch: "qwen2", qkvBias: true, nKvHeads: 2, tiedOutput: true, dModel: 32, ffnDim: 64 });
const loraSpecTiny = loraSpec({ rank: 3, alpha: 6 });

/** The base stored as `type` (matrices; vectors stay F32), and the F32 values it holds after rounding. */
function storedBase(base: Weights, type: number): { stored: StoredWeights; values: Weights } {
  const stored: StoredWeights = new Map();
  const values: Weights = new Map();
  for (const { name, shape } of tensorShapes(loraCfg)) {
    const v = base.get(name)!;
    const t = shape.length > 1 ? type : GgmlType.F32;
    const data = t === GgmlType.F16 ? new Uint8Array(Uint16Array.from(v, f32ToF16).buffer) : t === GgmlType.Q8_0 ? quantizeQ8_0(v) : new Uint8Array(v.slice().buffer);
    stored.set(name, { type: t, shape, read: () => data });
    values.set(name, t === GgmlType.F16 ? Float32Array.from(new Uint16Array(data.buffer), f16ToF32) : t === GgmlType.Q8_0 ? dequantizeQ8_0(data, v.length) : v);
  }
  return { stored, values };
}

function loraFixture(large = true): { base: Weights; adapter: Weights; batch: Batch; rng: Rng } {
  const rng = new Rng(9);
  const init = initWeights(loraCfg, 4);
  const base = large ? scaled(init, rng) : init;
  const adapter = initLora(loraCfg, loraSpecTiny, 2);
  // Non-zero B, so that A gets a gradient too.
  for (const [k, v] of adapter) if (k.endsWith(".lora_b")) for (let i = 0; i < v.length; i++) v[i] = rng.normal() * 0.5;
  return { base, adapter, batch: randomBatch(loraCfg, 8, 2, rng), rng };
}

function loraSession(adapter: Weights, stored: StoredWeights): TrainSession {
  return new TrainSession({ config: loraCfg, weights: adapter, batch: 2, seqLen: 8, backend, lora: { spec: loraSpecTiny, base: stored } });
}

test("LoRA gradients match finite differences: qwen2, GQA, tied output, F32 frozen base, every target", () => {
  const { base, adapter, batch, rng } = loraFixture();
  const s = loraSession(adapter, storedBase(base, GgmlType.F32).stored);
  try {
    assert.deepEqual([...s.getWeights().keys()], loraShapes(loraCfg, loraSpecTiny).map((t) => t.name), "only the adapter is trained");
    // A smaller step than for the base weights: A's entries are ~0.2, not ~1.
    checkGradients(s, adapter, batch, rng, 2e-3);
  } finally {
    s.dispose();
  }
});

// Through an F16 or Q8_0 base, the forward rounds activations to F16 / Q8_0 blocks (as llama.cpp
// does), which makes finite differences noisy; the analytic gradients (through a transposed F16
// copy, or OUT_PROD on the Q8_0 blocks) are compared instead with those through the same rounded
// values held in F32.
for (const [label, type, tol] of [
  ["F16", GgmlType.F16, 1e-2],
  ["Q8_0", GgmlType.Q8_0, 5e-2],
] as const) {
  test(`LoRA gradients through a frozen ${label} base match those through the same values in F32 (relative ${tol})`, (t) => {
    // At the init scale: with the large test weights, rounding activations to 8 bits changes the
    // loss surface itself far more than any kernel error would.
    const { base, adapter, batch } = loraFixture(false);
    const { stored, values } = storedBase(base, type);
    const grads = [stored, storedBase(values, GgmlType.F32).stored].map((b) => {
      const s = loraSession(adapter, b);
      try {
        s.microStep(batch);
        return s.accumulatedGradients();
      } finally {
        s.dispose();
      }
    });
    let worst = 0;
    for (const [name, g] of grads[1]) {
      const q = grads[0].get(name)!;
      let num = 0;
      let den = 0;
      for (let i = 0; i < g.length; i++) {
        num += (q[i] - g[i]) ** 2;
        den += g[i] ** 2;
      }
      assert.ok(den > 0, `${name} has an all-zero gradient`);
      worst = Math.max(worst, Math.sqrt(num / den));
    }
    t.diagnostic(`worst relative gradient difference: ${worst.toExponential(2)}`);
    assert.ok(worst < tol, `relative gradient difference ${worst}`);
  });
}
