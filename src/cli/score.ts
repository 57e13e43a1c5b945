// `mathtune score`: adds the evaluator's score S to each sample. With --top-k K only the members
// of each problem's K largest answer clusters are scored (the paper's recipe), and the calls saved
// are reported. The output is appended problem by problem, so a rerun resumes where it stopped.
// With --likelihood the score is instead the model's own probability of each candidate as a
// generator: the baseline a trained evaluator has to beat.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { EVALUATOR_LABELS, EVALUATOR_LABELS_KEY, EVALUATOR_TEMPLATE, EVALUATOR_TEMPLATE_KEY, evaluatorLabelText, evaluatorPrompt, generatorPrompt } from "../data/prompts.js";
import { SampleSchema, type Problem, type Sample } from "../data/records.js";
import { ErrorCode, MathtuneError, inputError } from "../errors.js";
import { GgufType, readGguf } from "../model/gguf.js";
import { clusterKey, equivalent, extractAnswer } from "../grade/index.js";
import { readProblems, readSamples, type LocatedSample } from "../metrics/samples.js";
import { evaluatorScore } from "../sample/scoring.js";
import type { Scorer } from "../sample/types.js";
import { clusterCandidates, equivEquivalence, type AnswerEquivalence } from "../select/cluster.js";
import { labelTokens, parseLabelWords, type EvaluatorLabelWords } from "../train/evaluator-data.js";
import { appendJsonl, readJsonl, repairJsonlTail } from "../util/jsonl.js";
import { createProgress } from "../util/progress.js";
import { contextsOption, evaluatorTemplateOption, intOption, kvCacheOption } from "./options.js";

/** Options of {@link runScoring}. */
export interface ScoringRunOptions {
  /** The evaluator (any Scorer: a local GGUF model or a server with prompt log-probabilities). */
  scorer: Scorer;
  problems: ReadonlyMap<string, Problem>;
  samples: readonly LocatedSample[];
  /** Output samples file: appended to, and skipped over on a rerun. */
  out: string;
  /** Score only members of the K largest clusters of each problem; 0 scores every sample. Defaults to 0. */
  topK?: number;
  /** Label words. Defaults to correct / incorrect. */
  labels?: EvaluatorLabelWords;
  /** Evaluator template. Defaults to the paper's. */
  template?: string;
  /** Answer equivalence for the clusters. Defaults to the grader's. */
  equivalence?: AnswerEquivalence;
  /**
   * Score each candidate by the scorer's likelihood of it after the generator prompt instead of by
   * S: `exp(log p(X|P))` ("sequence") or `exp(log p(X|P) / |X|)`, the per-token geometric mean
   * ("token"). A baseline for evaluators: the generator's own confidence. Defaults to off.
   */
  likelihood?: { per: "sequence" | "token"; promptTemplate?: string };
  /** Whether an evaluator input fits the scorer's context; a candidate that does not gets no score. Defaults to always. */
  fits?: (text: string) => boolean;
  /** Print no progress. Defaults to false. */
  quiet?: boolean;
}

/** What {@link runScoring} did. */
export interface ScoringRunResult {
  /** Problems written by this run. */
  problems: number;
  /** Problems already in the output file (resumed). */
  skippedProblems: number;
  /** Evaluator calls made (candidates scored). */
  calls: number;
  /** Candidates of this run's problems (what scoring every sample would have cost). */
  candidates: number;
  /** Candidates left unscored because the evaluator input does not fit the context. */
  tooLong: number;
  seconds: number;
}

/** Candidates that `--top-k K` scores: the members of the K largest answer clusters (greedy samples excluded). */
export function topKMembers(samples: readonly Sample[], k: number, eq: AnswerEquivalence): Set<number> {
  const idx = samples.map((s, i) => ({ s, i })).filter(({ s }) => s.greedy !== true);
  const answers = idx.map(({ s }) => (s.extracted !== undefined ? s.extracted : extractAnswer(s.text)));
  const c = clusterCandidates(answers, eq);
  const out = new Set<number>();
  for (const members of c.clusters.slice(0, k)) for (const m of members) out.add(idx[m].i);
  return out;
}

/** Problems whose candidates are scored at the same time. */
const PROBLEMS_IN_FLIGHT = 4;

/** Scores samples into `out`; see the file comment. */
export async function runScoring(o: ScoringRunOptions): Promise<ScoringRunResult> {
  const t0 = performance.now();
  const topK = o.topK ?? 0;
  const words = o.labels ?? EVALUATOR_LABELS;
  const eq = o.equivalence ?? equivEquivalence({ clusterKey, equivalent });
  const byProblem = new Map<string, LocatedSample[]>();
  for (const s of o.samples) {
    if (!o.problems.has(s.sample.problem_id)) throw inputError(s.file, s.line, `field problem_id: "${s.sample.problem_id}" is not in the problems file`);
    let list = byProblem.get(s.sample.problem_id);
    if (!list) byProblem.set(s.sample.problem_id, (list = []));
    list.push(s);
  }
  // Resume at problem granularity: a problem's lines are appended together once all are scored.
  const done = new Set<string>();
  if (existsSync(o.out)) {
    repairJsonlTail(o.out);
    for (const s of readJsonl(o.out, SampleSchema)) done.add(s.problem_id);
  }
  const todo = [...byProblem.keys()].filter((id) => !done.has(id));
  const progress = createProgress({ label: "score", total: todo.length, silent: o.quiet === true });
  const result: ScoringRunResult = { problems: 0, skippedProblems: byProblem.size - todo.length, calls: 0, candidates: 0, tooLong: 0, seconds: 0 };
  const positive = evaluatorLabelText(true, words);
  const negative = evaluatorLabelText(false, words);
  const scoreProblem = async (id: string): Promise<{ samples: Sample[]; scores: Array<number | undefined> }> => {
    const problem = o.problems.get(id)!;
    const samples = byProblem.get(id)!.map((l) => l.sample);
    const chosen = topK > 0 ? topKMembers(samples, topK, eq) : new Set(samples.map((_, i) => i));
    const scores = await Promise.all(
      samples.map(async (s, i) => {
        if (!chosen.has(i)) return undefined;
        if (o.likelihood) {
          const prompt = generatorPrompt(problem.problem, o.likelihood.promptTemplate === undefined ? {} : { template: o.likelihood.promptTemplate });
          if (o.fits && !o.fits(prompt + s.text)) {
            result.tooLong++;
            return undefined;
          }
          result.calls++;
          const r = await o.scorer.continuationLogprobs(prompt, s.text);
          return Math.exp(o.likelihood.per === "token" ? r.total / Math.max(1, r.logprobs.length) : r.total);
        }
        const prompt = evaluatorPrompt(problem.problem, s.text, o.template === undefined ? {} : { template: o.template });
        if (o.fits && !o.fits(prompt)) {
          result.tooLong++;
          return undefined;
        }
        result.calls++;
        return (await evaluatorScore(o.scorer, prompt, { positive, negative })).score;
      }),
    );
    return { samples, scores };
  };
  // A few problems in flight at once, so the scorer's sequences stay busy across the end of one
  // problem and the start of the next; lines are still appended problem by problem, in order.
  const inFlight: Array<Promise<{ samples: Sample[]; scores: Array<number | undefined> }>> = [];
  let next = 0;
  const startNext = (): void => {
    const p = scoreProblem(todo[next++]);
    // Awaited in order below; a failure is rethrown there (this only keeps it from being unhandled meanwhile).
    p.catch(() => undefined);
    inFlight.push(p);
  };
  try {
    while (next < todo.length && inFlight.length < PROBLEMS_IN_FLIGHT) startNext();
    while (inFlight.length > 0) {
      const { samples, scores } = await inFlight.shift()!;
      result.candidates += samples.length;
      appendJsonl(
        o.out,
        samples.map((s, i) => {
          const { score: _old, ...rest } = s;
          return scores[i] === undefined ? rest : { ...rest, score: scores[i] };
        }),
      );
      result.problems++;
      progress.update(result.problems, { calls: result.calls });
      if (next < todo.length) startNext();
    }
  } finally {
    progress.stop();
  }
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

interface ScoreCliOptions {
  model: string;
  lora?: string;
  samples: string;
  problems: string;
  out: string;
  topK: string;
  labels?: string;
  threads?: string;
  parallel?: string;
  kvCache: "f32" | "f16";
  contexts?: number;
  contextSize?: string;
  likelihood?: string;
  promptTemplate?: string;
  template?: string;
  quiet?: boolean;
}


/** Adds the `score` command. */
export function register(program: Command): void {
  program
    .command("score")
    .description("add the evaluator score S = p(correct) / (p(correct) + p(incorrect)) to each sample")
    .requiredOption("--model <gguf>", "the evaluator (a GGUF model trained with `mathtune train evaluator`, or any model)")
    .option("--lora <adapter>", "LoRA adapter GGUF applied to --model (e.g. adapter.gguf of train evaluator --lora-rank)")
    .requiredOption("--samples <file>", "samples JSONL")
    .requiredOption("--problems <file>", "problems JSONL (the samples' problem_id values)")
    .requiredOption("--out <file>", "scored samples JSONL (appended; a rerun resumes)")
    .option("--top-k <k>", "score only members of the K largest answer clusters of each problem (0: all)", "0")
    .option("--labels <pos,neg>", "label words (default: those the evaluator was trained with, else correct,incorrect)")
    .option("--template <t>", "evaluator template: paper, generator, or one with {problem} and {solution} (default: the one the evaluator was trained with, else paper)")
    .option("--threads <n>", "CPU threads for llama.cpp (default: cores - 1)")
    .option("--parallel <n>", "sequences evaluated in parallel (default 4)")
    .addOption(kvCacheOption())
    .addOption(contextsOption())
    .option("--context-size <n>", "tokens per sequence (default: the model's training context, at most 4096)")
    .option("--likelihood <per>", "score by the model's own likelihood of each candidate instead (a baseline): sequence | token")
    .option("--prompt-template <t>", "with --likelihood: the generator prompt template with {problem} (default: the sampler's)")
    .option("--quiet", "no progress display")
    .action(async (opts: ScoreCliOptions) => {
      const topK = intOption("top-k", opts.topK, 0);
      if (opts.likelihood !== undefined && opts.likelihood !== "sequence" && opts.likelihood !== "token") {
        throw new MathtuneError(ErrorCode.usage, `--likelihood must be sequence or token (got ${JSON.stringify(opts.likelihood)})`, {
          hint: "sequence: exp(log p(X|P)); token: its per-token geometric mean",
        });
      }
      if (opts.promptTemplate !== undefined && opts.likelihood === undefined) {
        throw new MathtuneError(ErrorCode.usage, "--prompt-template only applies with --likelihood");
      }
      // Label words and template: as given, else as recorded by `train evaluator` in the adapter
      // or the evaluator's GGUF, else the paper's.
      const recorded = [...(opts.lora !== undefined ? [readGguf(opts.lora).metadata] : []), readGguf(opts.model).metadata];
      const recordedString = (key: string): string | undefined => {
        for (const m of recorded) {
          const v = m.get(key);
          if (v?.type === GgufType.STRING) return v.value;
        }
        return undefined;
      };
      const labels = parseLabelWords(opts.labels ?? recordedString(EVALUATOR_LABELS_KEY) ?? `${EVALUATOR_LABELS.positive},${EVALUATOR_LABELS.negative}`);
      const template = opts.template !== undefined ? evaluatorTemplateOption(opts.template) : (recordedString(EVALUATOR_TEMPLATE_KEY) ?? EVALUATOR_TEMPLATE);
      const problems = readProblems(opts.problems);
      const samples = readSamples(opts.samples);
      const { LocalModel } = await import("../sample/local.js");
      const model = await LocalModel.open(opts.model, {
        ...(opts.threads !== undefined ? { threads: intOption("threads", opts.threads, 1) } : {}),
        ...(opts.parallel !== undefined ? { parallel: intOption("parallel", opts.parallel, 1) } : {}),
        ...(opts.contextSize !== undefined ? { contextSize: intOption("context-size", opts.contextSize, 1) } : {}),
        kvCache: opts.kvCache,
        ...(opts.contexts !== undefined ? { contexts: opts.contexts } : {}),
        ...(opts.lora !== undefined ? { lora: opts.lora } : {}),
      });
      try {
        // Fail before any work when the label words cannot be told apart by this vocabulary.
        const encode = (t: string): number[] => model.model.tokenize(t, false);
        labelTokens(encode, labels);
        // The scoring path evaluates each whole label text after the prompt.
        const extra = Math.max(encode(evaluatorLabelText(true, labels)).length, encode(evaluatorLabelText(false, labels)).length);
        const r = await runScoring({
          scorer: model,
          problems,
          samples,
          out: opts.out,
          topK,
          labels,
          template,
          ...(opts.likelihood !== undefined
            ? { likelihood: { per: opts.likelihood as "sequence" | "token", ...(opts.promptTemplate !== undefined ? { promptTemplate: opts.promptTemplate } : {}) } }
            : {}),
          fits: (prompt) => model.promptTokens(prompt).length + extra <= model.contextSize,
          quiet: opts.quiet === true,
        });
        const saved = r.candidates - r.calls - r.tooLong;
        process.stdout.write(
          `scored ${r.problems} problems (${r.skippedProblems} already done): ${r.calls} evaluator calls of ${r.candidates} candidates` +
            (topK > 0 ? `, ${saved} saved by --top-k ${topK} (${r.candidates > 0 ? ((100 * saved) / r.candidates).toFixed(1) : "0"}%)` : "") +
            (r.tooLong > 0 ? `, ${r.tooLong} too long for the context (no score)` : "") +
            ` in ${r.seconds.toFixed(1)} s -> ${opts.out}\n`,
        );
      } finally {
        await model.close();
      }
    });
}
