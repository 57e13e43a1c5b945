/**
 * Summary figures of a problem file: counts by level, subject and source, the kinds of answers,
 * and length percentiles (characters) of problems, solutions and answers.
 */
import type { Problem } from "./records.js";

/** Coarse answer kinds, the first matching rule wins. */
export function answerType(answer: string): string {
  const a = answer.replace(/\s+/g, "").replace(/^\$|\$$/g, "").replace(/\\[!,;: ]/g, "");
  if (a === "") return "empty";
  if (/^-?\d+$/.test(a) || /^-?\d{1,3}(,\d{3})+$/.test(a)) return "integer";
  if (/^-?\d*\.\d+$/.test(a)) return "decimal";
  if (/^-?(\\[dt]?frac\{\d+\}\{\d+\}|\d+\/\d+)$/.test(a)) return "fraction";
  if (/^-?\d+\\[dt]?frac\{\d+\}\{\d+\}$/.test(a)) return "mixed number";
  if (/\\begin\{[pb]?matrix\}/.test(a)) return "matrix";
  if (/\\sqrt|\\pi/.test(a)) return "radical / pi";
  if (/^[([].*[)\]]$/.test(a) || /\\infty|\\cup/.test(a)) return "tuple / interval";
  if (/\\text\{|^[A-Za-z]+$/.test(a)) return "text";
  return "expression";
}

/** Linear-interpolation-free percentile (nearest rank) of sorted values. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface LengthSummary {
  n: number;
  min: number;
  p10: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function lengthSummary(values: number[]): LengthSummary {
  const s = values.slice().sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? 0,
    p10: percentile(s, 10),
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? 0,
  };
}

export interface ProblemStats {
  count: number;
  byLevel: Record<string, number>;
  bySubject: Record<string, number>;
  bySource: Record<string, number>;
  answerTypes: Record<string, number>;
  withSolution: number;
  /** Characters. `promptPlusSolution` = problem + newline + solution (what a small model's context must hold). */
  lengths: { problem: LengthSummary; solution: LengthSummary; answer: LengthSummary; promptPlusSolution: LengthSummary };
}

function bump(m: Record<string, number>, k: string): void {
  m[k] = (m[k] ?? 0) + 1;
}

/** Sorted copy of a count map (numeric keys in number order, then by name). */
function sortedCounts(m: Record<string, number>): Record<string, number> {
  const keys = Object.keys(m).sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b)));
  return Object.fromEntries(keys.map((k) => [k, m[k]]));
}

export function computeStats(problems: readonly Problem[]): ProblemStats {
  const byLevel: Record<string, number> = {};
  const bySubject: Record<string, number> = {};
  const bySource: Record<string, number> = {};
  const answerTypes: Record<string, number> = {};
  const problemLen: number[] = [];
  const solutionLen: number[] = [];
  const answerLen: number[] = [];
  const both: number[] = [];
  for (const p of problems) {
    bump(byLevel, p.level === undefined ? "(none)" : String(p.level));
    bump(bySubject, p.subject ?? "(none)");
    bump(bySource, p.source ?? "(none)");
    bump(answerTypes, answerType(p.answer));
    problemLen.push(p.problem.length);
    answerLen.push(p.answer.length);
    if (p.solution !== undefined) {
      solutionLen.push(p.solution.length);
      both.push(p.problem.length + 1 + p.solution.length);
    }
  }
  return {
    count: problems.length,
    byLevel: sortedCounts(byLevel),
    bySubject: sortedCounts(bySubject),
    bySource: sortedCounts(bySource),
    answerTypes: sortedCounts(answerTypes),
    withSolution: solutionLen.length,
    lengths: {
      problem: lengthSummary(problemLen),
      solution: lengthSummary(solutionLen),
      answer: lengthSummary(answerLen),
      promptPlusSolution: lengthSummary(both),
    },
  };
}

function table(title: string, m: Record<string, number>, total: number): string {
  const rows = Object.entries(m);
  const w = Math.max(title.length, ...rows.map(([k]) => k.length));
  let s = `${title.padEnd(w)}  ${"count".padStart(6)}  ${"share".padStart(6)}\n`;
  for (const [k, v] of rows) s += `${k.padEnd(w)}  ${String(v).padStart(6)}  ${((100 * v) / Math.max(1, total)).toFixed(1).padStart(5)}%\n`;
  return s;
}

/** Length rows in a fixed-width table. */
export function formatLengthTable(rows: Array<[string, LengthSummary]>): string {
  const cols = ["n", "min", "p10", "p50", "p90", "p99", "max"] as const;
  const w = Math.max(6, ...rows.map(([k]) => k.length));
  let s = `${"length".padEnd(w)}${cols.map((c) => c.padStart(7)).join("")}\n`;
  for (const [k, v] of rows) s += `${k.padEnd(w)}${cols.map((c) => String(v[c]).padStart(7)).join("")}\n`;
  return s;
}

/** Human-readable summary. */
export function formatStats(st: ProblemStats): string {
  return [
    `problems: ${st.count} (with solution: ${st.withSolution})`,
    table("level", st.byLevel, st.count),
    table("subject", st.bySubject, st.count),
    table("source", st.bySource, st.count),
    table("answer type", st.answerTypes, st.count),
    formatLengthTable([
      ["problem", st.lengths.problem],
      ["solution", st.lengths.solution],
      ["answer", st.lengths.answer],
      ["problem+solution", st.lengths.promptPlusSolution],
    ]),
  ].join("\n");
}
