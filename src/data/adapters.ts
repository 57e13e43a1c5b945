/**
 * Dataset adapters: each turns one public format into canonical Problem records (records.ts).
 * Source records are validated with a schema of their own format, so a bad line fails with
 * `file:line: field X: ...` before anything is written.
 */
import { basename } from "node:path";
import { z } from "zod";
import { inputError } from "../errors.js";
import { readJsonlRaw, parseRecord, type JsonlLine } from "../util/jsonl.js";
import { hashString } from "../util/rng.js";
import type { Problem } from "./records.js";
import { lastBoxedContent } from "./boxed.js";

/** `"Level 3"` or `3` to 3; `"Level ?"` (two MATH train problems) to undefined. */
export function parseLevel(raw: string | number | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === "number") return Number.isInteger(raw) ? raw : undefined;
  const m = raw.match(/^\s*Level\s+(\d+)\s*$/i);
  return m ? Number(m[1]) : undefined;
}

/** One Hendrycks MATH record (the MATH train / test files). */
export const MathRecordSchema = z.object({
  problem: z.string().min(1),
  solution: z.string().min(1),
  level: z.union([z.string(), z.number()]).optional(),
  type: z.string().optional(),
  unique_id: z.string().min(1).optional(),
});

/** One MATH500 record. */
export const Math500RecordSchema = z.object({
  problem: z.string().min(1),
  answer: z.string(),
  solution: z.string().optional(),
  subject: z.string().optional(),
  level: z.union([z.number(), z.string()]).optional(),
  unique_id: z.string().min(1),
});

/** One GSM8K record: `answer` is the worked solution ending in `#### N`. */
export const Gsm8kRecordSchema = z.object({
  question: z.string().min(1),
  answer: z.string().min(1),
});

const Prm800kCompletionSchema = z.object({ text: z.string(), rating: z.number().nullable().optional() }).loose();
const Prm800kStepSchema = z
  .object({
    completions: z.array(Prm800kCompletionSchema).nullable().optional(),
    human_completion: z.union([z.string(), z.object({ text: z.string() }).loose()]).nullable().optional(),
    chosen_completion: z.number().int().nullable().optional(),
  })
  .loose();

/** One PRM800K-style labelled solution (the phase1 / phase2 files, or a user's own in that shape). */
export const Prm800kRecordSchema = z
  .object({
    question: z
      .object({
        problem: z.string().min(1),
        ground_truth_answer: z.string(),
        pre_generated_steps: z.array(z.string()).optional(),
        unique_id: z.string().optional(),
      })
      .loose(),
    label: z
      .object({
        steps: z.array(Prm800kStepSchema),
        finish_reason: z.string().optional(),
      })
      .loose()
      .optional(),
  })
  .loose();

/** A source file read into validated records with their line numbers. */
function readAs<S extends z.ZodType>(file: string, schema: S): Array<{ line: number; rec: z.infer<S> }> {
  return readJsonlRaw(file).map(({ line, value }: JsonlLine) => ({ line, rec: parseRecord(schema, value, file, line) }));
}

/** File name without folder and `.jsonl`, for ids of sources that have none. */
function stem(file: string): string {
  return basename(file).replace(/\.jsonl?$/i, "");
}

function assertUniqueIds(problems: Problem[], file: string, lines: number[]): void {
  const seen = new Map<string, number>();
  problems.forEach((p, i) => {
    const prev = seen.get(p.id);
    if (prev !== undefined) throw inputError(file, lines[i], `field unique_id: duplicate id "${p.id}" (first on line ${prev})`);
    seen.set(p.id, lines[i]);
  });
}

/**
 * MATH (Hendrycks): answer = the last `\boxed{}` of the solution; `Level N` to N; `type` to
 * subject; id = `unique_id`, or `<file stem>/<index>` when the file has none.
 */
export function readMath(file: string, source = "math", options: { requireId?: boolean } = {}): Problem[] {
  const rows = readAs(file, MathRecordSchema);
  const out = rows.map(({ line, rec }, i) => {
    if (options.requireId && rec.unique_id === undefined) {
      throw inputError(file, line, "field unique_id: required here (problems are matched to MATH500 by unique_id)");
    }
    const answer = lastBoxedContent(rec.solution);
    if (answer === null) throw inputError(file, line, "field solution: no \\boxed{...} answer in the solution");
    const p: Problem = { id: rec.unique_id ?? `${stem(file)}/${i}`, problem: rec.problem, answer, solution: rec.solution, source };
    const level = parseLevel(rec.level);
    if (level !== undefined) p.level = level;
    if (rec.type !== undefined) p.subject = rec.type;
    return p;
  });
  assertUniqueIds(
    out,
    file,
    rows.map((r) => r.line),
  );
  return out;
}

/** MATH500: `answer` as given, id = `unique_id`. */
export function readMath500(file: string, source = "math500"): Problem[] {
  const rows = readAs(file, Math500RecordSchema);
  const out = rows.map(({ rec }) => {
    const p: Problem = { id: rec.unique_id, problem: rec.problem, answer: rec.answer, source };
    if (rec.solution !== undefined) p.solution = rec.solution;
    const level = parseLevel(rec.level);
    if (level !== undefined) p.level = level;
    if (rec.subject !== undefined) p.subject = rec.subject;
    return p;
  });
  assertUniqueIds(
    out,
    file,
    rows.map((r) => r.line),
  );
  return out;
}

/** GSM8K's calculator annotations `<<48/2=24>>`, which are not part of the written solution. */
const CALCULATOR = /<<[^<>]*>>/g;

/**
 * GSM8K: the answer is what follows `####` (thousands commas removed); the solution is the text
 * before it, without calculator annotations, ending in a `\boxed{N}` line.
 * id = `gsm8k/<file stem>/<index>`.
 */
export function readGsm8k(file: string, source = "gsm8k"): Problem[] {
  return readAs(file, Gsm8kRecordSchema).map(({ line, rec }, i) => {
    const at = rec.answer.lastIndexOf("####");
    if (at < 0) throw inputError(file, line, 'field answer: no final "#### N" line');
    const answer = rec.answer
      .slice(at + 4)
      .trim()
      .replace(/(\d),(?=\d{3}\b)/g, "$1");
    if (answer === "") throw inputError(file, line, 'field answer: empty after "####"');
    const steps = rec.answer.slice(0, at).replace(CALCULATOR, "").trimEnd();
    const solution = `${steps}${steps === "" ? "" : "\n"}\\boxed{${answer}}`;
    return { id: `gsm8k/${stem(file)}/${i}`, problem: rec.question, answer, solution, source };
  });
}

/** A PRM800K step's text: the chosen completion, else the human one. */
function stepText(step: z.infer<typeof Prm800kStepSchema>): string | null {
  const chosen = step.chosen_completion;
  if (chosen !== null && chosen !== undefined && step.completions && step.completions[chosen]) return step.completions[chosen].text;
  const human = step.human_completion;
  if (typeof human === "string") return human;
  if (human && typeof human.text === "string") return human.text;
  return null;
}

/** One step on one line; the final `# Answer` step becomes the `\boxed{}` line. */
function stepLine(text: string): string {
  const m = text.match(/^\s*#\s*Answer\s*\n+([\s\S]*)$/);
  if (m) return `\\boxed{${m[1].trim()}}`;
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** What readPrm800k kept and skipped. */
export interface Prm800kReadResult {
  problems: Problem[];
  /** Records whose labelling did not end in a full solution (`finish_reason` other than `solution`). */
  skippedUnfinished: number;
  /** Records with a step that has neither a chosen nor a human completion, or with no steps. */
  skippedIncomplete: number;
}

/**
 * PRM800K-style solution records: problem = `question.problem`, answer =
 * `question.ground_truth_answer`, solution = the step texts, one step per line (the labelled
 * steps' chosen or human completions, else `question.pre_generated_steps`). Records whose
 * labelling ended other than in a solution are skipped and counted. Several solutions of one
 * problem get ids `<base>#0`, `<base>#1`, ... where base is `question.unique_id` when present,
 * else `prm800k/<hash of the problem text>`.
 */
export function readPrm800k(file: string, source = "prm800k"): Prm800kReadResult {
  const problems: Problem[] = [];
  let skippedUnfinished = 0;
  let skippedIncomplete = 0;
  const perProblem = new Map<string, number>();
  for (const { rec } of readAs(file, Prm800kRecordSchema)) {
    const q = rec.question;
    const reason = rec.label?.finish_reason;
    if (reason !== undefined && reason !== "solution") {
      skippedUnfinished++;
      continue;
    }
    let steps: Array<string | null>;
    if (rec.label && rec.label.steps.length > 0) steps = rec.label.steps.map(stepText);
    else steps = q.pre_generated_steps ?? [];
    if (steps.length === 0 || steps.some((s) => s === null || s.trim() === "")) {
      skippedIncomplete++;
      continue;
    }
    const solution = (steps as string[]).map(stepLine).join("\n");
    const base = q.unique_id ?? `prm800k/${hashString(q.problem).toString(16).padStart(8, "0")}`;
    const k = perProblem.get(base) ?? 0;
    perProblem.set(base, k + 1);
    problems.push({ id: `${base}#${k}`, problem: q.problem, answer: q.ground_truth_answer, solution, source });
  }
  return { problems, skippedUnfinished, skippedIncomplete };
}

/** File names `prm800k-split` reads inside its input folder (those of ../shared/data). */
export const PRM800K_SPLIT_FILES = {
  mathTrain: "math_train7500_hendrycks.jsonl",
  mathTest: "math_test5000_hendrycks.jsonl",
  math500: "math500_test.jsonl",
} as const;

/** The PRM800K split: 12,000 training problems and the 500 MATH500 test problems. */
export interface Prm800kSplit {
  train: Problem[];
  test: Problem[];
}

/**
 * Builds the PRM800K split from its three parts: train = MATH train + (MATH test minus the
 * MATH500 problems, matched on `unique_id`); test = MATH500. Every MATH500 id must be in the
 * MATH test file, or the files do not belong together and this fails.
 */
export function buildPrm800kSplit(files: { mathTrain: string; mathTest: string; math500: string }): Prm800kSplit {
  const mathTrain = readMath(files.mathTrain, "math", { requireId: true });
  const mathTest = readMath(files.mathTest, "math", { requireId: true });
  const math500 = readMath500(files.math500);
  const testIds = new Set(mathTest.map((p) => p.id));
  const absent = math500.find((p) => !testIds.has(p.id));
  if (absent) {
    throw inputError(files.math500, undefined, `MATH500 id "${absent.id}" is not in ${files.mathTest}`, "the three files must come from the same MATH release");
  }
  const held = new Set(math500.map((p) => p.id));
  const train = [...mathTrain, ...mathTest.filter((p) => !held.has(p.id))];
  const seen = new Set<string>();
  for (const p of train) {
    if (seen.has(p.id)) throw inputError(files.mathTest, undefined, `id "${p.id}" is in both MATH train and MATH test`);
    seen.add(p.id);
  }
  return { train, test: math500 };
}
