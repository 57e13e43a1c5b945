import { test } from "node:test";
import assert from "node:assert/strict";
import {
  auc,
  crossEntropyLoss,
  logScore,
  marginLoss,
  mixLoss,
  score,
  sequenceContrastiveLoss,
  softplus,
  softplusMarginLoss,
} from "../../src/train/evaluator-loss.js";

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("score: S = p(c) / (p(c) + p(i)) from logits, independent of the other tokens", () => {
  // Logits over a 3-token vocabulary [correct, incorrect, other]: S ignores "other".
  const l = [1.5, 0.25, 3];
  const z = l.reduce((s, x) => s + Math.exp(x), 0);
  const pc = Math.exp(l[0]) / z;
  const pi = Math.exp(l[1]) / z;
  close(score(l[0], l[1]), pc / (pc + pi));
  close(logScore(l[0], l[1]), Math.log(pc / (pc + pi)));
  close(score(0, 0), 0.5);
});

test("softplus is stable for large arguments", () => {
  close(softplus(1000), 1000);
  close(softplus(-1000), 0);
  close(softplus(0), Math.log(2));
});

test("margin loss, both signs of the margin (hand-computed)", () => {
  // log S+ = log 0.8, log S- = log 0.4, lambda 1: log 0.4 - log 0.8 + 1 = 1 - log 2 > 0.
  close(marginLoss(Math.log(0.8), Math.log(0.4), 1), 1 - Math.log(2));
  // A separated pair: log S- - log S+ + lambda = log(0.01/0.99) + 1 < 0 -> 0.
  assert.equal(marginLoss(Math.log(0.99), Math.log(0.01), 1), 0);
  // Reversed pair: loss grows with the violation.
  close(marginLoss(Math.log(0.4), Math.log(0.8), 1), 1 + Math.log(2));
  close(softplusMarginLoss(Math.log(0.8), Math.log(0.4), 1), Math.log1p(Math.exp(1 - Math.log(2))));
});

test("cross-entropy on the label word", () => {
  close(crossEntropyLoss(true, Math.log(0.7), Math.log(0.2)), -Math.log(0.7));
  close(crossEntropyLoss(false, Math.log(0.7), Math.log(0.2)), -Math.log(0.2));
});

test("mix = weighted margin + mean CE of the pair", () => {
  const pair = { logSPos: Math.log(0.8), logSNeg: Math.log(0.4), logPcPos: Math.log(0.6), logPiNeg: Math.log(0.5) };
  close(mixLoss(pair, { margin: 0.5, ce: 2 }, 1), 0.5 * (1 - Math.log(2)) + 2 * ((-Math.log(0.6) - Math.log(0.5)) / 2));
});

test("sequence-level contrastive baseline", () => {
  close(sequenceContrastiveLoss(-10, -8, 5, 1, 0.5), 3 + 0.5 * 2);
  close(sequenceContrastiveLoss(-10, -20, 5, 1, 0), 0);
});

test("AUC with ties counts half", () => {
  close(auc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]), 1);
  close(auc([0.1, 0.2, 0.9, 0.8], [true, true, false, false]), 0);
  close(auc([0.5, 0.5], [true, false]), 0.5);
  close(auc([0.9, 0.3, 0.5, 0.1], [true, true, false, false]), 0.75);
  assert.ok(Number.isNaN(auc([0.1], [true])));
});
