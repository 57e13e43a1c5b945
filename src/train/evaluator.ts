/**
 * The evaluator trainer (solution-cluster re-ranking): fine-tunes a generator GGUF to judge
 * candidate solutions through the paper's template and label words, with the margin, softplus,
 * cross-entropy or mixed loss (or the sequence-level contrastive baseline), and reports the
 * evaluator's AUC on held-out problems.
 *
 * Data: graded samples → buildEvaluatorData (pairs for the pairwise losses, balanced labelled
 * candidates for cross-entropy) → evaluator inputs (BOS + filled template + the label texts'
 * shared prefix, see labelTokens) packed several per row (packEvaluatorBatch). The problems are
 * split into training and held-out problems by seed before any example is built, so the held-out
 * AUC measures problems the evaluator never saw.
 *
 * Cross-entropy on the label word is the masked next-token NLL at the label positions, so it runs
 * on TrainSession's built-in loss; the pairwise losses and the contrastive baseline plug their
 * graphs into the session through its `loss` option (evaluatorSessionLoss,
 * sequenceContrastiveSessionLoss).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Problem, Sample } from "../data/records.js";
import { Backend } from "../engine/backend.js";
import type { ThreadGovernor } from "../engine/threads.js";
import { ErrorCode, MathtuneError } from "../errors.js";
import { readProblemsById, readSamples } from "../metrics/samples.js";
import { saveModelGguf } from "../model/checkpoint.js";
import { saveLoraGguf } from "../model/lora.js";
import type { LlamaConfig } from "../model/config.js";
import { gv } from "../model/gguf.js";
import { writeFileAtomic } from "../util/fs.js";
import { appendJsonl } from "../util/jsonl.js";
import { Rng, hashString } from "../util/rng.js";
import { runInChild, siblingModule, type ChildErrorMessage } from "./child.js";
import { ADAPTER_FILE, saveCheckpoint, type CheckpointState } from "./checkpoints.js";
import { checkFinite, checkFrozenSettings, checkpointToResume, governStep, restoreCheckpoint, threadGovernor, trimMetrics } from "./scaffold.js";
import { resolveLora } from "./sft.js";
import { openTrainingModel, resumeTraining, type ModelStart } from "./start.js";
import type { StreamState } from "./data.js";
import {
  buildEvaluatorData,
  encodeEvaluatorInput,
  labelTokens,
  packEvaluatorBatch,
  type EvaluatorBatch,
  type EvaluatorItem,
  type EvaluatorLabelWords,
  type LabelTokens,
  packSequencePairBatch,
  packScoredSequences,
  sequenceLogLikelihoods,
  type SequencePairBatch,
  type SequencePairItem,
} from "./evaluator-data.js";
import {
  evaluatorLoss,
  newEvaluatorLossInputs,
  newSequenceContrastiveInputs,
  sequenceContrastiveLoss,
  type EvaluatorLossInputs,
  type EvaluatorLossOptions,
  type SequenceContrastiveInputs,
  type TrainerLossKind,
} from "./evaluator-graph.js";
import { setF32, setI32 } from "../engine/tensor.js";
import { auc, logScore } from "./evaluator-loss.js";
import { withinProblemAuc } from "../metrics/estimators.js";
import { lrAt, validateSchedule } from "./schedule.js";
import { EvaluatorSettingsSchema, defaultEvalEvery, defaultEvaluatorSeqLen, defaultLr, defaultSlots, defaultWarmup, parseSettings, type EvaluatorSettings } from "./settings.js";
import { TrainSession, type SessionLoss } from "./session.js";
import { EVALUATOR_LABELS_KEY, EVALUATOR_TEMPLATE, EVALUATOR_TEMPLATE_KEY, generatorPrompt } from "../data/prompts.js";

/**
 * Options of {@link runEvaluatorTraining}: the files, then the settings of
 * {@link EvaluatorSettingsSchema} (src/train/settings.ts), whose defaults and descriptions apply
 * to every setting left out.
 */
export interface EvaluatorTrainOptions extends Partial<Omit<EvaluatorSettings, "loss" | "labels" | "mix">> {
  /** The generator GGUF to fine-tune into an evaluator. */
  base: string;
  /** Graded samples (with `correct`) of the training problems. */
  samples: string;
  /** Problems file of the samples. */
  problems: string;
  /** Run folder: checkpoints, model.gguf, metrics.jsonl, config.json. */
  out: string;
  /** The loss; see EvaluatorSettingsSchema. */
  loss?: TrainerLossKind;
  /** Weights of the mix loss (each one left out takes its default); see EvaluatorSettingsSchema. */
  mix?: { margin?: number; ce?: number };
  /** Label words; see EvaluatorSettingsSchema. */
  labels?: EvaluatorLabelWords;
  /** Continue the run in `out`. */
  resume?: boolean;
  /** Called with a warning about the setup (e.g. a saturated S under the margin loss). */
  onWarning?: (message: string) => void;
  /** Called after each optimizer step (with the held-out AUC on evaluation steps). */
  onStep?: (r: { step: number; steps: number; loss: number; valAuc?: number }) => void;
  /** Polled after each step: true saves a checkpoint and ends the run early (`stopped`), without model.gguf. */
  shouldStop?: () => boolean;
  /**
   * Train a LoRA adapter of this rank on the frozen base instead of the whole model; the run writes
   * `adapter.gguf` (with the template and labels) instead of model.gguf. Unset: a full fine-tune.
   */
  loraRank?: number;
  /** LoRA alpha (scale alpha / rank). Unset: the rank. */
  loraAlpha?: number;
  /** Projections that get an adapter. Unset: q, k, v, o, gate, up, down. */
  loraTargets?: string[];
}

/** What a finished run reports. */
export interface EvaluatorTrainResult {
  step: number;
  /** True when `shouldStop` ended the run early: the last checkpoint holds it, model.gguf is not written. */
  stopped: boolean;
  loss: number;
  /**
   * Held-out AUC of S within problems: over the pairs of one correct and one incorrect candidate
   * of the same held-out problem, the fraction the evaluator orders rightly (ties count half).
   * The figure re-ranking depends on, and the one computed on test samples (withinProblemAuc).
   * Under seq-contrastive the score is not S but what that loss trains and the re-ranker reads:
   * the solution's log-likelihood after the generator prompt. Null when no held-out problem has
   * candidates of both classes.
   */
  valAuc: number | null;
  /**
   * Held-out AUC of S over all held-out candidates pooled across problems. It also rewards
   * telling easy problems from hard ones, which re-ranking within a problem cannot use; it can
   * read far from valAuc either way.
   */
  valAucPooled: number | null;
  /** valAuc of the base model before training, on the same held-out candidates. */
  baseAuc: number | null;
  /** valAucPooled of the base model before training. */
  baseAucPooled: number | null;
  /** The trained evaluator (a full fine-tune), or null for a LoRA run. */
  modelPath: string | null;
  /** The trained adapter of a LoRA run (use it with `base`), or null. */
  adapterPath: string | null;
  /**
   * valPairs: the (correct, incorrect) pairs of the same held-out problem that valAuc averages
   * over, from valMixedProblems problems; few pairs make valAuc noisy.
   */
  stats: { trainItems: number; valCandidates: number; valPairs: number; valMixedProblems: number; tooLong: number; trainProblems: number; valProblems: number };
}

/** The held-out AUCs of one evaluation (see EvaluatorTrainResult). */
interface HeldOutAuc {
  within: number | null;
  pooled: number | null;
}

/** The within-problem pairs of held-out candidates, and the problems that have any. */
function heldOutPairs(candidates: ReadonlyArray<{ label: boolean; problem: string }>): { valPairs: number; valMixedProblems: number } {
  const counts = new Map<string, [number, number]>();
  for (const c of candidates) {
    const n = counts.get(c.problem) ?? [0, 0];
    n[c.label ? 0 : 1]++;
    counts.set(c.problem, n);
  }
  let valPairs = 0;
  let valMixedProblems = 0;
  for (const [pos, neg] of counts.values()) {
    valPairs += pos * neg;
    if (pos * neg > 0) valMixedProblems++;
  }
  return { valPairs, valMixedProblems };
}

/** A HeldOutAuc read back from a checkpoint (older checkpoints stored the pooled figure alone). */
function parseHeldOutAuc(v: unknown): HeldOutAuc | null {
  if (typeof v === "number") return { within: null, pooled: v };
  if (v === null || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  const num = (x: unknown): number | null => (typeof x === "number" ? x : null);
  return { within: num(o.within), pooled: num(o.pooled) };
}

/** Splits problem ids into training and held-out ones, deterministically by seed (sorted ids, then shuffled). */
export function splitProblems(ids: readonly string[], fraction: number, seed: number): { train: Set<string>; val: Set<string> } {
  const sorted = [...ids].sort();
  const order = new Rng((seed ^ hashString("evaluator-split")) >>> 0).shuffle(sorted.map((_, i) => i));
  const nVal = fraction <= 0 || sorted.length < 2 ? 0 : Math.max(1, Math.round(sorted.length * fraction));
  const val = new Set(order.slice(0, nVal).map((i) => sorted[i]));
  return { train: new Set(sorted.filter((id) => !val.has(id))), val };
}

/**
 * log S of each packed candidate from forward-pass logits [vocab × T·B] (vocab fastest), in
 * the batch's candidate order: log S = -softplus(l_i - l_c) at the label position.
 */
export function logScoresFromLogits(logits: Float32Array, batch: Pick<EvaluatorBatch, "labelPositions">, vocabSize: number, labels: LabelTokens): number[] {
  return batch.labelPositions.map(({ position }) => logScore(logits[position * vocabSize + labels.positive], logits[position * vocabSize + labels.negative]));
}

/** Fills the next-token loss fields so TrainSession's masked NLL is the label cross-entropy. */
export function asCrossEntropyBatch(b: EvaluatorBatch, vocabSize: number, labels: LabelTokens): EvaluatorBatch {
  const n = b.labelPositions.length;
  for (const { position, label } of b.labelPositions) {
    b.targetIndex[position] = position * vocabSize + (label ? labels.positive : labels.negative);
    b.weight[position] = 1 / n;
  }
  b.supervised = n;
  return b;
}

/** The session's pluggable loss (TrainSession's `loss` option), under the name this module exports. */
export type SessionLossHook = SessionLoss;

/** The evaluator losses (margin, softplus, ce, mix) as a session loss over {@link EvaluatorBatch}es of `slots` slots. */
export function evaluatorSessionLoss(options: EvaluatorLossOptions, slots: number): SessionLossHook {
  let inputs: EvaluatorLossInputs | undefined;
  const need = (): EvaluatorLossInputs => {
    if (!inputs) throw new MathtuneError(ErrorCode.native, "evaluator loss used before its inputs were created");
    return inputs;
  };
  return {
    createInputs(ctx) {
      inputs = newEvaluatorLossInputs(ctx, slots);
    },
    build(tape, logits) {
      return evaluatorLoss(tape, logits, need(), options);
    },
    feed(batch) {
      const e = (batch as Partial<EvaluatorBatch>).evaluator;
      if (!e) throw new MathtuneError(ErrorCode.native, "the evaluator loss needs evaluator batches (packEvaluatorBatch)");
      const i = need();
      if (e.posPositive.length !== i.slots) throw new MathtuneError(ErrorCode.native, `batch has ${e.posPositive.length} slots, the graph ${i.slots}`);
      setI32(i.posPositive, e.posPositive);
      setI32(i.posNegative, e.posNegative);
      setI32(i.pickCorrect, e.pickCorrect);
      setI32(i.pickIncorrect, e.pickIncorrect);
      setF32(i.pairWeight, e.pairWeight);
      setF32(i.ceWeightPositive, e.ceWeightPositive);
      setF32(i.ceWeightNegative, e.ceWeightNegative);
    },
  };
}

/** The sequence-level contrastive baseline as a session loss over {@link SequencePairBatch}es of `pairs` pairs. */
export function sequenceContrastiveSessionLoss(options: { lambda?: number; alpha?: number }, pairs: number): SessionLossHook {
  let inputs: SequenceContrastiveInputs | undefined;
  const need = (): SequenceContrastiveInputs => {
    if (!inputs) throw new MathtuneError(ErrorCode.native, "contrastive loss used before its inputs were created");
    return inputs;
  };
  return {
    createInputs(ctx, shape) {
      inputs = newSequenceContrastiveInputs(ctx, shape.seqLen * shape.batch, pairs);
    },
    build(tape, logits) {
      return sequenceContrastiveLoss(tape, logits, need(), options);
    },
    feed(batch) {
      const b = batch as Partial<SequencePairBatch>;
      if (!b.sequence || !b.targetIndex) throw new MathtuneError(ErrorCode.native, "the contrastive loss needs sequence-pair batches (packSequencePairBatch)");
      const i = need();
      setI32(i.targetIndex, b.targetIndex);
      setF32(i.selectPositive, b.sequence.selectPositive);
      setF32(i.selectNegative, b.sequence.selectNegative);
      setF32(i.pairWeight, b.sequence.pairWeight);
      setF32(i.mleWeight, b.sequence.mleWeight);
    },
  };
}

/** Settings a resumed run must share with the original (they shape the data or the model). */
const FROZEN = ["base", "samples", "problems", "loss", "labels", "template", "perProblem", "batch", "slots", "seqLen", "seed", "valFraction", "lora"] as const;

/**
 * An encoded held-out candidate: its evaluator input (`from` unset: S is read at the label), or,
 * under seq-contrastive, the generator prompt and the solution (`from`: the first solution token;
 * the score is the solution's log-likelihood, as `mathtune score --likelihood sequence` reads it).
 */
interface HeldOutCandidate {
  ids: number[];
  from?: number;
  label: boolean;
  problem: string;
}

/** Encoded held-out candidates: every distinct graded candidate of the held-out problems. */
function heldOutCandidates(problems: ReadonlyMap<string, Problem>, samples: readonly Sample[], val: Set<string>, encode: (p: Problem, text: string) => { ids: number[]; from?: number } | null) {
  const out: HeldOutCandidate[] = [];
  let tooLong = 0;
  const seen = new Set<string>();
  for (const s of samples) {
    if (!val.has(s.problem_id) || s.correct === undefined || s.greedy === true) continue;
    const key = `${s.problem_id}\u0000${s.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const e = encode(problems.get(s.problem_id)!, s.text);
    if (e === null) tooLong++;
    else out.push({ ...e, label: s.correct, problem: s.problem_id });
  }
  return { candidates: out, tooLong };
}

/** The resolved settings of an evaluator run (the options with every default filled in). */
type EvaluatorRunSettings = ReturnType<typeof resolveEvaluatorSettings>;

/**
 * The settings of a run: {@link EvaluatorSettingsSchema}'s values with the computed defaults (lr,
 * warmup, eval interval, slots, save interval) filled in and the schedule checked. `seqLen` stays
 * unresolved here: its default depends on the model's context length.
 */
function resolveEvaluatorSettings(options: EvaluatorTrainOptions) {
  const lora = resolveLora(options);
  const set = parseSettings(EvaluatorSettingsSchema, options);
  const steps = set.steps;
  const o = {
    loss: set.loss,
    lambda: set.lambda,
    alpha: set.alpha,
    mix: set.mix,
    labels: set.labels,
    perProblem: set.perProblem,
    steps,
    batch: set.batch,
    lr: set.lr ?? defaultLr({ base: true, lora: lora !== null }),
    warmup: set.warmup ?? defaultWarmup(steps, Math.floor),
    minLrRatio: set.minLrRatio,
    weightDecay: set.weightDecay,
    clipNorm: set.clipNorm,
    seed: set.seed,
    valFraction: set.valFraction,
    evalEvery: set.evalEvery ?? defaultEvalEvery(steps, 5, Math.floor),
    base: options.base,
    samples: options.samples,
    problems: options.problems,
    out: options.out,
    template: set.template,
    lora,
  };
  const slots = set.slots ?? defaultSlots(o.batch);
  const saveEvery = set.saveEvery ?? o.evalEvery;
  validateSchedule({ lr: o.lr, steps: o.steps, warmup: o.warmup, minLrRatio: o.minLrRatio });
  return { o, slots, saveEvery, set };
}

/** An evaluator run's examples: the training items of its loss, and the held-out candidates. */
interface EvaluatorRunData {
  split: { train: Set<string>; val: Set<string> };
  /** What buildEvaluatorData reports (config.json's `data`). */
  stats: ReturnType<typeof buildEvaluatorData>["stats"];
  /** Template items (ce, margin, softplus, mix); empty under seq-contrastive. */
  items: EvaluatorItem[];
  /** Generator-prompt pairs (seq-contrastive); empty otherwise. */
  seqItems: SequencePairItem[];
  /** The number of training items of the run's loss. */
  nItems: number;
  held: ReturnType<typeof heldOutCandidates>;
  /** Examples, training and held-out, left out for being longer than seqLen tokens. */
  tooLong: number;
}

/**
 * Splits the problems into training and held-out ones and encodes the examples: labelled
 * candidates (ce), template pairs (margin, softplus, mix) or generator-prompt pairs
 * (seq-contrastive) of the training problems, and every candidate of the held-out ones. An input
 * error when no training example is left.
 */
function prepareEvaluatorData(
  o: EvaluatorRunSettings["o"],
  problems: ReadonlyMap<string, Problem>,
  samples: readonly Sample[],
  tokenizer: ModelStart["tokenizer"],
  labels: LabelTokens,
  seqLen: number,
): EvaluatorRunData {
  let tooLong = 0;
  const encode = (p: Problem, text: string): number[] | null => {
    const ids = encodeEvaluatorInput(tokenizer, labels, p.problem, text, o.template);
    return ids.length > seqLen ? null : ids;
  };
  /** BOS + the generator prompt of a problem (seq-contrastive's unscored context). */
  const promptIds = (p: Problem): number[] => [...(tokenizer.addBos ? [tokenizer.bosId] : []), ...tokenizer.encode(generatorPrompt(p.problem))];

  const split = splitProblems([...problems.keys()], o.valFraction, o.seed);
  const trainProblems = new Map([...problems].filter(([id]) => split.train.has(id)));
  const data = buildEvaluatorData(trainProblems, samples.filter((s) => split.train.has(s.problem_id)), { perProblem: o.perProblem, seed: o.seed });
  const problemOf = (id: string | undefined): Problem => {
    const p = id === undefined ? undefined : problems.get(id);
    if (!p) throw new MathtuneError(ErrorCode.native, `evaluator example for unknown problem ${JSON.stringify(id)}`);
    return p;
  };
  const items: EvaluatorItem[] = [];
  const seqItems: SequencePairItem[] = [];
  if (o.loss === "ce") {
    for (const r of data.pointwise) {
      const ids = encode(problemOf(r.problem_id), r.completion);
      if (ids === null) tooLong++;
      else items.push(r.label ? { positive: ids, negative: null } : { positive: null, negative: ids });
    }
  } else if (o.loss === "seq-contrastive") {
    for (const r of data.pairwise) {
      const prompt = promptIds(problemOf(r.problem_id));
      const positive = [...tokenizer.encode(r.chosen), tokenizer.eosId];
      const negative = [...tokenizer.encode(r.rejected), tokenizer.eosId];
      if (prompt.length + Math.max(positive.length, negative.length) > seqLen) tooLong++;
      else seqItems.push({ prompt, positive, negative });
    }
  } else {
    for (const r of data.pairwise) {
      const pos = encode(problemOf(r.problem_id), r.chosen);
      const neg = encode(problemOf(r.problem_id), r.rejected);
      if (pos === null || neg === null) tooLong++;
      else items.push({ positive: pos, negative: neg });
    }
  }
  const nItems = o.loss === "seq-contrastive" ? seqItems.length : items.length;
  if (nItems === 0) {
    throw new MathtuneError(ErrorCode.input, `${o.samples}: no evaluator training example (${data.stats.mixedProblems} problems have both correct and incorrect samples; ${tooLong} examples longer than ${seqLen} tokens)`, {
      hint: "sample more candidates per problem, or raise --seq-len",
    });
  }
  // Held-out candidates are scored the way the trained model will score test samples: S at the
  // label, or under seq-contrastive the solution's likelihood after the generator prompt.
  const encodeHeld =
    o.loss === "seq-contrastive"
      ? (p: Problem, text: string): { ids: number[]; from: number } | null => {
          const head = promptIds(p);
          const ids = [...head, ...tokenizer.encode(text)];
          return ids.length > seqLen ? null : { ids, from: head.length };
        }
      : (p: Problem, text: string): { ids: number[] } | null => {
          const ids = encode(p, text);
          return ids === null ? null : { ids };
        };
  const held = heldOutCandidates(problems, samples, split.val, encodeHeld);
  tooLong += held.tooLong;
  return { split, stats: data.stats, items, seqItems, nItems, held, tooLong };
}

/** The batch shape of an evaluator run. */
interface EvaluatorShape {
  seqLen: number;
  batch: number;
  slots: number;
  vocabSize: number;
}

/** The session of a run: TrainSession with the loss hook of `o.loss` (none for ce, which is the built-in NLL). */
function evaluatorSession(o: EvaluatorRunSettings["o"], set: EvaluatorSettings, start: ModelStart, backend: Backend, shape: EvaluatorShape): TrainSession {
  const { slots, seqLen } = shape;
  const hook =
    o.loss === "ce"
      ? null
      : o.loss === "seq-contrastive"
        ? sequenceContrastiveSessionLoss({ lambda: o.lambda, alpha: o.alpha }, slots)
        : evaluatorSessionLoss({ kind: o.loss, lambda: o.lambda, mix: o.mix }, slots);
  return new TrainSession({ config: start.config, weights: start.weights, batch: o.batch, seqLen, backend, clipNorm: o.clipNorm, adamw: { weightDecay: o.weightDecay }, precision: set.precision, ...(hook ? { loss: hook } : {}), ...(start.lora ? { lora: start.lora } : {}) });
}

/** The training batches of a run, and their position in the item stream (saved in checkpoints). */
interface EvaluatorBatchStream {
  /** The next batch; moves the position on. */
  next(): EvaluatorBatch | SequencePairBatch;
  /** The position: an epoch and the next item's index in that epoch's order. */
  state: StreamState;
}

/**
 * The training batches: the items in an order that is a pure function of (seed, epoch), so the
 * position is two integers, packed up to 4·slots candidates at a time.
 */
function evaluatorBatchStream(o: EvaluatorRunSettings["o"], data: EvaluatorRunData, shape: EvaluatorShape, labels: LabelTokens): EvaluatorBatchStream {
  const { seqLen, slots, vocabSize: V } = shape;
  let order: number[] = [];
  let orderEpoch = -1;
  const pack = (idx: number[]): EvaluatorBatch | SequencePairBatch => {
    if (o.loss === "seq-contrastive") return packSequencePairBatch(idx.map((i) => data.seqItems[i]), { seqLen, batch: o.batch, pairs: slots, vocabSize: V });
    const b = packEvaluatorBatch(idx.map((i) => data.items[i]), shape, labels);
    return o.loss === "ce" ? asCrossEntropyBatch(b, V, labels) : b;
  };
  const stream: EvaluatorBatchStream = {
    state: { epoch: 0, row: 0 },
    next() {
      for (;;) {
        const at = stream.state;
        if (orderEpoch !== at.epoch) {
          order = new Rng((o.seed * 1000003 + at.epoch * 7919) >>> 0).shuffle(Array.from({ length: data.nItems }, (_, i) => i));
          orderEpoch = at.epoch;
        }
        if (at.row >= order.length) {
          stream.state = { epoch: at.epoch + 1, row: 0 };
          continue;
        }
        const b = pack(order.slice(at.row, at.row + 4 * slots));
        if (b.items === 0) throw new MathtuneError(ErrorCode.usage, `an evaluator example does not fit a batch of ${o.batch} rows of ${seqLen} tokens`);
        stream.state = { epoch: at.epoch, row: at.row + b.items };
        return b;
      }
    },
  };
  return stream;
}

/**
 * The held-out evaluation of a run: a function of the moment (`when`, for the warning) that
 * returns the AUCs of the session's current weights over `candidates` (null when there are none):
 * of S at the label, or under seq-contrastive of each solution's log-likelihood.
 * The margin and softplus losses have (almost) no gradient where S is saturated; a run can start
 * there or fall into it (every S driven to 1, the hinge stuck at λ). So when more than half the
 * candidates are saturated under those losses, it warns, once per run.
 */
function heldOutEvaluation(
  session: TrainSession,
  candidates: EvaluatorRunData["held"]["candidates"],
  shape: EvaluatorShape,
  labels: LabelTokens,
  loss: TrainerLossKind,
  onWarning: EvaluatorTrainOptions["onWarning"],
): (when: string) => HeldOutAuc | null {
  const V = shape.vocabSize;
  // Fraction of held-out candidates whose S is saturated at 1 (log S above -1e-4): there
  // d log S / d(l_c - l_i) = 1 - S vanishes, and so does the margin loss's gradient.
  let saturated = 0;
  const heldOutAuc = (): HeldOutAuc | null => {
    if (candidates.length === 0) return null;
    const scores: number[] = [];
    const ys: boolean[] = [];
    for (let i = 0; i < candidates.length; ) {
      if (loss === "seq-contrastive") {
        const chunk = candidates.slice(i, i + 4 * shape.slots).map((c) => ({ ids: c.ids, from: c.from ?? c.ids.length }));
        const b = packScoredSequences(chunk, shape);
        const ll = sequenceLogLikelihoods(session.logits(b.tokens, { positions: b.positions, mask: b.mask }), b, chunk, V);
        ll.forEach((x, k) => {
          scores.push(x);
          ys.push(candidates[i + k].label);
        });
        i += b.items;
        continue;
      }
      const chunk = candidates.slice(i, i + 4 * shape.slots).map((c) => (c.label ? { positive: c.ids, negative: null } : { positive: null, negative: c.ids }));
      const b = packEvaluatorBatch(chunk, shape, labels);
      const ls = logScoresFromLogits(session.logits(b.tokens, { positions: b.positions, mask: b.mask }), b, V, labels);
      ls.forEach((x, k) => {
        scores.push(x);
        ys.push(b.labelPositions[k].label);
      });
      i += b.items;
    }
    saturated = scores.filter((x) => x > -1e-4).length / scores.length;
    // Candidates are packed in order, so scores[i] belongs to candidates[i].
    const byProblem = new Map<string, { correct: boolean[]; scores: number[] }>();
    candidates.forEach((c, i) => {
      let g = byProblem.get(c.problem);
      if (!g) byProblem.set(c.problem, (g = { correct: [], scores: [] }));
      g.correct.push(c.label);
      g.scores.push(scores[i]);
    });
    // Undefined (null) when the held-out candidates are all of one class (pooled) or no
    // problem has both classes (within).
    const pooled = auc(scores, ys);
    return { within: withinProblemAuc([...byProblem.values()])?.auc ?? null, pooled: Number.isNaN(pooled) ? null : pooled };
  };
  let warned = false;
  return (when) => {
    const a = heldOutAuc();
    if (!warned && (loss === "margin" || loss === "softplus") && saturated > 0.5) {
      warned = true;
      onWarning?.(
        `S is saturated (within 1e-4 of 1) for ${(100 * saturated).toFixed(0)}% of the held-out candidates ${when}: ` +
          `the ${loss} loss gets almost no gradient there; --loss mix (margin + cross-entropy), a lower --lr, or starting from a cross-entropy evaluator avoids this`,
      );
    }
    return a;
  };
}

/** What the step loop needs of a run, beside its settings. */
interface EvaluatorLoop {
  session: TrainSession;
  backend: Backend;
  governor: ThreadGovernor | null;
  stream: EvaluatorBatchStream;
  /** The held-out evaluation (see heldOutEvaluation). */
  evaluate: (when: string) => HeldOutAuc | null;
  /** Saves a checkpoint of the current step; returns its folder. */
  checkpoint: (step: number, valAuc: HeldOutAuc | null) => Promise<string>;
  metricsPath: string;
}

/**
 * The optimizer steps from `step` to `o.steps` (or until `shouldStop`): each step's divergence
 * checks, its metrics.jsonl record, the held-out AUC every `evalEvery` steps and at the end, and a
 * checkpoint every `saveEvery` steps, at the end and on an early stop.
 */
async function evaluatorStepLoop(
  o: EvaluatorRunSettings["o"],
  saveEvery: number,
  loop: EvaluatorLoop,
  from: { step: number; lastCheckpoint: string; valAuc: HeldOutAuc | null },
  options: Pick<EvaluatorTrainOptions, "onStep" | "shouldStop">,
): Promise<{ step: number; loss: number; stopped: boolean; valAuc: HeldOutAuc | null }> {
  const { session: s, backend, governor } = loop;
  let { step, lastCheckpoint, valAuc } = from;
  const checkpoint = async (): Promise<void> => {
    lastCheckpoint = await loop.checkpoint(step, valAuc);
  };
  let loss = NaN;
  let stopped = false;
  while (step < o.steps) {
    const stepStart = performance.now();
    const stepThreads = backend.threads;
    checkFinite("loss", s.microStep(loop.stream.next()), step + 1, o.lr, `the last good checkpoint is ${lastCheckpoint}`);
    const lr = lrAt(step + 1, { lr: o.lr, steps: o.steps, warmup: o.warmup, minLrRatio: o.minLrRatio });
    const r = s.step(lr);
    governStep(governor, backend, stepStart);
    checkFinite("gradient norm", r.gradNorm, step + 1, o.lr, `the last good checkpoint is ${lastCheckpoint}`);
    step++;
    loss = r.loss;
    const record: Record<string, number> = { step, loss: r.loss, lr, grad_norm: r.gradNorm, threads: stepThreads };
    if (step % o.evalEvery === 0 || step === o.steps) {
      const a = loop.evaluate(`at step ${step}`);
      if (a !== null) {
        valAuc = a;
        if (a.within !== null) record.val_auc = a.within;
        if (a.pooled !== null) record.val_auc_pooled = a.pooled;
      }
    }
    appendJsonl(loop.metricsPath, [record]);
    options.onStep?.({ step, steps: o.steps, loss: r.loss, ...(record.val_auc !== undefined ? { valAuc: record.val_auc } : {}) });
    const saved = step % saveEvery === 0 || step === o.steps;
    if (saved) await checkpoint();
    // Let the event loop run (IPC messages out, a parent's disconnect in) between steps.
    await new Promise((r) => setImmediate(r));
    if (step < o.steps && options.shouldStop?.()) {
      if (!saved) await checkpoint();
      stopped = true;
      break;
    }
  }
  return { step, loss, stopped, valAuc };
}

/**
 * Writes the trained evaluator with its template and label words in the metadata: `model.gguf`
 * for a full fine-tune, the adapter for a LoRA run. Returns their paths (null for the other kind).
 */
async function writeEvaluator(o: EvaluatorRunSettings["o"], start: ModelStart, outConfig: LlamaConfig, session: TrainSession, write: boolean): Promise<{ modelPath: string | null; adapterPath: string | null }> {
  const modelPath = o.lora ? null : join(o.out, "model.gguf");
  const adapterPath = o.lora ? join(o.out, ADAPTER_FILE) : null;
  if (write) {
    const extraMetadata = new Map([
      [EVALUATOR_TEMPLATE_KEY, gv.str(o.template)],
      [EVALUATOR_LABELS_KEY, gv.str(`${o.labels.positive},${o.labels.negative}`)],
    ]);
    if (o.lora && adapterPath) await saveLoraGguf(adapterPath, { config: outConfig, spec: o.lora, weights: session.getWeights(), extraMetadata });
    if (modelPath) await saveModelGguf(modelPath, { config: outConfig, tokenizer: start.tokenizerOut, weights: session.getWeights(), extraMetadata });
  }
  return { modelPath, adapterPath };
}

/** Trains an evaluator; see the file comment. */
export async function runEvaluatorTraining(options: EvaluatorTrainOptions): Promise<EvaluatorTrainResult> {
  const { o, slots, saveEvery, set } = resolveEvaluatorSettings(options);
  const problems = readProblemsById(o.problems);
  const samples = readSamples(o.samples).map((s) => s.sample);
  const latest = checkpointToResume(o.out, options.resume === true);
  const resumed = latest ? await resumeTraining(latest.dir, o.out, o.base, o.lora, o.seed) : undefined;
  const start = resumed?.start ?? (await openTrainingModel(o.base, o.lora ? { spec: o.lora, seed: o.seed } : null));
  // Without threads, the count is chosen step by step (src/engine/threads.ts).
  const governor = threadGovernor(set.threads, set.device);
  let backend: Backend;
  try {
    backend = Backend.create({ kind: set.device, threads: governor ? governor.current : (set.threads ?? undefined) });
  } catch (err) {
    await start.dispose();
    throw err;
  }
  let session: TrainSession | undefined;
  try {
    const { config, tokenizer } = start;
    const seqLen = set.seqLen ?? defaultEvaluatorSeqLen(config.contextLength);
    // The evaluator sees inputs up to seqLen tokens; its GGUF says so, so that llama.cpp opens a
    // context that fits them.
    const outConfig: LlamaConfig = { ...config, contextLength: Math.max(config.contextLength, seqLen) };
    const run = { ...o, slots, seqLen, saveEvery };
    if (resumed) {
      // Runs from before the template option used the paper's.
      checkFrozenSettings(resumed.state.run, run, FROZEN, "resume with the same data, loss and batch settings (steps, lr and intervals may change)", { template: EVALUATOR_TEMPLATE });
    }
    const labels = labelTokens((t) => tokenizer.encode(t), o.labels);
    const data = prepareEvaluatorData(o, problems, samples, tokenizer, labels, seqLen);
    const shape: EvaluatorShape = { seqLen, batch: o.batch, slots, vocabSize: config.vocabSize };
    session = evaluatorSession(o, set, start, backend, shape);
    const s = session;
    const stream = evaluatorBatchStream(o, data, shape, labels);
    const evaluate = heldOutEvaluation(s, data.held.candidates, shape, labels, o.loss, options.onWarning);

    const step = resumed ? restoreCheckpoint(resumed, s, stream) : 0;
    const baseAuc = resumed ? parseHeldOutAuc(resumed.state.run.baseAuc) : evaluate("under the base model");
    mkdirSync(o.out, { recursive: true });
    writeFileAtomic(join(o.out, "config.json"), JSON.stringify({ run, model: config, data: data.stats, items: data.nItems, heldOut: data.held.candidates.length, tooLong: data.tooLong }, null, 2) + "\n");
    const metricsPath = join(o.out, "metrics.jsonl");
    // Steps after the checkpoint run again: drop their old records.
    if (resumed) trimMetrics(metricsPath, step);
    const checkpoint = (at: number, valAuc: HeldOutAuc | null): Promise<string> => {
      const state: CheckpointState = { step: at, stream: { ...stream.state }, run: { ...run, baseAuc, valAuc } };
      return saveCheckpoint(o.out, {
        config: outConfig,
        tokenizer: start.tokenizerOut,
        weights: s.getWeights(),
        optimizer: s.getOptimizerState(),
        state,
        ...(o.lora ? { lora: o.lora } : {}),
      });
    };
    let lastCheckpoint = latest?.dir ?? "";
    if (!resumed) lastCheckpoint = await checkpoint(step, null);
    const loop = { session: s, backend, governor, stream, evaluate, checkpoint, metricsPath };
    const end = await evaluatorStepLoop(o, saveEvery, loop, { step, lastCheckpoint, valAuc: null }, options);
    const { modelPath, adapterPath } = await writeEvaluator(o, start, outConfig, s, !end.stopped);
    const held = data.held.candidates;
    return {
      step: end.step,
      stopped: end.stopped,
      loss: end.loss,
      valAuc: end.valAuc?.within ?? null,
      valAucPooled: end.valAuc?.pooled ?? null,
      baseAuc: baseAuc?.within ?? null,
      baseAucPooled: baseAuc?.pooled ?? null,
      modelPath,
      adapterPath,
      stats: { trainItems: data.nItems, valCandidates: held.length, ...heldOutPairs(held), tooLong: data.tooLong, trainProblems: data.split.train.size, valProblems: data.split.val.size },
    };
  } finally {
    session?.dispose();
    backend.dispose();
    await start.dispose();
  }
}

/** Messages of the evaluator-training child process to its parent. */
export type EvaluatorWorkerMessage =
  | { type: "step"; step: number; steps: number; loss: number; valAuc?: number }
  | { type: "warning"; message: string }
  | { type: "done"; result: EvaluatorTrainResult }
  | ChildErrorMessage;

/**
 * Runs {@link runEvaluatorTraining} in a child process, so that a native abort (GGML_ASSERT) ends
 * the child, not the caller, and comes back as a MathtuneError naming the last step.
 */
export function runEvaluatorInChild(options: EvaluatorTrainOptions): Promise<EvaluatorTrainResult> {
  const { onStep, onWarning, shouldStop: _shouldStop, ...serializable } = options;
  let lastStep = 0;
  return runInChild<EvaluatorWorkerMessage, EvaluatorTrainResult>({
    worker: siblingModule(import.meta.url, "evaluator", "evaluator-worker"),
    start: { type: "start", options: serializable },
    what: "evaluator training",
    onMessage: (m) => {
      if (m.type === "step") {
        lastStep = m.step;
        onStep?.({ step: m.step, steps: m.steps, loss: m.loss, ...(m.valAuc !== undefined ? { valAuc: m.valAuc } : {}) });
      } else if (m.type === "warning") onWarning?.(m.message);
      else if (m.type === "done") return { done: m.result };
      else return { failed: new MathtuneError(m.code, m.message, m.hint ? { hint: m.hint } : {}) };
      return undefined;
    },
    lastStep: () => lastStep,
    hint: () => `continue from the last checkpoint in ${options.out} with --resume`,
  });
}
