/** `mathtune train sft`: supervised fine-tuning on prompt-completion JSONL, in a child process. */
import type { Command } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { addLoraOptions, int, loraFlags, num, precisionOption } from "./options.js";
import { SIZE_PRESETS, type SizePreset } from "../model/config.js";
import { runSftInChild } from "../train/runner.js";
import { readSftData, resolveSftOptions, type SftOptions } from "../train/sft.js";
import { createProgress, type Progress } from "../util/progress.js";


interface SftFlags {
  data: string;
  out: string;
  base?: string;
  size?: string;
  steps?: number;
  batch?: number;
  accumulation?: number;
  seqLen?: number;
  lr?: number;
  warmup?: number;
  minLrRatio?: number;
  weightDecay?: number;
  clip?: number;
  threads?: number;
  seed?: number;
  resume?: boolean;
  valFraction?: number;
  evalEvery?: number;
  saveEvery?: number;
  device?: string;
  precision?: "f32" | "bf16";
  loraRank?: number;
  loraAlpha?: number;
  loraTargets?: string;
}

/** Turns parsed flags into SftOptions (usage errors for bad combinations). */
export function sftOptionsFromFlags(f: SftFlags): SftOptions {
  if (f.size !== undefined && !(f.size in SIZE_PRESETS)) {
    throw new MathtuneError(ErrorCode.usage, `--size must be one of ${Object.keys(SIZE_PRESETS).join(", ")} (got ${f.size})`);
  }
  if (f.device !== undefined && f.device !== "cpu" && f.device !== "cuda") throw new MathtuneError(ErrorCode.usage, `--device must be cpu or cuda (got ${f.device})`);
  const o: SftOptions = { data: f.data, out: f.out };
  if (f.base !== undefined) o.base = f.base;
  if (f.size !== undefined) o.size = f.size as SizePreset;
  if (f.steps !== undefined) o.steps = f.steps;
  if (f.batch !== undefined) o.batch = f.batch;
  if (f.accumulation !== undefined) o.accumulation = f.accumulation;
  if (f.seqLen !== undefined) o.seqLen = f.seqLen;
  if (f.lr !== undefined) o.lr = f.lr;
  if (f.warmup !== undefined) o.warmup = f.warmup;
  if (f.minLrRatio !== undefined) o.minLrRatio = f.minLrRatio;
  if (f.weightDecay !== undefined) o.weightDecay = f.weightDecay;
  if (f.clip !== undefined) o.clipNorm = f.clip;
  if (f.threads !== undefined) o.threads = f.threads;
  if (f.seed !== undefined) o.seed = f.seed;
  if (f.resume) o.resume = true;
  if (f.valFraction !== undefined) o.valFraction = f.valFraction;
  if (f.evalEvery !== undefined) o.evalEvery = f.evalEvery;
  if (f.saveEvery !== undefined) o.saveEvery = f.saveEvery;
  if (f.device !== undefined) o.device = f.device as "cpu" | "cuda";
  if (f.precision !== undefined) o.precision = f.precision;
  Object.assign(o, loraFlags(f));
  return o;
}

export function register(program: Command): void {
  // Other modules add sub-commands to `train` too; whichever registers first creates it.
  const train = program.commands.find((c) => c.name() === "train") ?? program.command("train").description("train or fine-tune models");
  const sft = train
    .command("sft")
    .description("supervised fine-tuning on {prompt, completion} JSONL (loss on completion tokens only)")
    .requiredOption("--data <file>", "training data, JSONL of {prompt, completion}")
    .requiredOption("--out <dir>", "run folder: checkpoints, model.gguf, metrics.jsonl")
    .option("--base <model>", "fine-tune this llama or qwen2 GGUF (F32/F16/BF16)")
    .option("--size <preset>", `train a new model: ${Object.keys(SIZE_PRESETS).join(" | ")} (default tiny)`)
    .option("--steps <n>", "optimizer steps (default 200)", int("--steps"))
    .option("--batch <n>", "sequences per micro-batch (default 8)", int("--batch"))
    .option("--accumulation <n>", "micro-batches per optimizer step (default 1)", int("--accumulation"))
    .option("--seq-len <n>", "tokens per sequence (default: model context, at most 512)", int("--seq-len"))
    .option("--lr <x>", "peak learning rate (default 1e-3 new model or LoRA, 1e-4 full fine-tuning)", num("--lr"))
    .option("--warmup <n>", "warmup steps (default 10% of steps, at most 100)", int("--warmup"))
    .option("--min-lr-ratio <x>", "final lr / peak lr of the cosine decay (default 0.1)", num("--min-lr-ratio"))
    .option("--weight-decay <x>", "AdamW weight decay on matrices (default 0.1)", num("--weight-decay"))
    .option("--clip <x>", "clip the global gradient norm (0 = off, default 1)", num("--clip"))
    .option("--threads <n>", "CPU threads (default: chosen step by step, all cores while nothing else runs, all but one when another process takes a core)", int("--threads"))
    .option("--seed <n>", "seed of init, data order and validation split (default 1)", int("--seed"))
    .option("--val-fraction <x>", "held-out fraction for validation loss (default 0.05)", num("--val-fraction"))
    .option("--eval-every <n>", "steps between validation losses (default steps/10)", int("--eval-every"))
    .option("--save-every <n>", "steps between checkpoints (default: eval-every)", int("--save-every"))
    .option("--device <d>", "cpu or cuda (default cpu)")
    .addOption(precisionOption())
    .option("--resume", "continue the run in --out from its last checkpoint");
  addLoraOptions(sft, "adapter.gguf instead of model.gguf").action(async (flags: SftFlags) => {
      const options = sftOptionsFromFlags(flags);
      resolveSftOptions(options);
      // Every record is checked here, before a process starts or a model loads.
      const n = readSftData(options.data).length;
      let progress: Progress | undefined;
      let valText = "-";
      let fields: Record<string, string | number> = {};
      let startStep = 0;
      const result = await runSftInChild(options, {
        onEvent: (e) => {
          if (e.kind === "start") {
            const w = Math.max(...e.table.map(([k]) => k.length));
            process.stderr.write(`${"Parameter".padEnd(w)} | Value\n${"-".repeat(w)}-+-${"-".repeat(30)}\n`);
            for (const [k, v] of e.table) process.stderr.write(`${k.padEnd(w)} | ${v}\n`);
            process.stderr.write(`data: ${n} records from ${options.data}\n`);
            // A resumed run counts (and estimates its ETA) from where it starts.
            startStep = e.startStep;
            progress = createProgress({ label: startStep > 0 ? `train (resumed at step ${startStep})` : "train", total: e.steps - startStep });
            progress.update(0);
          } else if (e.kind === "step") {
            fields = { loss: e.loss.toFixed(4), val: valText, "tok/s": Math.round(e.tokensPerSec), lr: e.lr.toExponential(2) };
            progress?.update(e.step - startStep, fields);
          } else if (e.kind === "eval") {
            valText = e.valLoss.toFixed(4);
            fields = { ...fields, val: valText };
            progress?.update(e.step - startStep, fields);
          } else if (e.kind === "warning") {
            process.stderr.write(`warning: ${e.message}\n`);
          }
        },
      });
      progress?.stop();
      if (result.stopped) {
        process.stderr.write(`stopped at step ${result.step}; checkpoint ${result.checkpoint}\nresume with: mathtune train sft --data ${options.data} --out ${options.out} --resume\n`);
        process.exitCode = 130;
        return;
      }
      process.stdout.write(
        `trained ${result.step} steps: loss ${result.loss.toFixed(4)}${result.valLoss !== null ? `, validation loss ${result.valLoss.toFixed(4)}` : ""}\n` +
          (result.adapterPath !== null ? `adapter: ${result.adapterPath} (base ${options.base})\n` : `model: ${result.modelPath}\n`),
      );
    });
}
