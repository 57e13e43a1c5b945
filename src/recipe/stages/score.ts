// The scoring stages: the evaluator's score of each test sample, and the generator's own
// likelihood as the baselines (per sequence, per token, least likely token).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCode, MathtuneError } from "../../errors.js";
import { evaluatorLabelText, resolveEvaluatorTemplate } from "../../data/prompts.js";
import { exactEquivalence } from "../../select/cluster.js";
import { graderEquivalence } from "../../grade/equivalence.js";
import { readSamples } from "../../metrics/samples.js";
import type { Recipe } from "../schema.js";
import type { Stage, StageContext } from "../framework.js";
import type { LikelihoodPer, ScoringRunOptions, ScoringRunResult } from "../../sample/score-run.js";
import type { LocalModel } from "../../sample/local.js";
import { paths, modelOf, readProblemList, likelihoodBaselines, baseEvaluatorBaseline, promptFormatConfig, recipeGeneratorFormat } from "./shared.js";

/**
 * Scores `gen`'s graded test samples with the model at `modelPath` into `outRel` (runScoring with
 * the options `how` gives for the opened scorer).
 */
export async function scoreTestSamples(
  ctx: StageContext,
  r: Recipe,
  gen: string,
  modelPath: string,
  outRel: string,
  contextSize: number | null,
  how: (scorer: LocalModel) => Partial<ScoringRunOptions>,
  specialTokens = false,
): Promise<ScoringRunResult> {
  const { runScoring } = await import("../../sample/score-run.js");
  const { LocalModel } = await import("../../sample/local.js");
  const file = ctx.path(paths.graded(gen));
  const problems = new Map(readProblemList(ctx.path(paths.test)).map((p) => [p.id, p]));
  const samples = readSamples(file);
  const out = ctx.path(outRel);
  mkdirSync(dirname(out), { recursive: true });
  const scorer = await LocalModel.open(modelPath, {
    ...(r.sampling.threads !== null ? { threads: r.sampling.threads } : {}),
    parallel: r.sampling.parallel,
    ...(r.sampling.contexts !== null ? { contexts: r.sampling.contexts } : {}),
    ...(contextSize !== null ? { contextSize } : {}),
    ...(specialTokens ? { specialTokens: true } : {}),
  });
  try {
    // Greedy samples are never re-ranked: scoring them would only cost time.
    return await runScoring({ ...how(scorer), scorer, problems, samples, out, skipGreedy: true });
  } finally {
    await scorer.close();
  }
}

/**
 * The evaluator's baselines: the main generator's graded test samples scored by the generator's own
 * likelihood of each (no training), in one scoring pass written three ways: sequence likelihood
 * (`likelihood.jsonl`), per-token likelihood (`likelihood-token.jsonl`) and min token probability
 * (`likelihood-min.jsonl`). The eval stage reports re-ranking by each beside the evaluator's.
 */
export function likelihoodStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const m = modelOf(r, gen);
  return {
    id: `likelihood/${gen.name}`,
    title: `score ${gen.name}'s test samples by the generator's own likelihood (the evaluator's baselines)`,
    version: 3,
    config: { contextSize: r.sampling.contextSize ?? r.sft.seqLen, template: r.promptTemplate, ...promptFormatConfig(r) },
    inputs: [paths.test, paths.graded(gen.name), ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: likelihoodBaselines.map((b) => b.file(gen.name)),
    async run(ctx) {
      const model = m.rel ? ctx.path(m.rel) : m.abs;
      if (model === undefined) throw new MathtuneError(ErrorCode.usage, "the likelihood baseline needs a local generator model");
      return likelihoodScoring(r, ctx, gen.name, model, likelihoodBaselines);
    },
  };
}

/**
 * Scores a generator's graded test samples by the sequence likelihood of the sequence-contrastive
 * re-ranker (`contrastive`, stage contrastive/train) into score/<main>/contrastive.jsonl.
 */
export function contrastiveScoreStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  return {
    id: `score/${gen.name}/contrastive`,
    title: `score ${gen.name}'s test samples by the sequence-contrastive re-ranker's likelihood (not the paper's evaluator)`,
    version: 1,
    config: { contextSize: r.sampling.contextSize ?? r.sft.seqLen, template: r.promptTemplate, ...promptFormatConfig(r) },
    inputs: [paths.test, paths.graded(gen.name), paths.contrastiveModel],
    outputs: [paths.contrastiveScores(gen.name)],
    run: (ctx) => likelihoodScoring(r, ctx, gen.name, ctx.path(paths.contrastiveModel), [{ per: "sequence", file: paths.contrastiveScores }]),
  };
}

/** One scoring pass of `model`'s likelihood of each test sample of `gen`, written once per measure. */
async function likelihoodScoring(r: Recipe, ctx: StageContext, gen: string, model: string, measures: ReadonlyArray<{ per: LikelihoodPer; file: (gen: string) => string }>): Promise<Record<string, number>> {
  const [first, ...more] = measures;
  const format = r.promptFormat === "chat" ? await recipeGeneratorFormat(r) : undefined;
  const res = await scoreTestSamples(ctx, r, gen, model, first.file(gen), r.sampling.contextSize ?? r.sft.seqLen, (scorer) => ({
    likelihood: {
      per: first.per,
      more: more.map((b) => ({ per: b.per, out: ctx.path(b.file(gen)) })),
      ...(r.promptTemplate !== null ? { promptTemplate: r.promptTemplate } : {}),
    },
    ...(format !== undefined ? { generatorPrompt: format.prompt } : {}),
    fits: (text) => scorer.promptTokens(text).length <= scorer.contextSize,
  }), format?.specialTokens === true);
  ctx.say(`  ${res.calls} candidates scored${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
  return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
}

/** The recipe's evaluator template, resolved against its generator prompt template. */
export function evaluatorTemplate(r: Recipe): string {
  return resolveEvaluatorTemplate(r.evaluator.template, r.promptTemplate ?? undefined);
}

/** Tokens of the longer of the two label texts (` correct` / ` incorrect`) in the scorer's vocabulary. */
export function labelRoom(scorer: LocalModel): number {
  return Math.max(...[true, false].map((c) => scorer.model.tokenize(evaluatorLabelText(c), false).length));
}

/** How the evaluator scores the test samples, for the trained evaluator and the base model alike. */
function evaluatorScoring(r: Recipe): (scorer: LocalModel) => Partial<ScoringRunOptions> {
  return (scorer) => {
    // The prompt and the longer label text (scored after it whole) must fit the scorer's context.
    const room = labelRoom(scorer);
    return {
      topK: r.evaluator.scoreTopK,
      template: evaluatorTemplate(r),
      equivalence: r.eval.cluster === "exact" ? exactEquivalence : graderEquivalence(),
      fits: (prompt) => scorer.promptTokens(prompt).length + room <= scorer.contextSize,
    };
  };
}

/** Scores a generator's graded test samples with the evaluator. */
export function scoreStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const contextSize = r.evaluator.seqLen;
  return {
    id: `score/${gen.name}`,
    title: `score ${gen.name}'s test samples with the evaluator${r.evaluator.scoreTopK > 0 ? ` (top-${r.evaluator.scoreTopK} clusters only)` : ""}`,
    version: 2,
    config: { scoreTopK: r.evaluator.scoreTopK, template: r.evaluator.template, contextSize, cluster: r.eval.cluster },
    inputs: [paths.test, paths.graded(gen.name), paths.evaluatorModel],
    outputs: [paths.scored(gen.name)],
    async run(ctx) {
      const res = await scoreTestSamples(ctx, r, gen.name, ctx.path(paths.evaluatorModel), paths.scored(gen.name), contextSize, evaluatorScoring(r));
      ctx.say(`  ${res.calls} evaluator calls for ${res.candidates} candidates${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
      return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
    },
  };
}

/**
 * The evaluator's baseline before any evaluator training: the recipe's base model (`model.base`)
 * scores the main generator's graded test samples through the same evaluator template and label
 * words, with the same `scoreTopK`, as the trained evaluator (`base-evaluator.jsonl`). The eval
 * stage reports re-ranking by it and its AUC under `base-evaluator.*`: what the evaluator
 * fine-tuning adds is the difference.
 */
export function baseEvaluatorStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const contextSize = r.evaluator.seqLen;
  const base = r.model.base;
  const out = baseEvaluatorBaseline.file(gen.name);
  return {
    id: `score/${gen.name}/base-evaluator`,
    title: `score ${gen.name}'s test samples with the base model as the evaluator (no evaluator training)${r.evaluator.scoreTopK > 0 ? ` (top-${r.evaluator.scoreTopK} clusters only)` : ""}`,
    version: 2,
    config: { scoreTopK: r.evaluator.scoreTopK, template: r.evaluator.template, promptTemplate: r.promptTemplate, contextSize, cluster: r.eval.cluster },
    inputs: [paths.test, paths.graded(gen.name)],
    externalInputs: base !== null ? [base] : [],
    outputs: [out],
    async run(ctx) {
      if (base === null) throw new MathtuneError(ErrorCode.usage, "the base-evaluator baseline needs a local base model (model.base)");
      const res = await scoreTestSamples(ctx, r, gen.name, base, out, contextSize, evaluatorScoring(r));
      ctx.say(`  ${res.calls} base-model evaluator calls for ${res.candidates} candidates${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
      return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
    },
  };
}
