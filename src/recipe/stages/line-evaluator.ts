// The line evaluator (an ablation beside the paper's evaluator): trained on per-line labels of the
// evaluator's own training samples and of the world's solutions, then scoring the main
// generator's test samples by the probability that every line is true.
import { ErrorCode, MathtuneError } from "../../errors.js";
import { generatorPrompt } from "../../data/prompts.js";
import { worldLineExamples, type GradedWorldSample } from "../../data/synth/lines.js";
import { CHECKABLE_SKILLS } from "../../data/synth/skills.js";
import { readSamples } from "../../metrics/samples.js";
import { writeJsonlAtomic } from "../../util/jsonl.js";
import { Rng } from "../../util/rng.js";
import { createProgress, type Progress } from "../../util/progress.js";
import type { SftOptions } from "../../train/sft.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import { RunInterrupted, type Stage } from "../framework.js";
import { recipeWorld } from "./data.js";
import { scoreTestSamples } from "./score.js";
import { paths, modelOf, limit, readProblemList, lineEvaluatorRow, loraKey, loraOptions, deviceKey, mergeRunAdapter, promptFormatConfig, recipeGeneratorFormat } from "./shared.js";

/** Tokens per row of the line evaluator's training and scoring. */
function lineSeqLen(r: Recipe): number | null {
  return r.lineEvaluator.seqLen ?? r.evaluator.seqLen;
}

/** Checks that a recipe can train the line evaluator (at planning, before anything runs). */
export function checkLineEvaluator(r: Recipe): void {
  if (!r.lineEvaluator.enabled) return;
  if (r.data.source !== "synth") {
    throw new MathtuneError(ErrorCode.usage, `lineEvaluator.enabled needs per-line truth, which only the synthetic world gives (data.source is "${r.data.source}")`, {
      hint: "set lineEvaluator.enabled to false, or use data.source synth",
    });
  }
  const other = r.data.skills.filter((k) => !(CHECKABLE_SKILLS as readonly string[]).includes(k));
  if (other.length > 0) {
    throw new MathtuneError(ErrorCode.usage, `lineEvaluator.enabled judges lines in the checkable skills' grammar only (${CHECKABLE_SKILLS.join(", ")}); data.skills has ${other.join(", ")}`, {
      hint: "draw the world from the checkable skills (recipes/demo-checkable.json), or set lineEvaluator.enabled to false",
    });
  }
  if (!r.evaluator.enabled) throw new MathtuneError(ErrorCode.usage, "lineEvaluator.enabled needs evaluator.enabled (it trains on the evaluator's samples)");
}

export function lineEvaluatorTrainStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const m = modelOf(r, main);
  const le = r.lineEvaluator;
  return {
    id: "line-evaluator/train",
    title: `train the line evaluator from ${main.name} on per-line labels (${le.steps} steps; an ablation)`,
    version: 1,
    config: { ...le, seqLen: lineSeqLen(r), data: r.data, template: r.promptTemplate, ...promptFormatConfig(r), seed: seedOf(r, "sft"), ...loraKey(r), ...deviceKey(r.evaluator.device) },
    inputs: [paths.evalProblems, paths.evalGraded, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.lineEvalData, paths.lineEvaluatorModel],
    workDirs: [paths.lineEvalTrainDir],
    interrupt: "cooperative",
    async run(ctx) {
      const { latestCheckpoint } = await import("../../train/checkpoints.js");
      const { runSftInChild } = await import("../../train/runner.js");
      const base = m.rel ? ctx.path(m.rel) : m.abs;
      if (base === undefined) throw new MathtuneError(ErrorCode.usage, "the line evaluator needs a generator model to start from");
      const problems = new Map(readProblemList(ctx.path(paths.evalProblems)).map((p) => [p.id, p.problem]));
      const own: GradedWorldSample[] = [];
      for (const { sample: s } of readSamples(ctx.path(paths.evalGraded))) {
        // A sample cut at maxTokens has no final line to judge.
        if (s.correct === undefined || s.finish === "length") continue;
        own.push({ problem: problems.get(s.problem_id)!, text: s.text, correct: s.correct, id: `${s.problem_id}/${s.sample}` });
      }
      const items = limit(recipeWorld(r).train, le.worldProblems);
      const format = r.promptFormat === "chat" ? await recipeGeneratorFormat(r) : undefined;
      const prompt = (p: string): string => format?.prompt(p) ?? generatorPrompt(p, r.promptTemplate === null ? {} : { template: r.promptTemplate });
      const examples = new Rng(seedOf(r, "sft"))
        .shuffle(worldLineExamples(own, items, prompt))
        .map((e) => (format?.specialTokens === true ? { ...e, special_tokens: true } : e));
      writeJsonlAtomic(ctx.path(paths.lineEvalData), examples);
      const out = ctx.path(paths.lineEvalTrainDir);
      const seqLen = lineSeqLen(r);
      const o: SftOptions = {
        data: ctx.path(paths.lineEvalData),
        out,
        base,
        steps: le.steps,
        batch: le.batch,
        seed: seedOf(r, "sft"),
        resume: ctx.resuming && latestCheckpoint(out) !== undefined,
        ...(seqLen !== null ? { seqLen } : {}),
        ...(le.lr !== null ? { lr: le.lr } : {}),
        ...(r.threads !== null ? { threads: r.threads } : {}),
        ...(r.precision !== "f32" ? { precision: r.precision } : {}),
        device: r.evaluator.device,
        ...loraOptions(r),
      };
      let progress: Progress | undefined;
      let val = "-";
      const result = await runSftInChild(o, {
        onEvent: (e) => {
          if (e.kind === "start") {
            progress = createProgress({ label: "  line-evaluator/train", total: e.steps });
            progress.update(e.startStep);
          } else if (e.kind === "step") {
            progress?.update(e.step, { loss: e.loss.toFixed(4), val, "tok/s": Math.round(e.tokensPerSec) });
            if (e.step % 10 === 0 || e.step === e.steps) ctx.log({ step: e.step, loss: e.loss, lr: e.lr });
          } else if (e.kind === "eval") {
            val = e.valLoss.toFixed(4);
            ctx.log({ step: e.step, val_loss: e.valLoss });
          } else if (e.kind === "warning") {
            ctx.say(`  warning: ${e.message}`);
          }
        },
      });
      progress?.stop();
      if (result.stopped) throw new RunInterrupted(`line-evaluator/train (step ${result.step}, checkpoint ${result.checkpoint})`);
      if (result.adapterPath !== null) await mergeRunAdapter(base, out);
      ctx.say(`  ${examples.length} examples (${own.length} own samples, ${items.length} world problems); validation loss ${result.valLoss?.toFixed(4) ?? "–"}`);
      return { steps: result.step, loss: result.loss, val_loss: result.valLoss, examples: examples.length, own_samples: own.length, world_problems: items.length };
    },
  };
}

/** Scores the main generator's graded test samples with the line evaluator (`line-evaluator.jsonl`). */
export function lineEvaluatorScoreStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const contextSize = lineSeqLen(r);
  const out = lineEvaluatorRow.file(gen.name);
  return {
    id: `score/${gen.name}/line-evaluator`,
    title: `score ${gen.name}'s test samples with the line evaluator (p of every line true)`,
    version: 2,
    config: { contextSize, template: r.promptTemplate, ...promptFormatConfig(r) },
    inputs: [paths.test, paths.graded(gen.name), paths.lineEvaluatorModel],
    outputs: [out],
    async run(ctx) {
      const format = r.promptFormat === "chat" ? await recipeGeneratorFormat(r) : undefined;
      const res = await scoreTestSamples(ctx, r, gen.name, ctx.path(paths.lineEvaluatorModel), out, contextSize, (scorer) => ({
        lines: r.promptTemplate !== null ? { promptTemplate: r.promptTemplate } : {},
        ...(format !== undefined ? { generatorPrompt: format.prompt } : {}),
        fits: (text) => scorer.promptTokens(text).length <= scorer.contextSize,
      }), format?.specialTokens === true);
      ctx.say(`  ${res.calls} line-evaluator calls for ${res.candidates} candidates${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
      return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
    },
  };
}

