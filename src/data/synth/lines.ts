/**
 * Line-level truth in the synthetic world. Every line of a solution of the world is a chain of
 * arithmetic statements over integers (`93*7=90*7+3*7=630+21=651`, `653-651=2`, `check: 2<7`,
 * `5+443=448, so x=443`), so whether a line holds can be decided exactly. This labels each line of
 * a model's own samples for the dense per-line evaluator labels (docs/evaluator.md): the world
 * plays the part that human step ratings play in PRM800K.
 */
import type { SftExample } from "../records.js";
import { lineLabelExample } from "../line-labels.js";
import type { SynthItem } from "./world.js";

/** Integer value of an expression of integers, `+ - * /` (exact division only) and parentheses; null when it is not one. */
export function arithmeticValue(expr: string): number | null {
  let i = 0;
  let ok = true;
  const peek = (): string => expr[i] ?? "";
  const atom = (): number => {
    if (peek() === "(") {
      i++;
      const v = sum();
      if (expr[i++] !== ")") ok = false;
      return v;
    }
    const m = /^\d+/.exec(expr.slice(i));
    if (!m) {
      ok = false;
      return 0;
    }
    i += m[0].length;
    return Number(m[0]);
  };
  const prod = (): number => {
    let v = atom();
    while (ok && (peek() === "*" || peek() === "/")) {
      const div = expr[i++] === "/";
      const w = atom();
      if (!div) v *= w;
      else if (w !== 0 && v % w === 0) v /= w;
      else ok = false;
    }
    return v;
  };
  const sum = (): number => {
    let v = prod();
    while (ok && (peek() === "+" || peek() === "-")) v = expr[i++] === "+" ? v + prod() : v - prod();
    return v;
  };
  // A negative number alone: a difference that came out negative (`6-8=-2`).
  if (/^-\d+$/.test(expr)) return Number(expr);
  const v = sum();
  return ok && i === expr.length ? v : null;
}

/**
 * Whether every arithmetic statement of a line holds: `a=b=c` chains, `a<b` comparisons, with a
 * `check: ` head and a `, so x=N` tail. Statements that only name a value (`x=12`) or restate the
 * problem (`x*(x-39)=432`) hold. A line that is not in the world's grammar does not hold.
 */
export function lineHolds(line: string): boolean {
  const body = line.replace(/^check: /, "").replace(/, so x=\d+$/, "");
  if (body.length === 0) return false;
  const parts = body.split(", ");
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    // A failed try of the digits-search skill: `b=9+2=11, not a digit`, `c=27/4, not a digit`,
    // `check: a-c=7-1=6, not 4`; the statement before it must hold and its value fail.
    const next = parts[p + 1];
    if (next !== undefined && /^not (a digit|-?\d+)$/.test(next)) {
      const named = /^[a-e](?:[+*-][a-e])?=(.+)$/.exec(part);
      if (!named) return false;
      const sides = named[1].split("=");
      if (sides.length > 2 || (sides.length === 1 && next !== "not a digit")) return false;
      const values = sides.map(arithmeticValue);
      if (sides.length === 2 && (values[0] === null || values[0] !== values[1])) return false;
      const v = values[values.length - 1];
      if (next === "not a digit" ? v !== null && v >= 0 && v <= 9 && Number.isInteger(v) : v === null || v === Number(next.slice(4))) return false;
      p++;
      continue;
    }
    if (/^[xy]=\d+$/.test(part) || /^x\*\(x[+-]\d+\)=\d+$/.test(part)) continue;
    // The digits skill names a digit or an equation of two digits: `a=4`, `b=9-4=5`, `a+c=4+7=11`.
    const named = /^[a-e](?:[+*-][a-e])?=(.+)$/.exec(part);
    if (named && /^\d+$/.test(named[1]) && !/[+*-]/.test(part.split("=")[0])) continue;
    if (/^not /.test(part)) return false;
    const chain = named ? named[1] : part;
    const cmp = chain.split("<");
    if (cmp.length === 2) {
      const [a, b] = cmp.map(arithmeticValue);
      if (a === null || b === null || !(a < b)) return false;
      continue;
    }
    if (cmp.length > 2) return false;
    const sides = chain.split("=").map(arithmeticValue);
    if (sides.length < 2 || sides.some((v) => v === null || v !== sides[0])) return false;
  }
  return true;
}

/**
 * Per-line labels of a solution of the world: each line before the last holds (lineHolds), and
 * the last line (the one with `\boxed{}`) is labelled by whether the final answer is right, so an
 * honestly wrong guess whose every line holds is still caught at its answer.
 */
export function worldLineLabels(solution: string, correct: boolean): boolean[] {
  const lines = solution.split("\n");
  return lines.map((line, i) => (i === lines.length - 1 ? correct : lineHolds(line)));
}

/** A graded sample of the world with its problem's text (the line evaluator's own-sample data). */
export interface GradedWorldSample {
  problem: string;
  text: string;
  correct: boolean;
  id: string;
}

/**
 * The line evaluator's training examples in the world: each graded sample of the generator with
 * its lines labelled by worldLineLabels, then each world item's detailed solution (every line
 * true) and its negatives (an honestly wrong guess, or a slip carried through). `prompt` writes the
 * generator prompt of a problem.
 */
export function worldLineExamples(own: readonly GradedWorldSample[], items: readonly SynthItem[], prompt: (problem: string) => string): SftExample[] {
  const out: SftExample[] = [];
  for (const s of own) out.push(lineLabelExample(prompt(s.problem), s.text, worldLineLabels(s.text, s.correct), s.id));
  for (const it of items) {
    out.push(lineLabelExample(prompt(it.problem), it.detailed, worldLineLabels(it.detailed, true), `${it.id}/lines/detailed`));
    it.negatives.forEach((n, i) => out.push(lineLabelExample(prompt(it.problem), n, worldLineLabels(n, false), `${it.id}/lines/wrong${i}`)));
  }
  return out;
}
