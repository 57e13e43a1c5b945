/**
 * SFT records from problems: prompt = the plain generator prompt, completion = the solution,
 * whose final answer is boxed.
 */
import type { Problem, SftExample } from "./records.js";
import { findLastBoxed } from "./boxed.js";
import { parseRationalLatex } from "./rational.js";
import { generatorPrompt, type GeneratorPromptOptions } from "./prompts.js";
import type { GeneratorFormat } from "./chat-prompt.js";

export interface SftOptions {
  /** Prompt options (template, exemplars). Defaults to the plain generator prompt. */
  prompt?: GeneratorPromptOptions;
  /**
   * A resolved prompt format (resolveGeneratorFormat): its prompt replaces the plain one, its
   * end-of-turn text closes each completion, and records of a format with special tokens carry
   * `special_tokens: true`. Defaults to none (the plain prompt of `prompt`).
   */
  format?: Pick<GeneratorFormat, "prompt" | "endOfTurn" | "specialTokens">;
}

/** What toSftExamples did, for the command's summary. */
export interface SftResult {
  examples: SftExample[];
  /** Ids of problems without a solution (left out). */
  noSolution: string[];
  /** Ids whose solution had no `\boxed{}`; a `\boxed{answer}` line was appended. */
  boxAppended: string[];
  /**
   * Ids whose last boxed answer differs from `answer` as a string and is not the same number in
   * another form (kept as written: the solution is the author's, the grader decides).
   */
  boxDiffers: string[];
}

/** Same answer text up to spaces, `$` and `\dfrac`, or the same rational value. */
function sameAnswer(a: string, b: string): boolean {
  const norm = (s: string): string => s.replace(/\s+|\$/g, "").replace(/\\dfrac/g, "\\frac");
  if (norm(a) === norm(b)) return true;
  const x = parseRationalLatex(a);
  const y = parseRationalLatex(b);
  return x !== null && y !== null && x.equals(y);
}

/**
 * The completion for a problem with a solution: the solution (trailing space trimmed); when it
 * has no `\boxed{}` at all, a final line `\boxed{answer}` is appended so every completion ends
 * its reasoning with a boxed final answer.
 */
export function sftCompletion(p: Problem & { solution: string }): { completion: string; appended: boolean; differs: boolean } {
  const sol = p.solution.trimEnd();
  const box = findLastBoxed(sol);
  if (!box) return { completion: `${sol}\n\\boxed{${p.answer}}`, appended: true, differs: false };
  return { completion: sol, appended: false, differs: !sameAnswer(box.content, p.answer) };
}

/** Builds `{prompt, completion, id}` records; problems without a solution are left out and listed. */
export function toSftExamples(problems: readonly Problem[], options: SftOptions = {}): SftResult {
  const res: SftResult = { examples: [], noSolution: [], boxAppended: [], boxDiffers: [] };
  for (const p of problems) {
    if (p.solution === undefined || p.solution.trim() === "") {
      res.noSolution.push(p.id);
      continue;
    }
    const c = sftCompletion({ ...p, solution: p.solution });
    if (c.appended) res.boxAppended.push(p.id);
    if (c.differs) res.boxDiffers.push(p.id);
    const f = options.format;
    if (f === undefined) res.examples.push({ prompt: generatorPrompt(p.problem, options.prompt), completion: c.completion, id: p.id });
    else res.examples.push({ prompt: f.prompt(p.problem), completion: c.completion + f.endOfTurn, id: p.id, ...(f.specialTokens ? { special_tokens: true } : {}) });
  }
  return res;
}
