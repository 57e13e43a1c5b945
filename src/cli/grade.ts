// `mathtune grade`: grade a JSONL file of (gold, pred) pairs, or one pair from the command line.
import type { Command } from "commander";
import { z } from "zod";
import { ErrorCode, MathtuneError, inputError } from "../errors.js";
import { createGraderPool, gradeSolution } from "../grade/index.js";
import { readJsonlRaw, writeJsonlAtomic } from "../util/jsonl.js";
import { createProgress } from "../util/progress.js";

const PairSchema = z.looseObject({
  gold: z.string({ error: "must be a string (the reference answer)" }),
  pred: z.string({ error: "must be a string (an answer or a full solution)" }),
});

interface GradeCliOptions {
  input?: string;
  output?: string;
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
    .option("--gold <answer>", "grade one pair: the reference answer")
    .option("--pred <text>", "grade one pair: the predicted answer or solution")
    .option("--workers <n>", "worker threads for --input (default: min(4, CPUs))")
    .option("--timeout-ms <ms>", "hard limit per pair; an overrunning worker is terminated (default 2000)")
    .option("--no-fallback-last-number", "do not fall back to the last number of a solution")
    .action(async (opts: GradeCliOptions) => {
      const fallbackLastNumber = opts.fallbackLastNumber !== false;
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
        workers: positiveInt(opts.workers, "workers", Math.min(4, (await import("node:os")).availableParallelism())),
        timeoutMs: positiveInt(opts.timeoutMs, "timeout-ms", 2000),
        verifyOptions: { fallbackLastNumber },
      });
      const progress = createProgress({ label: "grade", total: records.length });
      const t0 = performance.now();
      let results;
      try {
        results = await pool.gradeMany(
          records.map((r) => ({ gold: r.gold, pred: r.pred, solution: true })),
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
