/** `mathtune train sft`: supervised fine-tuning on prompt-completion JSONL, in a child process. */
import type { Command } from "commander";
import { addLoraOptions, loraFlags, settingOption, type LoraFlags } from "./options.js";
import type { SizePreset } from "../model/config.js";
import { runSftInChild } from "../train/runner.js";
import { readSftData, resolveSftOptions, type SftOptions } from "../train/sft.js";
import { SftSettingsSchema } from "../train/settings.js";
import { createProgress, type Progress } from "../util/progress.js";


/** The flags of `train sft`: the settings under their flag names (`--clip` is clipNorm), parsed and checked by commander. */
type SftFlags = Omit<SftOptions, "clipNorm" | "loraTargets" | "size"> & LoraFlags & { clip?: number; size?: string };

/** Turns parsed flags into SftOptions: only the flags given, so the trainer applies the schema's defaults. */
export function sftOptionsFromFlags(f: SftFlags): SftOptions {
  const { clip, loraRank: _r, loraAlpha: _a, loraTargets: _t, size, resume, ...rest } = f;
  // Settings with a computed default arrive as null: the trainer computes them.
  const o: SftOptions = { ...rest };
  for (const k of Object.keys(o) as Array<keyof SftOptions>) if (o[k] === undefined) delete o[k];
  if (size !== undefined) o.size = size as SizePreset;
  if (clip !== undefined) o.clipNorm = clip;
  if (resume) o.resume = true;
  return { ...o, ...loraFlags(f) };
}

export function register(program: Command): void {
  // Other modules add sub-commands to `train` too; whichever registers first creates it.
  const train = program.commands.find((c) => c.name() === "train") ?? program.command("train").description("train or fine-tune models");
  const S = SftSettingsSchema.shape;
  const sft = train
    .command("sft")
    .description("supervised fine-tuning on {prompt, completion} JSONL (loss on completion tokens only)")
    .requiredOption("--data <file>", "training data, JSONL of {prompt, completion}")
    .requiredOption("--out <dir>", "run folder: checkpoints, model.gguf, metrics.jsonl")
    .option("--base <model>", "fine-tune this llama or qwen2 GGUF (F32/F16/BF16)")
    .addOption(settingOption("--size <preset>", S.size, { description: "train a new model of this size preset", unset: "without --base" }))
    .addOption(settingOption("--steps <n>", S.steps))
    .addOption(settingOption("--batch <n>", S.batch))
    .addOption(settingOption("--accumulation <n>", S.accumulation))
    .addOption(settingOption("--seq-len <n>", S.seqLen))
    .addOption(settingOption("--lr <x>", S.lr))
    .addOption(settingOption("--warmup <n>", S.warmup))
    .addOption(settingOption("--min-lr-ratio <x>", S.minLrRatio))
    .addOption(settingOption("--weight-decay <x>", S.weightDecay))
    .addOption(settingOption("--clip <x>", S.clipNorm))
    .addOption(settingOption("--loss-weighting <w>", S.lossWeighting))
    .addOption(settingOption("--threads <n>", S.threads))
    .addOption(settingOption("--seed <n>", S.seed))
    .addOption(settingOption("--val-fraction <x>", S.valFraction))
    .addOption(settingOption("--eval-every <n>", S.evalEvery))
    .addOption(settingOption("--save-every <n>", S.saveEvery))
    .addOption(settingOption("--device <d>", S.device))
    .addOption(settingOption("--precision <p>", S.precision))
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
