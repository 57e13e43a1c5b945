// Estimators: unbiased pass@k, subsets, bootstrap errors; hand-made values and properties.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { binomial, bootstrapResamples, bootstrapStderr, onScoredCandidates, passAtK, subsetsOf, withinProblemAuc, withinProblemAucUnscoredLast } from "../../src/metrics/estimators.js";
import { Rng } from "../../src/util/rng.js";

test("pass@k by hand", () => {
  assert.equal(passAtK(8, 0, 4), 0);
  assert.equal(passAtK(8, 8, 1), 1);
  assert.equal(passAtK(8, 5, 4), 1); // n - c = 3 < k
  assert.ok(Math.abs(passAtK(5, 2, 2) - 0.7) < 1e-12); // 1 - C(3,2)/C(5,2) = 1 - 3/10
  assert.ok(Math.abs(passAtK(10, 3, 1) - 0.3) < 1e-12); // k = 1 is c/n
  assert.ok(Math.abs(passAtK(64, 1, 8) - 8 / 64) < 1e-12); // one correct: k/n
  // Large n without overflow: 1 - C(990,100)/C(1000,100).
  const v = passAtK(1000, 10, 100);
  assert.ok(v > 0.65 && v < 0.66, String(v));
  assert.throws(() => passAtK(4, 1, 5), RangeError);
  assert.throws(() => passAtK(4, 5, 1), RangeError);
});

test("pass@k equals the exact fraction of size-k subsets holding a correct sample", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 10 }), (n, c0, k0) => {
      const c = Math.min(c0, n);
      const k = Math.min(k0, n);
      const subsets = subsetsOf(n, k, 1e9, new Rng(1));
      assert.equal(subsets.length, binomial(n, k));
      // Samples 0..c-1 are the correct ones.
      const hit = subsets.filter((s) => s[0] < c).length / subsets.length;
      assert.ok(Math.abs(hit - passAtK(n, c, k)) < 1e-12);
    }),
  );
});

test("pass@k is monotone non-decreasing in k", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.nat(), fc.nat(), (n, c0, k0) => {
      const c = c0 % (n + 1);
      const k = 1 + (k0 % n);
      if (k < n) assert.ok(passAtK(n, c, k) <= passAtK(n, c, k + 1) + 1e-12);
    }),
    { numRuns: 500 },
  );
});

test("subsets: exhaustive when few, random sorted distinct otherwise, and seeded", () => {
  const all = subsetsOf(4, 2, 100, new Rng(0));
  assert.deepEqual(all.map((s) => [...s]), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  assert.deepEqual(subsetsOf(5, 5, 1, new Rng(0)).map((s) => [...s]), [[0, 1, 2, 3, 4]]);
  const a = subsetsOf(64, 8, 50, new Rng(7));
  const b = subsetsOf(64, 8, 50, new Rng(7));
  assert.equal(a.length, 50);
  assert.deepEqual(a, b);
  for (const s of a) {
    assert.equal(new Set(s).size, 8);
    for (let i = 1; i < s.length; i++) assert.ok(s[i - 1] < s[i]);
    assert.ok(s[7] < 64);
  }
});

test("bootstrap stderr: 0 for constant values, close to sqrt(p(1-p)/m) for Bernoulli values", () => {
  const res = bootstrapResamples(400, 2000, new Rng(3));
  assert.equal(bootstrapStderr(new Array(400).fill(1), res), 0);
  const values = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const se = bootstrapStderr(values, res);
  const want = Math.sqrt(0.25 / 400);
  assert.ok(Math.abs(se - want) / want < 0.1, `${se} vs ${want}`);
  assert.equal(bootstrapStderr([1], bootstrapResamples(1, 10, new Rng(0))), 0);
});

test("within-problem AUC by hand: pairs only inside a problem, ties half, unscored samples left out", () => {
  // Problem a: correct 0.9, 0.5; incorrect 0.7 -> pairs (0.9>0.7) win, (0.5<0.7) loss.
  // Problem b: correct 0.2; incorrect 0.2, 0.1, unscored -> tie 0.5, win 1.
  // Problem c: all correct, no pair. Across problems b's 0.2 would lose to a's 0.7: not counted.
  const r = withinProblemAuc([
    { correct: [true, true, false], scores: [0.9, 0.5, 0.7] },
    { correct: [true, false, false, false], scores: [0.2, 0.2, 0.1, null] },
    { correct: [true, true], scores: [0.1, 0.3] },
    { correct: [true, false] },
  ]);
  assert.deepEqual(r, { auc: 2.5 / 4, pairs: 4, problems: 2 });
  assert.equal(withinProblemAuc([{ correct: [true, true], scores: [0.1, 0.2] }]), null);
  // A perfect and a reversed evaluator.
  const correct = [true, false, true, false];
  assert.equal(withinProblemAuc([{ correct, scores: [0.9, 0.1, 0.8, 0.2] }])?.auc, 1);
  assert.equal(withinProblemAuc([{ correct, scores: [0.1, 0.9, 0.2, 0.8] }])?.auc, 0);
});

test("within-problem AUC with unscored candidates ranked last, and another score's AUC on the candidates an evaluator scored", () => {
  // Problem a: correct 0.9 and unscored; incorrect 0.7 and unscored. Ranked last, the unscored ones
  // tie with each other: 0.9>0.7 win, 0.9>unscored win, unscored<0.7 loss, unscored=unscored half.
  // Problem b: one correct scored below zero (a log-probability), one incorrect unscored: still above it.
  const ev = [
    { id: "a", correct: [true, true, false, false], scores: [0.9, undefined, 0.7, null] },
    { id: "b", correct: [true, false], scores: [-5, undefined] },
  ];
  assert.deepEqual(withinProblemAucUnscoredLast(ev), { auc: 3.5 / 5, pairs: 5, problems: 2 });
  // Scored only: a's one pair (win); b has no pair.
  assert.deepEqual(withinProblemAuc(ev), { auc: 1, pairs: 1, problems: 1 });
  // A baseline that scores everything, seen on the evaluator's candidates only: a's samples 0 and 2.
  const lik = [
    { id: "a", correct: [true, true, false, false], scores: [0.1, 0.9, 0.5, 0.2] },
    { id: "b", correct: [true, false], scores: [0.3, 0.4] },
  ];
  assert.deepEqual(withinProblemAuc(lik), { auc: 2 / 5, pairs: 5, problems: 2 });
  const on = onScoredCandidates(lik, ev);
  assert.deepEqual(on.map((p) => p.scores), [[0.1, undefined, 0.5, undefined], [0.3, undefined]]);
  assert.deepEqual(withinProblemAuc(on), { auc: 0, pairs: 1, problems: 1 });
  // A problem the evaluator did not see at all keeps none of the baseline's scores.
  assert.deepEqual(onScoredCandidates([{ id: "z", correct: [true], scores: [1] }], ev)[0].scores, [undefined]);
});
