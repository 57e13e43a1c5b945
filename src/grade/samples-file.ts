// Grading a samples file against its problems file (what `mathtune grade --samples` and the
// recipe's grade stages do), through the grader pool.
import { inputError } from "../errors.js";
import { readProblemsById, readSamples } from "../metrics/samples.js";
import { writeJsonlAtomic } from "../util/jsonl.js";
import { gradeSamples, type GraderPoolOptions } from "./pool.js";

/** What {@link gradeSamplesFile} did. */
export interface SamplesGradeSummary {
  samples: number;
  /** Distinct problems among the samples. */
  problems: number;
  correct: number;
  /** Samples with no final answer to extract. */
  unparsable: number;
  /** Samples whose grading overran the per-sample limit (counted wrong). */
  timeout: number;
  seconds: number;
}

/**
 * Grades every sample of `samplesFile` against the gold answer of its problem in `problemsFile`
 * and writes the samples, in input order, with `extracted` and `correct` set (replacing any earlier
 * grade) to `outFile` atomically. Every line is validated and every problem id looked up before
 * any grading starts, so a bad input fails fast and writes nothing.
 */
export async function gradeSamplesFile(
  samplesFile: string,
  problemsFile: string,
  outFile: string,
  poolOptions: GraderPoolOptions = {},
  onProgress?: (done: number, total: number) => void,
): Promise<SamplesGradeSummary> {
  const problems = readProblemsById(problemsFile);
  const samples = readSamples(samplesFile);
  const golds = samples.map(({ sample, file, line }) => {
    const p = problems.get(sample.problem_id);
    if (p === undefined) {
      throw inputError(file, line, `field problem_id: "${sample.problem_id}" is not in ${problemsFile}`, "grade the samples against the problems file they were sampled from");
    }
    return p.answer;
  });
  const t0 = performance.now();
  const { graded, results } = await gradeSamples(
    samples.map(({ sample }) => sample),
    golds,
    poolOptions,
    onProgress,
  );
  writeJsonlAtomic(outFile, graded);
  return {
    samples: graded.length,
    problems: new Set(graded.map((s) => s.problem_id)).size,
    correct: results.filter((r) => r.correct).length,
    unparsable: results.filter((r) => r.reason === "unparsable").length,
    timeout: results.filter((r) => r.reason === "timeout").length,
    seconds: (performance.now() - t0) / 1000,
  };
}
