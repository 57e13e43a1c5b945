/**
 * The recipe's stages, each a thin shell over the component that does the work: the synthetic
 * world or a dataset adapter (data), the SSFT trainer in a child process (sft), the sampler
 * (sample), the grader pool (grade), the evaluator trainer and scorer (evaluator/*, score), the
 * MTSF trainer (mtsf/*), the metrics (eval) and the reports (report). Components are imported
 * lazily, so planning a recipe loads no native library.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { ProblemSchema, SampleSchema, type Problem, type Sample } from "../data/records.js";
import { readJsonl, writeJsonlAtomic } from "../util/jsonl.js";
import { writeFileAtomic } from "../util/fs.js";
import { createProgress, type Progress } from "../util/progress.js";
import { synthesizeWorld, synthToProblem, type Level, type Skill } from "../data/synth/world.js";
import { buildPrm800kSplit, readGsm8k, PRM800K_SPLIT_FILES } from "../data/adapters.js";
import { toSftExamples } from "../data/sft.js";
import { generatorPrompt, resolveEvaluatorTemplate } from "../data/prompts.js";
import type { SizePreset } from "../model/config.js";
import type { SftOptions } from "../train/sft.js";
import { gradeSamples, type GradeResult } from "../grade/index.js";
import { exactEquivalence } from "../select/cluster.js";
import { graderEquivalence } from "../grade/equivalence.js";
import { needsScores, type Strategy } from "../select/strategies.js";
import { evaluate } from "../metrics/compute.js";
import { groupSamples, readSamples } from "../metrics/samples.js";
import { buildResults, writeReport, type ResultsFile } from "../report/results.js";
import type { Recipe } from "./schema.js";
import { seedOf } from "./schema.js";
import { RunInterrupted, type Stage, type StageContext } from "./framework.js";
import type { ScoringRunOptions, ScoringRunResult } from "../sample/score-run.js";
import type { LocalModel } from "../sample/local.js";
import { writeRecipeReport, type ArmResult } from "./report.js";

/** Run-folder paths of the stages' files, in one place. */
export const paths = {
  train: "data/train.jsonl",
  test: "data/test.jsonl",
  sftData: (gen: string) => `data/sft-${gen}.jsonl`,
  sftDir: (gen: string) => `sft/${gen}`,
  model: (gen: string) => `sft/${gen}/model.gguf`,
  samples: (gen: string) => `sample/${gen}/samples.jsonl`,
  graded: (gen: string) => `grade/${gen}/samples.jsonl`,
  evalDir: (gen: string) => `eval/${gen}`,
  evalResults: (gen: string) => `eval/${gen}/results.json`,
  perProblem: (gen: string) => `eval/${gen}/per-problem.json`,
  evalProblems: "evaluator/problems.jsonl",
  evalSamples: "evaluator/samples.jsonl",
  evalGraded: "evaluator/graded.jsonl",
  evalTrainDir: "evaluator/train",
  evaluatorModel: "evaluator/train/model.gguf",
  scored: (gen: string) => `score/${gen}/samples.jsonl`,
  likelihood: (gen: string) => `score/${gen}/likelihood.jsonl`,
  mtsfDir: "mtsf",
  mtsfModel: "mtsf/stage-2-sft/model.gguf",
  mtsfStageDir: "mtsf/stage-2-sft",
  controlDir: "mtsf-control",
  controlModel: "mtsf-control/model.gguf",
  results: "results.json",
  reportMd: "report.md",
  reportHtml: "report.html",
} as const;

/** The model a generator samples: its SSFT output, or the base model as it is. */
function modelOf(r: Recipe, gen: Recipe["generators"][number]): { rel?: string; abs?: string } {
  if (gen.sft) return { rel: paths.model(gen.name) };
  return r.model.base === null ? {} : { abs: r.model.base };
}

function limit<T>(xs: T[], n: number): T[] {
  return n > 0 ? xs.slice(0, n) : xs;
}

/** Reads the problems of a prepared problems file, in file order. */
function readProblemList(file: string): Problem[] {
  return readJsonl(file, ProblemSchema);
}

function dataStage(r: Recipe): Stage {
  const d = r.data;
  const sftGens = r.generators.filter((g) => g.sft);
  const external =
    d.source === "synth" ? [] : d.source === "prm800k-split" ? Object.values(PRM800K_SPLIT_FILES).map((f) => join(d.dir, f)) : [d.train, d.test];
  return {
    id: "data",
    title: d.source === "synth" ? `draw the synthetic world (${d.train} train / ${d.test} test problems)` : `read ${d.source} problems`,
    version: 1,
    config: { data: d, seed: seedOf(r, "data"), template: r.promptTemplate, generators: sftGens.map((g) => ({ name: g.name, style: g.style ?? null })) },
    inputs: [],
    externalInputs: external,
    outputs: [paths.train, paths.test, ...sftGens.map((g) => paths.sftData(g.name))],
    async run(ctx) {
      let train: Problem[];
      let test: Problem[];
      const sftSets = new Map<string, Problem[]>();
      if (d.source === "synth") {
        const world = synthesizeWorld({
          n: d.train,
          validation: d.validation,
          test: d.test,
          seed: seedOf(r, "data"),
          levels: d.levels as Level[],
          skills: d.skills as Skill[],
          maxChars: d.maxChars,
        });
        // The problems files carry the detailed solution; each generator's SFT file its own style.
        train = world.train.map((it) => synthToProblem(it, "detailed"));
        test = world.test.map((it) => synthToProblem(it, "detailed"));
        for (const g of sftGens) sftSets.set(g.name, world.train.map((it) => synthToProblem(it, g.style ?? "detailed")));
      } else {
        if (d.source === "prm800k-split") {
          const split = buildPrm800kSplit({
            mathTrain: join(d.dir, PRM800K_SPLIT_FILES.mathTrain),
            mathTest: join(d.dir, PRM800K_SPLIT_FILES.mathTest),
            math500: join(d.dir, PRM800K_SPLIT_FILES.math500),
          });
          train = split.train;
          test = split.test;
        } else if (d.source === "gsm8k") {
          train = readGsm8k(d.train);
          test = readGsm8k(d.test);
        } else {
          train = readProblemList(d.train);
          test = readProblemList(d.test);
        }
        train = limit(train, d.limitTrain);
        test = limit(test, d.limitTest);
        for (const g of sftGens) sftSets.set(g.name, train);
      }
      const template = r.promptTemplate === null ? {} : { prompt: { template: r.promptTemplate } };
      const summary: Record<string, unknown> = { train: train.length, test: test.length };
      for (const [name, problems] of sftSets) {
        const sft = toSftExamples(problems, template);
        if (sft.examples.length === 0) {
          throw new MathtuneError(ErrorCode.input, `no training problem has a solution for generator ${name}`, { hint: "SSFT needs problems with solutions" });
        }
        writeJsonlAtomic(ctx.path(paths.sftData(name)), sft.examples);
        summary[`sft_examples.${name}`] = sft.examples.length;
      }
      writeJsonlAtomic(ctx.path(paths.train), train);
      writeJsonlAtomic(ctx.path(paths.test), test);
      ctx.say(`  ${train.length} training and ${test.length} test problems`);
      return summary;
    },
  };
}

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
  return o;
}

function sftStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  return {
    id: `sft/${gen.name}`,
    title: `SSFT of the ${gen.name} generator (${r.model.base ?? `new ${r.model.size} model`}, ${r.sft.steps} steps)`,
    version: 1,
    config: { sft: r.sft, size: r.model.base === null ? r.model.size : null, seed: seedOf(r, "sft") },
    inputs: [paths.sftData(gen.name)],
    externalInputs: r.model.base === null ? [] : [r.model.base],
    outputs: [paths.model(gen.name)],
    workDirs: [paths.sftDir(gen.name)],
    interrupt: "cooperative",
    async run(ctx) {
      const { latestCheckpoint } = await import("../train/checkpoints.js");
      const { runSftInChild } = await import("../train/runner.js");
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
      return { steps: result.step, loss: result.loss, val_loss: result.valLoss };
    },
  };
}

/** The sampling settings that shape the samples (threads and parallelism do not). */
function samplingConfig(r: Recipe): Record<string, unknown> {
  const s = r.sampling;
  return {
    n: s.n,
    greedy: s.greedy,
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    maxTokens: s.maxTokens,
    stop: s.stop,
    contextSize: s.contextSize ?? r.sft.seqLen,
    server: s.server === null ? null : { url: s.server.url, modelName: s.server.modelName, chat: s.server.chat },
    seed: seedOf(r, "sampling"),
    template: r.promptTemplate,
  };
}

/** What is sampled, graded and evaluated: a generator, or the MTSF model and its control. */
interface Arm {
  name: string;
  /** The model: a run-folder path or an absolute one. */
  model: { rel?: string; abs?: string };
}

function sampleStage(r: Recipe, gen: Arm): Stage {
  const m = gen.model;
  const s = r.sampling;
  return {
    id: `sample/${gen.name}`,
    title: `sample ${s.greedy ? "1 greedy + " : ""}${s.n} solutions per test problem from ${gen.name}`,
    version: 1,
    config: samplingConfig(r),
    inputs: [paths.test, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.samples(gen.name)],
    async run(ctx) {
      const { runSampling } = await import("../sample/run.js");
      const problems = readProblemList(ctx.path(paths.test));
      const out = ctx.path(paths.samples(gen.name));
      mkdirSync(dirname(out), { recursive: true });
      const sampler = await openSampler(r, m.rel ? ctx.path(m.rel) : m.abs);
      const prompt = (p: Problem): string => generatorPrompt(p.problem, r.promptTemplate === null ? {} : { template: r.promptTemplate });
      const common = {
        problems,
        sampler,
        out,
        prompt,
        temperature: s.temperature,
        topP: s.topP,
        topK: s.topK,
        maxTokens: s.maxTokens,
        stop: s.stop,
        seed: seedOf(r, "sampling"),
      };
      let tokens = 0;
      let seconds = 0;
      try {
        if (s.greedy) {
          const g = await runSampling({ ...common, greedy: true });
          tokens += g.tokens;
          seconds += g.seconds;
        }
        const res = await runSampling({ ...common, n: s.n });
        tokens += res.tokens;
        seconds += res.seconds;
      } finally {
        await sampler.close();
      }
      const tps = tokens / Math.max(seconds, 1e-9);
      ctx.say(`  ${tokens} tokens in ${seconds.toFixed(1)} s (${tps.toFixed(0)} tok/s)`);
      return { tokens, tokens_per_sec: Math.round(tps) };
    },
  };
}

async function openSampler(r: Recipe, modelPath: string | undefined) {
  const s = r.sampling;
  if (s.server !== null) {
    const { HttpSampler } = await import("../sample/http.js");
    return HttpSampler.connect({
      url: s.server.url,
      ...(s.server.modelName !== null ? { model: s.server.modelName } : {}),
      api: s.server.chat ? "chat" : "completions",
      concurrency: s.server.concurrency,
      timeoutMs: s.server.timeoutSeconds * 1000,
      retries: s.server.retries,
    });
  }
  if (modelPath === undefined) throw new MathtuneError(ErrorCode.usage, "no model to sample", { hint: "set model.base or sampling.server" });
  const { LocalModel } = await import("../sample/local.js");
  const contextSize = s.contextSize ?? r.sft.seqLen;
  return LocalModel.open(modelPath, {
    ...(s.threads !== null ? { threads: s.threads } : {}),
    parallel: s.parallel,
    ...(s.contexts !== null ? { contexts: s.contexts } : {}),
    ...(contextSize !== null ? { contextSize } : {}),
  });
}

/** Samples in a canonical order: problems as in the test file, greedy first, then by index. */
export function canonicalOrder(samples: Sample[], problems: readonly Problem[]): Sample[] {
  const rank = new Map(problems.map((p, i) => [p.id, i]));
  return [...samples].sort(
    (a, b) =>
      (rank.get(a.problem_id) ?? Infinity) - (rank.get(b.problem_id) ?? Infinity) ||
      a.problem_id.localeCompare(b.problem_id) ||
      Number(b.greedy === true) - Number(a.greedy === true) ||
      a.sample - b.sample,
  );
}

/** Grades a samples file against a problems file into `outRel` (canonical order). */
async function gradeFile(r: Recipe, ctx: StageContext, label: string, problemsRel: string, samplesRel: string, outRel: string): Promise<Record<string, unknown>> {
  const problems = readProblemList(ctx.path(problemsRel));
  const gold = new Map(problems.map((p) => [p.id, p.answer]));
  const samples = canonicalOrder(readJsonl(ctx.path(samplesRel), SampleSchema), problems);
  const golds = samples.map((s) => {
    const g = gold.get(s.problem_id);
    if (g === undefined) throw new MathtuneError(ErrorCode.input, `${samplesRel}: problem ${s.problem_id} is not in ${problemsRel}`);
    return g;
  });
  const progress = createProgress({ label: `  ${label}`, total: samples.length });
  let graded: Sample[];
  let results: GradeResult[];
  try {
    ({ graded, results } = await gradeSamples(
      samples,
      golds,
      { workers: r.grade.workers, timeoutMs: r.grade.timeoutMs, verifyOptions: { fallbackLastNumber: r.grade.fallbackLastNumber } },
      (done) => progress.update(done),
    ));
  } finally {
    progress.stop();
  }
  writeJsonlAtomic(ctx.path(outRel), graded);
  const counts: Record<string, number> = {};
  for (const x of results) counts[x.reason] = (counts[x.reason] ?? 0) + 1;
  const correct = graded.filter((s) => s.correct).length;
  ctx.say(`  ${correct}/${graded.length} samples correct (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")})`);
  return { samples: graded.length, correct, ...Object.fromEntries(Object.entries(counts).map(([k, v]) => [`reason.${k}`, v])) };
}

function gradeStage(r: Recipe, gen: Arm): Stage {
  return {
    id: `grade/${gen.name}`,
    title: `grade ${gen.name}'s samples against the reference answers`,
    version: 1,
    config: { fallbackLastNumber: r.grade.fallbackLastNumber, timeoutMs: r.grade.timeoutMs },
    inputs: [paths.test, paths.samples(gen.name)],
    outputs: [paths.graded(gen.name)],
    run: (ctx) => gradeFile(r, ctx, `grade/${gen.name}`, paths.test, paths.samples(gen.name), paths.graded(gen.name)),
  };
}

/** Samples N solutions per training problem from the main generator: the evaluator's data. */
function evaluatorSampleStage(r: Recipe, main: Recipe["generators"][number]): Stage {
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
      const { runSampling } = await import("../sample/run.js");
      const problems = limit(readProblemList(ctx.path(paths.train)), e.problems);
      // Idempotent: the same subset every time, so a resumed run writes the same file.
      writeJsonlAtomic(ctx.path(paths.evalProblems), problems);
      const sampler = await openSampler(r, m.rel ? ctx.path(m.rel) : m.abs);
      let res;
      try {
        res = await runSampling({
          problems,
          sampler,
          out: ctx.path(paths.evalSamples),
          prompt: (p) => generatorPrompt(p.problem, r.promptTemplate === null ? {} : { template: r.promptTemplate }),
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

function evaluatorGradeStage(r: Recipe): Stage {
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

function evaluatorTrainStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const m = modelOf(r, main);
  const { enabled: _on, n: _n, problems: _p, scoreTopK: _k, likelihoodBaseline: _l, ...settings } = r.evaluator;
  return {
    id: "evaluator/train",
    title: `train the evaluator from ${main.name} (${r.evaluator.loss} loss, ${r.evaluator.steps} steps)`,
    version: 1,
    config: { ...settings, seed: seedOf(r, "sft") },
    inputs: [paths.evalProblems, paths.evalGraded, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.evaluatorModel],
    workDirs: [paths.evalTrainDir],
    async run(ctx) {
      const { runEvaluatorTraining } = await import("../train/evaluator.js");
      const { latestCheckpoint } = await import("../train/checkpoints.js");
      const e = r.evaluator;
      const out = ctx.path(paths.evalTrainDir);
      const base = m.rel ? ctx.path(m.rel) : m.abs;
      if (base === undefined) throw new MathtuneError(ErrorCode.usage, "the evaluator needs a generator model to start from");
      const stop = watchSteps(join(out, "metrics.jsonl"), "  evaluator/train", e.steps);
      let res;
      try {
        res = await runEvaluatorTraining({
          base,
          template: evaluatorTemplate(r),
          samples: ctx.path(paths.evalGraded),
          problems: ctx.path(paths.evalProblems),
          out,
          loss: e.loss,
          lambda: e.margin,
          perProblem: e.perProblem,
          steps: e.steps,
          batch: e.batch,
          valFraction: e.valFraction,
          seed: seedOf(r, "sft"),
          resume: ctx.resuming && latestCheckpoint(out) !== undefined,
          ...(e.seqLen !== null ? { seqLen: e.seqLen } : {}),
          ...(e.lr !== null ? { lr: e.lr } : {}),
          ...(r.threads !== null ? { threads: r.threads } : {}),
        });
      } finally {
        stop();
      }
      const f = (x: number | null): string => x?.toFixed(3) ?? "–";
      ctx.say(
        `  held-out AUC within problems ${f(res.valAuc)} (base model ${f(res.baseAuc)}; ${res.stats.valPairs} pairs from ${res.stats.valMixedProblems} problems), pooled ${f(res.valAucPooled)} (base ${f(res.baseAucPooled)}); ` +
          `${res.stats.trainItems} training items from ${res.stats.trainProblems} problems`,
      );
      return { steps: res.step, loss: res.loss, val_auc: res.valAuc, base_auc: res.baseAuc, val_auc_pooled: res.valAucPooled, base_auc_pooled: res.baseAucPooled, ...res.stats };
    },
  };
}

/**
 * Scores `gen`'s graded test samples with the model at `modelPath` into `outRel` (runScoring with
 * the options `how` gives for the opened scorer).
 */
async function scoreTestSamples(
  ctx: StageContext,
  r: Recipe,
  gen: string,
  modelPath: string,
  outRel: string,
  contextSize: number | null,
  how: (scorer: LocalModel) => Partial<ScoringRunOptions>,
): Promise<ScoringRunResult> {
  const { runScoring } = await import("../sample/score-run.js");
  const { LocalModel } = await import("../sample/local.js");
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
  });
  try {
    return await runScoring({ ...how(scorer), scorer, problems, samples, out });
  } finally {
    await scorer.close();
  }
}

/**
 * The evaluator's baseline: the main generator's graded test samples scored by the generator's own
 * likelihood of each (no training). The eval stage reports re-ranking by it beside the evaluator's.
 */
function likelihoodStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const m = modelOf(r, gen);
  const contextSize = r.sampling.contextSize ?? r.sft.seqLen;
  return {
    id: `likelihood/${gen.name}`,
    title: `score ${gen.name}'s test samples by the generator's own likelihood (the evaluator's baseline)`,
    version: 1,
    config: { contextSize, template: r.promptTemplate },
    inputs: [paths.test, paths.graded(gen.name), ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.likelihood(gen.name)],
    async run(ctx) {
      const model = m.rel ? ctx.path(m.rel) : m.abs;
      if (model === undefined) throw new MathtuneError(ErrorCode.usage, "the likelihood baseline needs a local generator model");
      const res = await scoreTestSamples(ctx, r, gen.name, model, paths.likelihood(gen.name), contextSize, (scorer) => ({
        likelihood: { per: "sequence", ...(r.promptTemplate !== null ? { promptTemplate: r.promptTemplate } : {}) },
        fits: (text) => scorer.promptTokens(text).length <= scorer.contextSize,
      }));
      ctx.say(`  ${res.calls} candidates scored${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
      return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
    },
  };
}

/** The recipe's evaluator template, resolved against its generator prompt template. */
function evaluatorTemplate(r: Recipe): string {
  return resolveEvaluatorTemplate(r.evaluator.template, r.promptTemplate ?? undefined);
}

/** Scores a generator's graded test samples with the evaluator. */
function scoreStage(r: Recipe, gen: Recipe["generators"][number]): Stage {
  const contextSize = r.evaluator.seqLen;
  return {
    id: `score/${gen.name}`,
    title: `score ${gen.name}'s test samples with the evaluator${r.evaluator.scoreTopK > 0 ? ` (top-${r.evaluator.scoreTopK} clusters only)` : ""}`,
    version: 1,
    config: { scoreTopK: r.evaluator.scoreTopK, template: r.evaluator.template, contextSize, cluster: r.eval.cluster },
    inputs: [paths.test, paths.graded(gen.name), paths.evaluatorModel],
    outputs: [paths.scored(gen.name)],
    async run(ctx) {
      const res = await scoreTestSamples(ctx, r, gen.name, ctx.path(paths.evaluatorModel), paths.scored(gen.name), contextSize, (scorer) => ({
        topK: r.evaluator.scoreTopK,
        template: evaluatorTemplate(r),
        equivalence: r.eval.cluster === "exact" ? exactEquivalence : graderEquivalence(),
        // Template, label and a margin of a few tokens must fit the scorer's context.
        fits: (prompt) => scorer.promptTokens(prompt).length + 4 <= scorer.contextSize,
      }));
      ctx.say(`  ${res.calls} evaluator calls for ${res.candidates} candidates${res.tooLong > 0 ? `; ${res.tooLong} too long to score` : ""}`);
      return { calls: res.calls, candidates: res.candidates, too_long: res.tooLong };
    },
  };
}

function evalSettings(r: Recipe): Record<string, unknown> {
  return { ...r.eval, seed: seedOf(r, "eval") };
}

/** Re-ranking strategies that read scores, reported for the likelihood baseline too. */
function rerankStrategies(r: Recipe): Strategy[] {
  const K = r.eval.topK;
  return [{ kind: "rr.all" }, { kind: "rr.top", k: K }, { kind: "wrr" }, { kind: "wrr.top", k: K }];
}

function evalStage(r: Recipe, gen: Arm, scored: boolean, baseline = false): Stage {
  const samplesRel = scored ? paths.scored(gen.name) : paths.graded(gen.name);
  return {
    id: `eval/${gen.name}`,
    title: `metrics of ${gen.name}: Pass@1, Pass@k, Maj1@k, MajK@k${scored ? ", re-ranking" : ""}`,
    version: 1,
    config: evalSettings(r),
    inputs: [paths.test, samplesRel, ...(baseline ? [paths.likelihood(gen.name)] : [])],
    outputs: [paths.evalResults(gen.name), `${paths.evalDir(gen.name)}/report.md`, `${paths.evalDir(gen.name)}/report.html`, paths.perProblem(gen.name)],
    async run(ctx) {
      const file = ctx.path(samplesRel);
      const problems = new Map(readProblemList(ctx.path(paths.test)).map((p) => [p.id, p]));
      const located = readSamples(file);
      const grouped = groupSamples(located, { problems });
      // Samples the evaluator did not score (outside the top-K clusters, or too long) rank below scored ones.
      const K = r.eval.topK;
      const all: Strategy[] = [{ kind: "maj1" }, ...rerankStrategies(r), { kind: "maj1.top", n: r.eval.topN }];
      const strategies = grouped.scored > 0 ? all : all.filter((s) => !needsScores(s));
      const settings = {
        ...(r.eval.ks !== null ? { ks: r.eval.ks } : {}),
        majK: K,
        subsets: r.eval.subsets,
        bootstrap: r.eval.bootstrap,
        seed: seedOf(r, "eval"),
        equivalence: r.eval.cluster === "exact" ? exactEquivalence : graderEquivalence(),
      };
      const ev = evaluate(grouped.problems, { ...settings, strategies });
      if (baseline) {
        // The same strategies with the generator's likelihood as the score, under `likelihood.*`
        // (its within-problem AUC as `likelihood.auc`).
        const lgrouped = groupSamples(readSamples(ctx.path(paths.likelihood(gen.name))), { problems });
        if (lgrouped.scored > 0) {
          const lev = evaluate(lgrouped.problems, { ...settings, strategies: rerankStrategies(r) });
          for (const [k, v] of Object.entries(lev.results)) {
            if (/^(rr|wrr)\./.test(k)) ev.results[`likelihood.${k}`] = v;
            else if (k.startsWith("evaluator.auc")) ev.results[`likelihood.${k.slice("evaluator.".length)}`] = v;
          }
        }
      }
      const results = buildResults(ev, { samples: samplesRel, problems: paths.test, generator: gen.name, cluster: r.eval.cluster, correct_from_file: true, ...evalSettings(r) });
      writeReport(ctx.path(paths.evalDir(gen.name)), results);
      writeFileAtomic(ctx.path(paths.perProblem(gen.name)), JSON.stringify(ev.perProblem) + "\n");
      const N = ev.meta.ks[ev.meta.ks.length - 1];
      const head: Record<string, number> = {};
      for (const k of ["pass@1", `maj1@${N}`, `pass@${N}`]) if (ev.results[k] !== undefined) head[k] = ev.results[k];
      ctx.say(`  ${Object.entries(head).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")}`);
      return head;
    },
  };
}

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

function mtsfStage(r: Recipe, main: Recipe["generators"][number]): Stage {
  const e = r.evaluator;
  const reuse = mtsfReusesEvaluator(r);
  return {
    id: "mtsf/train",
    title: reuse
      ? `MTSF of ${main.name}: the evaluator (its SSFT model trained ${e.steps} evaluator steps) -> generator (${r.mtsf.generatorSteps} steps)`
      : `MTSF of ${main.name}: SSFT model -> evaluator (${r.mtsf.evaluatorSteps} steps) -> generator (${r.mtsf.generatorSteps} steps)`,
    version: 1,
    config: reuse
      ? { mtsf: r.mtsf, sft: continuedSft(r), from: "evaluator" }
      : { mtsf: r.mtsf, evaluator: { ...e, enabled: null, n: null, problems: null, scoreTopK: null, likelihoodBaseline: null, steps: null }, sft: continuedSft(r) },
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
      const { runMtsf } = await import("../train/mtsf.js");
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
  const { latestCheckpoint } = await import("../train/checkpoints.js");
  const { runSftInChild } = await import("../train/runner.js");
  const { readGguf } = await import("../model/gguf.js");
  const { configFromGguf } = await import("../model/checkpoint.js");
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
  return res;
}

function controlStage(r: Recipe, main: Recipe["generators"][number]): Stage {
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

function reportStage(r: Recipe): Stage {
  const gens = r.generators.map((g) => g.name);
  const extra = r.mtsf.enabled ? ["mtsf", "control"] : [];
  return {
    id: "report",
    title: "the paper's tables: results.json, report.md, report.html",
    version: 1,
    // `unavailable` is always empty (every stage has its component); it stays in the config so that
    // existing run folders keep their stage keys.
    config: { name: r.name, generators: gens, extra, unavailable: [] },
    inputs: [...gens, ...extra].flatMap((g) => [paths.evalResults(g), paths.perProblem(g)]),
    outputs: [paths.results, paths.reportMd, paths.reportHtml],
    async run(ctx) {
      const read = (g: string): ArmResult => ({
        name: g,
        style: r.generators.find((x) => x.name === g)?.style ?? null,
        results: JSON.parse(readFileSync(ctx.path(paths.evalResults(g)), "utf8")) as ResultsFile,
        perProblem: JSON.parse(readFileSync(ctx.path(paths.perProblem(g)), "utf8")) as ArmResult["perProblem"],
      });
      const mtsf = r.mtsf.enabled ? { mtsf: read("mtsf"), control: read("control") } : undefined;
      writeRecipeReport(ctx.runDir, r, gens.map(read), mtsf);
      return { arms: gens.length + extra.length };
    },
  };
}

/** The stages of a recipe, in order. */
export function planStages(r: Recipe): Stage[] {
  const stages: Stage[] = [dataStage(r)];
  for (const g of r.generators) if (g.sft) stages.push(sftStage(r, g));
  const main = r.generators[r.generators.length - 1];
  if (r.mtsf.enabled && !main.sft) {
    throw new MathtuneError(ErrorCode.usage, `mtsf.enabled needs the main generator (${main.name}) to be trained here (sft: true)`);
  }
  const needEvalData = r.evaluator.enabled || r.mtsf.enabled;
  for (const g of r.generators) {
    const arm: Arm = { name: g.name, model: modelOf(r, g) };
    stages.push(sampleStage(r, arm), gradeStage(r, arm));
    const scored = r.evaluator.enabled && g === main;
    if (g === main && needEvalData) stages.push(evaluatorSampleStage(r, main), evaluatorGradeStage(r));
    if (scored) stages.push(evaluatorTrainStage(r, main), scoreStage(r, main));
    const baseline = scored && r.evaluator.likelihoodBaseline && r.sampling.server === null && (arm.model.rel !== undefined || arm.model.abs !== undefined);
    if (baseline) stages.push(likelihoodStage(r, main));
    stages.push(evalStage(r, arm, scored, baseline));
  }
  if (r.mtsf.enabled) {
    stages.push(mtsfStage(r, main), controlStage(r, main));
    for (const arm of [{ name: "mtsf", model: { rel: paths.mtsfModel } }, { name: "control", model: { rel: paths.controlModel } }]) {
      stages.push(sampleStage(r, arm), gradeStage(r, arm), evalStage(r, arm, false));
    }
  }
  stages.push(reportStage(r));
  return stages;
}
