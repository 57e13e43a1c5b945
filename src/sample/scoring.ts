/**
 * Scoring on top of any Scorer (local or HTTP): sequence log-likelihoods and the evaluator's
 * S = p(correct) / (p(correct) + p(incorrect)) at the position after the evaluator prompt.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import type { Scorer } from "./types.js";
import { scoringText } from "../data/line-labels.js";

/** log p(continuation | prompt), summed over the continuation's tokens. */
export async function sequenceLogLikelihood(scorer: Scorer, prompt: string, continuation: string): Promise<number> {
  return (await scorer.continuationLogprobs(prompt, continuation)).total;
}

/** Options of {@link evaluatorScore}. */
export interface EvaluatorScoreOptions {
  /** Text that follows the prompt for a correct candidate. Defaults to " correct". */
  positive?: string;
  /** Text that follows the prompt for an incorrect candidate. Defaults to " incorrect". */
  negative?: string;
  /**
   * "first-token": compare the probabilities of the first token where the two label texts differ
   * (the paper's "at the next position"; a shared prefix such as the space has the same probability
   * in both and cancels). "sequence": compare the probabilities of the whole label texts.
   * Defaults to "first-token".
   */
  mode?: "first-token" | "sequence";
}

/** The evaluator's verdict on one candidate. */
export interface EvaluatorScore {
  /** S in [0, 1]. */
  score: number;
  /** log p of the positive label's scored token(s). */
  logpPositive: number;
  /** log p of the negative label's scored token(s). */
  logpNegative: number;
}

/** S from two log-probabilities, computed stably: 1 / (1 + exp(lNeg - lPos)). */
export function scoreFromLogprobs(logpPositive: number, logpNegative: number): number {
  const d = logpNegative - logpPositive;
  return d > 0 ? Math.exp(-d) / (1 + Math.exp(-d)) : 1 / (1 + Math.exp(d));
}

/** The evaluator score of the candidate encoded in `prompt` (the filled evaluator template). */
export async function evaluatorScore(scorer: Scorer, prompt: string, options: EvaluatorScoreOptions = {}): Promise<EvaluatorScore> {
  const positive = options.positive ?? " correct";
  const negative = options.negative ?? " incorrect";
  const [p, n] = await Promise.all([scorer.continuationLogprobs(prompt, positive), scorer.continuationLogprobs(prompt, negative)]);
  let d = 0;
  while (d < p.tokens.length && d < n.tokens.length && p.tokens[d] === n.tokens[d]) d++;
  if (d === p.tokens.length || d === n.tokens.length) {
    throw new MathtuneError(ErrorCode.usage, `label texts ${JSON.stringify(positive)} and ${JSON.stringify(negative)} do not differ in a token (one is a prefix of the other)`, {
      hint: "choose label words that differ, e.g. correct / incorrect",
    });
  }
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const lp = options.mode === "sequence" ? sum(p.logprobs.slice(d)) : p.logprobs[d];
  const ln = options.mode === "sequence" ? sum(n.logprobs.slice(d)) : n.logprobs[d];
  return { score: scoreFromLogprobs(lp, ln), logpPositive: lp, logpNegative: ln };
}

/** The line evaluator's verdict on one candidate (src/data/line-labels.ts). */
export interface LineEvaluatorScore {
  /** p(every line true) = exp(sum of lineLogprobs), in [0, 1]. */
  score: number;
  /** log p(label y) after each line, every earlier line labelled y. */
  lineLogprobs: number[];
}

/**
 * The score of a candidate by an evaluator trained on per-line labels: the candidate after the
 * generator `prompt`, each line followed by its mark and the true label, scored in one pass; the
 * score is the probability of all the true labels. Each label must be a token of its own.
 */
export async function lineEvaluatorScore(scorer: Scorer, prompt: string, solution: string): Promise<LineEvaluatorScore> {
  const a = scoringText(solution);
  const r = await scorer.continuationLogprobs(prompt, a.text);
  // Character offset of each token, to find the tokens that are the labels.
  const at = new Map<number, number>();
  let offset = 0;
  r.tokens.forEach((t, i) => {
    at.set(offset, i);
    offset += t.length;
  });
  const lineLogprobs = a.labels.map(([start, end]) => {
    const i = at.get(start);
    if (i === undefined || r.tokens[i].length !== end - start) {
      throw new MathtuneError(ErrorCode.input, `the label at character ${start} of a line-labelled candidate is not a token of its own in this model's vocabulary`, {
        hint: "the line evaluator needs a tokenizer that splits the mark and the label word (character vocabularies do)",
      });
    }
    return r.logprobs[i];
  });
  return { score: Math.exp(lineLogprobs.reduce((s, x) => s + x, 0)), lineLogprobs };
}
