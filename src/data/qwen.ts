/**
 * Adapter for the per-problem array format of Qwen2.5-Math's evaluation outputs: one line per
 * problem with parallel arrays `code` (solution texts), `pred` (extracted answers), `score`
 * (correct?) and `pred_score` (reward-model scores, one list per solution). Converts it into our
 * Sample records (one line per candidate) and Problem records (gold answer, level, subject).
 */
import { z } from "zod";
import { inputError } from "../errors.js";
import { readJsonlRaw, parseRecord } from "../util/jsonl.js";
import type { Problem, Sample } from "./records.js";
import { parseLevel } from "./adapters.js";

/** One line of the Qwen format (only the fields we use; the others are ignored). */
export const QwenRowSchema = z.object({
  idx: z.union([z.number().int(), z.string().min(1)]),
  question: z.string(),
  gt: z.string().optional(),
  answer: z.string().optional(),
  level: z.union([z.string(), z.number().int()]).optional(),
  type: z.string().optional(),
  subject: z.string().optional(),
  unique_id: z.string().optional(),
  code: z.array(z.string()).min(1),
  pred: z.array(z.string().nullable()),
  score: z.array(z.boolean()),
  pred_score: z.array(z.union([z.number(), z.array(z.number())])).optional(),
});
export type QwenRow = z.infer<typeof QwenRowSchema>;

/**
 * How a nested `pred_score` entry (a list of numbers for one solution, e.g. per-step scores of a
 * process reward model) becomes one score: `only` accepts exactly one number and fails otherwise,
 * `last` / `min` / `mean` reduce the list.
 */
export type ScoreReduce = "only" | "last" | "min" | "mean";

/** Options of {@link convertQwen}. */
export interface QwenOptions {
  /** Reduction of nested `pred_score` lists. Defaults to `only`. */
  scoreReduce?: ScoreReduce;
  /** Which field is the gold answer: `answer` (MATH's boxed answer) or `gt` (Qwen's stripped one). Defaults to `answer`. */
  gold?: "answer" | "gt";
  /**
   * Problems (e.g. MATH test with `unique_id`, `type`/`subject`, `level`) matched on the exact
   * problem text, to give the imported problems their MATH ids and subjects. Defaults to none.
   */
  reference?: ReadonlyMap<string, { id?: string; subject?: string; level?: number }>;
}

/** The converted records. */
export interface QwenImport {
  samples: Sample[];
  problems: Problem[];
  /** Lines whose problem text matched `reference`. */
  matched: number;
}

/** Converts one parsed row; `file`/`line` locate errors. */
export function convertQwenRow(
  row: QwenRow,
  file: string,
  line: number,
  options: QwenOptions = {},
): { samples: Sample[]; problem: Problem; matched: boolean } {
  const n = row.code.length;
  for (const field of ["pred", "score", "pred_score"] as const) {
    const arr = row[field];
    if (arr !== undefined && arr.length !== n) {
      throw inputError(file, line, `field ${field}: has ${arr.length} entries but code has ${n}`, "the arrays must be parallel");
    }
  }
  const reduce = options.scoreReduce ?? "only";
  const scoreOf = (i: number): number | undefined => {
    const v = row.pred_score?.[i];
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    if (v.length === 0) throw inputError(file, line, `field pred_score[${i}]: empty list`);
    if (reduce === "only") {
      if (v.length !== 1) {
        throw inputError(
          file,
          line,
          `field pred_score[${i}]: ${v.length} numbers for one solution`,
          "choose how to reduce them with --score-reduce last|min|mean",
        );
      }
      return v[0];
    }
    if (reduce === "last") return v[v.length - 1];
    if (reduce === "min") return Math.min(...v);
    return v.reduce((a, b) => a + b, 0) / v.length;
  };

  const ref = options.reference?.get(row.question);
  const id = ref?.id ?? row.unique_id ?? String(row.idx);
  const goldField = options.gold ?? "answer";
  const gold = goldField === "gt" ? (row.gt ?? row.answer) : (row.answer ?? row.gt);
  if (gold === undefined) throw inputError(file, line, "field answer: missing (and no gt either)");
  const level = parseLevel(row.level) ?? ref?.level;
  const subject = row.subject ?? row.type ?? ref?.subject;
  const problem: Problem = { id, problem: row.question, answer: gold, source: "qwen" };
  if (level !== undefined) problem.level = level;
  if (subject !== undefined) problem.subject = subject;

  const samples: Sample[] = row.code.map((text, i) => {
    const s: Sample = { problem_id: id, sample: i, text, extracted: row.pred[i], correct: row.score[i] };
    const sc = scoreOf(i);
    if (sc !== undefined) s.score = sc;
    return s;
  });
  return { samples, problem, matched: ref !== undefined };
}

/** Reads and converts a whole Qwen file. Problem ids must come out unique. */
export function convertQwen(file: string, options: QwenOptions = {}): QwenImport {
  const samples: Sample[] = [];
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  let matched = 0;
  for (const { line, value } of readJsonlRaw(file)) {
    const row = parseRecord(QwenRowSchema, value, file, line);
    const out = convertQwenRow(row, file, line, options);
    const prev = seen.get(out.problem.id);
    if (prev !== undefined) {
      throw inputError(file, line, `field idx: problem id "${out.problem.id}" already used on line ${prev}`);
    }
    seen.set(out.problem.id, line);
    if (out.matched) matched++;
    problems.push(out.problem);
    samples.push(...out.samples);
  }
  return { samples, problems, matched };
}
