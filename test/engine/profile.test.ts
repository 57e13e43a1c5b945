// Profiling a graph node by node computes exactly what the whole graph computes, and times every node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import { GgmlType } from "../../src/engine/ffi.js";
import { StaticGraph, graphBytes } from "../../src/engine/graph.js";
import { Context, Tensor, getF32, setF32 } from "../../src/engine/tensor.js";
import { initWeights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { TrainSession } from "../../src/train/session.js";
import { Rng } from "../../src/util/rng.js";

test("StaticGraph.profile: node by node gives the same output as compute(), with one timing per node", () => {
  const backend = Backend.create({ threads: 1 });
  const ctx = new Context({ maxTensors: 32, extraBytes: graphBytes(64) });
  try {
    const a = ctx.newTensor(GgmlType.F32, [32, 16]);
    const b = ctx.newTensor(GgmlType.F32, [32, 8]);
    const api = ctx.api;
    const y = new Tensor(api.soft_max_ext(ctx.ptr, api.mul_mat(ctx.ptr, a.ptr, b.ptr), null, 0.5, 0), GgmlType.F32);
    const out = new Tensor(api.sum(ctx.ptr, api.sqr(ctx.ptr, y.ptr)), GgmlType.F32);
    ctx.allocate(backend);
    const rng = new Rng(3);
    setF32(a, Float32Array.from({ length: 32 * 16 }, () => rng.normal()));
    setF32(b, Float32Array.from({ length: 32 * 8 }, () => rng.normal()));
    const g = new StaticGraph(ctx, backend, [out], 64);
    g.compute();
    const whole = getF32(out)[0];
    setF32(out, Float32Array.of(0)); // the profile must write it again
    const nodes = g.profile(2);
    assert.equal(getF32(out)[0], whole);
    assert.equal(nodes.length, g.nodes);
    assert.deepEqual(nodes.map((n) => n.op), ["MUL_MAT", "SOFT_MAX", "SQR", "SUM"]);
    assert.ok(nodes.every((n) => Number.isFinite(n.ms) && n.ms >= 0));
    assert.deepEqual(nodes[0].shape, [16, 8, 1, 1]);
    g.dispose();
  } finally {
    ctx.dispose();
    backend.dispose();
  }
});

test("TrainSession.profileStep: every phase appears and the session trains on afterwards", () => {
  const cfg: LlamaConfig = { vocabSize: 20, contextLength: 8, dModel: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, ffnDim: 32, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false };
  const backend = Backend.create({ threads: 1 });
  const s = new TrainSession({ config: cfg, weights: initWeights(cfg, 1), batch: 2, seqLen: 8, backend });
  try {
    const N = 16;
    const batch = { tokens: Int32Array.from({ length: N }, (_, i) => i % 20), targetIndex: Int32Array.from({ length: N }, (_, i) => i * 20 + ((i + 1) % 20)), weight: new Float32Array(N).fill(1 / N), supervised: N };
    const nodes = s.profileStep(batch, 1e-3, 1);
    const phases = new Set(nodes.map((n) => n.phase));
    assert.deepEqual([...phases].sort(), ["accumulate", "backward", "forward", "norm", "optimizer"]);
    assert.ok(nodes.some((n) => n.phase === "optimizer" && n.op === "OPT_STEP_ADAMW"));
    assert.ok(nodes.some((n) => n.phase === "forward" && n.op === "MUL_MAT"));
    // The accumulators were cleared: a normal step follows.
    s.microStep(batch);
    assert.ok(Number.isFinite(s.step(1e-3).loss));
  } finally {
    s.dispose();
    backend.dispose();
  }
});
