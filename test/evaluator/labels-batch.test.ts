// Label words under a tokenizer (the first-differing-token convention) and the packing of
// evaluator inputs into fixed-shape batches.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { evaluatorPrompt } from "../../src/data/prompts.js";
import { MathtuneError } from "../../src/errors.js";
import { encodeEvaluatorInput, labelTokens, packEvaluatorBatch, parseLabelWords, type EvaluatorItem } from "../../src/train/evaluator-data.js";
import { asCrossEntropyBatch } from "../../src/train/evaluator.js";

const tok = CharTokenizer.ascii();
const enc = (t: string): number[] => tok.encode(t);

test("with a character vocabulary the label texts share the space; the first differing tokens are c and i", () => {
  const lt = labelTokens(enc, { positive: "correct", negative: "incorrect" });
  assert.deepEqual(lt.prefix, enc(" "));
  assert.equal(lt.positive, enc("c")[0]);
  assert.equal(lt.negative, enc("i")[0]);
  // Words that differ at once share only the space too.
  const yn = labelTokens(enc, { positive: "yes", negative: "no" });
  assert.deepEqual([yn.prefix, yn.positive, yn.negative], [enc(" "), enc("y")[0], enc("n")[0]]);
  // A longer shared prefix is part of the input: "right" / "rough" differ at the second letter.
  const rr = labelTokens(enc, { positive: "right", negative: "rough" });
  assert.deepEqual([rr.prefix, rr.positive, rr.negative], [enc(" r"), enc("i")[0], enc("o")[0]]);
});

test("label words that never differ in a token are refused with a clear error", () => {
  for (const [positive, negative] of [["correct", "correctly"], ["same", "same"], ["ok", " "]]) {
    assert.throws(
      () => labelTokens(enc, { positive, negative }),
      (e: MathtuneError) => e instanceof MathtuneError && e.code === "E_USAGE" && (/differ|empty/.test(e.message)),
      `${positive} / ${negative}`,
    );
  }
  assert.deepEqual(parseLabelWords("good, bad"), { positive: "good", negative: "bad" });
  for (const bad of ["good", "a,b,c", ",bad"]) assert.throws(() => parseLabelWords(bad), /--labels/);
});

test("an evaluator input is BOS + the filled template + the shared prefix; its last token is the label position", () => {
  const lt = labelTokens(enc, { positive: "correct", negative: "incorrect" });
  const ids = encodeEvaluatorInput(tok, lt, "1+1?", "2");
  assert.equal(ids[0], tok.bosId);
  assert.equal(tok.decode(ids.slice(1)), `${evaluatorPrompt("1+1?", "2")} `);
  assert.equal(ids[ids.length - 1], enc(" ")[0]);
});

function seq(len: number, fill: number): number[] {
  return Array.from({ length: len }, (_, i) => (i === 0 ? 1 : fill));
}

test("packing: pairs whole, first-fit rows, slot positions, weights as batch means, segment-local attention", () => {
  const lt = labelTokens(enc, { positive: "correct", negative: "incorrect" });
  const shape = { seqLen: 10, batch: 2, slots: 3, vocabSize: tok.vocabSize };
  const items: EvaluatorItem[] = [
    { positive: seq(4, 70), negative: seq(5, 71) }, // row 0: 0..3, 4..8
    { positive: seq(3, 72), negative: seq(6, 73) }, // + at row 1: 0..2; - at row 1: 3..8
    { positive: seq(2, 74), negative: seq(2, 75) }, // no room for both (row 0 has 1 left, row 1 has 1) -> stop
    { positive: seq(1, 76), negative: seq(1, 77) },
  ];
  const b = packEvaluatorBatch(items, shape, lt);
  assert.equal(b.items, 2);
  assert.deepEqual(Array.from(b.evaluator.posPositive), [3, 12, 0]);
  assert.deepEqual(Array.from(b.evaluator.posNegative), [8, 18, 0]);
  assert.deepEqual(Array.from(b.evaluator.pairWeight), [0.5, 0.5, 0]);
  assert.deepEqual(Array.from(b.evaluator.ceWeightPositive), [0.25, 0.25, 0]);
  assert.deepEqual(Array.from(b.evaluator.pickCorrect), [0, 1, 2].map((s) => s * tok.vocabSize + lt.positive));
  assert.deepEqual(Array.from(b.evaluator.pickIncorrect), [0, 1, 2].map((s) => s * tok.vocabSize + lt.negative));
  assert.deepEqual(Array.from(b.tokens.subarray(0, 10)), [1, 70, 70, 70, 1, 71, 71, 71, 71, 0]);
  // Positions restart at each candidate; a query sees only its own candidate's earlier tokens.
  assert.deepEqual(Array.from(b.positions.subarray(10, 20)), [0, 1, 2, 0, 1, 2, 3, 4, 5, 0]);
  const T = 10;
  const sees = (row: number, q: number, k: number): boolean => b.mask[(row * T + q) * T + k] === 0;
  assert.ok(sees(0, 8, 4) && !sees(0, 8, 3) && sees(0, 3, 0) && !sees(0, 3, 4));
  // Single candidates (cross-entropy): each class fills its own slots; weights 1/candidates.
  const single = packEvaluatorBatch(
    [{ positive: seq(3, 70), negative: null }, { positive: null, negative: seq(3, 71) }, { positive: seq(3, 72), negative: null }],
    shape,
    lt,
  );
  assert.equal(single.items, 3);
  assert.deepEqual(Array.from(single.evaluator.posPositive), [2, 8, 0]);
  assert.deepEqual(Array.from(single.evaluator.posNegative), [5, 0, 0]);
  assert.deepEqual(Array.from(single.evaluator.pairWeight), [0, 0, 0]);
  assert.deepEqual(Array.from(single.evaluator.ceWeightPositive).map((x) => +x.toFixed(6)), [0.333333, 0.333333, 0]);
  // As a masked-NLL batch, the label cross-entropy targets sit at the label positions.
  const ce = asCrossEntropyBatch(single, tok.vocabSize, lt);
  assert.equal(ce.supervised, 3);
  assert.equal(ce.targetIndex[5], 5 * tok.vocabSize + lt.negative);
  assert.equal(ce.targetIndex[8], 8 * tok.vocabSize + lt.positive);
  assert.equal(ce.weight.reduce((a, x) => a + x, 0).toFixed(6), "1.000000");
  // Slots bound a batch too.
  const many = Array.from({ length: 5 }, () => ({ positive: seq(1, 70), negative: seq(1, 71) }));
  assert.equal(packEvaluatorBatch(many, shape, lt).items, 3);
  assert.throws(() => packEvaluatorBatch([{ positive: seq(11, 70), negative: null }], shape, lt), /does not fit/);
});
