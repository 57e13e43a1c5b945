// The grade stages: samples graded against the reference answers, in canonical order.
import { ErrorCode, MathtuneError } from "../../errors.js";
import { SampleSchema, type Sample } from "../../data/records.js";
import { readJsonl, writeJsonlAtomic } from "../../util/jsonl.js";
import { createProgress } from "../../util/progress.js";
import { gradeSamples, type GradeResult } from "../../grade/index.js";
import type { Recipe } from "../schema.js";
import type { Stage, StageContext } from "../framework.js";
import { canonicalOrder } from "./sample.js";
import { paths, readProblemList, type Arm } from "./shared.js";

/** Grades a samples file against a problems file into `outRel` (canonical order). */
export async function gradeFile(r: Recipe, ctx: StageContext, label: string, problemsRel: string, samplesRel: string, outRel: string): Promise<Record<string, unknown>> {
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

export function gradeStage(r: Recipe, gen: Arm): Stage {
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
