// `mathtune train evaluator` and `mathtune train mtsf`: sub-commands of `train` (which
// train.ts creates; these attach to it).
import { Option, type Command } from "commander";
import { addLoraOptions, evaluatorTemplateOption, loraFlags, settingOption, type LoraFlags } from "./options.js";
import { parseLabelWords, type EvaluatorLabelWords } from "../train/evaluator-data.js";
import type { TrainerLossKind } from "../train/evaluator-graph.js";
import { EvaluatorSettingsSchema, SftSettingsSchema, defaultOf } from "../train/settings.js";
import { runEvaluatorInChild, type EvaluatorTrainOptions } from "../train/evaluator.js";
import { parseStages, runMtsf } from "../train/mtsf.js";


/** The flags of the evaluator settings, parsed and checked by commander (`settingOption`). */
interface EvaluatorFlags extends LoraFlags {
  loss?: TrainerLossKind;
  lambda?: number;
  alpha?: number;
  mixMargin?: number;
  mixCe?: number;
  labels?: string;
  template?: string;
  perProblem?: number;
  batch?: number;
  slots?: number | null;
  seqLen?: number | null;
  lr?: number | null;
  warmup?: number | null;
  threads?: number | null;
  precision?: "f32" | "bf16";
  device?: "cpu" | "cuda";
  seed?: number;
  valFraction?: number;
  evalEvery?: number | null;
}

/** Evaluator settings from flags: only those given, so the trainer applies the schema's defaults (files, base, out and steps are added by the caller). */
function evaluatorSettings(f: EvaluatorFlags): Omit<EvaluatorTrainOptions, "base" | "samples" | "problems" | "out"> {
  const o: Omit<EvaluatorTrainOptions, "base" | "samples" | "problems" | "out"> = {};
  if (f.loss !== undefined) o.loss = f.loss;
  if (f.labels !== undefined) o.labels = parseLabelWords(f.labels);
  if (f.template !== undefined) o.template = evaluatorTemplateOption(f.template);
  if (f.mixMargin !== undefined || f.mixCe !== undefined) o.mix = { ...(f.mixMargin !== undefined ? { margin: f.mixMargin } : {}), ...(f.mixCe !== undefined ? { ce: f.mixCe } : {}) };
  for (const k of ["lambda", "alpha", "perProblem", "batch", "slots", "seqLen", "lr", "warmup", "threads", "seed", "valFraction", "evalEvery", "precision", "device"] as const) {
    if (f[k] !== undefined) (o as Record<string, unknown>)[k] = f[k];
  }
  return { ...o, ...loraFlags(f) };
}

const E = EvaluatorSettingsSchema.shape;

function evaluatorOptions(cmd: Command): Command {
  const mix = E.mix.unwrap().shape;
  return addLoraOptions(cmd, "adapter.gguf (per stage in mtsf, merged into the stage's model.gguf)")
    .addOption(settingOption("--precision <p>", E.precision))
    .addOption(settingOption("--loss <kind>", E.loss))
    .addOption(settingOption("--lambda <x>", E.lambda))
    .addOption(settingOption("--alpha <x>", E.alpha))
    .addOption(settingOption("--mix-margin <x>", mix.margin))
    .addOption(settingOption("--mix-ce <x>", mix.ce))
    .addOption(new Option("--labels <pos,neg>", E.labels.description).default(Object.values(defaultOf(E.labels) as EvaluatorLabelWords).join(",")))
    .addOption(
      new Option("--template <t>", "evaluator template: paper (the paper's wording), generator (the generator's prompt, the solution, then the question), or one with {problem} and {solution}").default("paper"),
    )
    .addOption(settingOption("--per-problem <n>", E.perProblem))
    .addOption(settingOption("--batch <n>", E.batch))
    .addOption(settingOption("--slots <n>", E.slots))
    .addOption(settingOption("--seq-len <n>", E.seqLen))
    .addOption(settingOption("--lr <x>", E.lr))
    .addOption(settingOption("--warmup <n>", E.warmup))
    .addOption(settingOption("--threads <n>", E.threads))
    .addOption(settingOption("--device <d>", E.device, { description: "cpu or cuda (in mtsf: every stage)" }))
    .addOption(settingOption("--seed <n>", E.seed))
    .addOption(settingOption("--val-fraction <x>", E.valFraction))
    .addOption(settingOption("--eval-every <n>", E.evalEvery));
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
      .addOption(settingOption("--steps <n>", E.steps))
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
      .addOption(settingOption("--sft-lr <x>", SftSettingsSchema.shape.lr, { description: "peak learning rate of the generator stages" }))
      .addOption(settingOption("--sft-batch <n>", SftSettingsSchema.shape.batch, { description: "sequences per micro-batch of the generator stages" }))
      .option("--no-control", "skip the SSFT control run"),
  ).action(async (f: EvaluatorFlags & { base: string; sftData: string; samples: string; problems: string; out: string; stages: string; steps: string; sftLr?: number | null; sftBatch?: number; control: boolean }) => {
    const steps = f.steps.split(",").map((s) => Number(s.trim()));
    const r = await runMtsf({
      base: f.base,
      sftData: f.sftData,
      samples: f.samples,
      problems: f.problems,
      out: f.out,
      stages: parseStages(f.stages),
      steps,
      sft: { ...(f.sftLr !== undefined ? { lr: f.sftLr } : {}), ...(f.sftBatch !== undefined ? { batch: f.sftBatch } : {}), ...(f.threads !== undefined ? { threads: f.threads } : {}), ...(f.precision !== undefined ? { precision: f.precision } : {}), ...(f.device !== undefined ? { device: f.device } : {}), ...loraFlags(f) },
      evaluator: evaluatorSettings(f),
      control: f.control,
      onStage: (name, what) => process.stderr.write(`${name}: ${what}\n`),
    });
    for (const s of r.stages) process.stdout.write(`${s.name}: ${s.steps} steps -> ${s.model}${s.valAuc != null ? ` (held-out AUC ${s.valAuc.toFixed(4)})` : ""}\n`);
    if (r.control) process.stdout.write(`${r.control.name}: ${r.control.steps} steps -> ${r.control.model}\n`);
    process.stdout.write(`MTSF model: ${r.model}\n`);
  });
}
