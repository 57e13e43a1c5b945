/**
 * The training settings: one zod schema per group, each field with its default (`.default()`) and
 * its meaning (`.describe()`). The recipe (src/recipe/schema.ts), the command-line options
 * (src/cli/options.ts `settingOption`, so `--help` shows these defaults), and the trainers
 * (`resolveSftOptions`, `runEvaluatorTraining`) all read them, so each default is written here
 * and nowhere else.
 *
 * A default that depends on other settings (the learning rate on the kind of run, the warmup and
 * the evaluation interval on the steps) is null in the schema, computed by one function below, and
 * described in the field's description.
 */
import { z } from "zod";
import { ErrorCode, MathtuneError } from "../errors.js";
import { SIZE_PRESETS } from "../model/config.js";
import { EVALUATOR_LABELS, EVALUATOR_TEMPLATE } from "../data/prompts.js";

const posInt = z.number().int().min(1);

/** The losses the evaluator trainer knows (the recipe offers all but the sequence-level baseline). */
export const TRAINER_LOSS_KINDS = ["margin", "softplus", "ce", "mix", "seq-contrastive"] as const;

/** The peak learning rate of a run that does not set one (SFT, evaluator and MTSF stages alike). */
export function defaultLr(run: { base: boolean; lora: boolean }): number {
  return run.base && !run.lora ? 1e-4 : 1e-3;
}

/** The warmup of a run that does not set one: a tenth of the steps (rounded by `round`), at most 100. */
export function defaultWarmup(steps: number, round: (x: number) => number): number {
  return Math.min(100, round(steps / 10));
}

/** The interval between validations of a run that does not set one: steps / `per` (rounded by `round`), at least 1. */
export function defaultEvalEvery(steps: number, per: number, round: (x: number) => number): number {
  return Math.max(1, round(steps / per));
}

/** Rows per evaluator batch's slots when not set: pairs (or candidates per class) per batch. */
export function defaultSlots(batch: number): number {
  return 2 * batch;
}

/** Tokens per SFT row when not set: the model's context, at most 512. */
export function defaultSftSeqLen(contextLength: number): number {
  return Math.min(512, contextLength);
}

/**
 * Tokens per evaluator row when not set: the model's context, within [256, 512]. The template alone
 * is about 95 characters: rows shorter than 256 tokens would leave little room for problem and
 * solution, whatever context the generator was trained with.
 */
export function defaultEvaluatorSeqLen(contextLength: number): number {
  return Math.min(512, Math.max(256, contextLength));
}

const LR_TEXT = "peak learning rate; null: 1e-3 for a new model or a LoRA adapter, 1e-4 for a full fine-tune";
const THREADS_TEXT =
  "CPU threads of training; null: chosen step by step, all cores while nothing else runs, all but one when another process takes a core";
const PRECISION_TEXT =
  "operand format of the weight matrix products of training: f32, or bf16 (mixed precision: F32 master weights, BF16 operands, F32 sums; about 2x faster on CPUs with AVX512-BF16)";

/** Settings shared by every trainer: the model's size, threads and precision. */
const TrainerSettings = {
  /** Size preset of a new model. */
  size: z.enum(Object.keys(SIZE_PRESETS) as [string, ...string[]]).default("tiny").describe("size preset of a new model (trained when no base model is given)"),
  threads: posInt.nullable().default(null).describe(THREADS_TEXT),
  precision: z.enum(["f32", "bf16"]).default("f32").describe(PRECISION_TEXT),
};

/** The settings of an SFT run (`mathtune train sft`, the recipe's `sft` section, MTSF's generator stages). */
export const SftSettingsSchema = z.strictObject({
  steps: posInt.default(200).describe("optimizer steps"),
  batch: posInt.default(8).describe("sequences per micro-batch"),
  accumulation: posInt.default(1).describe("micro-batches per optimizer step"),
  seqLen: posInt.nullable().default(null).describe("tokens per sequence; null: the model's context, at most 512"),
  lr: z.number().positive().nullable().default(null).describe(LR_TEXT),
  warmup: z.number().int().min(0).nullable().default(null).describe("warmup steps; null: 10% of the steps, rounded, at most 100"),
  minLrRatio: z.number().min(0).max(1).default(0.1).describe("final lr / peak lr of the cosine decay"),
  weightDecay: z.number().min(0).default(0.1).describe("AdamW decoupled weight decay (matrices only)"),
  clipNorm: z.number().min(0).default(1).describe("clip the global gradient norm to this (0: off)"),
  lossWeighting: z
    .enum(["token", "example"])
    .default("token")
    .describe("how a batch's loss averages its supervised tokens: token (each token the same, so long completions dominate) or example (each example's tokens first, then the examples, so a one-word label counts as much as a solution)"),
  valFraction: z.number().min(0).lt(1).default(0.05).describe("fraction of the examples held out for the validation loss"),
  evalEvery: posInt.nullable().default(null).describe("steps between validation losses; null: steps / 10, rounded, at least 1"),
  saveEvery: posInt.nullable().default(null).describe("steps between checkpoints; null: the validation interval"),
  device: z.enum(["cpu", "cuda"]).default("cpu").describe("cpu or cuda"),
  seed: z.number().int().default(1).describe("seed of weight init, data order and the train/validation split"),
  ...TrainerSettings,
});

/** {@link SftSettingsSchema} with its defaults applied (null where the default is computed). */
export type SftSettings = z.output<typeof SftSettingsSchema>;

/** The settings of an evaluator run (`mathtune train evaluator`, the recipe's `evaluator` section, MTSF's evaluator stage). */
export const EvaluatorSettingsSchema = z.strictObject({
  loss: z
    .enum(TRAINER_LOSS_KINDS)
    .default("margin")
    .describe("the paper's margin loss, its softplus variant, cross-entropy on the label word, a mix of margin and cross-entropy, or the sequence-level contrastive baseline"),
  lambda: z.number().min(0).default(1).describe("the margin λ of margin / softplus / seq-contrastive"),
  alpha: z.number().default(1).describe("weight of the per-token MLE in seq-contrastive"),
  mix: z
    .strictObject({
      margin: z.number().default(1).describe("weight of the margin term in the mix loss"),
      ce: z.number().default(1).describe("weight of the cross-entropy term in the mix loss"),
    })
    .prefault({})
    .describe("weights of the mix loss"),
  labels: z
    .strictObject({ positive: z.string().min(1), negative: z.string().min(1) })
    .default({ ...EVALUATOR_LABELS })
    .describe("the label words of correct and incorrect solutions"),
  template: z.string().default(EVALUATOR_TEMPLATE).describe("the evaluator template with {problem} and {solution} (the paper's by default)"),
  perProblem: posInt.default(10).describe("evaluator examples per training problem"),
  steps: posInt.default(200).describe("optimizer steps"),
  batch: posInt.default(8).describe("rows per batch"),
  slots: posInt.nullable().default(null).describe("pairs (or candidates per class) per batch at most; null: 2 x batch"),
  seqLen: posInt.nullable().default(null).describe("tokens per evaluator row (template + problem + solution); null: the model's context, within [256, 512]"),
  lr: z.number().positive().nullable().default(null).describe(LR_TEXT),
  warmup: z.number().int().min(0).nullable().default(null).describe("warmup steps; null: 10% of the steps, rounded down, at most 100"),
  minLrRatio: SftSettingsSchema.shape.minLrRatio,
  weightDecay: SftSettingsSchema.shape.weightDecay,
  clipNorm: SftSettingsSchema.shape.clipNorm,
  seed: z.number().int().default(1).describe("seed of the example choice, the order and the problem split"),
  valFraction: z.number().min(0).lt(1).default(0.1).describe("fraction of the training problems held out for the evaluator's AUC"),
  evalEvery: posInt.nullable().default(null).describe("steps between held-out AUC evaluations; null: steps / 5, rounded down, at least 1"),
  saveEvery: posInt.nullable().default(null).describe("steps between checkpoints; null: the validation interval"),
  device: SftSettingsSchema.shape.device,
  threads: TrainerSettings.threads,
  precision: TrainerSettings.precision,
});

/** {@link EvaluatorSettingsSchema} with its defaults applied (null where the default is computed). */
export type EvaluatorSettings = z.output<typeof EvaluatorSettingsSchema>;

/** The default of a schema field (one made with `.default()` or `.prefault()`), or undefined. */
export function defaultOf(field: z.ZodType): unknown {
  const def = (field as unknown as { def: { type: string; defaultValue?: unknown; innerType?: z.ZodType } }).def;
  if (def.type === "default") return def.defaultValue;
  if (def.type === "prefault") return def.innerType?.parse(def.defaultValue);
  return undefined;
}

/** The command-line flag of a settings key (`clipNorm` is `--clip`, the rest in kebab case). */
export function flagOf(key: string): string {
  if (key === "clipNorm") return "--clip";
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * What a failed check of a setting says: "must be a positive integer", "must be >= 0", "must be
 * one of a, b, c", ... (without the flag and the value).
 */
export function settingProblem(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "too_small": {
      const min = Number(issue.minimum);
      return min === 1 && issue.origin === "number" && issue.inclusive ? "must be a positive integer" : `must be ${issue.inclusive ? ">=" : ">"} ${min}`;
    }
    case "too_big":
      return `must be ${issue.inclusive ? "<=" : "<"} ${Number(issue.maximum)}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(String).join(", ")}`;
    case "invalid_type":
      return issue.expected === "int" ? "must be an integer" : `must be a${/^[aeiou]/.test(issue.expected) ? "n" : ""} ${issue.expected}`;
    default:
      return issue.message;
  }
}

/**
 * Parses the settings of a run: the schema's keys of `options` (undefined ones take their
 * default). A bad value is a usage error that names the flag: `--steps must be a positive integer
 * (got 0)`.
 */
export function parseSettings<S extends z.ZodObject>(schema: S, options: object): z.output<S> {
  const picked: Record<string, unknown> = {};
  for (const k of Object.keys(schema.shape)) {
    const v = (options as Record<string, unknown>)[k];
    if (v !== undefined) picked[k] = v;
  }
  const res = schema.safeParse(picked);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  const key = String(issue.path[0]);
  const value = picked[key];
  const named = issue.path.length > 1 ? `${flagOf(key)} (${issue.path.slice(1).map(String).join(".")})` : flagOf(key);
  throw new MathtuneError(ErrorCode.usage, `${named} ${settingProblem(issue)} (got ${JSON.stringify(value)})`);
}
