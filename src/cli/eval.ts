/**
 * `mathtune eval --samples SAMPLES.jsonl`: every metric of the paper on graded (and optionally
 * evaluator-scored) samples; optional run-folder report (results.json, report.md, report.html).
 */
import type { Command } from "commander";
import { MathtuneError, ErrorCode, inputError } from "../errors.js";
import { exactEquivalence } from "../select/cluster.js";
import { needsScores, parseStrategy, strategyName, type Strategy } from "../select/strategies.js";
import { evaluate, type Evaluation } from "../metrics/compute.js";
import { groupSamples, readProblemsById, readSamples } from "../metrics/samples.js";
import { buildResults, writeReport, type ResultsFile } from "../report/results.js";
import { buildTables } from "../report/tables.js";
import { markdownTable } from "../report/markdown.js";
import { graderEquivalence, graderRegrader } from "../grade/equivalence.js";

/** Options of the eval command, as parsed. */
export interface EvalCliOptions {
  samples: string;
  problems?: string;
  k?: string;
  topK: string;
  topN: string;
  strategies?: string;
  cluster: string;
  correctFromFile?: boolean;
  keepExtracted?: boolean;
  subsets: string;
  bootstrap: string;
  seed: string;
  scoreTransform: string;
  allowMissingScores?: boolean;
  pairwiseLimit: string;
  json?: boolean;
  report?: string;
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new MathtuneError(ErrorCode.usage, `${name} must be a positive integer, got "${v}"`);
  return n;
}

function nonNegativeInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new MathtuneError(ErrorCode.usage, `${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/** Runs the evaluation the command describes; returns the results file (written when `report` is set). */
export function runEval(o: EvalCliOptions): { results: ResultsFile; evaluation: Evaluation; notes: string[] } {
  const notes: string[] = [];
  if (o.cluster !== "exact" && o.cluster !== "equiv") {
    throw new MathtuneError(ErrorCode.usage, `--cluster must be exact or equiv, got "${o.cluster}"`);
  }
  if (o.scoreTransform !== "none" && o.scoreTransform !== "sigmoid") {
    throw new MathtuneError(ErrorCode.usage, `--score-transform must be none or sigmoid, got "${o.scoreTransform}"`);
  }
  const topK = positiveInt("--top-k", o.topK);
  const topN = positiveInt("--top-n", o.topN);
  const ks = o.k === undefined ? undefined : o.k.split(",").map((s) => positiveInt("--k", s.trim()));
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
  let strategies: Strategy[] =
    o.strategies === undefined ? all : o.strategies.split(",").map((s) => parseStrategy(s.trim()));
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
    subsets: positiveInt("--subsets", o.subsets),
    bootstrap: positiveInt("--bootstrap", o.bootstrap),
    seed: nonNegativeInt("--seed", o.seed),
    equivalence,
    cluster: { pairwiseLimit: positiveInt("--pairwise-limit", o.pairwiseLimit) },
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
    pairwise_limit: positiveInt("--pairwise-limit", o.pairwiseLimit),
    "pass@1": evaluation.meta.pass1Source,
  });
  if (o.report !== undefined) writeReport(o.report, results);
  return { results, evaluation, notes };
}

/** Adds `eval` to the program. */
export function register(program: Command): void {
  program
    .command("eval")
    .description("Pass@k, Maj1@k, MajK@k and re-ranking strategies on graded (and scored) samples")
    .requiredOption("--samples <file>", "samples JSONL (one line per problem id and sample index)")
    .option("--problems <file>", "problems JSONL: gold answers for re-grading, level and subject for breakdowns")
    .option("--k <list>", "k values, comma-separated (default: 1, 2, 4, ... and N)")
    .option("--top-k <K>", "K of rr.topK, wrr.topK and the MajK oracle", "8")
    .option("--top-n <N>", "N' of maj1.topN (majority vote among the N' highest-scored)", "16")
    .option("--strategies <list>", "strategies, comma-separated (default: all six when scores exist)")
    .option("--cluster <mode>", "equiv (grader equivalence) or exact (extracted string)", "equiv")
    .option("--correct-from-file", "trust the samples' extracted and correct fields instead of re-grading")
    .option("--keep-extracted", "when re-grading, keep the samples' extracted answers (grade them, do not re-extract)")
    .option("--subsets <S>", "random size-k subsets per problem for k < N", "100")
    .option("--bootstrap <B>", "bootstrap resamples for standard errors", "1000")
    .option("--seed <n>", "seed of subsets and bootstrap", "0")
    .option("--score-transform <t>", "none, or sigmoid (for raw reward logits before W.RR sums)", "none")
    .option("--allow-missing-scores", "accept samples without a score (they rank below scored ones)")
    .option("--pairwise-limit <n>", "largest key groups compared pairwise when clustering with equiv", "64")
    .option("--json", "print one JSON object with all metrics on stdout")
    .option("--report <dir>", "write results.json, report.md and report.html into this run folder")
    .action((o: EvalCliOptions) => {
      const { results, notes } = runEval(o);
      for (const n of notes) process.stderr.write(`note: ${n}\n`);
      if (o.json) {
        process.stdout.write(JSON.stringify(results) + "\n");
      } else {
        process.stdout.write(buildTables(results).slice(0, 3).map(markdownTable).join("\n"));
      }
      if (o.report !== undefined) process.stderr.write(`wrote ${o.report}/results.json, report.md, report.html\n`);
    });
}
