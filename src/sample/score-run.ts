// A scoring run: adds the evaluator's score S to each sample of a samples file. With `topK` only
// the members of each problem's K largest answer clusters are scored (the paper's recipe). The
// output is appended problem by problem, so a rerun resumes where it stopped. With `likelihood`
// the score is instead the model's own probability of each candidate as a generator (per sequence,
// per token, or its least likely token): the baseline a trained evaluator has to beat; `more`
// writes the other measures to other files from the same log-probabilities (one pass).
// `mathtune score` and the recipe's score stages call it.
import { existsSync } from "node:fs";
import { EVALUATOR_LABELS, evaluatorLabelText, evaluatorPrompt, generatorPrompt } from "../data/prompts.js";
import { SampleSchema, type Problem, type Sample } from "../data/records.js";
import { inputError } from "../errors.js";
import { extractAnswer } from "../grade/index.js";
import { graderEquivalence } from "../grade/equivalence.js";
import type { LocatedSample } from "../metrics/samples.js";
import { evaluatorScore, lineEvaluatorScore } from "./scoring.js";
import { scoringText } from "../data/line-labels.js";
import type { Scorer } from "./types.js";
import { clusterCandidates, type AnswerEquivalence } from "../select/cluster.js";
import type { EvaluatorLabelWords } from "../train/evaluator-data.js";
import { appendJsonl, readJsonl, repairJsonlTail } from "../util/jsonl.js";
import { createProgress } from "../util/progress.js";

/**
 * A likelihood measure of a candidate X after the generator prompt P, from its token
 * log-probabilities: "sequence" exp(log p(X|P)); "token" exp(log p(X|P) / |X|), the per-token
 * geometric mean; "min" exp(min_t log p(x_t | P, x_<t)), the probability of its least likely token.
 */
export type LikelihoodPer = "sequence" | "token" | "min";

/** The likelihood measures, in the order `mathtune score --likelihood` lists them. */
export const LIKELIHOOD_PERS: readonly LikelihoodPer[] = ["sequence", "token", "min"];

/** The score of a candidate by `per` from its token log-probabilities (and their sum); an empty candidate scores 1. */
export function likelihoodScore(per: LikelihoodPer, logprobs: readonly number[], total: number): number {
  if (per === "sequence") return Math.exp(total);
  if (per === "token") return Math.exp(total / Math.max(1, logprobs.length));
  return Math.exp(logprobs.reduce((a, b) => Math.min(a, b), 0));
}

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
  /**
   * Leave greedy samples unscored. They are not candidates of any selection strategy (Pass@1 reads
   * their grade only), so a recipe, which samples a greedy solution of every test problem and N
   * samples of only the first ones, spends no scoring on them. Defaults to false (score them).
   */
  skipGreedy?: boolean;
  /** Label words. Defaults to correct / incorrect. */
  labels?: EvaluatorLabelWords;
  /** Evaluator template. Defaults to the paper's. */
  template?: string;
  /** Answer equivalence for the clusters. Defaults to the grader's. */
  equivalence?: AnswerEquivalence;
  /**
   * Score each candidate by the scorer's likelihood of it after the generator prompt instead of by
   * S ({@link LikelihoodPer}): a baseline for evaluators, the generator's own confidence. `more`:
   * further output files, each scored by another measure from the same log-probabilities (one
   * scoring pass for all; each file resumes on its own). Defaults to off.
   */
  likelihood?: { per: LikelihoodPer; promptTemplate?: string; more?: ReadonlyArray<{ per: LikelihoodPer; out: string }> };
  /**
   * Score each candidate as a line evaluator (trained on per-line labels, src/data/line-labels.ts):
   * the probability that every line is true, after the generator prompt (with `promptTemplate`).
   * Defaults to off (the paper's evaluator: S after the evaluator template).
   */
  lines?: { promptTemplate?: string };
  /**
   * The generator prompt of a problem for `likelihood` and `lines` (e.g. a chat format's,
   * resolveGeneratorFormat); when given, their `promptTemplate` is not used. Defaults to the plain
   * prompt with their `promptTemplate`.
   */
  generatorPrompt?: (problem: string) => string;
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
  const eq = o.equivalence ?? graderEquivalence();
  const byProblem = new Map<string, LocatedSample[]>();
  for (const s of o.samples) {
    if (!o.problems.has(s.sample.problem_id)) throw inputError(s.file, s.line, `field problem_id: "${s.sample.problem_id}" is not in the problems file`);
    let list = byProblem.get(s.sample.problem_id);
    if (!list) byProblem.set(s.sample.problem_id, (list = []));
    list.push(s);
  }
  // Every output file with the measure it gets: `out`, then the likelihood's `more` files.
  const outs: Array<{ out: string; per?: LikelihoodPer }> = [{ out: o.out, ...(o.likelihood ? { per: o.likelihood.per } : {}) }, ...(o.likelihood?.more ?? [])];
  // Resume at problem granularity: a problem's lines are appended together once all are scored; a
  // problem is scored again when one of the output files lacks it, and appended only where missing.
  const done = outs.map(({ out }) => {
    const ids = new Set<string>();
    if (existsSync(out)) {
      repairJsonlTail(out);
      for (const s of readJsonl(out, SampleSchema)) ids.add(s.problem_id);
    }
    return ids;
  });
  const todo = [...byProblem.keys()].filter((id) => done.some((ids) => !ids.has(id)));
  const progress = createProgress({ label: "score", total: todo.length, silent: o.quiet === true });
  const result: ScoringRunResult = { problems: 0, skippedProblems: byProblem.size - todo.length, calls: 0, candidates: 0, tooLong: 0, seconds: 0 };
  const positive = evaluatorLabelText(true, words);
  const negative = evaluatorLabelText(false, words);
  /** Per sample: undefined (not scored), or its score in each output file. */
  type Scored = { id: string; samples: Sample[]; scores: Array<number[] | undefined> };
  const scoreProblem = async (id: string): Promise<Scored> => {
    const problem = o.problems.get(id)!;
    const samples = byProblem.get(id)!.map((l) => l.sample);
    const chosen = topK > 0 ? topKMembers(samples, topK, eq) : new Set(samples.flatMap((s, i) => (o.skipGreedy === true && s.greedy === true ? [] : [i])));
    const scores = await Promise.all(
      samples.map(async (s, i) => {
        if (!chosen.has(i)) return undefined;
        if (o.likelihood) {
          const prompt =
            o.generatorPrompt?.(problem.problem) ??
            generatorPrompt(problem.problem, o.likelihood.promptTemplate === undefined ? {} : { template: o.likelihood.promptTemplate });
          if (o.fits && !o.fits(prompt + s.text)) {
            result.tooLong++;
            return undefined;
          }
          result.calls++;
          const r = await o.scorer.continuationLogprobs(prompt, s.text);
          return outs.map(({ per }) => likelihoodScore(per!, r.logprobs, r.total));
        }
        if (o.lines) {
          const prompt =
            o.generatorPrompt?.(problem.problem) ?? generatorPrompt(problem.problem, o.lines.promptTemplate === undefined ? {} : { template: o.lines.promptTemplate });
          if (o.fits && !o.fits(prompt + scoringText(s.text).text)) {
            result.tooLong++;
            return undefined;
          }
          result.calls++;
          return [(await lineEvaluatorScore(o.scorer, prompt, s.text)).score];
        }
        const prompt = evaluatorPrompt(problem.problem, s.text, o.template === undefined ? {} : { template: o.template });
        if (o.fits && !o.fits(prompt)) {
          result.tooLong++;
          return undefined;
        }
        result.calls++;
        return [(await evaluatorScore(o.scorer, prompt, { positive, negative })).score];
      }),
    );
    return { id, samples, scores };
  };
  // A few problems in flight at once, so the scorer's sequences stay busy across the end of one
  // problem and the start of the next; lines are still appended problem by problem, in order.
  const inFlight: Array<Promise<Scored>> = [];
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
      const { id, samples, scores } = await inFlight.shift()!;
      result.candidates += samples.length;
      outs.forEach(({ out }, j) => {
        if (done[j].has(id)) return;
        appendJsonl(
          out,
          samples.map((s, i) => {
            const { score: _old, ...rest } = s;
            const v = scores[i]?.[j];
            return v === undefined ? rest : { ...rest, score: v };
          }),
        );
      });
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
