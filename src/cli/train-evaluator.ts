// `mathtune train evaluator` and `mathtune train mtsf`: sub-commands of `train` (which
// train.ts creates; these attach to it).
import type { Command } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { addLoraOptions, evaluatorTemplateOption, int, loraFlags, num, precisionOption, type LoraFlags } from "./options.js";
import { EVALUATOR_LABELS } from "../data/prompts.js";
import { parseLabelWords } from "../train/evaluator-data.js";
import { EVALUATOR_LOSS_KINDS, type TrainerLossKind } from "../train/evaluator-graph.js";
import { runEvaluatorInChild, type EvaluatorTrainOptions } from "../train/evaluator.js";
import { parseStages, runMtsf } from "../train/mtsf.js";


interface EvaluatorFlags extends LoraFlags {
  loss: string;
  lambda?: number;
  alpha?: number;
  mixMargin?: number;
  mixCe?: number;
  labels: string;
  template?: string;
  perProblem?: number;
  batch?: number;
  slots?: number;
  seqLen?: number;
  lr?: number;
  warmup?: number;
  threads?: number;
  precision?: "f32" | "bf16";
  seed?: number;
  valFraction?: number;
  evalEvery?: number;
}

/** Evaluator settings from flags (files, base, out and steps are added by the caller). */
function evaluatorSettings(f: EvaluatorFlags): Omit<EvaluatorTrainOptions, "base" | "samples" | "problems" | "out"> {
  if (!EVALUATOR_LOSS_KINDS.includes(f.loss as TrainerLossKind)) {
    throw new MathtuneError(ErrorCode.usage, `--loss must be one of ${EVALUATOR_LOSS_KINDS.join(", ")} (got ${f.loss})`);
  }
  const o: Omit<EvaluatorTrainOptions, "base" | "samples" | "problems" | "out"> = { loss: f.loss as TrainerLossKind, labels: parseLabelWords(f.labels) };
  if (f.template !== undefined) o.template = evaluatorTemplateOption(f.template);
  if (f.mixMargin !== undefined || f.mixCe !== undefined) o.mix = { margin: f.mixMargin ?? 1, ce: f.mixCe ?? 1 };
  for (const k of ["lambda", "alpha", "perProblem", "batch", "slots", "seqLen", "lr", "warmup", "threads", "seed", "valFraction", "evalEvery"] as const) {
    if (f[k] !== undefined) o[k] = f[k];
  }
  if (f.precision !== undefined) o.precision = f.precision;
  return { ...o, ...loraFlags(f) };
}

function evaluatorOptions(cmd: Command): Command {
  return addLoraOptions(cmd, "adapter.gguf (per stage in mtsf, merged into the stage's model.gguf)")
    .addOption(precisionOption())
    .option("--loss <kind>", `${EVALUATOR_LOSS_KINDS.join(" | ")}`, "margin")
    .option("--lambda <x>", "margin λ of margin / softplus / seq-contrastive (default 1)", num("--lambda"))
    .option("--alpha <x>", "weight of the per-token MLE in seq-contrastive (default 1)", num("--alpha"))
    .option("--mix-margin <x>", "weight of the margin term in --loss mix (default 1)", num("--mix-margin"))
    .option("--mix-ce <x>", "weight of the cross-entropy term in --loss mix (default 1)", num("--mix-ce"))
    .option("--labels <pos,neg>", "label words", `${EVALUATOR_LABELS.positive},${EVALUATOR_LABELS.negative}`)
    .option("--template <t>", "evaluator template: paper (default), generator (the generator's prompt, the solution, then the question), or one with {problem} and {solution}")
    .option("--per-problem <n>", "evaluator examples per training problem (default 10)", int("--per-problem"))
    .option("--batch <n>", "rows per batch (default 8)", int("--batch"))
    .option("--slots <n>", "pairs (or candidates per class) per batch at most (default 2 x batch)", int("--slots"))
    .option("--seq-len <n>", "tokens per row (default: model context, at most 512)", int("--seq-len"))
    .option("--lr <x>", "peak learning rate (default 1e-4; 1e-3 with --lora-rank)", num("--lr"))
    .option("--warmup <n>", "warmup steps (default 10% of steps)", int("--warmup"))
    .option("--threads <n>", "CPU threads (default: chosen step by step, all cores while nothing else runs, all but one when another process takes a core)", int("--threads"))
    .option("--seed <n>", "seed of example choice, order and problem split (default 1)", int("--seed"))
    .option("--val-fraction <x>", "fraction of problems held out for the AUC (default 0.1)", num("--val-fraction"))
    .option("--eval-every <n>", "steps between held-out AUC evaluations (default steps/5)", int("--eval-every"));
}

/** Adds `train evaluator` and `train mtsf`. */
export function register(program: Command): void {
  const train = program.commands.find((c) => c.name() === "train") ?? program.command("train").description("train or fine-tune models");
  evaluatorOptions(
    train
      .command("evaluator")
      .description("fine-tune a model as a solution evaluator (template + label word; S = p(correct) / (p(correct) + p(incorrect)))")
      .requiredOption("--base <gguf>", "the model to fine-tune (usually the SSFT generator)")
      .requiredOption("--samples <file>", "graded samples JSONL of the training problems")
      .requiredOption("--problems <file>", "problems JSONL of those samples")
      .requiredOption("--out <dir>", "run folder: checkpoints, model.gguf, metrics.jsonl")
      .option("--steps <n>", "optimizer steps (default 200)", int("--steps"))
      .option("--resume", "continue the run in --out"),
  ).action(async (f: EvaluatorFlags & { base: string; samples: string; problems: string; out: string; steps?: number; resume?: boolean }) => {
    const r = await runEvaluatorInChild({
      ...evaluatorSettings(f),
      base: f.base,
      samples: f.samples,
      problems: f.problems,
      out: f.out,
      ...(f.steps !== undefined ? { steps: f.steps } : {}),
      resume: f.resume === true,
      onWarning: (m) => process.stderr.write(`warning: ${m}\n`),
      onStep: (e) => {
        if (e.valAuc !== undefined || e.step === 1) process.stderr.write(`step ${e.step}/${e.steps}: loss ${e.loss.toFixed(4)}${e.valAuc !== undefined ? `, held-out AUC within problems ${e.valAuc.toFixed(4)}` : ""}\n`);
      },
    });
    const a = (x: number | null): string => (x === null ? "-" : x.toFixed(4));
    process.stdout.write(
      `trained ${r.step} steps on ${r.stats.trainItems} examples from ${r.stats.trainProblems} problems: loss ${r.loss.toFixed(4)}\n` +
        `held-out AUC (${r.stats.valProblems} problems, ${r.stats.valCandidates} candidates) within problems (${r.stats.valPairs} pairs from ${r.stats.valMixedProblems} problems): ${a(r.baseAuc)} before, ${a(r.valAuc)} after; ` +
        `pooled across problems: ${a(r.baseAucPooled)} before, ${a(r.valAucPooled)} after` +
        (r.stats.tooLong > 0 ? `; ${r.stats.tooLong} examples longer than the rows were left out` : "") +
        (r.adapterPath !== null ? `\nadapter: ${r.adapterPath} (base ${f.base})\n` : `\nmodel: ${r.modelPath}\n`),
    );
  });

  evaluatorOptions(
    train
      .command("mtsf")
      .description("multi-task sequential fine-tuning: one model through generator / evaluator / generator stages, plus the SSFT control")
      .requiredOption("--base <gguf>", "starting model")
      .requiredOption("--sft-data <file>", "SFT data of the generator stages")
      .requiredOption("--samples <file>", "graded samples for the evaluator stage")
      .requiredOption("--problems <file>", "problems JSONL of those samples")
      .requiredOption("--out <dir>", "run folder (a sub-folder per stage)")
      .option("--stages <list>", "stage kinds in order", "sft,evaluator,sft")
      .requiredOption("--steps <list>", "steps per stage, e.g. 400,200,100")
      .option("--sft-lr <x>", "peak learning rate of the generator stages", num("--sft-lr"))
      .option("--sft-batch <n>", "sequences per batch of the generator stages", int("--sft-batch"))
      .option("--no-control", "skip the SSFT control run"),
  ).action(async (f: EvaluatorFlags & { base: string; sftData: string; samples: string; problems: string; out: string; stages: string; steps: string; sftLr?: number; sftBatch?: number; control: boolean }) => {
    const steps = f.steps.split(",").map((s) => Number(s.trim()));
    const r = await runMtsf({
      base: f.base,
      sftData: f.sftData,
      samples: f.samples,
      problems: f.problems,
      out: f.out,
      stages: parseStages(f.stages),
      steps,
      sft: { ...(f.sftLr !== undefined ? { lr: f.sftLr } : {}), ...(f.sftBatch !== undefined ? { batch: f.sftBatch } : {}), ...(f.threads !== undefined ? { threads: f.threads } : {}), ...(f.precision !== undefined ? { precision: f.precision } : {}), ...loraFlags(f) },
      evaluator: evaluatorSettings(f),
      control: f.control,
      onStage: (name, what) => process.stderr.write(`${name}: ${what}\n`),
    });
    for (const s of r.stages) process.stdout.write(`${s.name}: ${s.steps} steps -> ${s.model}${s.valAuc != null ? ` (held-out AUC ${s.valAuc.toFixed(4)})` : ""}\n`);
    if (r.control) process.stdout.write(`${r.control.name}: ${r.control.steps} steps -> ${r.control.model}\n`);
    process.stdout.write(`MTSF model: ${r.model}\n`);
  });
}
