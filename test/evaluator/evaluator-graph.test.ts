// The evaluator losses as ggml graphs against their plain-number definitions (evaluator-loss.ts)
// on tiny hand-made logits, with both signs of the margin, and their gradients against central
// finite differences. The logits are a leaf tensor of a small Tape graph, as in the engine tests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Tape } from "../../src/engine/autograd.js";
import { Backend } from "../../src/engine/backend.js";
import { GgmlType } from "../../src/engine/ffi.js";
import { StaticGraph, graphBytes } from "../../src/engine/graph.js";
import { Context, getF32, setF32, setI32, type Tensor } from "../../src/engine/tensor.js";
import {
  evaluatorLoss,
  newEvaluatorLossInputs,
  newSequenceContrastiveInputs,
  sequenceContrastiveLoss,
  type EvaluatorLossKind,
} from "../../src/train/evaluator-graph.js";
import * as plain from "../../src/train/evaluator-loss.js";
import { packEvaluatorBatch, packSequencePairBatch } from "../../src/train/evaluator-data.js";
import { evaluatorSessionLoss, sequenceContrastiveSessionLoss } from "../../src/train/evaluator.js";
import { Rng } from "../../src/util/rng.js";

const backend = Backend.create({ threads: 1 });
const V = 6;
const T = 3;
const B = 2;
const N = T * B;
const C = 2; // first token of the positive label
const I = 4; // first token of the negative label

/** A loss graph over a leaf logits tensor: value and gradient, recomputable with new logits. */
interface Harness {
  logits: Tensor;
  compute(values: Float32Array): { loss: number; grad: Float32Array };
  dispose(): void;
}

function harness(build: (tape: Tape, logits: Tensor, inputs: Context) => { loss: Tensor; feed: () => void }): Harness {
  const params = new Context({ maxTensors: 32 });
  const logits = params.newTensor(GgmlType.F32, [V, N], "logits");
  const one = params.newTensor(GgmlType.F32, [1], "one");
  const ctx = new Context({ maxTensors: 512, extraBytes: graphBytes(512) });
  const tape = new Tape(ctx);
  tape.param(logits);
  const { loss, feed } = build(tape, logits, params);
  params.allocate(backend);
  setF32(one, Float32Array.of(1));
  feed();
  const [grad] = tape.backward(loss, one, [logits]);
  assert.ok(grad, "the loss depends on the logits");
  const graph = new StaticGraph(ctx, backend, [loss, grad], 512);
  return {
    logits,
    compute(values) {
      setF32(logits, values);
      graph.compute();
      return { loss: getF32(loss)[0], grad: getF32(grad) };
    },
    dispose() {
      graph.dispose();
      ctx.dispose();
      params.dispose();
    },
  };
}

function logSoftmaxAt(values: Float32Array, pos: number, tok: number): number {
  const col = Array.from(values.subarray(pos * V, pos * V + V));
  const m = Math.max(...col);
  const lse = m + Math.log(col.reduce((a, x) => a + Math.exp(x - m), 0));
  return col[tok] - lse;
}

function gradCheck(h: Harness, values: Float32Array, label: string): void {
  const { grad } = h.compute(values);
  let nonZero = 0;
  for (let k = 0; k < values.length; k++) {
    const orig = values[k];
    const eps = 1e-2;
    values[k] = orig + eps;
    const lp = h.compute(values).loss;
    values[k] = orig - eps;
    const lm = h.compute(values).loss;
    values[k] = orig;
    const fd = (lp - lm) / (2 * eps);
    const err = Math.abs(fd - grad[k]) / Math.max(1e-3, Math.abs(fd) + Math.abs(grad[k]));
    assert.ok(err < 0.02 || Math.abs(fd - grad[k]) < 2e-4, `${label}: d/dlogits[${k}] analytic ${grad[k]} vs finite difference ${fd}`);
    if (grad[k] !== 0) nonZero++;
  }
  assert.ok(nonZero > 0, `${label}: all-zero gradient`);
}

// Two pairs. Positive slots read positions 2 and 5, negative slots positions 1 and 3. The logits
// are chosen so that pair 0 has the evaluator right by a wide margin (hinge inactive at λ = 1)
// and pair 1 has it wrong (hinge active).
function handLogits(): Float32Array {
  const v = new Float32Array(V * N);
  const set = (pos: number, col: number[]): void => v.set(col, pos * V);
  set(0, [0.1, -0.2, 0.3, 0.0, 0.5, -0.1]);
  set(1, [0.2, 0.1, -1.5, 0.3, 1.2, 0.0]); // X-_0: says "incorrect" (l_i - l_c = 2.7)
  set(2, [0.0, 0.4, 2.5, -0.3, -0.6, 0.2]); // X+_0: says "correct" (l_c - l_i = 3.1)
  set(3, [-0.4, 0.2, 0.9, 0.1, 0.3, 0.6]); // X-_1: leans "correct"
  set(4, [0.3, 0.3, 0.3, -0.2, 0.1, 0.0]);
  set(5, [0.5, -0.3, -0.2, 0.4, 0.8, -0.5]); // X+_1: leans "incorrect"
  return v;
}
const POS = [2, 5];
const NEG = [1, 3];

function evaluatorHarness(kind: EvaluatorLossKind, lambda: number, mix = { margin: 0.7, ce: 0.3 }, ceWeights?: { pos: number[]; neg: number[] }): Harness {
  return harness((tape, logits, params) => {
    const inp = newEvaluatorLossInputs(params, 2);
    const loss = evaluatorLoss(tape, logits, inp, { kind, lambda, mix });
    return {
      loss,
      feed: () => {
        setI32(inp.posPositive, Int32Array.from(POS));
        setI32(inp.posNegative, Int32Array.from(NEG));
        setI32(inp.pickCorrect, Int32Array.of(0 * V + C, 1 * V + C));
        setI32(inp.pickIncorrect, Int32Array.of(0 * V + I, 1 * V + I));
        setF32(inp.pairWeight, Float32Array.of(0.5, 0.5));
        setF32(inp.ceWeightPositive, Float32Array.from(ceWeights?.pos ?? [0.25, 0.25]));
        setF32(inp.ceWeightNegative, Float32Array.from(ceWeights?.neg ?? [0.25, 0.25]));
      },
    };
  });
}

function plainPairs(v: Float32Array): Array<{ logSPos: number; logSNeg: number; logPcPos: number; logPiNeg: number }> {
  return POS.map((p, s) => ({
    logSPos: plain.logScore(v[p * V + C], v[p * V + I]),
    logSNeg: plain.logScore(v[NEG[s] * V + C], v[NEG[s] * V + I]),
    logPcPos: logSoftmaxAt(v, p, C),
    logPiNeg: logSoftmaxAt(v, NEG[s], I),
  }));
}

const close = (got: number, want: number, what: string): void =>
  assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${what}: graph ${got} vs definition ${want}`);

test("margin and softplus graphs equal the definitions, with the hinge active and inactive", () => {
  const v = handLogits();
  const pairs = plainPairs(v);
  // Pair 0 is ranked right (log S(X+) - log S(X-) > λ), pair 1 wrong: both signs of the margin.
  assert.ok(pairs[0].logSPos - pairs[0].logSNeg > 1.5);
  assert.ok(pairs[1].logSNeg - pairs[1].logSPos > 0);
  assert.equal(plain.marginLoss(pairs[0].logSPos, pairs[0].logSNeg, 1), 0);
  assert.ok(plain.marginLoss(pairs[1].logSPos, pairs[1].logSNeg, 1) > 1);
  for (const lambda of [1, 0.25]) {
    for (const kind of ["margin", "softplus"] as const) {
      const h = evaluatorHarness(kind, lambda);
      try {
        const f = kind === "margin" ? plain.marginLoss : plain.softplusMarginLoss;
        const want = pairs.reduce((a, p) => a + f(p.logSPos, p.logSNeg, lambda), 0) / 2;
        close(h.compute(v).loss, want, `${kind} λ=${lambda}`);
      } finally {
        h.dispose();
      }
    }
  }
  // A margin so large that every pair violates it, and one so negative that none does.
  for (const [lambda, zero] of [[10, false], [-10, true]] as const) {
    const h = evaluatorHarness("margin", lambda);
    try {
      const got = h.compute(v).loss;
      if (zero) assert.equal(got, 0);
      else close(got, pairs.reduce((a, p) => a + plain.marginLoss(p.logSPos, p.logSNeg, lambda), 0) / 2, `margin λ=${lambda}`);
    } finally {
      h.dispose();
    }
  }
});

test("cross-entropy and mix graphs equal the definitions", () => {
  const v = handLogits();
  const pairs = plainPairs(v);
  const ce = evaluatorHarness("ce", 1);
  try {
    const want = pairs.reduce((a, p) => a + plain.crossEntropyLoss(true, p.logPcPos, NaN) + plain.crossEntropyLoss(false, NaN, p.logPiNeg), 0) / 4;
    close(ce.compute(v).loss, want, "ce");
  } finally {
    ce.dispose();
  }
  // Unequal class weights (a pointwise batch with 2 correct and 1 incorrect candidate).
  const ce2 = evaluatorHarness("ce", 1, undefined, { pos: [1 / 3, 1 / 3], neg: [1 / 3, 0] });
  try {
    const want = (-pairs[0].logPcPos - pairs[1].logPcPos - pairs[0].logPiNeg) / 3;
    close(ce2.compute(v).loss, want, "ce, unbalanced slots");
  } finally {
    ce2.dispose();
  }
  const weights = { margin: 0.7, ce: 0.3 };
  const mix = evaluatorHarness("mix", 1, weights);
  try {
    const want = pairs.reduce((a, p) => a + plain.mixLoss(p, weights, 1), 0) / 2;
    close(mix.compute(v).loss, want, "mix");
  } finally {
    mix.dispose();
  }
});

test("log S stays exact when both label probabilities underflow", () => {
  const v = handLogits();
  // Another token dominates by 200 nats at every label position: p_c and p_i are ~e^-200.
  for (const p of [...POS, ...NEG]) v[p * V + 0] = 200;
  const pairs = plainPairs(v);
  const h = evaluatorHarness("softplus", 1);
  try {
    close(h.compute(v).loss, pairs.reduce((a, p) => a + plain.softplusMarginLoss(p.logSPos, p.logSNeg, 1), 0) / 2, "softplus at underflow");
  } finally {
    h.dispose();
  }
});

test("gradients of every evaluator loss match finite differences", () => {
  for (const kind of ["margin", "softplus", "ce", "mix"] as const) {
    const h = evaluatorHarness(kind, 1);
    try {
      gradCheck(h, handLogits(), kind);
    } finally {
      h.dispose();
    }
  }
  // Random logits away from the hinge's kink.
  const rng = new Rng(11);
  for (let trial = 0; trial < 3; trial++) {
    const v = Float32Array.from({ length: V * N }, () => (rng.next() - 0.5) * 4);
    const pairs = plainPairs(v);
    if (pairs.some((p) => Math.abs(p.logSNeg - p.logSPos + 1) < 0.1)) continue;
    const h = evaluatorHarness("mix", 1);
    try {
      gradCheck(h, v, `mix, random logits #${trial}`);
    } finally {
      h.dispose();
    }
  }
});

// Sequence-level contrastive baseline: pair 0 is row 0 (X+) against row 1 (X-); position t of a
// row predicts token t + 1, and the solution tokens are those predicted from positions 1 and 2.
function seqHarness(targets: Int32Array, lambda: number, alpha: number): Harness {
  return harness((tape, logits, params) => {
    const inp = newSequenceContrastiveInputs(params, N, 2);
    const loss = sequenceContrastiveLoss(tape, logits, inp, { lambda, alpha });
    return {
      loss,
      feed: () => {
        setI32(inp.targetIndex, Int32Array.from(targets, (tok, i) => i * V + tok));
        // [N, P] with N fastest: column p lists the positions of pair p.
        const selPos = new Float32Array(N * 2);
        const selNeg = new Float32Array(N * 2);
        for (const t of [1, 2]) {
          selPos[0 * N + t] = 1; // pair 0: X+ is row 0
          selNeg[0 * N + T + t] = 1; // X- is row 1
        }
        // Pair 1 is padding (weight 0) over the same rows.
        selPos[1 * N + 1] = 1;
        selNeg[1 * N + T + 1] = 1;
        setF32(inp.selectPositive, selPos);
        setF32(inp.selectNegative, selNeg);
        setF32(inp.pairWeight, Float32Array.of(1, 0));
        setF32(inp.mleWeight, Float32Array.of(1 / 2, 0));
      },
    };
  });
}

test("the sequence-level contrastive baseline equals its definition (both signs) and its gradient matches", () => {
  const targets = Int32Array.of(1, 3, 5, 0, 2, 4);
  const v = handLogits();
  const lp = (rows: number[]): number => rows.reduce((a, i) => a + logSoftmaxAt(v, i, targets[i]), 0);
  const logPPos = lp([1, 2]);
  const logPNeg = lp([T + 1, T + 2]);
  for (const lambda of [-(logPNeg - logPPos) - 0.5, -(logPNeg - logPPos) + 0.5]) {
    const h = seqHarness(targets, lambda, 0.5);
    try {
      close(h.compute(v).loss, plain.sequenceContrastiveLoss(logPPos, logPNeg, 2, lambda, 0.5), `seq-contrastive λ=${lambda.toFixed(3)}`);
      gradCheck(h, handLogits(), `seq-contrastive λ=${lambda.toFixed(3)}`);
    } finally {
      h.dispose();
    }
  }
});

test("the session loss hook: inputs, graph and feed from a packed batch give the definition's value", () => {
  const labels = { prefix: [], positive: C, negative: I, words: { positive: "c", negative: "i" } };
  // Rows of 3 tokens: pair 0 = (+ at row 0 [0..1], - at row 0 [2]), pair 1 = (+ row 1 [0..1], - row 1 [2]).
  const items = [
    { positive: [1, 3], negative: [5] },
    { positive: [0, 2], negative: [4] },
  ];
  const batch = packEvaluatorBatch(items, { seqLen: T, batch: B, slots: 2, vocabSize: V }, labels);
  assert.equal(batch.items, 2);
  for (const kind of ["margin", "softplus", "ce", "mix"] as const) {
    const hook = evaluatorSessionLoss({ kind, lambda: 1, mix: { margin: 0.7, ce: 0.3 } }, 2);
    const h = harness((tape, logits, params) => {
      hook.createInputs(params, { seqLen: T, batch: B, vocabSize: V });
      return { loss: hook.build(tape, logits), feed: () => hook.feed(batch) };
    });
    try {
      const v = handLogits();
      const at = (pos: number) => ({ logS: plain.logScore(v[pos * V + C], v[pos * V + I]), lpc: logSoftmaxAt(v, pos, C), lpi: logSoftmaxAt(v, pos, I) });
      // Label positions: 1 (+), 2 (-) in row 0; 4 (+), 5 (-) in row 1.
      const pairs = [[1, 2], [4, 5]].map(([p, n]) => ({ logSPos: at(p).logS, logSNeg: at(n).logS, logPcPos: at(p).lpc, logPiNeg: at(n).lpi }));
      const per = (p: (typeof pairs)[number]): number =>
        kind === "margin"
          ? plain.marginLoss(p.logSPos, p.logSNeg, 1)
          : kind === "softplus"
            ? plain.softplusMarginLoss(p.logSPos, p.logSNeg, 1)
            : kind === "ce"
              ? (-p.logPcPos - p.logPiNeg) / 2
              : plain.mixLoss(p, { margin: 0.7, ce: 0.3 }, 1);
      close(h.compute(v).loss, (per(pairs[0]) + per(pairs[1])) / 2, `hook ${kind}`);
    } finally {
      h.dispose();
    }
  }
  const hook = evaluatorSessionLoss({ kind: "margin" }, 2);
  assert.throws(() => hook.feed(batch), /before its inputs/);
});

test("the contrastive session loss from a packed sequence-pair batch gives the definition's value", () => {
  // Rows of 3: X+ = prompt [1] + solution [3, 2] in row 0, X- = [1] + [4, 5] in row 1.
  const item = { prompt: [1], positive: [3, 2], negative: [4, 5] };
  const batch = packSequencePairBatch([item, item], { seqLen: T, batch: B, pairs: 2, vocabSize: V });
  assert.equal(batch.items, 1, "the second pair has no room");
  for (const lambda of [5, -5]) {
    const hook = sequenceContrastiveSessionLoss({ lambda, alpha: 0.5 }, 2);
    const h = harness((tape, logits, params) => {
      hook.createInputs(params, { seqLen: T, batch: B, vocabSize: V });
      return { loss: hook.build(tape, logits), feed: () => hook.feed(batch) };
    });
    try {
      const v = handLogits();
      const logPPos = logSoftmaxAt(v, 0, 3) + logSoftmaxAt(v, 1, 2);
      const logPNeg = logSoftmaxAt(v, 3, 4) + logSoftmaxAt(v, 4, 5);
      close(h.compute(v).loss, plain.sequenceContrastiveLoss(logPPos, logPNeg, 2, lambda, 0.5), `contrastive hook λ=${lambda}`);
    } finally {
      h.dispose();
    }
  }
});
