// What the stages share: the run folder's paths, the arm a stage works on, and small readers.
import { ProblemSchema, type Problem } from "../../data/records.js";
import { readJsonl } from "../../util/jsonl.js";
import type { Recipe } from "../schema.js";
import type { LikelihoodPer } from "../../sample/score-run.js";
import type { GeneratorFormat } from "../../data/chat-prompt.js";

/** Run-folder paths of the stages' files, in one place. */
export const paths = {
  train: "data/train.jsonl",
  test: "data/test.jsonl",
  sftData: (gen: string) => `data/sft-${gen}.jsonl`,
  sftDir: (gen: string) => `sft/${gen}`,
  model: (gen: string) => `sft/${gen}/model.gguf`,
  samples: (gen: string) => `sample/${gen}/samples.jsonl`,
  graded: (gen: string) => `grade/${gen}/samples.jsonl`,
  evalDir: (gen: string) => `eval/${gen}`,
  evalResults: (gen: string) => `eval/${gen}/results.json`,
  perProblem: (gen: string) => `eval/${gen}/per-problem.json`,
  evalProblems: "evaluator/problems.jsonl",
  evalSamples: "evaluator/samples.jsonl",
  evalGraded: "evaluator/graded.jsonl",
  evalTrainDir: "evaluator/train",
  evaluatorModel: "evaluator/train/model.gguf",
  scored: (gen: string) => `score/${gen}/samples.jsonl`,
  likelihood: (gen: string) => `score/${gen}/likelihood.jsonl`,
  likelihoodToken: (gen: string) => `score/${gen}/likelihood-token.jsonl`,
  likelihoodMin: (gen: string) => `score/${gen}/likelihood-min.jsonl`,
  baseEvaluator: (gen: string) => `score/${gen}/base-evaluator.jsonl`,
  lineEvalData: "line-evaluator/data.jsonl",
  lineEvalTrainDir: "line-evaluator/train",
  lineEvaluatorModel: "line-evaluator/train/model.gguf",
  lineEvaluatorScores: (gen: string) => `score/${gen}/line-evaluator.jsonl`,
  contrastiveTrainDir: "contrastive/train",
  contrastiveModel: "contrastive/train/model.gguf",
  contrastiveScores: (gen: string) => `score/${gen}/contrastive.jsonl`,
  mtsfDir: "mtsf",
  mtsfModel: "mtsf/stage-2-sft/model.gguf",
  mtsfStageDir: "mtsf/stage-2-sft",
  controlDir: "mtsf-control",
  controlModel: "mtsf-control/model.gguf",
  results: "results.json",
  reportMd: "report.md",
  reportHtml: "report.html",
} as const;

/**
 * The likelihood baselines of the evaluator, scored in one pass by the likelihood stage: the
 * results' key prefix (`<prefix>.rr.all@N`, `<prefix>.auc`), the measure, its file and its name in
 * table (2).
 */
export const likelihoodBaselines: ReadonlyArray<{ prefix: string; per: LikelihoodPer; file: (gen: string) => string; label: string }> = [
  { prefix: "likelihood", per: "sequence", file: paths.likelihood, label: "sequence likelihood" },
  { prefix: "likelihood-token", per: "token", file: paths.likelihoodToken, label: "per-token likelihood" },
  { prefix: "likelihood-min", per: "min", file: paths.likelihoodMin, label: "min token probability" },
];

/**
 * The base model (`model.base`) as an evaluator with no evaluator training: the same template,
 * label words and `scoreTopK` as the trained evaluator (stage `score/<main>/base-evaluator`). Its
 * results' key prefix, its file and its name in table (2).
 */
export const baseEvaluatorBaseline = { prefix: "base-evaluator", file: paths.baseEvaluator, label: "base model as evaluator, no evaluator training" } as const;

/** The model a generator samples: its SSFT output, or the base model as it is. */
export function modelOf(r: Recipe, gen: Recipe["generators"][number]): { rel?: string; abs?: string } {
  if (gen.sft) return { rel: paths.model(gen.name) };
  return r.model.base === null ? {} : { abs: r.model.base };
}

/**
 * The prompt-format settings for a stage's config: none for the default "plain" format, so the
 * stages of a plain recipe keep their keys.
 */
export function promptFormatConfig(r: Recipe): Record<string, unknown> {
  return r.promptFormat === "plain" ? {} : { promptFormat: r.promptFormat, systemPrompt: r.systemPrompt };
}

/** The recipe's generator prompt format: "plain" with promptTemplate, or "chat" through model.base's chat template. */
export async function recipeGeneratorFormat(r: Recipe): Promise<GeneratorFormat> {
  const { resolveGeneratorFormat } = await import("../../data/chat-prompt.js");
  return resolveGeneratorFormat(r.promptFormat, r.model.base ?? undefined, {
    ...(r.promptTemplate !== null ? { template: r.promptTemplate } : {}),
    ...(r.systemPrompt !== null ? { systemPrompt: r.systemPrompt } : {}),
  });
}

export function limit<T>(xs: T[], n: number): T[] {
  return n > 0 ? xs.slice(0, n) : xs;
}

/** Reads the problems of a prepared problems file, in file order. */
export function readProblemList(file: string): Problem[] {
  return readJsonl(file, ProblemSchema);
}

/** What is sampled, graded and evaluated: a generator, or the MTSF model and its control. */
export interface Arm {
  name: string;
  /** The model: a run-folder path or an absolute one. */
  model: { rel?: string; abs?: string };
  /** Test problems that get its N samples (the first ones; 0: all); absent: `sampling.problems`. */
  sampledProblems?: number;
}

/**
 * The sequence-contrastive re-ranker (`contrastive`), not the paper's evaluator: its results' key
 * prefix, its file and its name in table (2).
 */
export const contrastiveRow = { prefix: "contrastive", file: paths.contrastiveScores, label: "sequence-contrastive re-ranker, not the paper's evaluator" } as const;

/**
 * The evaluator trained on per-line labels (`lineEvaluator`), an ablation beside the paper's
 * evaluator: its results' key prefix, its file and its name in table (2).
 */
export const lineEvaluatorRow = { prefix: "line-evaluator", file: paths.lineEvaluatorScores, label: "line evaluator: per-line labels, an ablation" } as const;

/** The recipe's LoRA settings as trainer options (none when `lora.rank` is null: full fine-tuning). */
export function loraOptions(r: Recipe): { loraRank?: number; loraAlpha?: number; loraTargets?: string[] } {
  const l = r.lora;
  if (l.rank === null) return {};
  return { loraRank: l.rank, ...(l.alpha !== null ? { loraAlpha: l.alpha } : {}), ...(l.targets !== null ? { loraTargets: [...l.targets] } : {}) };
}

/**
 * After a LoRA run in `dir` (its adapter.gguf trained on the frozen model `from`): the adapter
 * merged into `from`, written as dir/model.gguf, the whole model later stages read.
 */
export async function mergeRunAdapter(from: string, dir: string): Promise<void> {
  const { mergeLoraGguf } = await import("../../model/lora.js");
  const { ADAPTER_FILE } = await import("../../train/checkpoints.js");
  const { join } = await import("node:path");
  await mergeLoraGguf({ base: from, lora: join(dir, ADAPTER_FILE), out: join(dir, "model.gguf") });
}

/** A training device for a stage's config key: absent for the CPU, so the keys of CPU runs stay as they were. */
export function deviceKey(device: "cpu" | "cuda"): { device?: "cuda" } {
  return device === "cpu" ? {} : { device };
}

/** The recipe's LoRA settings for a stage's config key: absent under full fine-tuning, so those keys stay as they were. */
export function loraKey(r: Recipe): { lora?: Recipe["lora"] } {
  return r.lora.rank === null ? {} : { lora: r.lora };
}
