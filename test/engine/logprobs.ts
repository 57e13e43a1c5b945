// Next-token log-probabilities of the same GGUF model from our engine's forward pass and from
// llama.cpp (through node-llama-cpp), for the golden tests.
import assert from "node:assert/strict";
import type { Token } from "node-llama-cpp";
import type { Backend } from "../../src/engine/backend.js";
import type { Weights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { getLlamaCpu } from "../../src/sample/llama.js";
import { TrainSession, type SessionOptions } from "../../src/train/session.js";

/**
 * Log-softmax rows [position][vocab] of our forward pass over `ids` (one sequence). With `lora`,
 * `w` is the adapter and `lora.base` the model in its stored types.
 */
export function tsLogProbs(cfg: LlamaConfig, w: Weights, ids: number[], backend: Backend, lora?: SessionOptions["lora"]): Float64Array[] {
  const s = new TrainSession({ config: cfg, weights: w, batch: 1, seqLen: ids.length, backend, ...(lora ? { lora } : {}) });
  try {
    const lg = s.logits(Int32Array.from(ids));
    const V = cfg.vocabSize;
    return ids.map((_, t) => {
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, lg[t * V + v]);
      let z = 0;
      for (let v = 0; v < V; v++) z += Math.exp(lg[t * V + v] - m);
      const row = new Float64Array(V);
      for (let v = 0; v < V; v++) row[v] = lg[t * V + v] - m - Math.log(z);
      return row;
    });
  } finally {
    s.dispose();
  }
}

/**
 * llama.cpp's next-token log-probabilities over `ids` for the model at `path`. With `f32Cache`
 * the KV cache is F32, so the comparison measures the model code rather than the F16 cache's
 * rounding (which alone moves log-probs by up to ~5e-3 on large-activation models). `lora` is an
 * adapter GGUF that llama.cpp applies (scale 1).
 */
export async function llamaCppLogProbs(path: string, ids: number[], vocab: number, f32Cache = true, lora?: string): Promise<Float64Array[]> {
  const llama = await getLlamaCpu();
  const model = await llama.loadModel({ modelPath: path });
  try {
    const ctx = await model.createContext({
      contextSize: 128,
      sequences: 1,
      threads: 1,
      ...(lora ? { lora: { adapters: [{ filePath: lora, scale: 1 }] } } : {}),
      ...(f32Cache ? { flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } : {}),
    });
    const seq = ctx.getSequence();
    // topK 0 / topP 1 / minP 0: the full distribution, not the one left after truncation.
    const out = await seq.controlledEvaluate(
      ids.map((t) => [t as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]),
    );
    await ctx.dispose();
    return out.map((r, t) => {
      const p = r?.next.probabilities;
      assert.ok(p, `no probabilities at position ${t}`);
      const row = new Float64Array(vocab);
      for (let v = 0; v < vocab; v++) row[v] = Math.log(p.get(v as Token) ?? 0);
      return row;
    });
  } finally {
    await model.dispose();
  }
}

/** The largest absolute difference between two sets of log-probability rows. */
export function maxAbsDiff(a: Float64Array[], b: Float64Array[]): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let t = 0; t < a.length; t++) {
    assert.equal(a[t].length, b[t].length);
    for (let v = 0; v < a[t].length; v++) worst = Math.max(worst, Math.abs(a[t][v] - b[t][v]));
  }
  return worst;
}
