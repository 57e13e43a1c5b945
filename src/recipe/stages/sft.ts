// The SSFT stages: each generator fine-tuned on its style of solutions, in a child process.
import { join } from "node:path";
import { createProgress, type Progress } from "../../util/progress.js";
import type { SizePreset } from "../../model/config.js";
import type { SftOptions } from "../../train/sft.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import { RunInterrupted, type Stage } from "../framework.js";
import { loraKey, loraOptions, mergeRunAdapter, paths } from "./shared.js";

/** SftOptions of a generator's SSFT run (shared with tests). */
export function sftOptions(r: Recipe, gen: string, runDir: string, resume: boolean): SftOptions {
  const s = r.sft;
  const o: SftOptions = {
    data: join(runDir, paths.sftData(gen)),
    out: join(runDir, paths.sftDir(gen)),
    steps: s.steps,
    batch: s.batch,
    accumulation: s.accumulation,
    minLrRatio: s.minLrRatio,
    weightDecay: s.weightDecay,
    clipNorm: s.clipNorm,
    valFraction: s.valFraction,
    seed: seedOf(r, "sft"),
    device: s.device,
    resume,
  };
  if (r.model.base !== null) o.base = r.model.base;
  else o.size = r.model.size as SizePreset;
  if (s.seqLen !== null) o.seqLen = s.seqLen;
  if (s.lr !== null) o.lr = s.lr;
  if (s.warmup !== null) o.warmup = s.warmup;
  if (s.evalEvery !== null) o.evalEvery = s.evalEvery;
  if (s.saveEvery !== null) o.saveEvery = s.saveEvery;
  if (r.threads !== null) o.threads = r.threads;
  if (r.precision !== "f32") o.precision = r.precision;
  Object.assign(o, loraOptions(r));
  return o;
}

export function sftStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  return {
    id: `sft/${gen.name}`,
    title: `SSFT of the ${gen.name} generator (${r.model.base ?? `new ${r.model.size} model`}, ${r.sft.steps} steps)`,
    version: 1,
    config: { sft: r.sft, size: r.model.base === null ? r.model.size : null, seed: seedOf(r, "sft"), ...loraKey(r) },
    inputs: [paths.sftData(gen.name)],
    externalInputs: r.model.base === null ? [] : [r.model.base],
    outputs: [paths.model(gen.name)],
    workDirs: [paths.sftDir(gen.name)],
    interrupt: "cooperative",
    async run(ctx) {
      const { latestCheckpoint } = await import("../../train/checkpoints.js");
      const { runSftInChild } = await import("../../train/runner.js");
      const out = ctx.path(paths.sftDir(gen.name));
      const resume = ctx.resuming && latestCheckpoint(out) !== undefined;
      let progress: Progress | undefined;
      let fields: Record<string, string | number> = {};
      let val = "-";
      const result = await runSftInChild(sftOptions(r, gen.name, ctx.runDir, resume), {
        onEvent: (e) => {
          if (e.kind === "start") {
            for (const [k, v] of e.table) ctx.say(`  ${k}: ${v}`);
            progress = createProgress({ label: `  sft/${gen.name}`, total: e.steps });
            progress.update(e.startStep);
          } else if (e.kind === "step") {
            fields = { loss: e.loss.toFixed(4), val, "tok/s": Math.round(e.tokensPerSec) };
            progress?.update(e.step, fields);
            if (e.step % 10 === 0 || e.step === e.steps) ctx.log({ step: e.step, loss: e.loss, lr: e.lr, tokens_per_sec: Math.round(e.tokensPerSec) });
          } else if (e.kind === "eval") {
            val = e.valLoss.toFixed(4);
            progress?.update(e.step, { ...fields, val });
            ctx.log({ step: e.step, val_loss: e.valLoss });
          } else if (e.kind === "warning") {
            ctx.say(`  warning: ${e.message}`);
          }
        },
      });
      progress?.stop();
      // Stopped by Ctrl-C (the trainer saved a checkpoint): the stage is not done; a rerun resumes it.
      if (result.stopped) throw new RunInterrupted(`sft/${gen.name} (step ${result.step}, checkpoint ${result.checkpoint})`);
      // A LoRA run wrote adapter.gguf: merged into the base, it is the generator later stages read.
      if (result.adapterPath !== null && r.model.base !== null) await mergeRunAdapter(r.model.base, out);
      return { steps: result.step, loss: result.loss, val_loss: result.valLoss };
    },
  };
}
