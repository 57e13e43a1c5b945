// `mathtune evaluator-data`: evaluator training examples (TRL pairwise / pointwise shapes) from a
// graded samples file and its problems file.
import type { Command } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { readProblemsById, readSamples } from "../metrics/samples.js";
import { buildEvaluatorData, verificationSftExamples } from "../train/evaluator-data.js";
import { writeJsonlAtomic } from "../util/jsonl.js";
import { intOption } from "./options.js";

interface EvaluatorDataCliOptions {
  samples: string;
  problems: string;
  pairwise?: string;
  pointwise?: string;
  verification?: string;
  perProblem: string;
  seed: string;
  dedupe: boolean;
  includeGreedy?: boolean;
}


/** Adds the `evaluator-data` command. */
export function register(program: Command): void {
  program
    .command("evaluator-data")
    .description("build evaluator training examples (pairs and balanced labelled solutions, TRL shapes) from graded samples")
    .requiredOption("--samples <file>", "graded samples JSONL (each line has `correct`)")
    .requiredOption("--problems <file>", "problems JSONL (the samples' problem_id values)")
    .option("--pairwise <file>", 'write {"prompt","chosen","rejected","problem_id"} records here')
    .option("--pointwise <file>", 'write {"prompt","completion","label","problem_id"} records here')
    .option("--verification <file>", 'write the pointwise examples as {"prompt","completion","id"} SFT records in the evaluator template (completion " correct" / " incorrect")')
    .option("--per-problem <n>", "examples per training problem", "10")
    .option("--seed <n>", "seed of the random choices", "0")
    .option("--no-dedupe", "keep repeated solution texts of a problem")
    .option("--include-greedy", "use greedy samples as candidates too")
    .action((opts: EvaluatorDataCliOptions) => {
      if (opts.pairwise === undefined && opts.pointwise === undefined && opts.verification === undefined) {
        throw new MathtuneError(ErrorCode.usage, "nothing to write: give --pairwise FILE, --pointwise FILE and/or --verification FILE");
      }
      const problems = readProblemsById(opts.problems);
      const samples = readSamples(opts.samples).map((s) => s.sample);
      const data = buildEvaluatorData(problems, samples, {
        perProblem: intOption("per-problem", opts.perProblem, 1),
        seed: intOption("seed", opts.seed, 0),
        dedupe: opts.dedupe,
        includeGreedy: opts.includeGreedy === true,
      });
      if (data.stats.missingProblems > 0 && data.stats.missingProblems === data.stats.problems) {
        throw new MathtuneError(ErrorCode.input, `${opts.samples}: none of the samples' problem ids is in ${opts.problems}`, {
          hint: "pass the problems file the samples were drawn from",
        });
      }
      if (opts.pairwise !== undefined) writeJsonlAtomic(opts.pairwise, data.pairwise);
      if (opts.pointwise !== undefined) writeJsonlAtomic(opts.pointwise, data.pointwise);
      if (opts.verification !== undefined) writeJsonlAtomic(opts.verification, verificationSftExamples(data.pointwise));
      const s = data.stats;
      const pos = data.pointwise.filter((r) => r.label).length;
      process.stdout.write(
        `problems ${s.problems}: mixed ${s.mixedProblems}, all correct ${s.allCorrect}, all wrong ${s.allWrong}, not in the problems file ${s.missingProblems}\n` +
          `pairwise ${data.pairwise.length}${opts.pairwise !== undefined ? ` -> ${opts.pairwise}` : ""}\n` +
          `pointwise ${data.pointwise.length} (correct ${pos}, incorrect ${data.pointwise.length - pos})${opts.pointwise !== undefined ? ` -> ${opts.pointwise}` : ""}${opts.verification !== undefined ? ` -> ${opts.verification} (evaluator template)` : ""}\n`,
      );
    });
}
