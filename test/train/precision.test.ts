// Mixed-precision (BF16) weight products train like F32: gradients agree to BF16's precision and
// the loss curve of a short run stays within a stated tolerance of the F32 one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import type { MatmulPrecision } from "../../src/engine/autograd.js";
import { initWeights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { TrainSession, type Batch } from "../../src/train/session.js";
import { Rng } from "../../src/util/rng.js";

// Dimensions that are multiples of 32, so that ggml's tiled BF16 kernel (not a fallback) runs.
const cfg: LlamaConfig = { vocabSize: 40, contextLength: 32, dModel: 64, nLayers: 2, nHeads: 2, nKvHeads: 2, ffnDim: 128, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false };
const B = 4;
const T = cfg.contextLength;

/** Rows of a learnable sequence task: each token is the previous one plus a per-row step, mod the vocabulary. */
function batch(seed: number): Batch {
  const rng = new Rng(seed);
  const N = T * B;
  const tokens = new Int32Array(N);
  const targetIndex = new Int32Array(N);
  const weight = new Float32Array(N);
  for (let b = 0; b < B; b++) {
    const step = rng.int(1, 3);
    let x = rng.int(0, cfg.vocabSize - 1);
    for (let t = 0; t < T; t++) {
      const next = (x + step) % cfg.vocabSize;
      tokens[b * T + t] = x;
      targetIndex[b * T + t] = (b * T + t) * cfg.vocabSize + next;
      weight[b * T + t] = 1 / N;
      x = next;
    }
  }
  return { tokens, targetIndex, weight, supervised: N };
}

function session(precision: MatmulPrecision, backend: Backend): TrainSession {
  return new TrainSession({ config: cfg, weights: initWeights(cfg, 7), batch: B, seqLen: T, backend, precision });
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

test("bf16 products: every parameter's gradient is within 3% (relative L2) of the f32 gradient, and not identical", () => {
  const backend = Backend.create({ threads: 1 });
  const f32 = session("f32", backend);
  const bf16 = session("bf16", backend);
  try {
    const b = batch(1);
    const l32 = f32.microStep(b);
    const l16 = bf16.microStep(b);
    assert.ok(Math.abs(l16 - l32) < 2e-3 * l32, `loss ${l16} vs ${l32}`);
    const g32 = f32.accumulatedGradients();
    const g16 = bf16.accumulatedGradients();
    let worst = 0;
    let identical = true;
    for (const [name, g] of g32) {
      const e = relErr(g16.get(name) as Float32Array, g);
      if (e > 0) identical = false;
      worst = Math.max(worst, e);
      assert.ok(e < 0.03, `${name}: relative error ${e.toFixed(4)}`);
    }
    // The test can tell: bf16 really rounds (were the path ignored, the gradients would be equal).
    assert.ok(!identical && worst > 1e-4, `largest relative error ${worst}`);
  } finally {
    f32.dispose();
    bf16.dispose();
    backend.dispose();
  }
});

test("bf16 products: a 60-step loss curve stays within 0.01 nats + 1% of f32's at every step and falls as far", () => {
  const backend = Backend.create({ threads: 1 });
  const curves: Record<MatmulPrecision, number[]> = { f32: [], bf16: [] };
  try {
    for (const p of ["f32", "bf16"] as const) {
      const s = session(p, backend);
      try {
        for (let i = 0; i < 60; i++) {
          s.microStep(batch(100 + i));
          curves[p].push(s.step(3e-3).loss);
        }
      } finally {
        s.dispose();
      }
    }
  } finally {
    backend.dispose();
  }
  const { f32, bf16 } = curves;
  assert.ok(f32[59] < 0.5 * f32[0], `f32 loss should fall: ${f32[0]} -> ${f32[59]}`);
  for (let i = 0; i < 60; i++) assert.ok(Math.abs(bf16[i] - f32[i]) <= 0.01 + 0.01 * f32[i], `step ${i}: bf16 ${bf16[i]} vs f32 ${f32[i]}`);
  const tail = (c: number[]): number => c.slice(50).reduce((a, x) => a + x, 0) / 10;
  assert.ok(Math.abs(tail(bf16) - tail(f32)) <= 0.05 * tail(f32), `last 10 steps: bf16 ${tail(bf16)} vs f32 ${tail(f32)}`);
});
