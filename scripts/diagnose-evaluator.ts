/**
 * Where does an evaluator (or a likelihood baseline) tell right from wrong, on a run folder of the
 * synthetic world? Within-problem AUC of the evaluator's scores, of the generator's sequence and
 * per-token likelihood, and of its minimum token probability (and of the base model as the
 * evaluator and the line evaluator, where the run has them), per skill and per kind of first
 * wrong line of the incorrect sample (an arithmetic slip in a derivation or in a `check:` line: a
 * line whose equation is false; or no false line: a wrong choice, a copy or a format error).
 * Lines of the `digits` skill are judged by the world's own line grammar (lineHolds).
 *
 *   npx tsx scripts/diagnose-evaluator.ts RUN_DIR [--generator detailed]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LocalModel } from "../src/sample/local.js";
import { generatorPrompt } from "../src/data/prompts.js";
import { lineHolds } from "../src/data/synth/lines.js";

const runDir = process.argv[2];
if (runDir === undefined) throw new Error("usage: diagnose-evaluator.ts RUN_DIR [--generator NAME]");
const gi = process.argv.indexOf("--generator");
const gen = gi >= 0 ? process.argv[gi + 1] : "detailed";

interface Row {
  problem_id: string;
  sample: number;
  text: string;
  greedy?: boolean;
  correct?: boolean;
  score?: number;
}
const jsonl = <T>(p: string): T[] =>
  readFileSync(p, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);

// ---- a checker of the arithmetic in one line ----------------------------------------------
type Q = { n: bigint; d: bigint };
const gcdB = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};
const q = (n: bigint, d = 1n): Q => {
  if (d === 0n) throw new Error("division by zero");
  const g = gcdB(n, d) || 1n;
  const s = d < 0n ? -1n : 1n;
  return { n: (s * n) / g, d: (s * d) / g };
};

/** Evaluates + - * / ( ) over integers, gcd(a,b), lcm(a,b), a mod b; throws on anything else. */
function evaluate(src: string): Q {
  const s = src.replace(/\s+/g, "");
  let i = 0;
  const peek = (): string => s[i] ?? "";
  const expr = (): Q => {
    let v = term();
    while (peek() === "+" || peek() === "-") {
      const op = s[i++];
      const w = term();
      v = op === "+" ? q(v.n * w.d + w.n * v.d, v.d * w.d) : q(v.n * w.d - w.n * v.d, v.d * w.d);
    }
    return v;
  };
  const term = (): Q => {
    let v = unary();
    for (;;) {
      if (peek() === "*" || peek() === "/") {
        const op = s[i++];
        const w = unary();
        v = op === "*" ? q(v.n * w.n, v.d * w.d) : q(v.n * w.d, v.d * w.n);
      } else if (s.startsWith("mod", i)) {
        i += 3;
        const w = unary();
        if (v.d !== 1n || w.d !== 1n || w.n === 0n) throw new Error("mod");
        v = q(((v.n % w.n) + w.n) % w.n);
      } else return v;
    }
  };
  const unary = (): Q => {
    if (peek() === "-") {
      i++;
      const v = unary();
      return q(-v.n, v.d);
    }
    return atom();
  };
  const atom = (): Q => {
    for (const f of ["gcd", "lcm"]) {
      if (s.startsWith(`${f}(`, i)) {
        i += f.length + 1;
        const a = expr();
        if (s[i++] !== ",") throw new Error(",");
        const b = expr();
        if (s[i++] !== ")") throw new Error(")");
        if (a.d !== 1n || b.d !== 1n) throw new Error("gcd of fractions");
        const g = gcdB(a.n, b.n);
        return f === "gcd" ? q(g) : q(g === 0n ? 0n : (a.n * b.n) / g);
      }
    }
    if (peek() === "(") {
      i++;
      const v = expr();
      if (s[i++] !== ")") throw new Error(")");
      return v;
    }
    const m = /^\d+/.exec(s.slice(i));
    if (m === null) throw new Error(`unexpected ${peek()}`);
    i += m[0].length;
    return q(BigInt(m[0]));
  };
  const v = expr();
  if (i !== s.length) throw new Error("trailing");
  return v;
}

/** true: every checkable equation in the line holds; false: one does not; null: nothing checkable. */
function checkLine(line: string, previous: string | undefined): boolean | null {
  let verdict: boolean | null = null;
  for (const clause of line.split(/,\s*/)) {
    let c = clause.replace(/^so\s+/, "").replace(/^\\boxed\{.*\}$/, "");
    if (c.startsWith("=") && previous !== undefined) c = previous + c;
    const sides = c.split("=");
    if (sides.length < 2) continue;
    let values: Q[];
    try {
      values = sides.map(evaluate);
    } catch {
      continue;
    }
    const ok = values.every((v) => v.n === values[0].n && v.d === values[0].d);
    if (!ok) return false;
    verdict = true;
  }
  return verdict;
}

type Kind = "slip in a derivation" | "slip in a check line" | "no false line";
/** The kind of the first wrong line of an incorrect sample; `world` judges lines by lineHolds. */
function kindOf(text: string, world: boolean): Kind {
  const lines = text.split("\n");
  let prevExpr: string | undefined;
  for (const line of lines) {
    if (line.startsWith("\\boxed")) break;
    const first = line.split(/,\s*/)[0];
    const slip = world ? !lineHolds(line) : checkLine(line, prevExpr) === false;
    if (slip) return line.startsWith("check") ? "slip in a check line" : "slip in a derivation";
    // A chained `=...` line continues the previous line's last expression.
    const parts = first.split("=");
    prevExpr = first.startsWith("=") ? parts[parts.length - 1] : parts[0];
  }
  return "no false line";
}

// ---- the run folder -------------------------------------------------------------------------
const problems = new Map(jsonl<{ id: string; problem: string; subject?: string }>(join(runDir, "data/test.jsonl")).map((p) => [p.id, p]));
const key = (r: Row): string => `${r.problem_id}#${r.sample}#${r.greedy === true}`;
const evaluator = jsonl<Row>(join(runDir, `score/${gen}/samples.jsonl`)).filter((r) => r.greedy !== true);
const likelihood = new Map(jsonl<Row>(join(runDir, `score/${gen}/likelihood.jsonl`)).map((r) => [key(r), r.score ?? NaN]));

const optional = (name: string): Map<string, number> | undefined => {
  const file = join(runDir, `score/${gen}/${name}.jsonl`);
  return existsSync(file) ? new Map(jsonl<Row>(file).map((r) => [key(r), r.score ?? NaN])) : undefined;
};
const tokenFile = optional("likelihood-token");
const minFile = optional("likelihood-min");
const perToken = new Map<string, { mean: number; min: number }>();
if (tokenFile !== undefined && minFile !== undefined) {
  // The recipe's own baseline files (probabilities); their logs rank the same.
  for (const r of evaluator) perToken.set(key(r), { mean: tokenFile.get(key(r)) ?? NaN, min: minFile.get(key(r)) ?? NaN });
} else {
  const model = await LocalModel.open(join(runDir, `sft/${gen}/model.gguf`), { threads: 1, parallel: 8, contextSize: 256 });
  await Promise.all(
    evaluator.map(async (r) => {
      const lp = await model.continuationLogprobs(generatorPrompt(problems.get(r.problem_id)!.problem), r.text);
      const n = Math.max(1, lp.logprobs.length);
      perToken.set(key(r), { mean: lp.total / n, min: lp.logprobs.length > 0 ? Math.min(...lp.logprobs) : 0 });
    }),
  );
  await model.close();
}

const scorers: Record<string, (r: Row) => number> = {
  evaluator: (r) => r.score ?? NaN,
  "sequence likelihood": (r) => likelihood.get(key(r)) ?? NaN,
  "per-token likelihood": (r) => perToken.get(key(r))!.mean,
  "min token probability": (r) => perToken.get(key(r))!.min,
};
for (const [name, file] of [["base model as evaluator", "base-evaluator"], ["line evaluator", "line-evaluator"]] as const) {
  const scores = optional(file);
  if (scores !== undefined) scorers[name] = (r) => scores.get(key(r)) ?? NaN;
}

/** Within-problem AUC: correct against incorrect samples of the same problem; ties count 1/2. */
function auc(rows: Row[], score: (r: Row) => number, keepWrong: (r: Row) => boolean): { auc: number; pairs: number } {
  const byProblem = new Map<string, Row[]>();
  for (const r of rows) byProblem.set(r.problem_id, [...(byProblem.get(r.problem_id) ?? []), r]);
  let wins = 0;
  let pairs = 0;
  for (const rs of byProblem.values()) {
    const right = rs.filter((r) => r.correct === true).map(score);
    const wrong = rs.filter((r) => r.correct === false && keepWrong(r)).map(score);
    for (const a of right)
      for (const b of wrong) {
        pairs++;
        wins += a > b ? 1 : a === b ? 0.5 : 0;
      }
  }
  return { auc: pairs > 0 ? wins / pairs : NaN, pairs };
}

const kinds = new Map(evaluator.filter((r) => r.correct === false).map((r) => [key(r), kindOf(r.text, problems.get(r.problem_id)?.subject?.startsWith("digits") === true)]));
const groups: Array<[string, Row[], (r: Row) => boolean]> = [["all", evaluator, () => true]];
for (const skill of [...new Set([...problems.values()].map((p) => p.subject ?? "?"))].sort()) {
  groups.push([`skill ${skill}`, evaluator.filter((r) => problems.get(r.problem_id)?.subject === skill), () => true]);
}
for (const kind of ["slip in a derivation", "slip in a check line", "no false line"]) groups.push([`wrong: ${kind}`, evaluator, (r) => kinds.get(key(r)) === kind]);

const counts = [...kinds.values()].reduce<Record<string, number>>((a, k) => ({ ...a, [k]: (a[k] ?? 0) + 1 }), {});
console.log(`${runDir}, generator ${gen}: ${evaluator.length} samples, ${kinds.size} incorrect (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")})`);
const names = Object.keys(scorers);
console.log(`| group | pairs | ${names.join(" | ")} |`);
console.log(`|---|---:|${names.map(() => "---:").join("|")}|`);
for (const [label, rows, keep] of groups) {
  const cells = names.map((n) => auc(rows, scorers[n], keep));
  console.log(`| ${label} | ${cells[0].pairs} | ${cells.map((c) => (Number.isNaN(c.auc) ? "–" : c.auc.toFixed(3))).join(" | ")} |`);
}
