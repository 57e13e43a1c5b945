// `mathtune grade`: grade a JSONL file of (gold, pred) pairs, one pair from the command line, or a
// samples file against its problems file.
import type { Command } from "commander";
import { z } from "zod";
import { ErrorCode, MathtuneError, inputError } from "../errors.js";
import { createGraderPool, gradeSolution } from "../grade/index.js";
import { gradeSamplesFile, type SamplesGradeSummary } from "../grade/samples-file.js";
import { readJsonlRaw, writeJsonlAtomic } from "../util/jsonl.js";
import { createProgress } from "../util/progress.js";

const PairSchema = z.looseObject({
  gold: z.string({ error: "must be a string (the reference answer)" }),
  pred: z.string({ error: "must be a string (an answer or a full solution)" }),
});

interface GradeCliOptions {
  input?: string;
  output?: string;
  samples?: string;
  problems?: string;
  out?: string;
  gold?: string;
  pred?: string;
  workers?: string;
  timeoutMs?: string;
  fallbackLastNumber?: boolean;
}

function positiveInt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new MathtuneError(ErrorCode.usage, `--${name} must be a positive integer, got ${v}`);
  return n;
}

/** Adds the `grade` command. */
export function register(program: Command): void {
  program
    .command("grade")
    .description("grade predictions against gold answers (extraction + mathematical equivalence)")
    .option("--input <file>", "JSONL file; each line has `gold` and `pred` (an answer or a full solution)")
    .option("--output <file>", "write each input line plus `extracted`, `correct`, `reason` (atomically)")
    .option("--samples <file>", "grade a samples JSONL file (problem_id, sample, text) instead; needs --problems and --out")
    .option("--problems <file>", "with --samples: the problems JSONL file holding each problem_id's gold answer")
    .option("--out <file>", "with --samples: write the samples with `extracted` and `correct` filled in (atomically)")
    .option("--gold <answer>", "grade one pair: the reference answer")
    .option("--pred <text>", "grade one pair: the predicted answer or solution")
    .option("--workers <n>", "worker threads for --input (default: min(4, CPUs))")
    .option("--timeout-ms <ms>", "hard limit per pair; an overrunning worker is terminated (default 2000)")
    .option("--no-fallback-last-number", "do not fall back to the last number of a solution")
    .action(async (opts: GradeCliOptions) => {
      const fallbackLastNumber = opts.fallbackLastNumber !== false;
      const workers = async (): Promise<number> => positiveInt(opts.workers, "workers", Math.min(4, (await import("node:os")).availableParallelism()));
      if (opts.samples !== undefined || opts.problems !== undefined || opts.out !== undefined) {
        if (opts.samples === undefined || opts.problems === undefined || opts.out === undefined) {
          throw new MathtuneError(ErrorCode.usage, "grading samples needs all of --samples, --problems and --out", {
            hint: "e.g. mathtune grade --samples samples.jsonl --problems test.jsonl --out graded.jsonl",
          });
        }
        if (opts.input !== undefined || opts.output !== undefined || opts.gold !== undefined || opts.pred !== undefined) {
          throw new MathtuneError(ErrorCode.usage, "--samples cannot be combined with --input, --output, --gold or --pred");
        }
        // The total is known only once the files are read, so the bar starts with the first result.
        let progress: ReturnType<typeof createProgress> | undefined;
        let sum: SamplesGradeSummary;
        try {
          sum = await gradeSamplesFile(
            opts.samples,
            opts.problems,
            opts.out,
            { workers: await workers(), timeoutMs: positiveInt(opts.timeoutMs, "timeout-ms", 2000), verifyOptions: { fallbackLastNumber } },
            (done, n) => (progress ??= createProgress({ label: "grade", total: n })).update(done),
          );
        } finally {
          progress?.stop();
        }
        const acc = sum.samples === 0 ? 0 : (100 * sum.correct) / sum.samples;
        process.stderr.write(
          `graded ${sum.samples} samples of ${sum.problems} problems in ${sum.seconds.toFixed(2)} s: accuracy ${acc.toFixed(1)}% (${sum.correct} correct), unparsable ${sum.unparsable}, timeout ${sum.timeout}; wrote ${opts.out}\n`,
        );
        return;
      }
      if (opts.input === undefined) {
        if (opts.gold === undefined || opts.pred === undefined) {
          throw new MathtuneError(ErrorCode.usage, "give --input FILE.jsonl, or both --gold and --pred", {
            hint: 'e.g. mathtune grade --gold "\\frac{1}{2}" --pred "The answer is $0.5$."',
          });
        }
        const r = gradeSolution(opts.gold, opts.pred, { fallbackLastNumber });
        process.stdout.write(`${JSON.stringify({ extracted: r.extracted, correct: r.correct, reason: r.reason })}\n`);
        return;
      }
      const file = opts.input;
      const lines = readJsonlRaw(file);
      const records = lines.map(({ line, value }) => {
        const res = PairSchema.safeParse(value);
        if (!res.success) {
          const issue = res.error.issues[0];
          const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "(record)";
          throw inputError(file, line, `field ${field}: ${issue.message}`, "each line needs string fields `gold` and `pred`");
        }
        return res.data as Record<string, unknown> & { gold: string; pred: string };
      });
      const pool = createGraderPool({
        workers: await workers(),
        timeoutMs: positiveInt(opts.timeoutMs, "timeout-ms", 2000),
        verifyOptions: { fallbackLastNumber },
      });
      const progress = createProgress({ label: "grade", total: records.length });
      const t0 = performance.now();
      let results;
      try {
        results = await pool.gradeMany(
          records.map((r, i) => ({ gold: r.gold, pred: r.pred, solution: true, where: `${file}:${lines[i].line}` })),
          (done) => progress.update(done),
        );
      } finally {
        progress.stop();
        await pool.close();
      }
      const seconds = (performance.now() - t0) / 1000;
      const counts = { equal: 0, "not-equal": 0, unparsable: 0, timeout: 0 };
      for (const r of results) counts[r.reason]++;
      if (opts.output !== undefined) {
        writeJsonlAtomic(
          opts.output,
          records.map((r, i) => ({ ...r, extracted: results[i].extracted, correct: results[i].correct, reason: results[i].reason })),
        );
      }
      const n = records.length;
      const acc = n === 0 ? 0 : (100 * counts.equal) / n;
      process.stderr.write(
        `graded ${n} pairs in ${seconds.toFixed(2)} s: correct ${counts.equal} (${acc.toFixed(1)}%), not-equal ${counts["not-equal"]}, unparsable ${counts.unparsable}, timeout ${counts.timeout}` +
          (opts.output !== undefined ? `; wrote ${opts.output}` : "") +
          "\n",
      );
    });
}
