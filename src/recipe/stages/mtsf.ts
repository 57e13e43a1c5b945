// The MTSF stages: multi-task sequential fine-tuning and its control (same extra generator steps).
import { createProgress, type Progress } from "../../util/progress.js";
import type { SftOptions } from "../../train/sft.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import { RunInterrupted, type Stage, type StageContext } from "../framework.js";
import { evaluatorTemplate } from "./score.js";
import { sftOptions } from "./sft.js";
import { deviceKey, loraKey, loraOptions, mergeRunAdapter, paths } from "./shared.js";

/** The generator settings of the MTSF generator stage and of the control (fine-tuning a GGUF). */
function continuedSft(r: Recipe): Omit<SftOptions, "data" | "out" | "base" | "steps" | "resume"> {
  // sft.evalEvery / saveEvery carry over (unset: the trainer's default of a tenth of the steps).
  const { data: _d, out: _o, base: _b, size: _s, steps: _n, resume: _r, lr: _lr, warmup: _w, ...rest } = sftOptions(r, "x", "/", false);
  return { ...rest, ...(r.mtsf.lr !== null ? { lr: r.mtsf.lr } : {}) };
}

/**
 * True when MTSF's evaluator stage would train exactly the re-ranking evaluator (same start model,
 * data, settings and steps): the recipe then continues from that evaluator instead of training it twice.
 */
export function mtsfReusesEvaluator(r: Recipe): boolean {
  return r.evaluator.enabled && r.mtsf.evaluatorSteps === r.evaluator.steps;
}

export function mtsfStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  // baseBaseline only adds a scoring stage: left out of the config, so MTSF's key does not depend on it.
  const { baseBaseline: _b, device: _d, ...e } = r.evaluator;
  const reuse = mtsfReusesEvaluator(r);
  return {
    id: "mtsf/train",
    title: reuse
      ? `MTSF of ${main.name}: the evaluator (its SSFT model trained ${e.steps} evaluator steps) -> generator (${r.mtsf.generatorSteps} steps)`
      : `MTSF of ${main.name}: SSFT model -> evaluator (${r.mtsf.evaluatorSteps} steps) -> generator (${r.mtsf.generatorSteps} steps)`,
    version: 1,
    config: reuse
      ? { mtsf: r.mtsf, sft: continuedSft(r), from: "evaluator" }
      : {
          mtsf: r.mtsf,
          evaluator: { ...e, enabled: null, n: null, problems: null, scoreTopK: null, likelihoodBaseline: null, steps: null, ...deviceKey(r.evaluator.device) },
          sft: continuedSft(r),
          ...loraKey(r),
        },
    inputs: reuse
      ? [paths.evaluatorModel, paths.sftData(main.name), paths.model(main.name)] // the SSFT model sets the row length
      : [paths.model(main.name), paths.sftData(main.name), paths.evalProblems, paths.evalGraded],
    outputs: [paths.mtsfModel],
    workDirs: [paths.mtsfDir],
    interrupt: "cooperative",
    async run(ctx) {
      if (reuse) {
        // The first generator stage is the main generator's SSFT and the evaluator stage is the
        // re-ranking evaluator, both already trained: only the last generator stage is left.
        const res = await continueSft(ctx, r, "mtsf/stage-2-sft", paths.evaluatorModel, paths.model(main.name), paths.sftData(main.name), paths.mtsfStageDir);
        return { stages: 3, evaluator_reused: true, steps: res.step, loss: res.loss, val_loss: res.valLoss };
      }
      const { runMtsf } = await import("../../train/mtsf.js");
      let progress: Progress | undefined;
      const res = await runMtsf({
        base: ctx.path(paths.model(main.name)),
        sftData: ctx.path(paths.sftData(main.name)),
        samples: ctx.path(paths.evalGraded),
        problems: ctx.path(paths.evalProblems),
        out: ctx.path(paths.mtsfDir),
        // The first generator stage is the main generator's SSFT, already trained.
        stages: ["evaluator", "sft"],
        steps: [r.mtsf.evaluatorSteps, r.mtsf.generatorSteps],
        sft: continuedSft(r),
        evaluator: {
          loss: e.loss,
          lambda: e.margin,
          template: evaluatorTemplate(r),
          perProblem: e.perProblem,
          batch: e.batch,
          valFraction: e.valFraction,
          seed: seedOf(r, "sft"),
          ...(e.seqLen !== null ? { seqLen: e.seqLen } : {}),
          ...(e.lr !== null ? { lr: e.lr } : {}),
          ...(r.threads !== null ? { threads: r.threads } : {}),
          ...(r.precision !== "f32" ? { precision: r.precision } : {}),
          device: r.evaluator.device,
          ...loraOptions(r),
        },
        control: false,
        onStage: (name, what) => ctx.say(`  ${name}: ${what}`),
        onSftEvent: (name, ev) => {
          if (ev.kind === "start") {
            progress = createProgress({ label: `  mtsf/${name}`, total: ev.steps });
            progress.update(ev.startStep);
          } else if (ev.kind === "step") {
            progress?.update(ev.step, { loss: ev.loss.toFixed(4) });
            if (ev.step % 10 === 0 || ev.step === ev.steps) ctx.log({ mtsf_stage: name, step: ev.step, loss: ev.loss });
          }
        },
      });
      progress?.stop();
      const evalStageRes = res.stages.find((x) => x.kind === "evaluator");
      return { stages: res.stages.length + 1, evaluator_reused: false, evaluator_val_auc: evalStageRes?.valAuc ?? null };
    },
  };
}

/**
 * Generator fine-tuning of `fromRel` for mtsf.generatorSteps on `dataRel` into `outRel` (the
 * control, and MTSF's last stage). Rows are as long as the SSFT model's (`ssftRel`): an evaluator
 * GGUF records its own, longer context, which must not change the generator's rows.
 */
async function continueSft(ctx: StageContext, r: Recipe, label: string, fromRel: string, ssftRel: string, dataRel: string, outRel: string) {
  const { latestCheckpoint } = await import("../../train/checkpoints.js");
  const { runSftInChild } = await import("../../train/runner.js");
  const { readGguf } = await import("../../model/gguf.js");
  const { configFromGguf } = await import("../../model/checkpoint.js");
  const out = ctx.path(outRel);
  const opts = continuedSft(r);
  const seqLen = opts.seqLen ?? Math.min(512, configFromGguf(readGguf(ctx.path(ssftRel))).contextLength);
  let progress: Progress | undefined;
  const res = await runSftInChild(
    {
      ...opts,
      seqLen,
      data: ctx.path(dataRel),
      out,
      base: ctx.path(fromRel),
      steps: r.mtsf.generatorSteps,
      resume: ctx.resuming && latestCheckpoint(out) !== undefined,
    },
    {
      onEvent: (ev) => {
        if (ev.kind === "start") {
          progress = createProgress({ label: `  ${label}`, total: ev.steps });
          progress.update(ev.startStep);
        } else if (ev.kind === "step") progress?.update(ev.step, { loss: ev.loss.toFixed(4) });
      },
    },
  );
  progress?.stop();
  if (res.stopped) throw new RunInterrupted(`${label} (step ${res.step})`);
  if (res.adapterPath !== null) await mergeRunAdapter(ctx.path(fromRel), out);
  return res;
}

export function controlStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  return {
    id: "mtsf/control",
    title: `the control: ${main.name}'s SSFT model trained ${r.mtsf.generatorSteps} more generator steps`,
    version: 1,
    config: { steps: r.mtsf.generatorSteps, sft: continuedSft(r) },
    inputs: [paths.model(main.name), paths.sftData(main.name)],
    outputs: [paths.controlModel],
    workDirs: [paths.controlDir],
    interrupt: "cooperative",
    async run(ctx) {
      const res = await continueSft(ctx, r, "mtsf/control", paths.model(main.name), paths.model(main.name), paths.sftData(main.name), paths.controlDir);
      return { steps: res.step, loss: res.loss, val_loss: res.valLoss };
    },
  };
}
