/**
 * The evaluation of a samples file (`mathtune eval`): every metric of the paper on graded (and
 * optionally evaluator-scored) samples, re-graded against the gold answers unless told to trust
 * the file, with an optional run-folder report (results.json, report.md, report.html).
 */
import { MathtuneError, ErrorCode, inputError } from "../errors.js";
import { exactEquivalence } from "../select/cluster.js";
import { needsScores, strategyName, type Strategy } from "../select/strategies.js";
import { evaluate, type Evaluation } from "./compute.js";
import { groupSamples, readProblemsById, readSamples } from "./samples.js";
import { buildResults, writeReport } from "../report/results.js";
import type { ResultsFile } from "../report/results-file.js";
import { graderEquivalence, graderRegrader } from "../grade/equivalence.js";

/** Options of {@link runEval}; the eval command's options hold their defaults. */
export interface EvalRunOptions {
  /** Samples JSONL (one line per problem id and sample index). */
  samples: string;
  /** Problems JSONL: gold answers for re-grading, level and subject for breakdowns. */
  problems?: string;
  /** k values; unset: 1, 2, 4, ... and N. */
  ks?: number[];
  /** K of rr.topK, wrr.topK and the MajK oracle. */
  topK: number;
  /** N' of maj1.topN. */
  topN: number;
  /** Strategies; unset: all six when scores exist (pass, maj1 and majK only when none do). */
  strategies?: Strategy[];
  /** Clusters by grader equivalence, or by the extracted string. */
  cluster: "equiv" | "exact";
  /** Trust the samples' extracted and correct fields instead of re-grading. */
  correctFromFile?: boolean;
  /** When re-grading, keep the samples' extracted answers. */
  keepExtracted?: boolean;
  /** Random size-k subsets per problem for k < N. */
  subsets: number;
  /** Bootstrap resamples for standard errors. */
  bootstrap: number;
  /** Seed of subsets and bootstrap. */
  seed: number;
  /** none, or sigmoid (for raw reward logits before W.RR sums). */
  scoreTransform: "none" | "sigmoid";
  /** Accept samples without a score (they rank below scored ones). */
  allowMissingScores?: boolean;
  /** Largest key groups compared pairwise when clustering with equiv. */
  pairwiseLimit: number;
  /** Write results.json, report.md and report.html into this run folder. */
  report?: string;
}

/** What {@link runEval} returns: the results file (written when `report` is set), the evaluation, and notes for the user. */
export interface EvalRunResult {
  results: ResultsFile;
  evaluation: Evaluation;
  notes: string[];
}

/** Runs the evaluation `o` describes; see the file comment. */
export function runEval(o: EvalRunOptions): EvalRunResult {
  const notes: string[] = [];
  const { topK, topN, ks } = o;
  const problems = o.problems === undefined ? undefined : readProblemsById(o.problems);
  if (!o.correctFromFile && problems === undefined) {
    throw new MathtuneError(ErrorCode.usage, "re-grading needs the gold answers", {
      hint: "pass --problems PROBLEMS.jsonl (the problems the samples were drawn from), or --correct-from-file to trust the samples' grades",
    });
  }
  const located = readSamples(o.samples);
  const grouped = groupSamples(located, {
    ...(problems ? { problems } : {}),
    ...(o.correctFromFile ? {} : { regrade: graderRegrader() }),
    keepExtracted: o.keepExtracted ?? false,
  });

  if (problems) {
    const missing = grouped.problems.filter((p) => !problems.has(p.id)).length;
    if (missing > 0) notes.push(`${missing} problems are not in ${o.problems}: they are left out of the level and subject breakdowns`);
  }

  const all: Strategy[] = [
    { kind: "maj1" },
    { kind: "rr.all" },
    { kind: "rr.top", k: topK },
    { kind: "wrr" },
    { kind: "wrr.top", k: topK },
    { kind: "maj1.top", n: topN },
  ];
  let strategies: Strategy[] = o.strategies ?? all;
  const scoring = strategies.filter(needsScores);
  if (scoring.length > 0 && grouped.scored === 0) {
    if (o.strategies !== undefined) {
      throw new MathtuneError(ErrorCode.usage, `strategies ${scoring.map(strategyName).join(", ")} need evaluator scores; the samples have none`, {
        hint: "score the samples first (field `score`), or ask only for maj1",
      });
    }
    notes.push("no evaluator scores in the samples: reporting pass, maj1 and majK only");
    strategies = strategies.filter((s) => !needsScores(s));
  } else if (scoring.length > 0 && grouped.unscored > 0 && !o.allowMissingScores) {
    const at = grouped.firstUnscored;
    throw inputError(
      at?.file ?? o.samples,
      at?.line,
      `field score: missing, while ${grouped.scored} other samples have one`,
      "score every sample, or pass --allow-missing-scores (a missing score ranks below every present one)",
    );
  }
  if (o.scoreTransform === "sigmoid") {
    for (const p of grouped.problems) {
      p.scores = p.scores?.map((s) => (typeof s === "number" ? 1 / (1 + Math.exp(-s)) : s));
    }
  }

  const equivalence = o.cluster === "exact" ? exactEquivalence : graderEquivalence();
  const evaluation = evaluate(grouped.problems, {
    ...(ks ? { ks } : {}),
    strategies,
    majK: topK,
    subsets: o.subsets,
    bootstrap: o.bootstrap,
    seed: o.seed,
    equivalence,
    cluster: { pairwiseLimit: o.pairwiseLimit },
  });
  if (evaluation.meta.ksDropped.length > 0) {
    notes.push(`k = ${evaluation.meta.ksDropped.join(", ")} left out: some problems have only ${evaluation.meta.nMin} samples`);
  }
  if (evaluation.meta.nMin !== evaluation.meta.nMax) {
    notes.push(`problems have between ${evaluation.meta.nMin} and ${evaluation.meta.nMax} samples`);
  }
  const results = buildResults(evaluation, {
    samples: o.samples,
    problems: o.problems ?? null,
    cluster: o.cluster,
    correct_from_file: o.correctFromFile ?? false,
    keep_extracted: o.keepExtracted ?? false,
    ks: evaluation.meta.ks,
    top_k: topK,
    top_n: topN,
    majK: topK,
    strategies: evaluation.meta.strategies,
    subsets: evaluation.meta.subsets,
    bootstrap: evaluation.meta.bootstrap,
    seed: evaluation.meta.seed,
    score_transform: o.scoreTransform,
    allow_missing_scores: o.allowMissingScores ?? false,
    pairwise_limit: o.pairwiseLimit,
    "pass@1": evaluation.meta.pass1Source,
  });
  if (o.report !== undefined) writeReport(o.report, results);
  return { results, evaluation, notes };
}

