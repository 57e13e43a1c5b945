/**
 * The recipe file: one JSON object whose every field has a default, so a preset only states what
 * differs (nanoGPT's override files). `resolveRecipe` applies the defaults, the `--set` overrides
 * and the cross-field checks, and every error names the file and the field.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { ErrorCode, MathtuneError, inputError } from "../errors.js";
import { LEVELS, SKILLS } from "../data/synth/world.js";
import { LORA_TARGETS } from "../model/lora.js";
import { EvaluatorSettingsSchema, SftSettingsSchema, defaultOf } from "../train/settings.js";

const posInt = z.number().int().min(1);
const seed = z.number().int().min(0);

/** The embedded synthetic world (src/data/synth). */
const SynthDataSchema = z.strictObject({
  source: z.literal("synth"),
  /** Training problems (the SFT data, and the evaluator's sampled training problems). */
  train: posInt.default(2000),
  /** Held-out test problems (every metric is measured on them). */
  test: posInt.default(200),
  /** Validation problems of the world (kept for inspection; SSFT holds out its own slice). */
  validation: z.number().int().min(0).default(0),
  /** Difficulty levels drawn, cycled evenly. */
  levels: z.array(z.number().int().min(1).max(LEVELS.length)).min(1).default([...LEVELS]),
  /** Skills drawn, cycled evenly. */
  skills: z.array(z.enum(SKILLS as unknown as [string, ...string[]])).min(1).default([...SKILLS]),
  /** Longest problem + newline + detailed solution, in characters (bounds the model's context). */
  maxChars: posInt.default(320),
  /** Seed of the world. Defaults to the recipe seed. */
  seed: seed.optional(),
});

/** Real data: the PRM800K split built from the three Hendrycks/MATH500 files in a folder. */
const Prm800kDataSchema = z.strictObject({
  source: z.literal("prm800k-split"),
  /**
   * Folder with math_train7500_hendrycks.jsonl, math_test5000_hendrycks.jsonl, math500_test.jsonl.
   * No default: the data lives outside the project (`--set data.dir=FOLDER`).
   */
  dir: z.string({ error: "required: the folder with the MATH files (math_train7500_hendrycks.jsonl, math_test5000_hendrycks.jsonl, math500_test.jsonl); pass --set data.dir=FOLDER" }).min(1),
  /** Use only the first N test problems (0: all). */
  limitTest: z.number().int().min(0).default(0),
  /** Use only the first N training problems (0: all). */
  limitTrain: z.number().int().min(0).default(0),
});

/** Real data: GSM8K's raw train and test files. */
const Gsm8kDataSchema = z.strictObject({
  source: z.literal("gsm8k"),
  train: z.string().min(1),
  test: z.string().min(1),
  limitTest: z.number().int().min(0).default(0),
  limitTrain: z.number().int().min(0).default(0),
});

/** Already prepared problem files (`mathtune data prepare`). */
const ProblemsDataSchema = z.strictObject({
  source: z.literal("problems"),
  train: z.string().min(1),
  test: z.string().min(1),
  limitTest: z.number().int().min(0).default(0),
  limitTrain: z.number().int().min(0).default(0),
});

const DataSchema = z.discriminatedUnion("source", [SynthDataSchema, Prm800kDataSchema, Gsm8kDataSchema, ProblemsDataSchema]);

/** One generator arm: a model fine-tuned (or not) on one style of solutions. */
const GeneratorSchema = z.strictObject({
  /** Name used in folder names and tables (letters, digits, `-`, `_`). */
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, "letters, digits, - and _ only"),
  /** Synthetic world only: which solutions the SFT data carries. */
  style: z.enum(["terse", "detailed"]).optional(),
  /** Fine-tune with SSFT (false: sample the base model as it is, e.g. a server's model). */
  sft: z.boolean().default(true),
  /**
   * Test problems that get this generator's N samples (the first ones; 0: all); null:
   * `sampling.problems`. Fewer for a generator whose voting figures matter less than its greedy
   * Pass@1 saves sampling time; the tables say on how many problems each column rests.
   */
  sampledProblems: z.number().int().min(0).nullable().default(null),
});

const ModelSchema = z.strictObject({
  /** A llama or qwen2 GGUF to fine-tune (or to sample as is); null trains a new model of `size`. */
  base: z.string().min(1).nullable().default(null),
  /** Size preset of a new model. */
  size: SftSettingsSchema.shape.size,
});

/**
 * The SSFT settings of every generator: the trainer's (src/train/settings.ts, where each default
 * and its meaning is written), less the run-wide threads and precision (top-level fields here)
 * and the loss weighting (a pretraining setting of `train sft`; SSFT averages tokens, as the
 * paper's supervised fine-tuning does), with a seed that defaults to the recipe's.
 */
const SftSchema = SftSettingsSchema.omit({ size: true, threads: true, precision: true, lossWeighting: true }).extend({
  /** Tokens per training row; also the sampling context when set. null: the model's context. */
  seqLen: SftSettingsSchema.shape.seqLen.describe("tokens per training row, also the sampling context when set; null: the model's context, at most 512"),
  seed: seed.optional(),
});

const ServerSchema = z.strictObject({
  /** OpenAI-compatible server URL (vLLM, llama.cpp server, SGLang, `mathtune serve`). */
  url: z.string().url(),
  /** Model name on the server; null: its first model. */
  modelName: z.string().nullable().default(null),
  /** Use /v1/chat/completions. */
  chat: z.boolean().default(false),
  concurrency: posInt.default(8),
  timeoutSeconds: z.number().positive().default(300),
  retries: z.number().int().min(0).default(4),
});

const SamplingSchema = z.strictObject({
  /** Samples per test problem (the paper's N). */
  n: posInt.default(64),
  /** Also decode greedily once per problem (Pass@1). */
  greedy: z.boolean().default(true),
  /**
   * Test problems that get the N samples: the first ones (0: all). The greedy decode still covers
   * every test problem, so Pass@1 and its paired differences rest on more problems than the
   * voting and re-ranking figures (one decode per problem instead of N + 1).
   */
  problems: z.number().int().min(0).default(0),
  temperature: z.number().min(0).default(0.9),
  topP: z.number().gt(0).max(1).default(0.95),
  topK: z.number().int().min(0).default(0),
  maxTokens: posInt.default(512),
  /** Generation stops before any of these strings. */
  stop: z.array(z.string().min(1)).default([]),
  /** Sequences decoded in parallel (local backend); samples and scores do not depend on it. */
  parallel: posInt.default(4),
  /**
   * llama.cpp threads of the local sampler and scorer; null: cores - 1. Not the training threads:
   * llama.cpp's CPU threads spin-wait, and with as many as there are cores every decode waits on a
   * thread that Node or another process has preempted (docs/sampling.md).
   */
  threads: posInt.nullable().default(null),
  /** llama.cpp contexts of the local sampler and scorer, each with `threads` threads, sharing the `parallel` sequences; null: 2 when 2 x threads fit the cores, else 1. */
  contexts: posInt.nullable().default(null),
  /** Context of the local sampler in tokens; null: sft.seqLen, else the model's own. */
  contextSize: posInt.nullable().default(null),
  /** Sample from this server instead of a local GGUF (only for generators without SFT). */
  server: ServerSchema.nullable().default(null),
  seed: seed.optional(),
});

const GradeSchema = z.strictObject({
  /** Grader worker threads. */
  workers: posInt.default(2),
  /** Hard limit per graded sample, in milliseconds. */
  timeoutMs: posInt.default(2000),
  /** Fall back to the last number of a solution that has no recognisable final answer. */
  fallbackLastNumber: z.boolean().default(false),
});

const EvaluatorSchema = z.strictObject({
  /** Train the solution evaluator on the main generator's samples and re-rank its test samples. */
  enabled: z.boolean().default(false),
  /** Samples per training problem for the evaluator's data. */
  n: posInt.default(16),
  /** Training problems sampled for the evaluator's data (the first ones; 0: all). */
  problems: z.number().int().min(0).default(0),
  /** Examples per training problem. */
  perProblem: EvaluatorSettingsSchema.shape.perProblem,
  /** The paper's margin loss, its softplus variant, cross-entropy on the label word, or a mix. */
  loss: EvaluatorSettingsSchema.shape.loss
    .unwrap()
    .exclude(["seq-contrastive"])
    .default(defaultOf(EvaluatorSettingsSchema.shape.loss) as "margin")
    .describe("the paper's margin loss, its softplus variant, cross-entropy on the label word, or a mix of margin and cross-entropy"),
  /** The margin λ. */
  margin: EvaluatorSettingsSchema.shape.lambda,
  /**
   * The evaluator template: "paper" (the paper's wording), "generator" (the generator's prompt,
   * the solution, then the paper's closing words: a small model fine-tuned on one prompt format
   * reads a solution best in that format), or a template with {problem} and {solution}.
   */
  template: z
    .string()
    .refine((t) => t === "paper" || t === "generator" || (t.includes("{problem}") && t.includes("{solution}")), {
      message: 'must be "paper", "generator", or contain {problem} and {solution}',
    })
    .default("paper"),
  steps: EvaluatorSettingsSchema.shape.steps,
  batch: EvaluatorSettingsSchema.shape.batch,
  /** Tokens per evaluator row (template + problem + solution); null: the trainer's default. */
  seqLen: EvaluatorSettingsSchema.shape.seqLen,
  /** Peak learning rate; null: the trainer's default. */
  lr: EvaluatorSettingsSchema.shape.lr,
  /** Fraction of the training problems held out for the evaluator's AUC. */
  valFraction: EvaluatorSettingsSchema.shape.valFraction,
  /** cpu or cuda: where the evaluator trains (and MTSF's evaluator stage, and the line evaluator). */
  device: EvaluatorSettingsSchema.shape.device,
  /**
   * Also score the test samples by the generator's own likelihood of each and report re-ranking by
   * it beside the evaluator's (the baseline a trained evaluator has to beat; local models only).
   */
  likelihoodBaseline: z.boolean().default(true),
  /**
   * Also score the test samples with the base model (`model.base`) as the evaluator, before any
   * evaluator training: the same template, label words and `scoreTopK` as the trained evaluator
   * (`base-evaluator.*` in the results). Applies only when `model.base` is a local GGUF; skipped
   * when the recipe trains a new model of `model.size`.
   */
  baseBaseline: z.boolean().default(true),
  /** Score only the members of the K largest clusters (0: every sample, so RR.All can be reported too). */
  scoreTopK: z.number().int().min(0).default(0),
});

const LoraSchema = z.strictObject({
  /**
   * LoRA rank of every fine-tuning in the recipe (SSFT, evaluator, line evaluator, MTSF and its
   * control): each run trains an adapter on the frozen model it starts from, kept in its stage
   * folder as adapter.gguf, and the stage merges it into the stage's model.gguf, which later stages
   * read. null: full fine-tuning.
   */
  rank: posInt.nullable().default(null),
  /** LoRA alpha (the update is scaled by alpha / rank); null: the rank (scale 1). */
  alpha: z.number().positive().nullable().default(null),
  /** Projections that get an adapter; null: all of q, k, v, o, gate, up, down. */
  targets: z.array(z.enum(LORA_TARGETS)).min(1).nullable().default(null),
});

const LineEvaluatorSchema = z.strictObject({
  /**
   * Also train an evaluator on dense per-line labels (process supervision; src/data/line-labels.ts)
   * and report re-ranking by it beside the paper's evaluator as an ablation (`line-evaluator.*` in
   * the results). Its labels: each line of the evaluator's training samples judged by the synthetic
   * world (data.source "synth"), plus the world's own solutions and wrong solutions of the training
   * problems. Needs evaluator.enabled (it shares the evaluator's samples).
   */
  enabled: z.boolean().default(false),
  /** Training problems of the world whose solutions and wrong solutions join the data (the first ones; 0: all). */
  worldProblems: z.number().int().min(0).default(0),
  steps: posInt.default(400),
  batch: posInt.default(16),
  /** Tokens per row; null: the evaluator's seqLen, else the trainer's default. */
  seqLen: posInt.nullable().default(null),
  /** Peak learning rate; null: the trainer's fine-tuning default. */
  lr: z.number().positive().nullable().default(null),
});

const ContrastiveSchema = z.strictObject({
  /**
   * Also train the sequence-level contrastive re-ranker and report re-ranking by it beside the
   * paper's evaluator (`contrastive.*` in the results; not the paper's evaluator): the main
   * generator fine-tuned on the evaluator's graded samples with the `seq-contrastive` loss
   * (log p(X+|P) above log p(X-|P) by a margin, plus the MLE of X+), whose sequence likelihood then
   * scores the test samples. Needs evaluator.enabled (it shares the evaluator's samples).
   */
  enabled: z.boolean().default(false),
  steps: posInt.default(300),
  batch: posInt.default(8),
  /** Tokens per row; null: evaluator.seqLen. */
  seqLen: posInt.nullable().default(null),
  /** Peak learning rate; null: the trainer's fine-tuning default. */
  lr: z.number().positive().nullable().default(null),
  /** The margin λ on the log-likelihoods. */
  lambda: z.number().min(0).default(1),
  /** Weight of the per-token MLE of the correct sample. */
  alpha: z.number().min(0).default(1),
});

const MtsfSchema = z.strictObject({
  /**
   * Multi-task sequential fine-tuning of the main generator: its SSFT model trained as an evaluator
   * (on the evaluator's data, with the evaluator settings), then as a generator again; plus the
   * control, the SSFT model trained for the same extra generator steps. Both are sampled, graded
   * and evaluated like the generators.
   */
  enabled: z.boolean().default(false),
  /** Steps of the evaluator stage. */
  evaluatorSteps: posInt.default(200),
  /** Steps of the final generator stage (and of the control). */
  generatorSteps: posInt.default(200),
  /** Peak learning rate of the final generator stage and the control; null: the trainer's fine-tuning default. */
  lr: z.number().positive().nullable().default(null),
  /**
   * Test problems that get the N samples of the MTSF model and of the control (the first ones; 0:
   * all); null: `sampling.problems`. Their comparison with SSFT rests on the greedy Pass@1 of every
   * test problem; their Maj1@N is then reported on these.
   */
  sampledProblems: z.number().int().min(0).nullable().default(null),
});

const EvalSchema = z.strictObject({
  /** k values reported; null: 1, 2, 4, ... and N. */
  ks: z.array(posInt).nullable().default(null),
  /** K of the MajK oracle and of the top-K strategies. */
  topK: posInt.default(8),
  /** N' of Maj1.TopN. */
  topN: posInt.default(16),
  subsets: posInt.default(100),
  bootstrap: posInt.default(1000),
  cluster: z.enum(["equiv", "exact"]).default("equiv"),
  seed: seed.optional(),
});

/** The whole recipe. */
export const RecipeSchema = z.strictObject({
  /** A name for tables and the run folder. */
  name: z.string().min(1).default("recipe"),
  /** Seed of everything that has no seed of its own. */
  seed: seed.default(1),
  /** CPU threads for training (SSFT, evaluator, MTSF); null: chosen step by step between cores and cores - 1 (src/engine/threads.ts). Sampling has its own, `sampling.threads`. */
  threads: SftSettingsSchema.shape.threads,
  /** Operand format of the weight matrix products of training (SSFT, evaluator, MTSF): f32, or bf16 (mixed precision, docs/engine.md). */
  precision: SftSettingsSchema.shape.precision,
  data: DataSchema.prefault({ source: "synth" }),
  model: ModelSchema.prefault({}),
  lora: LoraSchema.prefault({}),
  /** Generator arms; the last one is the main arm (evaluator, MTSF, headline report). */
  generators: z.array(GeneratorSchema).min(1).prefault([{ name: "detailed", style: "detailed" }]),
  /** Generator prompt template with one {problem}; null: the plain `Problem: ...\nSolution:\n`. */
  promptTemplate: z.string().nullable().default(null),
  /**
   * Generator prompt format: "plain" (promptTemplate, or the plain prompt) or "chat" (model.base's
   * chat template, `tokenizer.chat_template`: SFT records, sampling and the likelihood scores use
   * it; docs/data.md, "Prompt formats").
   */
  promptFormat: z.enum(["plain", "chat"]).default("plain"),
  /** With promptFormat "chat": a system turn put before the user turn; null: none. */
  systemPrompt: z.string().nullable().default(null),
  sft: SftSchema.prefault({}),
  sampling: SamplingSchema.prefault({}),
  grade: GradeSchema.prefault({}),
  evaluator: EvaluatorSchema.prefault({}),
  lineEvaluator: LineEvaluatorSchema.prefault({}),
  contrastive: ContrastiveSchema.prefault({}),
  mtsf: MtsfSchema.prefault({}),
  eval: EvalSchema.prefault({}),
});

/** A recipe with every default applied and paths made absolute. */
export type Recipe = z.output<typeof RecipeSchema>;
/** What a recipe file may contain. */
export type RecipeInput = z.input<typeof RecipeSchema>;

function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(recipe)" : s;
}

/** The 1-based line of the first occurrence of `"key"` in JSON text (for error messages). */
function lineOfKey(text: string, key: string | undefined): number | undefined {
  if (key === undefined) return undefined;
  const i = text.indexOf(`"${key}"`);
  return i < 0 ? undefined : text.slice(0, i).split("\n").length;
}

/**
 * Applies `a.b.c=value` overrides (value parsed as JSON when it parses, else taken as a string)
 * to a plain recipe object.
 */
export function applyOverrides(raw: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(raw);
  for (const s of sets) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new MathtuneError(ErrorCode.usage, `--set ${JSON.stringify(s)}: expected key=value`, { hint: "e.g. --set sft.steps=50 --set model.base=/models/qwen.gguf" });
    const keys = s.slice(0, eq).split(".");
    const text = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    let node: Record<string, unknown> = out;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      if (next === undefined || next === null) node[k] = {};
      else if (typeof next !== "object" || Array.isArray(next)) throw new MathtuneError(ErrorCode.usage, `--set ${s}: ${k} is not an object`);
      node = node[k] as Record<string, unknown>;
    }
    node[keys[keys.length - 1]] = value;
  }
  return out;
}

/** Resolves paths of data files and the base model against `baseDir` (the recipe's folder). */
function absolutize(r: Recipe, baseDir: string): Recipe {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const data = { ...r.data };
  if (data.source === "prm800k-split") data.dir = abs(data.dir);
  else if (data.source !== "synth") {
    data.train = abs(data.train);
    data.test = abs(data.test);
  }
  return { ...r, data, model: { ...r.model, base: r.model.base === null ? null : abs(r.model.base) } };
}

/** Cross-field checks that the schema alone cannot state. */
function check(r: Recipe, where: string): void {
  const fail = (field: string, msg: string, hint?: string): never => {
    throw inputError(where, undefined, `field ${field}: ${msg}`, hint);
  };
  const names = new Set<string>();
  r.generators.forEach((g, i) => {
    if (names.has(g.name)) fail(`generators[${i}].name`, `"${g.name}" appears twice`);
    names.add(g.name);
    if (r.data.source === "synth" && g.sft && g.style === undefined) fail(`generators[${i}].style`, "required with the synthetic world (terse or detailed)");
    if (r.data.source !== "synth" && g.style !== undefined) fail(`generators[${i}].style`, "only the synthetic world has solution styles", "remove it; real data trains on the problems' own solutions");
    if (!g.sft && r.model.base === null && r.sampling.server === null) {
      fail(`generators[${i}].sft`, "false needs a model to sample: model.base or sampling.server");
    }
    if (g.sft && r.sampling.server !== null) {
      fail(`generators[${i}].sft`, "a server's model cannot be fine-tuned here", "set sft to false to sample the server's model as it is, or remove sampling.server");
    }
  });
  if (r.mtsf.enabled) {
    r.generators.forEach((g, i) => {
      if (g.name === "mtsf" || g.name === "control") fail(`generators[${i}].name`, `"${g.name}" is the name of an MTSF arm`, "rename the generator");
    });
  }
  if (r.eval.ks?.some((k) => k > r.sampling.n)) fail("eval.ks", `every k must be at most sampling.n = ${r.sampling.n}`);
  if (r.promptFormat === "chat") {
    if (r.model.base === null) fail("promptFormat", '"chat" applies the chat template of model.base, which is not set', "set model.base to a GGUF with tokenizer.chat_template, or use \"plain\"");
    if (r.promptTemplate !== null) fail("promptTemplate", 'applies to promptFormat "plain" only', "with \"chat\" the user turn is CHAT_USER_TEMPLATE inside the model's chat template; set promptTemplate to null");
    if (r.sampling.server !== null) fail("promptFormat", '"chat" renders prompts for local models', "a server applies its own template: set sampling.server.chat instead");
  } else if (r.systemPrompt !== null) {
    fail("systemPrompt", 'needs promptFormat "chat"', "set promptFormat to \"chat\" or systemPrompt to null");
  }
}

/**
 * Parses and resolves a recipe object. `where` names it in errors (the file path, or "demo");
 * `baseDir` resolves relative paths.
 */
export function resolveRecipeObject(raw: unknown, where: string, baseDir: string, text = ""): Recipe {
  const res = RecipeSchema.safeParse(raw);
  if (!res.success) {
    const issue = res.error.issues[0];
    const lastKey = [...issue.path].reverse().find((p) => typeof p === "string") as string | undefined;
    const line = lineOfKey(text, lastKey);
    throw inputError(where, line, `field ${fieldPath(issue.path)}: ${issue.message}`, "see docs/recipe.md for every recipe field and its default");
  }
  const r = absolutize(res.data, baseDir);
  check(r, where);
  return r;
}

/** Fields that hold paths: given with --set, they are relative to the working folder, not the recipe's. */
const PATH_FIELDS = new Set(["model.base", "data.dir", "data.train", "data.test"]);

/** Reads, overrides and resolves a recipe file. */
export function loadRecipe(file: string, sets: readonly string[] = []): Recipe {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new MathtuneError(ErrorCode.input, `${file}: cannot read the recipe (${(err as Error).message})`, { hint: "check the path; presets are in recipes/" });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const m = /position (\d+)/.exec((err as Error).message);
    const line = m ? text.slice(0, Number(m[1])).split("\n").length : undefined;
    throw inputError(file, line, `invalid JSON (${(err as Error).message})`, "a recipe is one JSON object");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw inputError(file, 1, "a recipe must be a JSON object");
  const cwdSets = sets.map((s) => {
    const eq = s.indexOf("=");
    const key = s.slice(0, eq);
    const value = s.slice(eq + 1);
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      // Not JSON: a bare string.
    }
    // data.train / data.test are counts for the synthetic world and paths otherwise.
    return eq > 0 && PATH_FIELDS.has(key) && typeof parsed === "string" ? `${key}=${JSON.stringify(resolve(parsed))}` : s;
  });
  return resolveRecipeObject(applyOverrides(raw as Record<string, unknown>, cwdSets), file, dirname(resolve(file)), text);
}

/** The seed of a section: its own when given, else the recipe's. */
export function seedOf(r: Recipe, section: "data" | "sft" | "sampling" | "eval"): number {
  const own = section === "data" ? (r.data.source === "synth" ? r.data.seed : undefined) : r[section].seed;
  return own ?? r.seed;
}
