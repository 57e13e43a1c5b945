/**
 * The recipe's stages, each a thin shell over the component that does the work: the synthetic
 * world or a dataset adapter (data), the SSFT trainer in a child process (sft), the sampler
 * (sample), the grader pool (grade), the evaluator trainer and scorer (evaluator/*, score), the
 * MTSF trainer (mtsf/*), the metrics (eval) and the reports (report). Components are imported
 * lazily, so planning a recipe loads no native library.
 */
import { ErrorCode, MathtuneError } from "../../errors.js";
import type { Recipe } from "../schema.js";
import type { Stage } from "../framework.js";
import { dataStage } from "./data.js";
import { evalStage } from "./eval.js";
import { contrastiveTrainStage, evaluatorSampleStage, evaluatorGradeStage, evaluatorTrainStage } from "./evaluator.js";
import { gradeStage } from "./grade.js";
import { checkLineEvaluator, lineEvaluatorScoreStage, lineEvaluatorTrainStage } from "./line-evaluator.js";
import { mtsfStage, controlStage } from "./mtsf.js";
import { reportStage } from "./report.js";
import { sampleStage } from "./sample.js";
import { baseEvaluatorStage, contrastiveScoreStage, likelihoodStage, scoreStage } from "./score.js";
import { sftStage } from "./sft.js";
import { baseEvaluatorBaseline, contrastiveRow, likelihoodBaselines, lineEvaluatorRow, paths, modelOf, type Arm } from "./shared.js";

export { paths } from "./shared.js";
export { sftOptions } from "./sft.js";
export { canonicalOrder } from "./sample.js";
export { mtsfReusesEvaluator } from "./mtsf.js";

/** The stages of a recipe, in order. */
export function planStages(r: Recipe): Stage[] {
  const stages: Stage[] = [dataStage(r)];
  for (const g of r.generators) if (g.sft) stages.push(sftStage(r, g));
  const main = r.generators[r.generators.length - 1];
  if (r.mtsf.enabled && !main.sft) {
    throw new MathtuneError(ErrorCode.usage, `mtsf.enabled needs the main generator (${main.name}) to be trained here (sft: true)`);
  }
  checkLineEvaluator(r);
  if (r.contrastive.enabled && !r.evaluator.enabled) {
    throw new MathtuneError(ErrorCode.usage, "contrastive.enabled needs evaluator.enabled (it trains on the evaluator's samples and is reported beside it)");
  }
  if (r.lora.rank !== null && r.model.base === null) {
    throw new MathtuneError(ErrorCode.usage, "lora.rank needs a base model to adapt (model.base); a new model of model.size is trained in full", {
      hint: "set model.base to a GGUF, or lora.rank to null",
    });
  }
  const needEvalData = r.evaluator.enabled || r.mtsf.enabled;
  for (const g of r.generators) {
    const arm: Arm = { name: g.name, model: modelOf(r, g), ...(g.sampledProblems !== null ? { sampledProblems: g.sampledProblems } : {}) };
    stages.push(sampleStage(r, arm), gradeStage(r, arm));
    const scored = r.evaluator.enabled && g === main;
    if (g === main && needEvalData) stages.push(evaluatorSampleStage(r, main), evaluatorGradeStage(r));
    if (scored) stages.push(evaluatorTrainStage(r, main), scoreStage(r, main));
    const baseline = scored && r.evaluator.likelihoodBaseline && r.sampling.server === null && (arm.model.rel !== undefined || arm.model.abs !== undefined);
    if (baseline) stages.push(likelihoodStage(r, main));
    // The base model as the evaluator before evaluator training: needs a local base GGUF (not a new model of model.size).
    const baseEval = scored && r.evaluator.baseBaseline && r.model.base !== null;
    if (baseEval) stages.push(baseEvaluatorStage(r, main));
    // The line evaluator, an ablation beside the paper's evaluator.
    const lineEval = scored && r.lineEvaluator.enabled;
    if (lineEval) stages.push(lineEvaluatorTrainStage(r, main), lineEvaluatorScoreStage(r, main));
    // The sequence-contrastive re-ranker, not the paper's evaluator.
    const contrastive = scored && r.contrastive.enabled;
    if (contrastive) stages.push(contrastiveTrainStage(r, main), contrastiveScoreStage(r, main));
    stages.push(
      evalStage(r, arm, scored, [
        ...(baseline ? likelihoodBaselines : []),
        ...(baseEval ? [baseEvaluatorBaseline] : []),
        ...(lineEval ? [lineEvaluatorRow] : []),
        ...(contrastive ? [contrastiveRow] : []),
      ]),
    );
  }
  if (r.mtsf.enabled) {
    stages.push(mtsfStage(r, main), controlStage(r, main));
    const sampledProblems = r.mtsf.sampledProblems !== null ? { sampledProblems: r.mtsf.sampledProblems } : {};
    for (const arm of [{ name: "mtsf", model: { rel: paths.mtsfModel }, ...sampledProblems }, { name: "control", model: { rel: paths.controlModel }, ...sampledProblems }]) {
      stages.push(sampleStage(r, arm), gradeStage(r, arm), evalStage(r, arm, false));
    }
  }
  stages.push(reportStage(r));
  return stages;
}
