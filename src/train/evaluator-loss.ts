/**
 * The evaluator losses on plain numbers: the definitions the trainer's ggml graph must agree
 * with, used by tests and by anything that scores outside a graph. Everything is in natural log.
 *
 * The evaluator reads the model's next-token distribution after the template: with logits
 * l_c and l_i of the two label words' first tokens (full softmax over the vocabulary),
 * p(correct) = softmax(l)_c, and the score is S = p(correct) / (p(correct) + p(incorrect)),
 * which depends only on l_c - l_i: log S = -softplus(l_i - l_c).
 */

/** log(1 + e^x) without overflow. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** log S from the two label logits. */
export function logScore(logitCorrect: number, logitIncorrect: number): number {
  return -softplus(logitIncorrect - logitCorrect);
}

/** S in [0, 1] from the two label logits. */
export function score(logitCorrect: number, logitIncorrect: number): number {
  return Math.exp(logScore(logitCorrect, logitIncorrect));
}

/** Margin loss of the paper: max(0, log S(X-) - log S(X+) + lambda). */
export function marginLoss(logSPos: number, logSNeg: number, lambda = 1): number {
  return Math.max(0, logSNeg - logSPos + lambda);
}

/** Smooth margin: softplus(log S(X-) - log S(X+) + lambda). */
export function softplusMarginLoss(logSPos: number, logSNeg: number, lambda = 1): number {
  return softplus(logSNeg - logSPos + lambda);
}

/**
 * Cross-entropy on the label word over the full vocabulary:
 * -log p("correct") for a correct candidate, -log p("incorrect") otherwise.
 * `logProbCorrect` / `logProbIncorrect` are full-softmax log-probabilities.
 */
export function crossEntropyLoss(label: boolean, logProbCorrect: number, logProbIncorrect: number): number {
  return label ? -logProbCorrect : -logProbIncorrect;
}

/** The weighted mix: wMargin * margin + wCe * (CE(X+) + CE(X-)) / 2 on one pair. */
export function mixLoss(
  pair: { logSPos: number; logSNeg: number; logPcPos: number; logPiNeg: number },
  weights: { margin: number; ce: number } = { margin: 1, ce: 1 },
  lambda = 1,
): number {
  const m = marginLoss(pair.logSPos, pair.logSNeg, lambda);
  const ce = (-pair.logPcPos - pair.logPiNeg) / 2;
  return weights.margin * m + weights.ce * ce;
}

/**
 * The sequence-level contrastive baseline the paper argues against:
 * max(0, log p(X-|P) - log p(X+|P) + lambda) + alpha * MLE, with MLE = -log p(X+|P) / |X+|
 * (per-token, so alpha does not have to change with solution length).
 */
export function sequenceContrastiveLoss(
  logPPos: number,
  logPNeg: number,
  posTokens: number,
  lambda = 1,
  alpha = 1,
): number {
  return Math.max(0, logPNeg - logPPos + lambda) + (alpha * -logPPos) / Math.max(1, posTokens);
}

/**
 * Rank AUC of scores for positives vs negatives (ties count half): the probability that a random
 * correct candidate outscores a random incorrect one.
 */
export function auc(scores: readonly number[], labels: readonly boolean[]): number {
  const items = scores.map((s, i) => ({ s, y: labels[i] })).sort((a, b) => a.s - b.s);
  let nPos = 0;
  let nNeg = 0;
  let rankSumPos = 0;
  for (let i = 0; i < items.length; ) {
    let j = i;
    while (j < items.length && items[j].s === items[i].s) j++;
    const avgRank = (i + 1 + j) / 2; // 1-based average rank of the tie group
    for (let k = i; k < j; k++) {
      if (items[k].y) {
        nPos++;
        rankSumPos += avgRank;
      } else nNeg++;
    }
    i = j;
  }
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
