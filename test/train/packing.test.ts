// Packing several examples into one row must not change what the model computes for each:
// positions restart and attention stays inside the example.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Backend } from "../../src/engine/backend.js";
import { TrainSession } from "../../src/train/session.js";
import { attentionInputs, makeBatch, packRows } from "../../src/train/data.js";
import { initWeights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";

const cfg: LlamaConfig = { vocabSize: 30, contextLength: 16, dModel: 16, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 32, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false };

test("attention inputs: positions restart per example, the mask is causal within an example", () => {
  const { positions, mask } = attentionInputs(Int32Array.of(0, 0, 0, 1, 1, 2), 3, 2);
  assert.deepEqual(Array.from(positions), [0, 1, 2, 0, 1, 0]);
  const row = (b: number, q: number) => Array.from(mask.slice((b * 3 + q) * 3, (b * 3 + q) * 3 + 3)).map((x) => (x === 0 ? 1 : 0));
  assert.deepEqual([row(0, 0), row(0, 1), row(0, 2)], [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assert.deepEqual([row(1, 0), row(1, 1), row(1, 2)], [[1, 0, 0], [1, 1, 0], [0, 0, 1]]);
});

test("an example packed after another gets the same logits as alone at the start of a row", () => {
  const backend = Backend.create({ threads: 1 });
  const T = 16;
  const s = new TrainSession({ config: cfg, weights: initWeights(cfg, 4), batch: 2, seqLen: T, backend });
  try {
    const first = { prompt: [1, 5, 6, 7], completion: [8, 9, 2] };
    const second = { prompt: [1, 10, 11], completion: [12, 13, 14, 2] };
    const packed = packRows([first, second], [0, 1], T, 2).rows;
    assert.equal(packed.length, 1);
    const alone = packRows([second], [0], T, 2).rows;
    const batch = makeBatch([packed[0], alone[0]], T, 2, cfg.vocabSize, 2);
    const lg = s.logits(batch.tokens, { positions: batch.positions, mask: batch.mask });
    const V = cfg.vocabSize;
    const off = first.prompt.length + first.completion.length; // where `second` starts in row 0
    const len = second.prompt.length + second.completion.length;
    let worst = 0;
    for (let t = 0; t < len; t++) {
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(lg[(off + t) * V + v] - lg[(T + t) * V + v]));
    }
    assert.ok(worst < 1e-5, `packed vs alone logits differ by ${worst}`);
    // And without the mask they would differ (the test can tell).
    const plain = s.logits(batch.tokens);
    let diff = 0;
    for (let t = 0; t < len; t++) for (let v = 0; v < V; v++) diff = Math.max(diff, Math.abs(plain[(off + t) * V + v] - plain[(T + t) * V + v]));
    assert.ok(diff > 1e-3, `unmasked packing should leak across examples (diff ${diff})`);
  } finally {
    s.dispose();
    backend.dispose();
  }
});
