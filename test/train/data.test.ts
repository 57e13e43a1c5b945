// Pure parts of training: packing, batches, the split, the schedule.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { BatchStream, makeBatch, packRows, splitTrainVal, type EncodedExample } from "../../src/train/data.js";
import { lrAt } from "../../src/train/schedule.js";

const exArb = fc.record({
  prompt: fc.array(fc.integer({ min: 3, max: 40 }), { minLength: 1, maxLength: 12 }),
  completion: fc.array(fc.integer({ min: 3, max: 40 }), { minLength: 1, maxLength: 12 }),
});

test("packing keeps every example whole (or cut at the row end) and supervises only completions", () => {
  fc.assert(
    fc.property(fc.array(exArb, { minLength: 1, maxLength: 30 }), fc.integer({ min: 4, max: 30 }), (examples: EncodedExample[], seqLen) => {
      const { rows, stats } = packRows(examples, examples.map((_, i) => i), seqLen, 2);
      let expectSup = 0;
      let cut = 0;
      for (const e of examples) {
        const len = e.prompt.length + e.completion.length;
        if (len > seqLen + 1) cut++;
        expectSup += Math.max(0, Math.min(len, seqLen + 1) - Math.max(1, e.prompt.length));
      }
      assert.equal(stats.truncated, cut);
      for (const r of rows) {
        assert.equal(r.tokens.length, seqLen + 1);
        assert.equal(r.supervised.length, seqLen + 1);
      }
      // Supervised targets: every completion token that fits, except a row's first token (never a target).
      let sup = 0;
      for (const r of rows) for (let t = 1; t <= seqLen; t++) if (r.supervised[t]) sup++;
      assert.equal(sup, stats.supervisedTokens);
      assert.ok(sup <= expectSup + examples.length);
    }),
    { numRuns: 200 },
  );
});

test("a batch's weights average over its supervised targets and index the next token", () => {
  const rows = packRows([{ prompt: [1, 10, 11], completion: [12, 2] }], [0], 6, 2).rows;
  const b = makeBatch(rows, 6, 2, 50, 2);
  assert.equal(b.supervised, 2);
  assert.deepEqual(Array.from(b.tokens.slice(0, 6)), [1, 10, 11, 12, 2, 2]);
  // Position 2 (token 11) predicts 12, position 3 predicts EOS (2): both supervised.
  assert.deepEqual(Array.from(b.weight.slice(0, 6)), [0, 0, 0.5, 0.5, 0, 0]);
  assert.equal(b.targetIndex[2], 2 * 50 + 12);
  assert.equal(b.targetIndex[3], 3 * 50 + 2);
  // The second row is padding.
  assert.ok(b.weight.slice(6).every((w) => w === 0));
});

test("example loss weighting: each example's tokens average first, then the examples", () => {
  // Two examples in one row (a 4-token completion and a 1-token label), one in the next.
  const ex: EncodedExample[] = [
    { prompt: [1, 10], completion: [11, 12, 13, 2] },
    { prompt: [1, 20], completion: [2] },
    { prompt: [1, 30, 31], completion: [32, 2] },
  ];
  const rows = packRows(ex, [0, 1, 2], 9, 2).rows;
  assert.equal(rows.length, 2);
  const token = makeBatch(rows, 9, 2, 50, 2);
  const byExample = makeBatch(rows, 9, 2, 50, 2, "example");
  const nonzero = (w: Float32Array): number[] => Array.from(w).filter((x) => x !== 0);
  assert.deepEqual(nonzero(token.weight), Array(7).fill(1 / 7).map(Math.fround));
  // 3 examples: 4, 1 and 2 supervised targets.
  const want = [...Array(4).fill(1 / 12), 1 / 3, ...Array(2).fill(1 / 6)].map(Math.fround);
  assert.deepEqual(nonzero(byExample.weight), want);
  const sum = nonzero(byExample.weight).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-6, `weights sum to ${sum}`);
  assert.equal(byExample.examples, 3);
  assert.equal(token.examples, 3);
  // The same positions carry the loss either way.
  assert.deepEqual(Array.from(byExample.weight).map((x) => x !== 0), Array.from(token.weight).map((x) => x !== 0));
});

test("the batch stream is reproducible from its state", () => {
  const ex: EncodedExample[] = Array.from({ length: 25 }, (_, i) => ({ prompt: [1, 3 + (i % 9)], completion: [4 + (i % 5), 2] }));
  const a = new BatchStream(ex, 8, 3, 20, 2, 9);
  const seq = Array.from({ length: 12 }, () => a.next());
  const b = new BatchStream(ex, 8, 3, 20, 2, 9);
  for (let i = 0; i < 5; i++) b.next();
  const c = new BatchStream(ex, 8, 3, 20, 2, 9);
  c.state = { ...b.state };
  for (let i = 5; i < 12; i++) assert.deepEqual(c.next(), seq[i]);
});

test("train/validation split is a deterministic partition", () => {
  const { train, val } = splitTrainVal(100, 0.1, 4);
  assert.equal(val.length, 10);
  assert.deepEqual([...train, ...val].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(splitTrainVal(100, 0.1, 4), { train, val });
  assert.notDeepEqual(splitTrainVal(100, 0.1, 5).val, val);
  assert.equal(splitTrainVal(9, 0.5, 1).val.length, 0);
});

test("learning rate: linear warmup, cosine decay to the floor", () => {
  const o = { lr: 1e-3, steps: 100, warmup: 10, minLrRatio: 0.1 };
  assert.ok(Math.abs(lrAt(1, o) - 1e-4) < 1e-12);
  assert.ok(Math.abs(lrAt(10, o) - 1e-3) < 1e-12);
  assert.ok(Math.abs(lrAt(55, o) - 5.5e-4) < 1e-9);
  assert.ok(Math.abs(lrAt(100, o) - 1e-4) < 1e-12);
  for (let s = 11; s < 100; s++) assert.ok(lrAt(s + 1, o) <= lrAt(s, o));
});

test("loss_spans: only the spans' tokens carry the loss, the text is encoded whole, and bad spans are refused", async () => {
  const { CharTokenizer } = await import("../../src/model/tokenizer.js");
  const { encodeExamples } = await import("../../src/train/data.js");
  const tok = CharTokenizer.fromCorpus(["Q: 1+1?\n", "2=2 ?y\n3=4 ?n"]);
  const completion = "2=2 ?y\n3=4 ?n";
  const [plain] = encodeExamples([{ prompt: "Q: 1+1?\n", completion }], tok);
  const [spans] = encodeExamples([{ prompt: "Q: 1+1?\n", completion, loss_spans: [[5, 6], [12, 13]] }], tok);
  assert.deepEqual(spans.completion, plain.completion, "the same tokens, EOS included");
  assert.equal(plain.supervised, undefined);
  assert.deepEqual(
    spans.supervised!.flatMap((s, i) => (s ? [tok.decode([spans.completion[i]])] : [])),
    ["y", "n"],
  );
  const { rows } = packRows([spans], [0], 40, tok.eosId);
  const targets = rows[0].tokens.flatMap((t, i) => (rows[0].supervised[i] ? [tok.decode([t])] : []));
  assert.deepEqual(targets, ["y", "n"]);
  for (const bad of [[[6, 5]], [[5, 6], [5, 7]], [[12, 14]]] as Array<Array<[number, number]>>) {
    assert.throws(() => encodeExamples([{ prompt: "Q", completion, loss_spans: bad }], tok), /loss_spans/);
  }
});
