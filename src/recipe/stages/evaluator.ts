// The evaluator stages: its training samples (sample, grade) and its training (evaluator/train).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../../errors.js";
import { writeJsonlAtomic } from "../../util/jsonl.js";
import { createProgress } from "../../util/progress.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import type { Stage } from "../framework.js";
import { gradeFile } from "./grade.js";
import { samplingConfig, openSampler } from "./sample.js";
import { evaluatorTemplate } from "./score.js";
import { paths, modelOf, limit, readProblemList, loraKey, loraOptions, mergeRunAdapter, recipeGeneratorFormat, deviceKey } from "./shared.js";

/** Samples N solutions per training problem from the main generator: the evaluator's data. */
export function evaluatorSampleStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const m = modelOf(r, main);
  const e = r.evaluator;
  const s = r.sampling;
  return {
    id: "evaluator/sample",
    title: `sample ${e.n} solutions per training problem from ${main.name} (the evaluator's data)`,
    version: 1,
    config: { ...samplingConfig(r), n: e.n, greedy: false, problems: e.problems },
    inputs: [paths.train, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.evalProblems, paths.evalSamples],
    async run(ctx) {
      const { runSampling } = await import("../../sample/run.js");
      const problems = limit(readProblemList(ctx.path(paths.train)), e.problems);
      // Idempotent: the same subset every time, so a resumed run writes the same file.
      writeJsonlAtomic(ctx.path(paths.evalProblems), problems);
      const format = await recipeGeneratorFormat(r);
      const sampler = await openSampler(r, m.rel ? ctx.path(m.rel) : m.abs);
      let res;
      try {
        res = await runSampling({
          problems,
          sampler,
          out: ctx.path(paths.evalSamples),
          prompt: (p) => format.prompt(p.problem),
          n: e.n,
          temperature: s.temperature,
          topP: s.topP,
          topK: s.topK,
          maxTokens: s.maxTokens,
          stop: s.stop,
          // Another stream than the test samples' (the problems differ anyway; this keeps it explicit).
          seed: seedOf(r, "sampling") + 1,
        });
      } finally {
        await sampler.close();
      }
      return { problems: problems.length, tokens: res.tokens, tokens_per_sec: Math.round(res.tokens / Math.max(res.seconds, 1e-9)) };
    },
  };
}

export function evaluatorGradeStage(r: Recipe): Stage {
  return {
    id: "evaluator/grade",
    title: "grade the evaluator's training samples",
    version: 1,
    config: { fallbackLastNumber: r.grade.fallbackLastNumber, timeoutMs: r.grade.timeoutMs },
    inputs: [paths.evalProblems, paths.evalSamples],
    outputs: [paths.evalGraded],
    run: (ctx) => gradeFile(r, ctx, "evaluator/grade", paths.evalProblems, paths.evalSamples, paths.evalGraded),
  };
}

/**
 * Follows a trainer's own metrics.jsonl to show progress for trainers that report no events. A
 * trainer that runs in this process without yielding to the event loop shows its progress only
 * when it finishes (the final line still gives the steps and the last values).
 */
function watchSteps(file: string, label: string, total: number): () => void {
  const progress = createProgress({ label, total });
  const poll = (): void => {
    if (!existsSync(file)) return;
    const lines = readFileSync(file, "utf8").trim().split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const rec = JSON.parse(lines[i]) as Record<string, unknown>;
        if (typeof rec.step === "number") {
          const fields: Record<string, string> = {};
          for (const [k, v] of Object.entries(rec)) if (k !== "step" && typeof v === "number") fields[k] = Number.isInteger(v) ? String(v) : v.toFixed(4);
          progress.update(rec.step, fields);
          return;
        }
      } catch {
        // A line being written: look at the one before.
      }
    }
  };
  const timer = setInterval(poll, 2000);
  return () => {
    clearInterval(timer);
    poll();
    progress.stop();
  };
}

export function evaluatorTrainStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const { enabled: _on, n: _n, problems: _p, scoreTopK: _k, likelihoodBaseline: _l, baseBaseline: _b, device: _d, ...settings } = r.evaluator;
  return trainOnEvaluatorData(r, main, {
    id: "evaluator/train",
    title: `train the evaluator from ${main.name} (${r.evaluator.loss} loss, ${r.evaluator.steps} steps)`,
    config: settings,
    dir: paths.evalTrainDir,
    model: paths.evaluatorModel,
    loss: r.evaluator.loss,
    lambda: r.evaluator.margin,
    steps: r.evaluator.steps,
    batch: r.evaluator.batch,
    seqLen: r.evaluator.seqLen,
    lr: r.evaluator.lr,
  });
}

/**
 * The sequence-level contrastive re-ranker (`contrastive`, not the paper's evaluator): the main
 * generator fine-tuned on the evaluator's graded samples so that its likelihood of a correct sample
 * of a problem exceeds that of an incorrect one (`seq-contrastive`); its sequence likelihood then
 * scores the test samples (score/<main>/contrastive).
 */
export function contrastiveTrainStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const { enabled: _on, ...c } = r.contrastive;
  return trainOnEvaluatorData(r, main, {
    id: "contrastive/train",
    title: `train the sequence-contrastive re-ranker from ${main.name} (${c.steps} steps; not the paper's evaluator)`,
    config: { ...c, seqLen: c.seqLen ?? r.evaluator.seqLen, perProblem: r.evaluator.perProblem, valFraction: r.evaluator.valFraction },
    dir: paths.contrastiveTrainDir,
    model: paths.contrastiveModel,
    loss: "seq-contrastive",
    lambda: c.lambda,
    alpha: c.alpha,
    steps: c.steps,
    batch: c.batch,
    seqLen: c.seqLen ?? r.evaluator.seqLen,
    lr: c.lr,
  });
}

interface TrainVariant {
  id: string;
  title: string;
  config: Record<string, unknown>;
  dir: string;
  model: string;
  loss: Recipe["evaluator"]["loss"] | "seq-contrastive";
  lambda: number;
  alpha?: number;
  steps: number;
  batch: number;
  seqLen: number | null;
  lr: number | null;
}

/** A training run of the main generator on the evaluator's graded samples (the evaluator, or the contrastive re-ranker). */
function trainOnEvaluatorData(r: Recipe, main: Recipe["generators"][number], v: TrainVariant): Stage {
  const m = modelOf(r, main);
  return {
    id: v.id,
    title: v.title,
    version: 1,
    config: { ...v.config, seed: seedOf(r, "sft"), ...loraKey(r), ...deviceKey(r.evaluator.device) },
    inputs: [paths.evalProblems, paths.evalGraded, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [v.model],
    workDirs: [v.dir],
    async run(ctx) {
      const { runEvaluatorTraining } = await import("../../train/evaluator.js");
      const { latestCheckpoint } = await import("../../train/checkpoints.js");
      const e = r.evaluator;
      const out = ctx.path(v.dir);
      const base = m.rel ? ctx.path(m.rel) : m.abs;
      if (base === undefined) throw new MathtuneError(ErrorCode.usage, "the evaluator needs a generator model to start from");
      const stop = watchSteps(join(out, "metrics.jsonl"), `  ${v.id}`, v.steps);
      let res;
      try {
        res = await runEvaluatorTraining({
          base,
          template: evaluatorTemplate(r),
          samples: ctx.path(paths.evalGraded),
          problems: ctx.path(paths.evalProblems),
          out,
          loss: v.loss,
          lambda: v.lambda,
          ...(v.alpha !== undefined ? { alpha: v.alpha } : {}),
          perProblem: e.perProblem,
          steps: v.steps,
          batch: v.batch,
          valFraction: e.valFraction,
          seed: seedOf(r, "sft"),
          resume: ctx.resuming && latestCheckpoint(out) !== undefined,
          ...(v.seqLen !== null ? { seqLen: v.seqLen } : {}),
          ...(v.lr !== null ? { lr: v.lr } : {}),
          ...(r.threads !== null ? { threads: r.threads } : {}),
          ...(r.precision !== "f32" ? { precision: r.precision } : {}),
          device: e.device,
          ...loraOptions(r),
        });
      } finally {
        stop();
      }
      // A LoRA run wrote adapter.gguf: merged into the generator it started from, it is the evaluator later stages read.
      if (r.lora.rank !== null) await mergeRunAdapter(base, out);
      const f = (x: number | null): string => x?.toFixed(3) ?? "–";
      ctx.say(
        `  held-out AUC within problems ${f(res.valAuc)} (base model ${f(res.baseAuc)}; ${res.stats.valPairs} pairs from ${res.stats.valMixedProblems} problems), pooled ${f(res.valAucPooled)} (base ${f(res.baseAucPooled)}); ` +
          `${res.stats.trainItems} training items from ${res.stats.trainProblems} problems`,
      );
      return { steps: res.step, loss: res.loss, val_auc: res.valAuc, base_auc: res.baseAuc, val_auc_pooled: res.valAucPooled, base_auc_pooled: res.baseAucPooled, ...res.stats };
    },
  };
}
