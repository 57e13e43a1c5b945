/**
 * Cluster keys: a canonical string per answer such that equivalent answers usually get the same
 * key, so grouping N answers costs N canonicalisations plus pairwise checks only between keys.
 * Values are keyed by their exact rational when they have one, else by their floating-point values
 * (9 significant digits) at the seeded probe points of their free variables.
 */
import { Budget, BudgetExceeded, DEFAULT_DEADLINE_MS, MAX_ANSWER_CHARS } from "./budget.js";
import { expandPm, freeVars, isName, prepare, probePoints, textOf } from "./compare.js";
import { DEFAULT_MODES, evalNode, exactQ, type Val } from "./evaluate.js";
import { nodeKey as nodeKeyOf, parseAnswer, type Node } from "./parse.js";
import { looseKey, prepareClean, unwrapAnswer, equivalent } from "./verify.js";

function num(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Math.abs(x) < 1e-12) return "0";
  return Number(x.toPrecision(9)).toString();
}

function valKey(v: Val): string {
  if (Array.isArray(v)) return `[${v.map((r) => r.map(valKey).join(",")).join(";")}]`;
  return Math.abs(v.im) < 1e-12 * Math.max(1, Math.abs(v.re)) ? num(v.re) : `${num(v.re)}+${num(v.im)}i`;
}

function canon(n0: Node, budget: Budget): string {
  budget.tick();
  const n = prepare(n0);
  switch (n.k) {
    case "rel": {
      if (n.ops.every((o) => o === "=")) {
        const last = n.items[n.items.length - 1];
        if (n.items.length > 2 || isName(n.items[0]) || freeVars(n).size === 0) return canon(last, budget);
        // An equation: lhs - rhs at the probe points, scaled by its first non-zero value, so that
        // rearranged and rescaled forms of one equation share a key.
        const f: Node = { k: "sub", a: n.items[0], b: last };
        const vars = freeVars(f);
        const vals = probePoints(vars).map((env) => evalNode(f, env, DEFAULT_MODES, budget));
        const first = vals.find((v) => !Array.isArray(v) && Math.hypot(v.re, v.im) > 1e-12);
        if (first === undefined || Array.isArray(first)) return `eq(${nodeKeyOf(n)})`;
        const scaled = vals.map((v) => (Array.isArray(v) ? "nan" : valKey({ re: (v.re * first.re + v.im * first.im) / (first.re ** 2 + first.im ** 2), im: (v.im * first.re - v.re * first.im) / (first.re ** 2 + first.im ** 2) })));
        return `eq[${[...vars].sort().join(",")}](${scaled.join(",")})`;
      }
      return `rel(${n.ops.join(",")}:${n.items.map((x) => canon(x, budget)).join(",")})`;
    }
    case "list": {
      const keys = new Set(n.items.flatMap((x) => (x.k === "list" ? [x] : expandPm(x))).map((x) => canon(x, budget)));
      return keys.size === 1 ? [...keys][0] : `{${[...keys].sort().join(",")}}`;
    }
    case "tuple": {
      if (n.open === "{") {
        const keys = new Set(n.items.flatMap((x) => expandPm(x)).map((x) => canon(x, budget)));
        return keys.size === 1 ? [...keys][0] : `{${[...keys].sort().join(",")}}`;
      }
      const items = n.items.map((x) => canon(x, budget)).join(",");
      return n.items.length === 2 ? `${n.open}${items}${n.close}` : `(${items})`;
    }
    case "union":
      return `${n.op}(${n.items.map((x) => canon(x, budget)).sort().join(",")})`;
    case "ratio":
      return n.items.map((x) => canon(x, budget)).join(":");
    case "text":
      return `t:${textOf(n) ?? ""}`;
    default: {
      const pm = expandPm(n);
      if (pm.length > 1) return `{${[...new Set(pm.map((x) => canon(x, budget)))].sort().join(",")}}`;
      if (n.k === "matrix" && (n.rows.length === 1 || n.rows.every((r) => r.length === 1))) {
        return `(${(n.rows.length === 1 ? n.rows[0] : n.rows.map((r) => r[0])).map((x) => canon(x, budget)).join(",")})`;
      }
      const q = exactQ(n, DEFAULT_MODES, budget);
      if (q !== null) return q.d === 1n ? `${q.n}` : `${q.n}/${q.d}`;
      const vars = freeVars(n);
      const vals = probePoints(vars).map((env) => valKey(evalNode(n, env, DEFAULT_MODES, budget)));
      return vars.size === 0 ? vals[0] : `f[${[...vars].sort().join(",")}](${vals.join(",")})`;
    }
  }
}

/**
 * A canonical key for an answer: equivalent answers usually share it (`1/2`, `0.5`, `\frac{2}{4}`
 * give `1/2`; `x = 5` gives `5`). Unparsable answers are keyed by their loose string form.
 * Never throws.
 */
export function clusterKey(answer: string): string {
  if (typeof answer !== "string") return "s:";
  try {
    const u = unwrapAnswer(answer);
    if (u.length > MAX_ANSWER_CHARS) return `s:${looseKey(u).slice(0, 200)}`;
    const c = prepareClean(u);
    const budget = new Budget(200_000, DEFAULT_DEADLINE_MS);
    try {
      return canon(parseAnswer(c, budget), budget);
    } catch (err) {
      if (err instanceof BudgetExceeded) return `s:${looseKey(c)}`;
      return `s:${looseKey(c)}`;
    }
  } catch {
    return `s:${typeof answer === "string" ? answer.slice(0, 200) : ""}`;
  }
}

/** Options of {@link clusterAnswers}. */
export interface ClusterOptions {
  /** Merge clusters whose representatives are `equivalent` though their keys differ. Defaults to true. */
  mergeByEquivalence?: boolean;
}

/**
 * Groups answers into clusters of equivalent ones; returns the clusters as lists of indices, in
 * order of their first member. Costs N cluster keys plus one `equivalent` call per pair of distinct
 * keys (not per pair of answers).
 */
export function clusterAnswers(answers: readonly string[], options: ClusterOptions = {}): number[][] {
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < answers.length; i++) {
    const k = clusterKey(answers[i]);
    const list = byKey.get(k);
    if (list) list.push(i);
    else byKey.set(k, [i]);
  }
  const groups = [...byKey.values()];
  if (options.mergeByEquivalence ?? true) {
    for (let i = 0; i < groups.length; i++) {
      for (let j = groups.length - 1; j > i; j--) {
        if (equivalent(answers[groups[i][0]], answers[groups[j][0]])) {
          groups[i].push(...groups[j]);
          groups.splice(j, 1);
        }
      }
    }
  }
  for (const g of groups) g.sort((a, b) => a - b);
  return groups.sort((a, b) => a[0] - b[0]);
}
