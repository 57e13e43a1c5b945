// Golden test: next-token log-probabilities of the TypeScript/ggml forward pass against llama.cpp
// (through node-llama-cpp) on the same GGUF file, for a random and a briefly trained model.
// llama.cpp runs with an F32 KV cache here so that the comparison measures the model code, not
// the cache's F16 rounding (which alone moves log-probs by up to ~5e-3 on large-activation models).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend } from "../../src/engine/backend.js";
import { TrainSession } from "../../src/train/session.js";
import { encodeExamples, BatchStream } from "../../src/train/data.js";
import { initWeights, saveModelGguf, type Weights } from "../../src/model/checkpoint.js";
import { presetConfig, type LlamaConfig } from "../../src/model/config.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { llamaCppLogProbs, maxAbsDiff, tsLogProbs } from "./logprobs.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-golden-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const backend = Backend.create({ threads: 1 });
const tok = CharTokenizer.ascii();
const TEXT = "What is 12+35? Think step by step.\nAnswer: 47";

async function compare(label: string, cfg: LlamaConfig, w: Weights, f32Cache = true): Promise<number> {
  const path = join(dir, `${label}.gguf`);
  await saveModelGguf(path, { config: cfg, tokenizer: tok, weights: w });
  const ids = [tok.bosId, ...tok.encode(TEXT)];
  return maxAbsDiff(tsLogProbs(cfg, w, ids, backend), await llamaCppLogProbs(path, ids, cfg.vocabSize, f32Cache));
}

// Grouped-query attention (4 query heads sharing 2 kv heads) and an untied output.
const cfg = presetConfig("tiny", tok.vocabSize, { nKvHeads: 2 });

test("random model: TS forward matches llama.cpp next-token log-probs within 1e-3", async (t) => {
  const w = initWeights(cfg, 11);
  // Scaled-up weights give peaked, position-dependent distributions rather than near-uniform ones.
  for (const [k, v] of w) if (!k.endsWith("norm.weight")) for (let i = 0; i < v.length; i++) v[i] *= 5;
  const worst = await compare("random", cfg, w);
  t.diagnostic(`max abs log-prob difference: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
});

test("random model at init scale, llama.cpp's default F16 KV cache: within 1e-3 too", async (t) => {
  const worst = await compare("random-f16cache", cfg, initWeights(cfg, 13), false);
  t.diagnostic(`max abs log-prob difference: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
});

test("trained model: TS forward matches llama.cpp next-token log-probs within 1e-3", async (t) => {
  const tied = { ...cfg, tiedOutput: true };
  const s = new TrainSession({ config: tied, weights: initWeights(tied, 12), batch: 4, seqLen: 64, backend });
  let w: Weights;
  try {
    const ex = encodeExamples(
      Array.from({ length: 64 }, (_, i) => ({ prompt: `What is ${i}+${i % 7}? `, completion: `Answer: ${i + (i % 7)}` })),
      tok,
    );
    const stream = new BatchStream(ex, 64, 4, tied.vocabSize, tok.eosId, 1);
    let first = 0;
    let last = 0;
    for (let step = 0; step < 40; step++) {
      s.microStep(stream.next());
      const r = s.step(3e-3);
      if (step === 0) first = r.loss;
      last = r.loss;
    }
    assert.ok(last < first - 1, `training did not move the model (loss ${first} -> ${last})`);
    w = s.getWeights();
  } finally {
    s.dispose();
  }
  const worst = await compare("trained", tied, w);
  t.diagnostic(`max abs log-prob difference: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
});
