// AdamW, clipping and gradient accumulation of a training session, against plain-JS references.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import { TrainSession, type Batch } from "../../src/train/session.js";
import { initWeights, type Weights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { Rng } from "../../src/util/rng.js";

const backend = Backend.create({ threads: 1 });
const cfg: LlamaConfig = { vocabSize: 13, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, ffnDim: 24, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false };
const T = 8;

/** Rows with the same number of supervised targets, so that averaging micro-batches = one big batch. */
function rows(B: number, seed: number): Batch {
  const rng = new Rng(seed);
  const N = T * B;
  const tokens = Int32Array.from({ length: N }, () => rng.int(0, cfg.vocabSize - 1));
  const targetIndex = Int32Array.from({ length: N }, (_, i) => i * cfg.vocabSize + rng.int(0, cfg.vocabSize - 1));
  const weight = new Float32Array(N);
  for (let b = 0; b < B; b++) for (let t = 2; t < 7; t++) weight[b * T + t] = 1 / (5 * B);
  return { tokens, targetIndex, weight, supervised: 5 * B };
}

function slice(b: Batch, row: number): Batch {
  const V = cfg.vocabSize;
  const s = (a: Int32Array | Float32Array) => a.slice(row * T, (row + 1) * T);
  const targetIndex = (s(b.targetIndex) as Int32Array).map((x, t) => (x % V) + t * V);
  return { tokens: s(b.tokens) as Int32Array, targetIndex, weight: (s(b.weight) as Float32Array).map((w) => (w === 0 ? 0 : 1 / 5)), supervised: 5 };
}

function maxRelDiff(a: Weights, b: Weights): number {
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1e-3, Math.abs(x[i])));
  }
  return worst;
}

test("one AdamW step equals the reference update (bias-corrected moments, decoupled decay on matrices only)", () => {
  const w0 = initWeights(cfg, 1);
  const s = new TrainSession({ config: cfg, weights: w0, batch: 2, seqLen: T, backend, clipNorm: 0, adamw: { beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.5 } });
  try {
    const batch = rows(2, 3);
    s.microStep(batch);
    const g = s.accumulatedGradients();
    const lr = 0.01;
    s.step(lr);
    const w1 = s.getWeights();
    for (const [name, grad] of g) {
      const decay = !name.endsWith("norm.weight") ? 0.5 : 0;
      const before = w0.get(name)!;
      for (let i = 0; i < grad.length; i += 7) {
        const m = (1 - 0.8) * grad[i];
        const v = (1 - 0.9) * grad[i] * grad[i];
        const mh = m / (1 - 0.8);
        const vh = v / (1 - 0.9);
        const want = before[i] * (1 - lr * decay) - (lr * mh) / (Math.sqrt(vh) + 1e-6);
        assert.ok(Math.abs(w1.get(name)![i] - want) < 1e-6 + 1e-5 * Math.abs(want), `${name}[${i}]: ${w1.get(name)![i]} vs ${want}`);
      }
    }
    assert.equal(s.optimizer.stepCount, 1);
  } finally {
    s.dispose();
  }
});

test("two accumulated micro-batches of 1 row equal one batch of 2 rows", () => {
  const w0 = initWeights(cfg, 2);
  const big = new TrainSession({ config: cfg, weights: w0, batch: 2, seqLen: T, backend });
  const small = new TrainSession({ config: cfg, weights: w0, batch: 1, seqLen: T, backend, accumulation: 2 });
  try {
    for (let step = 0; step < 3; step++) {
      const b = rows(2, 10 + step);
      const r1 = big.microStep(b);
      const l0 = small.microStep(slice(b, 0));
      assert.equal(small.readyToStep, false);
      assert.throws(() => small.step(1e-3), /cannot step yet/);
      const l1 = small.microStep(slice(b, 1));
      assert.ok(Math.abs(r1 - (l0 + l1) / 2) < 1e-5, `loss ${r1} vs ${(l0 + l1) / 2}`);
      const a = big.step(1e-3);
      const c = small.step(1e-3);
      assert.ok(Math.abs(a.gradNorm - c.gradNorm) < 1e-4 * a.gradNorm, `grad norm ${a.gradNorm} vs ${c.gradNorm}`);
    }
    const d = maxRelDiff(big.getWeights(), small.getWeights());
    assert.ok(d < 1e-3, `weights differ by ${d}`);
  } finally {
    big.dispose();
    small.dispose();
  }
});

test("clipping rescales the gradient to the clip norm; the reported norm is the unclipped one", () => {
  const w0 = initWeights(cfg, 3);
  const clip = 1e-3;
  const eps = 1e-4; // comparable to the clipped entries, so the update depends on the scale
  const s = new TrainSession({ config: cfg, weights: w0, batch: 2, seqLen: T, backend, clipNorm: clip, adamw: { weightDecay: 0, eps } });
  try {
    s.microStep(rows(2, 5));
    const g = s.accumulatedGradients();
    let sq = 0;
    for (const x of g.values()) for (const v of x) sq += v * v;
    const norm = Math.sqrt(sq);
    const lr = 0.01;
    const r = s.step(lr);
    assert.ok(Math.abs(r.gradNorm - norm) < 1e-4 * norm, `${r.gradNorm} vs ${norm}`);
    assert.ok(norm > clip * 10, "the test needs a gradient above the clip");
    const coef = clip / norm;
    const w1 = s.getWeights();
    for (const [name, grad] of g) {
      for (let i = 0; i < grad.length; i += 5) {
        const gc = grad[i] * coef;
        // First step: m̂ = g, v̂ = g².
        const want = w0.get(name)![i] - (lr * gc) / (Math.abs(gc) + eps);
        assert.ok(Math.abs(w1.get(name)![i] - want) < 1e-6 + 1e-5 * Math.abs(want), `${name}[${i}]: ${w1.get(name)![i]} vs ${want}`);
      }
    }
    // Accumulators are cleared by the step.
    for (const x of s.accumulatedGradients().values()) assert.ok(x.every((v) => v === 0));
  } finally {
    s.dispose();
  }
});

test("a pluggable session loss (own inputs, graph and feed) trains like the built-in one when it is the same loss", async () => {
  const { maskedNll } = await import("../../src/model/llama.js");
  const { GgmlType } = await import("../../src/engine/ffi.js");
  const { setF32, setI32 } = await import("../../src/engine/tensor.js");
  type T = import("../../src/engine/tensor.js").Tensor;
  let idx: T | undefined;
  let wt: T | undefined;
  let fed = 0;
  const loss = {
    createInputs(ctx: import("../../src/engine/tensor.js").Context, shape: { seqLen: number; batch: number }) {
      idx = ctx.newTensor(GgmlType.I32, [shape.seqLen * shape.batch]);
      wt = ctx.newTensor(GgmlType.F32, [1, shape.seqLen * shape.batch]);
    },
    build(tape: import("../../src/engine/autograd.js").Tape, logits: T) {
      return maskedNll(tape, logits, { targetIndex: idx!, weight: wt! });
    },
    feed(b: Batch) {
      fed++;
      setI32(idx!, b.targetIndex);
      setF32(wt!, b.weight);
    },
  };
  const w0 = initWeights(cfg, 6);
  const a = new TrainSession({ config: cfg, weights: w0, batch: 2, seqLen: T, backend });
  const b = new TrainSession({ config: cfg, weights: w0, batch: 2, seqLen: T, backend, loss });
  try {
    for (let step = 0; step < 2; step++) {
      const batch = rows(2, 20 + step);
      assert.equal(a.microStep(batch), b.microStep(batch));
      a.step(1e-2);
      b.step(1e-2);
    }
    assert.equal(fed, 2);
    assert.equal(maxRelDiff(a.getWeights(), b.getWeights()), 0);
    b.logits(rows(2, 1).tokens);
    assert.equal(fed, 2, "logits() does not feed the loss");
  } finally {
    a.dispose();
    b.dispose();
  }
});
