/**
 * `mathtune eval --samples SAMPLES.jsonl`: parses the options and prints the tables of
 * {@link runEval} (src/metrics/run.ts), which computes every metric of the paper.
 */
import type { Command } from "commander";
import { MathtuneError, ErrorCode } from "../errors.js";
import { parseStrategy } from "../select/strategies.js";
import { runEval, type EvalRunOptions } from "../metrics/run.js";
import { buildTables } from "../report/tables.js";
import { markdownTable } from "../report/markdown.js";

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

/** The eval command's options as the library takes them (usage errors for bad values). */
export function evalRunOptions(o: EvalCliOptions): EvalRunOptions {
  if (o.cluster !== "exact" && o.cluster !== "equiv") {
    throw new MathtuneError(ErrorCode.usage, `--cluster must be exact or equiv, got "${o.cluster}"`);
  }
  if (o.scoreTransform !== "none" && o.scoreTransform !== "sigmoid") {
    throw new MathtuneError(ErrorCode.usage, `--score-transform must be none or sigmoid, got "${o.scoreTransform}"`);
  }
  return {
    samples: o.samples,
    ...(o.problems !== undefined ? { problems: o.problems } : {}),
    ...(o.k !== undefined ? { ks: o.k.split(",").map((s) => positiveInt("--k", s.trim())) } : {}),
    topK: positiveInt("--top-k", o.topK),
    topN: positiveInt("--top-n", o.topN),
    ...(o.strategies !== undefined ? { strategies: o.strategies.split(",").map((s) => parseStrategy(s.trim())) } : {}),
    cluster: o.cluster,
    correctFromFile: o.correctFromFile ?? false,
    keepExtracted: o.keepExtracted ?? false,
    subsets: positiveInt("--subsets", o.subsets),
    bootstrap: positiveInt("--bootstrap", o.bootstrap),
    seed: nonNegativeInt("--seed", o.seed),
    scoreTransform: o.scoreTransform,
    allowMissingScores: o.allowMissingScores ?? false,
    pairwiseLimit: positiveInt("--pairwise-limit", o.pairwiseLimit),
    ...(o.report !== undefined ? { report: o.report } : {}),
  };
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
      const { results, notes } = runEval(evalRunOptions(o));
      for (const n of notes) process.stderr.write(`note: ${n}\n`);
      if (o.json) {
        process.stdout.write(JSON.stringify(results) + "\n");
      } else {
        process.stdout.write(buildTables(results).slice(0, 3).map(markdownTable).join("\n"));
      }
      if (o.report !== undefined) process.stderr.write(`wrote ${o.report}/results.json, report.md, report.html\n`);
    });
}
