/**
 * The evaluator losses as graph builders on the {@link Tape}, in the style of `maskedNll`: they
 * take the model's logits [vocab, T·B] and a few input tensors the trainer fills per batch, and
 * return a scalar loss tensor whose gradient flows back into the logits.
 *
 * Layout. A batch holds S "slots" on each side: slot s of the positive side is a correct
 * candidate, slot s of the negative side an incorrect one. For the pairwise losses (margin,
 * softplus, mix) positive slot s and negative slot s form a pair; for cross-entropy the slots are
 * independent labelled candidates (positive ones trained towards the positive label word, negative
 * ones towards the negative word). Unused slots carry weight 0. Each slot names the flat position
 * (row·T + t) of its candidate's label position: the last position before the first token where
 * the two label texts differ (see evaluator-labels.ts).
 *
 * The definitions these graphs must equal live in evaluator-loss.ts on plain numbers; the tests
 * check both values and gradients.
 */
import type { Tape } from "../engine/autograd.js";
import { GgmlType } from "../engine/ffi.js";
import type { Context, Tensor } from "../engine/tensor.js";
import { ErrorCode, MathtuneError } from "../errors.js";
import { TRAINER_LOSS_KINDS } from "./settings.js";

/** The evaluator losses of the trainer. */
export type EvaluatorLossKind = "margin" | "softplus" | "ce" | "mix";
/** Every loss the trainer offers: the evaluator's, plus the sequence-level contrastive baseline. */
export type TrainerLossKind = EvaluatorLossKind | "seq-contrastive";
export const EVALUATOR_LOSS_KINDS: readonly TrainerLossKind[] = TRAINER_LOSS_KINDS;

/** Hyper-parameters of the evaluator losses. */
export interface EvaluatorLossOptions {
  kind: EvaluatorLossKind;
  /** The margin λ of the margin and softplus losses (natural-log units). Defaults to 1. */
  lambda?: number;
  /** Weights of the mix: margin · m + ce · c. Defaults to { margin: 1, ce: 1 }. */
  mix?: { margin: number; ce: number };
}

/** Input tensors of the evaluator losses for S slots per side (see the file comment). */
export interface EvaluatorLossInputs {
  /** I32 [S]: flat label position of each positive (correct) slot. */
  posPositive: Tensor;
  /** I32 [S]: flat label position of each negative (incorrect) slot. */
  posNegative: Tensor;
  /** I32 [S]: s·vocab + (first token of the positive label text): picks p(correct) in slot s. */
  pickCorrect: Tensor;
  /** I32 [S]: s·vocab + (first token of the negative label text). */
  pickIncorrect: Tensor;
  /** F32 [1, S]: weight of pair s in the margin term (1/P on the P real pairs, else 0). */
  pairWeight: Tensor;
  /** F32 [1, S]: cross-entropy weight of positive slot s. */
  ceWeightPositive: Tensor;
  /** F32 [1, S]: cross-entropy weight of negative slot s. */
  ceWeightNegative: Tensor;
  /** Slots per side. */
  slots: number;
}

/** Creates the input tensors of {@link evaluatorLoss} in `ctx` (allocate the context afterwards). */
export function newEvaluatorLossInputs(ctx: Context, slots: number): EvaluatorLossInputs {
  if (!Number.isInteger(slots) || slots < 1) throw new MathtuneError(ErrorCode.usage, `slots must be a positive integer (got ${slots})`);
  return {
    posPositive: ctx.newTensor(GgmlType.I32, [slots], "eval_pos_positive"),
    posNegative: ctx.newTensor(GgmlType.I32, [slots], "eval_pos_negative"),
    pickCorrect: ctx.newTensor(GgmlType.I32, [slots], "eval_pick_correct"),
    pickIncorrect: ctx.newTensor(GgmlType.I32, [slots], "eval_pick_incorrect"),
    pairWeight: ctx.newTensor(GgmlType.F32, [1, slots], "eval_pair_weight"),
    ceWeightPositive: ctx.newTensor(GgmlType.F32, [1, slots], "eval_ce_weight_pos"),
    ceWeightNegative: ctx.newTensor(GgmlType.F32, [1, slots], "eval_ce_weight_neg"),
    slots,
  };
}

/** What the label readout of S slots gives, each [1, S]. */
export interface LabelReadout {
  /** log S = log p_c - log(p_c + p_i). */
  logS: Tensor;
  /** Full-vocabulary log p(first token of the positive label); null when not asked for. */
  logPc: Tensor | null;
  /** Full-vocabulary log p(first token of the negative label); null when not asked for. */
  logPi: Tensor | null;
}

/**
 * Reads the two label tokens at S label positions. The logit columns of the label positions are
 * gathered first (get_rows on [vocab, T·B] picks columns), so the softmax runs over S columns
 * instead of all T·B. log S is computed from the logit difference, -softplus(l_i - l_c), which
 * stays exact when both probabilities underflow; the log-softmax (with maskedNll's 1e-30 guard)
 * is only needed for the cross-entropy.
 */
export function labelReadout(tape: Tape, logits: Tensor, position: Tensor, pickCorrect: Tensor, pickIncorrect: Tensor, withLogProbs = true): LabelReadout {
  const V = logits.ne[0];
  const S = position.size;
  const cols = tape.getRows(logits, position); // [V, S]
  const flat = tape.reshape(cols, [1, V * S]);
  const lc = tape.getRows(flat, pickCorrect); // [1, S]
  const li = tape.getRows(flat, pickIncorrect);
  const logS = tape.scaleBias(tape.softplus(tape.sub(li, lc)), -1, 0);
  if (!withLogProbs) return { logS, logPc: null, logPi: null };
  const logp = tape.reshape(tape.log(tape.scaleBias(tape.softmax(cols), 1, 1e-30)), [1, V * S]);
  return { logS, logPc: tape.getRows(logp, pickCorrect), logPi: tape.getRows(logp, pickIncorrect) };
}

/**
 * The evaluator loss of one batch (a 1-element tensor):
 * - margin: Σ_s w_s · max(0, log S(X-_s) - log S(X+_s) + λ);
 * - softplus: Σ_s w_s · softplus(log S(X-_s) - log S(X+_s) + λ);
 * - ce: -Σ_s [wc+_s · log p_c(X+_s) + wc-_s · log p_i(X-_s)];
 * - mix: margin · (the margin loss) + ce · (the cross-entropy).
 * With weights 1/P (pairs) and 1/(2P) (cross-entropy over both members) these are the batch means
 * of marginLoss, softplusMarginLoss and mixLoss of evaluator-loss.ts.
 */
export function evaluatorLoss(tape: Tape, logits: Tensor, inp: EvaluatorLossInputs, options: EvaluatorLossOptions): Tensor {
  const lambda = options.lambda ?? 1;
  const mix = options.mix ?? { margin: 1, ce: 1 };
  const kind = options.kind;
  if (!["margin", "softplus", "ce", "mix"].includes(kind)) throw new MathtuneError(ErrorCode.usage, `unknown evaluator loss ${JSON.stringify(kind)}`);
  const needCe = kind === "ce" || kind === "mix";
  const pos = labelReadout(tape, logits, inp.posPositive, inp.pickCorrect, inp.pickIncorrect, needCe);
  const neg = labelReadout(tape, logits, inp.posNegative, inp.pickCorrect, inp.pickIncorrect, needCe);
  let marginTerm: Tensor | null = null;
  if (kind !== "ce") {
    const d = tape.scaleBias(tape.sub(neg.logS, pos.logS), 1, lambda);
    const hinge = kind === "softplus" ? tape.softplus(d) : tape.relu(d);
    marginTerm = tape.sum(tape.mul(hinge, inp.pairWeight));
  }
  let ceTerm: Tensor | null = null;
  if (needCe) {
    const s = tape.add(tape.sum(tape.mul(pos.logPc!, inp.ceWeightPositive)), tape.sum(tape.mul(neg.logPi!, inp.ceWeightNegative)));
    ceTerm = tape.scaleBias(s, -1, 0);
  }
  if (kind === "mix") {
    return tape.add(tape.scaleBias(marginTerm!, mix.margin, 0), tape.scaleBias(ceTerm!, mix.ce, 0));
  }
  return (marginTerm ?? ceTerm)!;
}

/** Input tensors of the sequence-level contrastive baseline for P pairs over N = T·B positions. */
export interface SequenceContrastiveInputs {
  /** I32 [N]: position i's flat log-prob index i·vocab + (next token), as maskedNll's targetIndex. */
  targetIndex: Tensor;
  /** F32 [N, P]: 1 where position i predicts a solution token of pair p's correct candidate. */
  selectPositive: Tensor;
  /** F32 [N, P]: 1 where position i predicts a solution token of pair p's incorrect candidate. */
  selectNegative: Tensor;
  /** F32 [P, 1]: 1/P on real pairs, 0 on padding pairs. */
  pairWeight: Tensor;
  /** F32 [P, 1]: 1/(P·|X+_p|) on real pairs (the per-token MLE of X+), 0 on padding. */
  mleWeight: Tensor;
  pairs: number;
}

/** Creates the input tensors of {@link sequenceContrastiveLoss} in `ctx`. */
export function newSequenceContrastiveInputs(ctx: Context, positions: number, pairs: number): SequenceContrastiveInputs {
  return {
    targetIndex: ctx.newTensor(GgmlType.I32, [positions], "seq_target_index"),
    selectPositive: ctx.newTensor(GgmlType.F32, [positions, pairs], "seq_select_pos"),
    selectNegative: ctx.newTensor(GgmlType.F32, [positions, pairs], "seq_select_neg"),
    pairWeight: ctx.newTensor(GgmlType.F32, [pairs, 1], "seq_pair_weight"),
    mleWeight: ctx.newTensor(GgmlType.F32, [pairs, 1], "seq_mle_weight"),
    pairs,
  };
}

/**
 * The sequence-level contrastive baseline the paper argues against, as the batch mean of
 * sequenceContrastiveLoss: Σ_p w_p · max(0, log p(X-_p|P) - log p(X+_p|P) + λ) + α · Σ_p m_p ·
 * (-log p(X+_p|P)). The per-pair sequence log-probabilities are sums of masked token
 * log-probabilities, taken as one product of the gathered [N] log-probs with a selection matrix.
 */
export function sequenceContrastiveLoss(tape: Tape, logits: Tensor, inp: SequenceContrastiveInputs, options: { lambda?: number; alpha?: number } = {}): Tensor {
  const lambda = options.lambda ?? 1;
  const alpha = options.alpha ?? 1;
  const [V, N] = logits.ne;
  const logp = tape.log(tape.scaleBias(tape.softmax(logits), 1, 1e-30));
  const picked = tape.reshape(tape.getRows(tape.reshape(logp, [1, V * N]), inp.targetIndex), [N, 1]); // [N, 1]
  const lpPos = tape.matmul(inp.selectPositive, picked); // [P, 1]
  const lpNeg = tape.matmul(inp.selectNegative, picked);
  const hinge = tape.relu(tape.scaleBias(tape.sub(lpNeg, lpPos), 1, lambda));
  const contrast = tape.sum(tape.mul(hinge, inp.pairWeight));
  const mle = tape.scaleBias(tape.sum(tape.mul(lpPos, inp.mleWeight)), -alpha, 0);
  return tape.add(contrast, mle);
}
