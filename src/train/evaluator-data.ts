/**
 * Builds evaluator training examples from graded samples (the paper's SCR training data): per
 * training problem about `perProblem` examples, as pairs of one correct and one incorrect
 * solution of the same problem (for the margin and softplus losses) or as labelled single
 * solutions (for cross-entropy). Deterministic by seed. Records are written in the shapes TRL
 * uses, so evaluators can also be trained elsewhere; the evaluator template is applied by the
 * trainer, not stored.
 */
import type { PairwiseExample, PointwiseExample, Problem, Sample, SftExample } from "../data/records.js";
import { evaluatorLabelText, evaluatorPrompt } from "../data/prompts.js";
import { MathtuneError, ErrorCode } from "../errors.js";
import { Rng, hashString } from "../util/rng.js";
import { attentionInputs } from "./data.js";

/** Options of {@link buildEvaluatorData}. */
export interface EvaluatorDataOptions {
  /** Examples per training problem (pairs, or labelled solutions). Defaults to 10. */
  perProblem?: number;
  /** Seed of the random choices. Defaults to 0. */
  seed?: number;
  /**
   * Drop repeated solution texts within a problem before choosing, so one frequent wrong answer
   * written the same way does not fill every slot. Defaults to true.
   */
  dedupe?: boolean;
  /** Include the greedy sample (`greedy: true`) as a candidate. Defaults to false. */
  includeGreedy?: boolean;
}

/** What {@link buildEvaluatorData} made, with counts for the run log. */
export interface EvaluatorData {
  pairwise: PairwiseExample[];
  pointwise: PointwiseExample[];
  stats: {
    problems: number;
    /** Problems with at least one correct and one incorrect candidate (the only ones used). */
    mixedProblems: number;
    allCorrect: number;
    allWrong: number;
    /** Problem ids in the samples that the problem file does not have. */
    missingProblems: number;
  };
}

/**
 * Pointwise examples as SFT records with the evaluator template applied: the prompt is the
 * template filled with the problem and the solution, the completion the label text (` correct` /
 * ` incorrect`). Plain SFT on these trains the label token the evaluator is scored on, so they can
 * be mixed into a generator's training corpus (the demo base's verification data).
 */
export function verificationSftExamples(pointwise: readonly PointwiseExample[], template?: string): SftExample[] {
  const opts = template === undefined ? {} : { template };
  return pointwise.map((r, i) => ({
    prompt: evaluatorPrompt(r.prompt, r.completion, opts),
    completion: evaluatorLabelText(r.label),
    id: `${r.problem_id}/own/${i}`,
  }));
}

/**
 * Builds pairwise and pointwise evaluator examples.
 *
 * Pairs: for each problem with c correct and w incorrect distinct candidates (c, w >= 1),
 * min(perProblem, c*w) distinct (correct, incorrect) pairs chosen uniformly without replacement.
 * Problems whose candidates are all correct or all wrong give no pair (nothing to contrast).
 *
 * Pointwise: for the same mixed problems, m = min(floor(perProblem / 2), c, w) correct and m
 * incorrect candidates, so the two classes are exactly balanced overall (the paper's sampled
 * data is dominated by whichever class the generator favours; an unbalanced CE evaluator learns
 * the prior). One-sided problems are skipped for the same reason.
 */
export function buildEvaluatorData(
  problems: ReadonlyMap<string, Problem>,
  samples: readonly Sample[],
  options: EvaluatorDataOptions = {},
): EvaluatorData {
  const perProblem = options.perProblem ?? 10;
  const seed = options.seed ?? 0;
  const dedupe = options.dedupe ?? true;
  if (!Number.isInteger(perProblem) || perProblem < 1) {
    throw new MathtuneError(ErrorCode.usage, `perProblem must be a positive integer (got ${perProblem})`);
  }
  const byProblem = new Map<string, Sample[]>();
  for (const s of samples) {
    if (s.greedy && !options.includeGreedy) continue;
    if (s.correct === undefined) {
      throw new MathtuneError(ErrorCode.input, `sample ${s.problem_id}#${s.sample} has no "correct" field`, {
        hint: "grade the samples first (mathtune grade), or pass a samples file with correctness",
      });
    }
    let list = byProblem.get(s.problem_id);
    if (!list) byProblem.set(s.problem_id, (list = []));
    list.push(s);
  }
  const out: EvaluatorData = {
    pairwise: [],
    pointwise: [],
    stats: { problems: byProblem.size, mixedProblems: 0, allCorrect: 0, allWrong: 0, missingProblems: 0 },
  };
  // Problems in a fixed order, so the output does not depend on the samples' line order.
  const ids = [...byProblem.keys()].sort();
  for (const id of ids) {
    const problem = problems.get(id);
    if (!problem) {
      out.stats.missingProblems++;
      continue;
    }
    const list = [...byProblem.get(id)!].sort((a, b) => a.sample - b.sample);
    const seen = new Set<string>();
    const correct: string[] = [];
    const wrong: string[] = [];
    for (const s of list) {
      if (dedupe) {
        if (seen.has(s.text)) continue;
        seen.add(s.text);
      }
      (s.correct ? correct : wrong).push(s.text);
    }
    if (correct.length === 0) {
      out.stats.allWrong++;
      continue;
    }
    if (wrong.length === 0) {
      out.stats.allCorrect++;
      continue;
    }
    out.stats.mixedProblems++;
    // A per-problem stream: adding or removing another problem does not change this one's choice.
    const rng = new Rng((seed ^ hashString(id)) >>> 0);
    const nPairs = Math.min(perProblem, correct.length * wrong.length);
    for (const flat of rng.sample(correct.length * wrong.length, nPairs)) {
      out.pairwise.push({
        prompt: problem.problem,
        chosen: correct[Math.floor(flat / wrong.length)],
        rejected: wrong[flat % wrong.length],
        problem_id: id,
      });
    }
    const m = Math.min(Math.floor(perProblem / 2), correct.length, wrong.length);
    const pc = rng.sample(correct.length, m).map((i) => correct[i]);
    const pw = rng.sample(wrong.length, m).map((i) => wrong[i]);
    for (let i = 0; i < m; i++) {
      out.pointwise.push({ prompt: problem.problem, completion: pc[i], label: true, problem_id: id });
      out.pointwise.push({ prompt: problem.problem, completion: pw[i], label: false, problem_id: id });
    }
  }
  return out;
}

/** The evaluator's label words (configurable; the paper's are "correct" / "incorrect"). */
export interface EvaluatorLabelWords {
  positive: string;
  negative: string;
}

/**
 * The label words as the model sees them. Convention (shared with the sampler's scoring path,
 * `evaluatorScore` in src/sample/scoring.ts): the text after the evaluator prompt is a space
 * then the word (`evaluatorLabelText`), tokenized on its own; the tokens the two label texts share
 * (with a character vocabulary: the space) are part of the scored input, and the label position is
 * the last of them, whose next-token distribution holds the first tokens where the two texts differ
 * ("c" vs "i"). With a vocabulary where " correct" is one token, the shared prefix is empty and the
 * label position is the last prompt token.
 */
export interface LabelTokens {
  /** Tokens both label texts start with, appended to every evaluator input. */
  prefix: number[];
  /** First token of the positive label text after the shared prefix. */
  positive: number;
  /** First token of the negative label text after the shared prefix. */
  negative: number;
  words: EvaluatorLabelWords;
}

/**
 * Resolves the label words under a tokenizer, and checks that they can be told apart at one
 * position: the two label texts must differ in some token, and neither may be a prefix of the
 * other (else there is no position where they differ).
 */
export function labelTokens(encode: (text: string) => number[], words: EvaluatorLabelWords): LabelTokens {
  for (const [k, w] of Object.entries(words)) {
    if (typeof w !== "string" || w.trim() === "") throw new MathtuneError(ErrorCode.usage, `evaluator label word "${k}" is empty`);
  }
  const p = encode(evaluatorLabelText(true, words));
  const n = encode(evaluatorLabelText(false, words));
  let d = 0;
  while (d < p.length && d < n.length && p[d] === n[d]) d++;
  if (d === p.length || d === n.length) {
    throw new MathtuneError(
      ErrorCode.usage,
      `evaluator label words ${JSON.stringify(words.positive)} and ${JSON.stringify(words.negative)} have no position where their tokens differ (one tokenizes as a prefix of the other)`,
      { hint: "choose label words whose first tokens differ, e.g. --labels correct,incorrect or --labels yes,no" },
    );
  }
  return { prefix: p.slice(0, d), positive: p[d], negative: n[d], words };
}

/** Parses "positive,negative" (the --labels option). */
export function parseLabelWords(spec: string): EvaluatorLabelWords {
  const parts = spec.split(",");
  if (parts.length !== 2 || parts.some((s) => s.trim() === "")) {
    throw new MathtuneError(ErrorCode.usage, `--labels wants two comma-separated words (got ${JSON.stringify(spec)})`, { hint: "e.g. --labels correct,incorrect" });
  }
  return { positive: parts[0].trim(), negative: parts[1].trim() };
}

/**
 * Token ids of one evaluator input: BOS (when the tokenizer adds one), the filled template, then
 * the label texts' shared prefix.
 * The label position is the last token. Exactly what the scoring path feeds the model before it
 * reads the label distribution.
 */
export function encodeEvaluatorInput(
  tok: { encode(text: string): number[]; bosId: number; addBos: boolean },
  labels: LabelTokens,
  problem: string,
  solution: string,
  template?: string,
): number[] {
  const ids = tok.encode(evaluatorPrompt(problem, solution, template === undefined ? {} : { template }));
  return [...(tok.addBos ? [tok.bosId] : []), ...ids, ...labels.prefix];
}

/** One trainer item: a pair (both sides) or a single labelled candidate (one side), as token ids. */
export interface EvaluatorItem {
  /** Tokens of the correct candidate's input, ending at its label position; null when none. */
  positive: number[] | null;
  /** Tokens of the incorrect candidate's input; null when none. */
  negative: number[] | null;
}

/** Shape of the trainer's static graph. */
export interface EvaluatorBatchShape {
  seqLen: number;
  /** Rows per batch. */
  batch: number;
  /** Slots per side (pairs, or candidates of each class). */
  slots: number;
  vocabSize: number;
}

/** The evaluator loss inputs of one batch (see evaluator-graph.ts for their meaning). */
export interface EvaluatorSlots {
  posPositive: Int32Array;
  posNegative: Int32Array;
  pickCorrect: Int32Array;
  pickIncorrect: Int32Array;
  pairWeight: Float32Array;
  ceWeightPositive: Float32Array;
  ceWeightNegative: Float32Array;
}

/**
 * A batch of packed evaluator inputs: the session's token / position / mask inputs (several
 * candidates per row, each attending only to itself) plus the slot inputs of the loss. The
 * next-token fields are unused by the evaluator loss and left at zero.
 */
export interface EvaluatorBatch {
  tokens: Int32Array;
  positions: Int32Array;
  mask: Float32Array;
  targetIndex: Int32Array;
  weight: Float32Array;
  supervised: number;
  evaluator: EvaluatorSlots;
  /** Items packed (pairs, or single candidates). */
  items: number;
  /** Flat label position of each packed candidate with its label, in item order. */
  labelPositions: Array<{ position: number; label: boolean }>;
}

/**
 * Packs items, in order, into one batch: each candidate goes into the first row with room
 * (first-fit), and packing stops at the first item that does not fit (rows or slots full).
 * Returns the batch and how many items it took (at least one, if the first fits at all).
 * Pair items fill slot s on both sides; single candidates fill the next free slot of their side.
 * Weights make the loss a batch mean: pairs 1/P (margin), cross-entropy 1/(candidates).
 */
export function packEvaluatorBatch(items: readonly EvaluatorItem[], shape: EvaluatorBatchShape, labels: LabelTokens): EvaluatorBatch {
  const { seqLen: T, batch: B, slots: S, vocabSize: V } = shape;
  const N = T * B;
  const tokens = new Int32Array(N);
  const segments = new Int32Array(N);
  const used = new Array<number>(B).fill(0);
  let segment = 0;
  const slots: EvaluatorSlots = {
    posPositive: new Int32Array(S),
    posNegative: new Int32Array(S),
    pickCorrect: Int32Array.from({ length: S }, (_, s) => s * V + labels.positive),
    pickIncorrect: Int32Array.from({ length: S }, (_, s) => s * V + labels.negative),
    pairWeight: new Float32Array(S),
    ceWeightPositive: new Float32Array(S),
    ceWeightNegative: new Float32Array(S),
  };
  const labelPositions: EvaluatorBatch["labelPositions"] = [];
  let nPos = 0;
  let nNeg = 0;
  let pairs = 0;
  let taken = 0;
  const place = (ids: number[], trial: number[]): number => {
    for (let b = 0; b < B; b++) if (trial[b] + ids.length <= T) return b;
    return -1;
  };
  for (const item of items) {
    const isPair = item.positive !== null && item.negative !== null;
    if (isPair ? pairs >= S || nPos > pairs || nNeg > pairs : (item.positive !== null && nPos >= S) || (item.negative !== null && nNeg >= S)) break;
    // Place both members on a trial copy first, so a pair is packed whole or not at all.
    const trial = [...used];
    const where: Array<{ ids: number[]; row: number; label: boolean }> = [];
    let ok = true;
    for (const [ids, label] of [[item.positive, true], [item.negative, false]] as const) {
      if (ids === null) continue;
      if (ids.length > T || ids.length === 0) throw new MathtuneError(ErrorCode.usage, `evaluator input of ${ids.length} tokens does not fit rows of ${T}`);
      const row = place(ids, trial);
      if (row < 0) {
        ok = false;
        break;
      }
      where.push({ ids, row, label });
      trial[row] += ids.length;
    }
    if (!ok) break;
    for (const w of where) {
      const start = w.row * T + used[w.row];
      tokens.set(w.ids, start);
      segments.fill(segment++, start, start + w.ids.length);
      used[w.row] += w.ids.length;
      const pos = start + w.ids.length - 1;
      labelPositions.push({ position: pos, label: w.label });
      if (w.label) slots.posPositive[nPos++] = pos;
      else slots.posNegative[nNeg++] = pos;
    }
    if (isPair) pairs++;
    taken++;
  }
  // Padding after the last candidate of a row is its own segment, so it attends only to itself.
  for (let b = 0; b < B; b++) if (used[b] < T) segments.fill(segment++, b * T + used[b], (b + 1) * T);
  for (let s = 0; s < pairs; s++) slots.pairWeight[s] = 1 / pairs;
  const nCe = nPos + nNeg;
  for (let s = 0; s < nPos; s++) slots.ceWeightPositive[s] = 1 / nCe;
  for (let s = 0; s < nNeg; s++) slots.ceWeightNegative[s] = 1 / nCe;
  return {
    tokens,
    ...attentionInputs(segments, T, B),
    targetIndex: new Int32Array(N),
    weight: new Float32Array(N),
    supervised: 0,
    evaluator: slots,
    items: taken,
    labelPositions,
  };
}

/** One pair of the sequence-level contrastive baseline: generator prompt and solution tokens of X+ and X-. */
export interface SequencePairItem {
  /** BOS + the generator prompt (not scored). */
  prompt: number[];
  /** Tokens of the correct solution (+ EOS), scored. */
  positive: number[];
  /** Tokens of the incorrect solution (+ EOS), scored. */
  negative: number[];
}

/** A batch of the sequence-level contrastive baseline (inputs of sequenceContrastiveLoss in evaluator-graph.ts). */
export interface SequencePairBatch {
  tokens: Int32Array;
  positions: Int32Array;
  mask: Float32Array;
  targetIndex: Int32Array;
  weight: Float32Array;
  supervised: number;
  sequence: {
    /** F32 [N, P], N fastest. */
    selectPositive: Float32Array;
    selectNegative: Float32Array;
    /** F32 [P]. */
    pairWeight: Float32Array;
    mleWeight: Float32Array;
  };
  items: number;
}

/**
 * Packs contrastive pairs (prompt + solution for each side, each its own segment) first-fit into
 * rows, at most `pairs` of them. Position n of a segment predicts token n + 1 of the same segment;
 * the selection matrices mark the positions that predict solution tokens of pair p's X+ / X-.
 */
export function packSequencePairBatch(items: readonly SequencePairItem[], shape: { seqLen: number; batch: number; pairs: number; vocabSize: number }): SequencePairBatch {
  const { seqLen: T, batch: B, pairs: P, vocabSize: V } = shape;
  const N = T * B;
  const tokens = new Int32Array(N);
  const segments = new Int32Array(N);
  const targetIndex = new Int32Array(N);
  const used = new Array<number>(B).fill(0);
  const selPos = new Float32Array(N * P);
  const selNeg = new Float32Array(N * P);
  const pairWeight = new Float32Array(P);
  const mleWeight = new Float32Array(P);
  let segment = 0;
  let taken = 0;
  const posTokens: number[] = [];
  for (const item of items) {
    if (taken >= P) break;
    const seqs = [[...item.prompt, ...item.positive], [...item.prompt, ...item.negative]];
    for (const s of seqs) if (s.length > T) throw new MathtuneError(ErrorCode.usage, `sequence of ${s.length} tokens does not fit rows of ${T}`);
    const trial = [...used];
    const rows: number[] = [];
    for (const s of seqs) {
      const r = trial.findIndex((u) => u + s.length <= T);
      if (r < 0) break;
      rows.push(r);
      trial[r] += s.length;
    }
    if (rows.length < 2) break;
    seqs.forEach((s, side) => {
      const start = rows[side] * T + used[rows[side]];
      tokens.set(s, start);
      segments.fill(segment++, start, start + s.length);
      used[rows[side]] += s.length;
      const sel = side === 0 ? selPos : selNeg;
      for (let k = item.prompt.length; k < s.length; k++) {
        const n = start + k - 1; // predicts token k
        targetIndex[n] = n * V + s[k];
        sel[taken * N + n] = 1;
      }
    });
    posTokens.push(item.positive.length);
    taken++;
  }
  for (let b = 0; b < B; b++) if (used[b] < T) segments.fill(segment++, b * T + used[b], (b + 1) * T);
  for (let p = 0; p < taken; p++) {
    pairWeight[p] = 1 / taken;
    mleWeight[p] = 1 / (taken * Math.max(1, posTokens[p]));
  }
  return {
    tokens,
    ...attentionInputs(segments, T, B),
    targetIndex,
    weight: new Float32Array(N),
    supervised: 0,
    sequence: { selectPositive: selPos, selectNegative: selNeg, pairWeight, mleWeight },
    items: taken,
  };
}

/** A sequence whose tokens from `from` on are scored by their log-likelihood. */
export interface ScoredSequence {
  /** BOS + prompt + continuation. */
  ids: number[];
  /** Index of the first scored token (the prompt's length); at least 1. */
  from: number;
}

/** Sequences packed into rows for one forward pass, and where each one starts. */
export interface ScoredSequenceBatch {
  tokens: Int32Array;
  positions: Int32Array;
  mask: Float32Array;
  /** Start (flat index into the T·B token grid) of each packed sequence, in input order. */
  starts: number[];
  /** How many of the input sequences were packed (a prefix of them). */
  items: number;
}

/**
 * Packs a prefix of `items` into `batch` rows of `seqLen` tokens (first fit, each sequence in its
 * own attention segment), for {@link sequenceLogLikelihoods}. A sequence longer than a row is a
 * usage error; packing stops at the first that no row has room for.
 */
export function packScoredSequences(items: readonly ScoredSequence[], shape: { seqLen: number; batch: number }): ScoredSequenceBatch {
  const { seqLen: T, batch: B } = shape;
  const tokens = new Int32Array(T * B);
  const segments = new Int32Array(T * B);
  const used = new Array<number>(B).fill(0);
  const starts: number[] = [];
  let segment = 0;
  for (const item of items) {
    if (item.ids.length > T) throw new MathtuneError(ErrorCode.usage, `sequence of ${item.ids.length} tokens does not fit rows of ${T}`);
    if (item.from < 1 || item.from > item.ids.length) throw new MathtuneError(ErrorCode.usage, `scored part starts at ${item.from}, outside a sequence of ${item.ids.length} tokens with a context`);
    const r = used.findIndex((u) => u + item.ids.length <= T);
    if (r < 0) break;
    const start = r * T + used[r];
    tokens.set(item.ids, start);
    segments.fill(segment++, start, start + item.ids.length);
    used[r] += item.ids.length;
    starts.push(start);
  }
  for (let b = 0; b < B; b++) if (used[b] < T) segments.fill(segment++, b * T + used[b], (b + 1) * T);
  return { tokens, ...attentionInputs(segments, T, B), starts, items: starts.length };
}

/**
 * log p(ids[from..] | ids[..from]) of each packed sequence, summed over its scored tokens, from
 * the forward pass's logits [vocab × T·B] (vocab fastest): position n predicts token n + 1.
 */
export function sequenceLogLikelihoods(logits: Float32Array, batch: Pick<ScoredSequenceBatch, "starts">, items: readonly ScoredSequence[], vocabSize: number): number[] {
  const V = vocabSize;
  return batch.starts.map((start, i) => {
    const { ids, from } = items[i];
    let total = 0;
    for (let k = from; k < ids.length; k++) {
      const o = (start + k - 1) * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) if (logits[o + v] > max) max = logits[o + v];
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[o + v] - max);
      total += logits[o + ids[k]] - max - Math.log(sum);
    }
    return total;
  });
}
