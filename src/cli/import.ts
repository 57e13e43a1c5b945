/**
 * `mathtune import qwen FILE --out SAMPLES.jsonl [--problems-out PROBLEMS.jsonl]`: converts other
 * tools' sample files into our Sample (and Problem) records.
 */
import type { Command } from "commander";
import { z } from "zod";
import { MathtuneError, ErrorCode } from "../errors.js";
import { readJsonlRaw, parseRecord, writeJsonlAtomic } from "../util/jsonl.js";
import { convertQwen, type ScoreReduce } from "../data/qwen.js";
import { parseLevel } from "../data/adapters.js";

/** A MATH-style problem file used to look up ids and subjects by problem text. */
const ReferenceSchema = z.object({
  problem: z.string(),
  unique_id: z.string().optional(),
  id: z.string().optional(),
  type: z.string().optional(),
  subject: z.string().optional(),
  level: z.union([z.string(), z.number().int()]).optional(),
});

/** Reads a MATH-style file into problem text → {id, subject, level}. */
export function readReference(file: string): Map<string, { id?: string; subject?: string; level?: number }> {
  const out = new Map<string, { id?: string; subject?: string; level?: number }>();
  for (const { line, value } of readJsonlRaw(file)) {
    const r = parseRecord(ReferenceSchema, value, file, line);
    const e: { id?: string; subject?: string; level?: number } = {};
    const id = r.unique_id ?? r.id;
    if (id !== undefined) e.id = id;
    const subject = r.subject ?? r.type;
    if (subject !== undefined) e.subject = subject;
    const level = parseLevel(r.level);
    if (level !== undefined) e.level = level;
    if (!out.has(r.problem)) out.set(r.problem, e);
  }
  return out;
}

interface ImportOptions {
  out: string;
  problemsOut?: string;
  scoreReduce: string;
  gold: string;
  math?: string;
}

/** Adds `import` to the program. */
export function register(program: Command): void {
  program
    .command("import")
    .description("convert another tool's samples into mathtune Sample records")
    .argument("<format>", "input format: qwen (Qwen2.5-Math per-problem arrays: code, pred, score, pred_score)")
    .argument("<file>", "input JSONL")
    .requiredOption("--out <file>", "output samples JSONL")
    .option("--problems-out <file>", "also write the problems (gold answer, level, subject) as Problem JSONL")
    .option("--score-reduce <how>", "nested pred_score lists: only (exactly one number), last, min or mean", "only")
    .option("--gold <field>", "gold answer field: answer (MATH's) or gt (Qwen's stripped one)", "answer")
    .option("--math <file>", "MATH-style problems (problem, unique_id, type/subject, level) to take ids and subjects from")
    .action((format: string, file: string, o: ImportOptions) => {
      if (format !== "qwen") {
        throw new MathtuneError(ErrorCode.usage, `unknown import format "${format}"`, { hint: "supported: qwen" });
      }
      if (!["only", "last", "min", "mean"].includes(o.scoreReduce)) {
        throw new MathtuneError(ErrorCode.usage, `--score-reduce must be only, last, min or mean, got "${o.scoreReduce}"`);
      }
      if (o.gold !== "answer" && o.gold !== "gt") {
        throw new MathtuneError(ErrorCode.usage, `--gold must be answer or gt, got "${o.gold}"`);
      }
      const reference = o.math === undefined ? undefined : readReference(o.math);
      const res = convertQwen(file, {
        scoreReduce: o.scoreReduce as ScoreReduce,
        gold: o.gold,
        ...(reference ? { reference } : {}),
      });
      writeJsonlAtomic(o.out, res.samples);
      if (o.problemsOut !== undefined) writeJsonlAtomic(o.problemsOut, res.problems);
      const matched = reference ? `, ${res.matched} matched in ${o.math}` : "";
      process.stderr.write(
        `imported ${res.problems.length} problems, ${res.samples.length} samples -> ${o.out}` +
          `${o.problemsOut ? ` (problems -> ${o.problemsOut})` : ""}${matched}\n`,
      );
    });
}
