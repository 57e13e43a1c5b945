/**
 * Mathematical equivalence of two parsed answers. Structure first (sets, tuples, intervals,
 * relations, matrices, text), then values: exact rationals when both sides are rational, otherwise
 * complex floating point at seeded random probe points for the free variables.
 */
import { Rng, hashString } from "../util/rng.js";
import { Budget, Unparsable } from "./budget.js";
import { closeVal, DEFAULT_MODES, dyadicQ, evalNode, exactQ, finiteVal, type C, type Modes, type Q, type Val } from "./numeric.js";
import { children, nodeKey, type Node } from "./parse.js";

/**
 * Relative tolerance of floating-point comparisons. It only absorbs the rounding error of our own
 * double-precision evaluation (where a side has no exact rational value): exact sides are compared
 * exactly, never with a tolerance.
 */
export const REL_TOL = 1e-12;
/**
 * Tolerance when a side is written with a decimal fraction and the other side is known only in
 * floating point (`\sqrt2` / `1.4142135624`): the decimal must agree to double precision (a
 * program's print-out); a rounded decimal is not an irrational value (against an exact rational,
 * see {@link LONG_DECIMAL_DIGITS}).
 */
export const DECIMAL_TOL = 4e-15;
/** Probe points per comparison of expressions with free variables. */
export const PROBES = 5;
/**
 * Most elements a set / list comparison handles. Larger answers are not compared at all (reason
 * `unparsable`): comparing a prefix could declare different sets equal.
 */
export const MAX_SET = 200;
/** Most values a `\pm` expression expands to; more is `unparsable`, never a truncated expansion. */
export const MAX_PM_EXPANSIONS = 64;

const CONSTANT_SYMS = new Set(["e", "i"]);

/** Free variable names of a node (e and i are constants). */
export function freeVars(n: Node, out: Set<string> = new Set()): Set<string> {
  if (n.k === "sym" && !CONSTANT_SYMS.has(n.name)) out.add(n.name);
  for (const c of children(n)) freeVars(c, out);
  return out;
}

/** Kinds whose sub-nodes are terms of one value: operators and function arguments. */
const TERM_KINDS: ReadonlySet<Node["k"]> = new Set(["add", "sub", "mul", "div", "pow", "neg", "pct", "deg", "fn"]);
/** Kinds {@link has} looks into: terms, both sides of a ±, and matrix entries (not lists, tuples or relations). */
const HAS_KINDS: ReadonlySet<Node["k"]> = new Set([...TERM_KINDS, "pm", "matrix"]);

function has(n: Node, kind: Node["k"]): boolean {
  if (n.k === kind) return true;
  return HAS_KINDS.has(n.k) && children(n).some((c) => has(c, kind));
}

/** Whether a literal has a decimal fraction (`0.5`, `1.4142`): a value written in decimal. */
export function hasDecimal(n: Node): boolean {
  if (n.k === "num") return /\.\d/.test(n.v);
  return TERM_KINDS.has(n.k) && children(n).some(hasDecimal);
}

/** Significant digits written in a decimal literal (`0.00120` has 3), 0 for an integer literal. */
function sigDigits(v: string): number {
  return v.includes(".") ? v.replace(/^[0.]+/, "").replace(".", "").length : 0;
}

/**
 * Whether a numeric literal has at least `min` significant digits after a decimal point: 15 marks
 * a floating-point print-out, LONG_DECIMAL_DIGITS a decimal that may stand for an exact value.
 */
function hasLongDecimal(n: Node, min = 15): boolean {
  if (n.k === "num") return sigDigits(n.v) >= min;
  return TERM_KINDS.has(n.k) && children(n).some((c) => hasLongDecimal(c, min));
}

/**
 * Fewest significant digits a decimal must give to stand for an exact value it does not equal
 * (`0.333333` for 1/3): see {@link decimalAgrees}.
 */
export const LONG_DECIMAL_DIGITS = 6;

/** A value written as one decimal literal: `digits` / 10^`places`, with its significant digits. */
interface WrittenDecimal {
  digits: bigint;
  places: number;
  sig: number;
}

/**
 * The decimal an answer is written as: a literal with a decimal point (`-0.333333`), optionally
 * times an integer power of ten (`2.3148\times10^{-3}`, `2.3148e-3`) or as a percentage when
 * percentages are read as fractions. Null for anything else.
 */
function writtenDecimal(n: Node, pctScale: boolean): WrittenDecimal | null {
  switch (n.k) {
    case "num": {
      const m = /^(\d*)\.(\d+)$/.exec(n.v);
      return m ? { digits: BigInt((m[1] || "0") + m[2]), places: m[2].length, sig: sigDigits(n.v) } : null;
    }
    case "neg": {
      const d = writtenDecimal(n.a, pctScale);
      return d === null ? null : { ...d, digits: -d.digits };
    }
    case "pct": {
      const d = writtenDecimal(n.a, pctScale);
      return d === null || !pctScale ? d : { ...d, places: d.places + 2 };
    }
    case "mul": {
      const d = writtenDecimal(n.a, pctScale);
      const p = n.b;
      if (d === null || p.k !== "pow" || p.a.k !== "num" || p.a.v !== "10") return null;
      const e = p.b.k === "num" ? p.b.v : p.b.k === "neg" && p.b.a.k === "num" ? `-${p.b.a.v}` : "";
      if (!/^-?\d{1,3}$/.test(e)) return null;
      const places = d.places - Number(e);
      return places >= 0 ? { ...d, places } : { ...d, digits: d.digits * 10n ** BigInt(-places), places: 0 };
    }
    default:
      return null;
  }
}

/**
 * Whether a decimal agrees with an exact value to every digit it gives: it is the value rounded
 * (half away from zero) or truncated (toward zero) to the decimal's last written digit, and it
 * gives at least LONG_DECIMAL_DIGITS significant digits. `0.333333` and `0.333333333333` agree
 * with 1/3, `0.666667` and `0.666666` with 2/3, `2.314814814815\times10^{-3}` with 1/432; `0.33333`
 * (5 digits) and `0.333334` do not.
 */
function decimalAgrees(d: WrittenDecimal, v: Q): boolean {
  if (d.sig < LONG_DECIMAL_DIGITS || d.places > 4000) return false;
  const scaled = v.n * 10n ** BigInt(d.places);
  const trunc = scaled / v.d;
  const away = (2n * (scaled < 0n ? -scaled : scaled) + v.d) / (2n * v.d);
  return d.digits === trunc || d.digits === (scaled < 0n ? -away : away);
}

/** Expands ± into its two values (recursively, capped). A node without ± expands to itself. */
export function expandPm(n: Node): Node[] {
  switch (n.k) {
    case "pm": {
      const bs = expandPm(n.b);
      const as = n.a === null ? [null] : expandPm(n.a);
      const out: Node[] = [];
      for (const a of as)
        for (const b of bs) {
          const plus: Node = a === null ? b : { k: "add", a, b };
          const minus: Node = a === null ? { k: "neg", a: b } : { k: "sub", a, b };
          if (n.minusFirst) out.push(minus, plus);
          else out.push(plus, minus);
        }
      if (out.length > MAX_PM_EXPANSIONS) throw new Unparsable("too many \\pm values");
      return out;
    }
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow": {
      if (!has(n, "pm")) return [n];
      const out: Node[] = [];
      for (const a of expandPm(n.a)) for (const b of expandPm(n.b)) out.push({ k: n.k, a, b } as Node);
      if (out.length > MAX_PM_EXPANSIONS) throw new Unparsable("too many \\pm values");
      return out;
    }
    case "neg":
      return has(n, "pm") ? expandPm(n.a).map((a) => ({ k: "neg", a }) as Node) : [n];
    case "fn":
      if (!has(n, "pm") || n.args.length !== 1) return [n];
      return expandPm(n.args[0]).map((a) => ({ k: "fn", name: n.name, args: [a] }) as Node);
    default:
      return [n];
  }
}

/** Whether a node names a quantity rather than giving a value: `x`, `a_3`, `f(x)`, `|AB|`, `NO/BO`, `(p,q)`. */
export function isName(n: Node): boolean {
  switch (n.k) {
    case "sym":
    case "text":
      return true;
    case "mul":
    case "div":
      return isName(n.a) && isName(n.b);
    case "fn":
      return n.name === "abs" && isName(n.args[0]);
    case "ratio":
    case "tuple":
      return n.items.length > 0 && n.items.every(isName);
    case "pow":
      return isName(n.a) && n.b.k === "sym";
    default:
      return false;
  }
}

/** Mirror of an inequality operator. */
const FLIP: Record<string, string> = { "<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "!=": "!=", "~": "~" };

/**
 * A flat list of assignments whose names repeat in blocks (`p=5, q=2 and p=7, q=2`: "and" or a
 * comma where `;` would separate the solutions) is that list of solutions, one group per block,
 * as `p=5,q=2;p=7,q=2` is parsed. Any other list is returned as it is.
 */
function groupAssignments(n: Extract<Node, { k: "list" }>): Node {
  if (n.items.length < 4) return n;
  const names: string[] = [];
  for (const it of n.items) {
    if (it.k !== "rel" || it.ops.length !== 1 || it.ops[0] !== "=" || !isName(it.items[0])) return n;
    names.push(nodeKey(it.items[0]));
  }
  const m = names.indexOf(names[0], 1);
  if (m < 2 || names.length % m !== 0) return n;
  const first = new Set(names.slice(0, m));
  if (first.size !== m) return n;
  const groups: Node[] = [];
  for (let i = 0; i < names.length; i += m) {
    const block = new Set(names.slice(i, i + m));
    if (block.size !== m || [...block].some((x) => !first.has(x))) return n;
    groups.push({ k: "list", items: n.items.slice(i, i + m), groups: false });
  }
  return { k: "list", items: groups, groups: true };
}

/**
 * Canonical form: trailing approximations dropped, `x \in S` read as S, a list of assignments
 * grouped into solutions.
 */
export function prepare(n: Node): Node {
  if (n.k === "list") return groupAssignments({ ...n, items: n.items.map(prepare) });
  if (n.k !== "rel") return n;
  let ops = n.ops;
  let items = n.items;
  const approx = ops.indexOf("~");
  if (approx > 0) {
    // "x = 1/3 ≈ 0.33": the exact value is the answer; the approximation is commentary.
    ops = ops.slice(0, approx);
    items = items.slice(0, approx + 1);
  } else if (approx === 0 && ops.length === 1) ops = ["="];
  if (ops.length === 1 && ops[0] === "in" && isName(items[0])) return prepare(items[1]);
  if (ops.length === 0) return items[0];
  return { k: "rel", ops, items };
}

const probeCache = new Map<string, Array<Map<string, C>>>();
const exactEnvs = new WeakMap<Map<string, C>, Map<string, Q>>();

/** The exact (dyadic rational) coordinates of a probe point. */
export function exactEnv(env: Map<string, C>): Map<string, Q> {
  let q = exactEnvs.get(env);
  if (q === undefined) {
    q = new Map();
    for (const [k, v] of env) {
      const x = v.im === 0 ? dyadicQ(v.re) : null;
      if (x !== null) q.set(k, x);
    }
    exactEnvs.set(env, q);
  }
  return q;
}

/** Probe environments for a set of variables (seeded by the variable names, so reproducible). */
export function probePoints(vars: Set<string>): Array<Map<string, C>> {
  const names = [...vars].sort();
  const key = names.join("\u0000");
  const hit = probeCache.get(key);
  if (hit) return hit;
  const rng = new Rng(hashString(key) ^ 0x5eed);
  const envs: Array<Map<string, C>> = [];
  const count = names.length === 0 ? 1 : PROBES;
  for (let k = 0; k < count; k++) {
    const env = new Map<string, C>();
    // Both signs (|x| and x differ only for negatives), away from 0 (poles of 1/x, log x).
    // Multiples of 1/1024, exact in binary floating point, so that polynomial and rational
    // expressions are also evaluated exactly at the same points (see exactEnv).
    for (const v of names) {
      const m = Math.round((0.3 + 2.1 * rng.next()) * 1024) / 1024;
      env.set(v, { re: rng.next() < 0.5 ? -m : m, im: 0 });
    }
    envs.push(env);
  }
  if (probeCache.size > 1000) probeCache.clear();
  probeCache.set(key, envs);
  return envs;
}

/** The comparison engine for one verify call (holds the budget and probe points). */
export class Comparer {
  constructor(
    private readonly budget: Budget,
    /** Accept a decimal of 15+ significant digits that agrees with an exact value to double precision. */
    private readonly floatPrintouts = true,
  ) {}

  private probes(vars: Set<string>): Array<Map<string, C>> {
    return probePoints(vars);
  }

  /** Top-level equivalence of two answers (gold first). */
  equal(a: Node, b: Node): boolean {
    return this.eq(prepare(a), prepare(b));
  }

  private eq(a: Node, b: Node): boolean {
    this.budget.tick();
    // Identical (normalised) parse trees are the same answer, also when they have no value.
    if (a.k === b.k && nodeKey(a) === nodeKey(b)) return true;
    if (a.k === "text" || b.k === "text") return textEq(a, b);
    if (isUnionLike(a) || isUnionLike(b)) {
      // Unions of intervals (and "x < -2 or x > 3") compared as sets of reals: merged, sorted.
      const ia = this.intervalSet(a);
      const ib = ia === null ? null : this.intervalSet(b);
      if (ia !== null && ib !== null) return sameIntervals(ia, ib);
    }
    if (a.k === "rel" || b.k === "rel") return this.relEq(a, b);

    const sa = asSet(a);
    const sb = asSet(b);
    if (sa !== null || sb !== null) {
      if (sa !== null && sb !== null) {
        if (a.k === "list" && b.k === "tuple" && b.open !== "{") return this.ordered(a.items, b.items);
        if (b.k === "list" && a.k === "tuple" && a.open !== "{") return this.ordered(a.items, b.items);
        return this.setEq(sa, sb);
      }
      const one = (sa ?? sb) as Node[];
      const other = sa !== null ? b : a;
      if (other.k === "tuple" && (other.open === "(" || other.open === "[")) {
        const list = sa !== null ? a : b;
        if (list.k === "list") return this.ordered(list.items, other.items);
      }
      const uniq = this.dedupe(one.map(prepare));
      if (uniq.length === 1) return this.eq(sa !== null ? uniq[0] : a, sa !== null ? b : uniq[0]);
      return false;
    }
    if (a.k === "union" || b.k === "union") {
      if (a.k === "union" && b.k === "union" && a.op === b.op) return this.setEq(a.items, b.items);
      if (a.k === "union" && a.items.length === 1) return this.eq(a.items[0], b);
      if (b.k === "union" && b.items.length === 1) return this.eq(a, b.items[0]);
      return false;
    }
    if (a.k === "tuple" || b.k === "tuple") return this.tupleEq(a, b);
    if (a.k === "ratio" || b.k === "ratio") {
      if (a.k === "ratio" && b.k === "ratio") return this.ordered(a.items, b.items);
      return false;
    }
    if (a.k === "matrix" && b.k === "matrix" && a.rows.length !== b.rows.length) {
      // A row and a column vector both equal the tuple of their entries, so they equal each other.
      const va = vectorItems(a);
      const vb = vectorItems(b);
      if (va !== null && vb !== null) return this.ordered(va.items, vb.items);
    }
    return this.scalarEq(a, b);
  }

  /**
   * An answer read as a union of real intervals with exact endpoints, merged and sorted: an
   * interval, a union of intervals and point sets, an inequality linear in one variable, or a list
   * of such inequalities. Null when it is not one or an endpoint is not exactly known.
   */
  intervalSet(n: Node): Interval[] | null {
    const raw = this.rawIntervals(n, 0);
    return raw === null ? null : mergeIntervals(raw);
  }

  private rawIntervals(n: Node, depth: number): Interval[] | null {
    this.budget.tick();
    if (depth > 20) return null;
    if (n.k === "union" && n.op === "cup") {
      const out: Interval[] = [];
      for (const it of n.items) {
        const p = this.rawIntervals(it, depth + 1);
        if (p === null) return null;
        out.push(...p);
      }
      return out;
    }
    if (n.k === "list" && n.items.length > 1 && n.items.every(isInequality)) {
      const vars = freeVars(n);
      if (vars.size !== 1) return null;
      // Read as a union only when the solution sets are pairwise disjoint ("x < -2 or x > 3"):
      // for overlapping ones ("x > 1 and x < 4") the connective, which the list no longer
      // shows, may mean the intersection.
      const out: Interval[] = [];
      for (const it of n.items) {
        const p = this.rawIntervals(it, depth + 1);
        if (p === null) return null;
        for (const q of p) for (const r of out) if (overlap(q, r)) return null;
        out.push(...p);
      }
      return out;
    }
    if (isInequality(n)) {
      const iv = this.toInterval(n as Extract<Node, { k: "rel" }>);
      return iv === null ? null : this.rawIntervals(iv, depth + 1);
    }
    if (n.k === "tuple" && n.open === "{") {
      if (n.items.length > MAX_SET) throw new Unparsable("set too large to compare");
      const out: Interval[] = [];
      for (const it of n.items) {
        const q = this.endpoint(it);
        if (q === null || typeof q === "number") return null;
        out.push({ lo: q, hi: q, loC: true, hiC: true });
      }
      return out;
    }
    if (n.k === "tuple" && n.items.length === 2 && (n.open === "(" || n.open === "[") && (n.close === ")" || n.close === "]")) {
      const lo = this.endpoint(n.items[0]);
      const hi = this.endpoint(n.items[1]);
      if (lo === null || hi === null || cmpEnd(lo, hi) > 0) return null;
      // (2,2) is more likely the point than the empty interval: not read as an interval.
      if (cmpEnd(lo, hi) === 0 && !(n.open === "[" && n.close === "]")) return null;
      // An infinite end is always open, whatever bracket was written.
      return [{ lo, hi, loC: n.open === "[" && typeof lo !== "number", hiC: n.close === "]" && typeof hi !== "number" }];
    }
    return null;
  }

  /** An exact endpoint: a rational, or -Infinity / Infinity for `-\infty` / `\infty`. */
  private endpoint(n: Node): Q | number | null {
    if (n.k === "inf") return Infinity;
    if (n.k === "neg" && n.a.k === "inf") return -Infinity;
    return exactQ(n, DEFAULT_MODES, this.budget);
  }

  private ordered(xs: Node[], ys: Node[]): boolean {
    if (xs.length !== ys.length) return false;
    if (xs.length > MAX_SET * 50) throw new Unparsable("tuple too large to compare");
    for (let i = 0; i < xs.length; i++) if (!this.eq(prepare(xs[i]), prepare(ys[i]))) return false;
    return true;
  }

  private dedupe(xs: Node[]): Node[] {
    if (xs.length > MAX_SET) throw new Unparsable("set too large to compare");
    const out: Node[] = [];
    for (const x of xs) if (!out.some((y) => this.eq(y, x))) out.push(x);
    return out;
  }

  /**
   * The exact values of a set's elements when every element is a constant rational without
   * percent, degree or long-decimal marks (where eq is exact equality of the values), else null.
   */
  private exactElements(xs: Node[]): string[] | null {
    const out: string[] = [];
    for (const x of xs) {
      this.budget.tick();
      if (has(x, "pct") || has(x, "deg") || (this.floatPrintouts && hasLongDecimal(x, LONG_DECIMAL_DIGITS)) || freeVars(x).size > 0) return null;
      const q = exactQ(x, DEFAULT_MODES, this.budget);
      if (q === null) return null;
      out.push(`${q.n}/${q.d}`);
    }
    return out;
  }

  private setEq(xs0: Node[], ys0: Node[]): boolean {
    if (xs0.length > MAX_SET || ys0.length > MAX_SET) throw new Unparsable("set too large to compare");
    // Sets of plain numbers: compared as sets of exact values, in linear time.
    const ex = this.exactElements(xs0);
    const ey = ex === null ? null : this.exactElements(ys0);
    if (ex !== null && ey !== null) {
      const a = new Set(ex);
      const b = new Set(ey);
      return a.size === b.size && [...a].every((v) => b.has(v));
    }
    const xs = this.dedupe(xs0.map(prepare));
    const ys = this.dedupe(ys0.map(prepare));
    if (xs.length !== ys.length) return false;
    const used = new Array<boolean>(ys.length).fill(false);
    for (const x of xs) {
      let found = false;
      for (let j = 0; j < ys.length; j++) {
        if (!used[j] && this.eq(x, ys[j])) {
          used[j] = true;
          found = true;
          break;
        }
      }
      if (!found) return false;
    }
    return true;
  }

  private tupleEq(a: Node, b: Node): boolean {
    const va = vectorItems(a);
    const vb = vectorItems(b);
    if (va === null || vb === null) return false;
    if (va.items.length !== vb.items.length) return false;
    if (va.items.length === 2 && va.brackets !== null && vb.brackets !== null && va.brackets !== vb.brackets) return false;
    return this.ordered(va.items, vb.items);
  }

  private relEq(a: Node, b: Node): boolean {
    if (a.k === "rel" && b.k === "rel") {
      const ea = a.ops.every((o) => o === "=");
      const eb = b.ops.every((o) => o === "=");
      if (ea && eb) {
        const A = [a.items[0], a.items[a.items.length - 1]];
        const B = [b.items[0], b.items[b.items.length - 1]];
        if (this.equationEq(A, B)) return true;
        // Both assign the same name: compare the values.
        if (isName(A[0]) && isName(B[0]) && nameKey(A[0]) === nameKey(B[0])) return this.eq(A[1], B[1]);
        return false;
      }
      if (ea !== eb) return false;
      const ia = this.toInterval(a);
      const ib = this.toInterval(b);
      if (ia !== null && ib !== null) return this.eq(ia, ib);
      if (this.sameRelation(a.ops, a.items, b.ops, b.items)) return true;
      const fops = [...b.ops].reverse().map((o) => FLIP[o] ?? o);
      return this.sameRelation(a.ops, a.items, fops, [...b.items].reverse());
    }
    const r = (a.k === "rel" ? a : b) as Extract<Node, { k: "rel" }>;
    const o = a.k === "rel" ? b : a;
    const goldIsRel = a.k === "rel";
    if (r.ops.every((x) => x === "=")) {
      const value = assignedValue(r);
      if (value === null) return false;
      return goldIsRel ? this.eq(value, o) : this.eq(o, value);
    }
    if (o.k === "tuple" || o.k === "union") {
      const iv = this.toInterval(r);
      if (iv === null) return this.membershipEq(r, o);
      return goldIsRel ? this.eq(iv, o) : this.eq(o, iv);
    }
    return false;
  }

  /**
   * A one-variable inequality against a union of intervals / points, compared as sets: membership
   * must agree at every endpoint, just beside it, between endpoints and at fixed far points.
   */
  private membershipEq(r: Extract<Node, { k: "rel" }>, o: Node): boolean {
    const vars = freeVars(r);
    if (vars.size !== 1 || r.ops.some((x) => !["<", ">", "<=", ">=", "!="].includes(x))) return false;
    const v = [...vars][0];
    const pieces = this.intervalsOf(o);
    if (pieces === null || pieces.length === 0) return false;
    const ends = pieces.flatMap((p) => [p.lo, p.hi]).filter(Number.isFinite).sort((a, b) => a - b);
    const pts = [-1000, -37.7, -3.3, -0.71, 0, 0.53, 2.9, 41.3, 1000];
    for (let i = 0; i < ends.length; i++) {
      const e = ends[i];
      const d = 1e-7 * Math.max(1, Math.abs(e));
      pts.push(e, e - d, e + d);
      if (i + 1 < ends.length) pts.push((e + ends[i + 1]) / 2);
    }
    for (const x of pts) {
      const inSet = pieces.some((p) => (p.loC ? x >= p.lo : x > p.lo) && (p.hiC ? x <= p.hi : x < p.hi));
      if (inSet !== this.holds(r, v, x)) return false;
    }
    return true;
  }

  private holds(r: Extract<Node, { k: "rel" }>, v: string, x: number): boolean {
    const vals = r.items.map((it) => this.realAt(it, v, x));
    if (vals.some((y) => !Number.isFinite(y))) return false;
    return r.ops.every((op, k) => {
      const a = vals[k];
      const b = vals[k + 1];
      const eps = 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));
      if (op === "<") return a < b - eps;
      if (op === ">") return a > b + eps;
      if (op === "<=") return a <= b + eps;
      if (op === ">=") return a >= b - eps;
      return Math.abs(a - b) > eps;
    });
  }

  private intervalsOf(o: Node): Array<{ lo: number; hi: number; loC: boolean; hiC: boolean }> | null {
    const num = (n: Node): number => {
      const val = evalNode(n, new Map(), DEFAULT_MODES, this.budget);
      return Array.isArray(val) || Math.abs(val.im) > 1e-12 ? NaN : val.re;
    };
    if (o.k === "union" && o.op === "cup") {
      const out: Array<{ lo: number; hi: number; loC: boolean; hiC: boolean }> = [];
      for (const it of o.items) {
        const p = this.intervalsOf(it);
        if (p === null) return null;
        out.push(...p);
      }
      return out;
    }
    if (o.k === "tuple" && o.open === "{") {
      const xs = o.items.map(num);
      return xs.every(Number.isFinite) ? xs.map((x) => ({ lo: x, hi: x, loC: true, hiC: true })) : null;
    }
    if (o.k === "tuple" && o.items.length === 2 && (o.open === "(" || o.open === "[")) {
      const lo = num(o.items[0]);
      const hi = num(o.items[1]);
      if (Number.isNaN(lo) || Number.isNaN(hi)) return null;
      return [{ lo, hi, loC: o.open === "[", hiC: o.close === "]" }];
    }
    return null;
  }

  private sameRelation(ops1: string[], it1: Node[], ops2: string[], it2: Node[]): boolean {
    if (ops1.length !== ops2.length || ops1.some((o, i) => o !== ops2[i])) return false;
    return this.ordered(it1, it2);
  }

  /**
   * Two equations are equivalent when lhs-rhs of one is a constant non-zero multiple of the
   * other's. The ratio is compared exactly at points where both sides are rational there, and
   * within the floating-point tolerance elsewhere.
   */
  private equationEq(A: Node[], B: Node[]): boolean {
    const f: Node = { k: "sub", a: A[0], b: A[1] };
    const g: Node = { k: "sub", a: B[0], b: B[1] };
    const vars = freeVars(f);
    freeVars(g, vars);
    // Computations without variables ("2 \cdot 5 = 10"): the answer is the result.
    if (vars.size === 0) return this.eq(A[1], B[1]);
    const rel = hasDecimal(f) || hasDecimal(g) ? DECIMAL_TOL : REL_TOL;
    let ratioQ: Q | null = null;
    let ratio: C | null = null;
    let used = 0;
    for (const env of this.probes(vars)) {
      const qenv = exactEnv(env);
      const fq = exactQ(f, DEFAULT_MODES, this.budget, qenv);
      const gq = fq === null ? null : exactQ(g, DEFAULT_MODES, this.budget, qenv);
      if (fq !== null && gq !== null) {
        if ((fq.n === 0n) !== (gq.n === 0n)) return false;
        if (fq.n === 0n) continue;
        const q: Q = normQ(fq.n * gq.d, fq.d * gq.n);
        if (ratioQ === null && ratio === null) ratioQ = q;
        else if (ratioQ !== null) {
          if (ratioQ.n !== q.n || ratioQ.d !== q.d) return false;
        } else if (ratio !== null && !closeVal(ratio, qFloat(q), rel)) return false;
        used++;
        continue;
      }
      const fv = evalNode(f, env, DEFAULT_MODES, this.budget);
      const gv = evalNode(g, env, DEFAULT_MODES, this.budget);
      if (Array.isArray(fv) || Array.isArray(gv) || !finiteVal(fv) || !finiteVal(gv)) continue;
      const fz = Math.hypot(fv.re, fv.im) <= REL_TOL;
      const gz = Math.hypot(gv.re, gv.im) <= REL_TOL;
      if (fz !== gz) return false;
      if (fz) continue;
      const d = gv.re * gv.re + gv.im * gv.im;
      const q = { re: (fv.re * gv.re + fv.im * gv.im) / d, im: (fv.im * gv.re - fv.re * gv.im) / d };
      if (ratioQ === null && ratio === null) ratio = q;
      else if (!closeVal(ratio ?? qFloat(ratioQ as Q), q, rel)) return false;
      used++;
    }
    return used >= 2;
  }

  /** Value of a node at a point (probing one free variable), NaN when not a real number. */
  private realAt(n: Node, v: string, x: number): number {
    const env = new Map<string, C>([[v, { re: x, im: 0 }]]);
    const r = evalNode(n, env, DEFAULT_MODES, this.budget);
    if (Array.isArray(r) || Math.abs(r.im) > 1e-12) return NaN;
    return r.re;
  }

  /** Solution set of an inequality (chain) in one variable that is linear in it, as an interval. */
  toInterval(r: Extract<Node, { k: "rel" }>): Node | null {
    const vars = freeVars(r);
    if (vars.size !== 1 || r.ops.some((o) => !["<", ">", "<=", ">="].includes(o))) return null;
    const v = [...vars][0];
    let lo: { node: Node; x: number; closed: boolean } = { node: { k: "neg", a: { k: "inf" } }, x: -Infinity, closed: false };
    let hi: { node: Node; x: number; closed: boolean } = { node: { k: "inf" }, x: Infinity, closed: false };
    for (let k = 0; k < r.ops.length; k++) {
      const L = r.items[k];
      const R = r.items[k + 1];
      const h: Node = { k: "sub", a: L, b: R };
      // Linear in v: checked at four points on both sides of zero.
      const xs = [-2.3, -0.7, 0.9, 3.1];
      const hs = xs.map((x) => this.realAt(h, v, x));
      if (!hs.every(Number.isFinite)) return null;
      const slope = (hs[1] - hs[0]) / (xs[1] - xs[0]);
      if (Math.abs(slope) < 1e-12) return null;
      for (let q = 2; q < xs.length; q++) {
        const pred = hs[0] + slope * (xs[q] - xs[0]);
        if (Math.abs(pred - hs[q]) > 1e-9 * Math.max(1, Math.abs(hs[q]), Math.abs(slope))) return null;
      }
      const root = xs[0] - hs[0] / slope;
      // h < 0 with positive slope means v < root.
      const op = r.ops[k];
      const less = op === "<" || op === "<=";
      const upper = less === slope > 0;
      const closed = op === "<=" || op === ">=";
      const lvar = L.k === "sym" && L.name === v;
      const rvar = R.k === "sym" && R.name === v;
      const node: Node = lvar && !freeVars(R).has(v) ? R : rvar && !freeVars(L).has(v) ? L : floatNode(root);
      if (upper) {
        if (root < hi.x || (root === hi.x && !closed)) hi = { node, x: root, closed };
      } else if (root > lo.x || (root === lo.x && !closed)) lo = { node, x: root, closed };
    }
    if (lo.x > hi.x) return null;
    return { k: "tuple", open: lo.closed ? "[" : "(", close: hi.closed ? "]" : ")", items: [lo.node, hi.node] };
  }

  private scalarEq(a: Node, b: Node): boolean {
    if (this.valueEq(a, DEFAULT_MODES, b, DEFAULT_MODES)) return true;
    const pa = has(a, "pct");
    const pb = has(b, "pct");
    if (pa !== pb) {
      // 44% against 0.44: the percent read as a fraction.
      const s: Modes = { pct: "scale", deg: "drop" };
      if (this.valueEq(a, pa ? s : DEFAULT_MODES, b, pb ? s : DEFAULT_MODES)) return true;
    }
    const da = has(a, "deg");
    const db = has(b, "deg");
    if (da !== db && (has(a, "pi") || has(b, "pi"))) {
      // 30° against pi/6: degrees read as radians when the other side is in radians.
      const r: Modes = { pct: "drop", deg: "rad" };
      if (this.valueEq(a, da ? r : DEFAULT_MODES, b, db ? r : DEFAULT_MODES)) return true;
    }
    return false;
  }

  /**
   * Whether `dec`, written as a decimal, stands for the exact value `v` of `exact` (written without
   * decimals): see {@link decimalAgrees}.
   */
  private decimalFor(dec: Node, modes: Modes, exact: Node, v: Q): boolean {
    this.budget.tick();
    const d = writtenDecimal(dec, modes.pct === "scale");
    return d !== null && !hasDecimal(exact) && decimalAgrees(d, v);
  }

  /**
   * Value equality at every probe point (one point when there are no variables). At a point where
   * both sides have exact rational values they must be identical (optionally a float print-out
   * of 15+ digits is accepted); elsewhere the floating-point values must agree within REL_TOL, or
   * DECIMAL_TOL when a side is written with decimals.
   */
  private valueEq(a: Node, ma: Modes, b: Node, mb: Modes): boolean {
    const vars = freeVars(a);
    freeVars(b, vars);
    const printout = this.floatPrintouts && (hasLongDecimal(a) || hasLongDecimal(b));
    const rel = hasDecimal(a) || hasDecimal(b) ? DECIMAL_TOL : REL_TOL;
    let compared = 0;
    for (const env of this.probes(vars)) {
      const qenv = exactEnv(env);
      const qa = exactQ(a, ma, this.budget, qenv);
      const qb = qa === null ? null : exactQ(b, mb, this.budget, qenv);
      if (qa !== null && qb !== null) {
        if (qa.n === qb.n && qa.d === qb.d) {
          compared++;
          continue;
        }
        if (vars.size === 0 && this.floatPrintouts && this.decimalFor(a, ma, b, qb)) {
          compared++;
          continue;
        }
        if (vars.size === 0 && this.floatPrintouts && this.decimalFor(b, mb, a, qa)) {
          compared++;
          continue;
        }
        if (!printout || !closeVal(qFloat(qa), qFloat(qb), DECIMAL_TOL)) return false;
        compared++;
        continue;
      }
      const va: Val = evalNode(a, env, ma, this.budget);
      const vb: Val = evalNode(b, env, mb, this.budget);
      const fa = finiteVal(va);
      const fb = finiteVal(vb);
      if (!fa && !fb) {
        if (!Array.isArray(va) && !Array.isArray(vb) && (Number.isNaN(va.re) || Number.isNaN(vb.re))) continue;
        // Overflow (10^{10^{10}}) is not infinity: two overflowing values cannot be told apart.
        if (!has(a, "inf") || !has(b, "inf")) return false;
        if (closeVal(va, vb, rel)) compared++;
        else return false;
        continue;
      }
      if (fa !== fb) return false;
      if (!closeVal(va, vb, rel)) return false;
      compared++;
    }
    return compared > 0;
  }
}

function normQ(n: bigint, d: bigint): Q {
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  let a = n < 0n ? -n : n;
  let b = d;
  while (b !== 0n) [a, b] = [b, a % b];
  return a > 1n ? { n: n / a, d: d / a } : { n, d };
}

function qFloat(q: Q): C {
  return { re: Number(q.n) / Number(q.d), im: 0 };
}

/** A real interval with exact ends (numbers are the infinite ends). */
interface Interval {
  lo: Q | number;
  hi: Q | number;
  loC: boolean;
  hiC: boolean;
}

function cmpEnd(a: Q | number, b: Q | number): number {
  if (typeof a === "number" || typeof b === "number") {
    const x = typeof a === "number" ? a : 0;
    const y = typeof b === "number" ? b : 0;
    if (typeof a === "number" && typeof b === "number") return a === b ? 0 : a < b ? -1 : 1;
    return typeof a === "number" ? (x < 0 ? -1 : 1) : y < 0 ? 1 : -1;
  }
  const d = a.n * b.d - b.n * a.d;
  return d === 0n ? 0 : d < 0n ? -1 : 1;
}

/** Sorts intervals and merges those that overlap or touch at a point one of them contains. */
function mergeIntervals(xs: Interval[]): Interval[] {
  const sorted = [...xs].sort((p, q) => cmpEnd(p.lo, q.lo) || (p.loC === q.loC ? 0 : p.loC ? -1 : 1));
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined) {
      const c = cmpEnd(iv.lo, last.hi);
      if (c < 0 || (c === 0 && (iv.loC || last.hiC))) {
        const h = cmpEnd(iv.hi, last.hi);
        if (h > 0) {
          last.hi = iv.hi;
          last.hiC = iv.hiC;
        } else if (h === 0) last.hiC = last.hiC || iv.hiC;
        if (c === 0 && cmpEnd(iv.lo, last.lo) === 0) last.loC = last.loC || iv.loC;
        continue;
      }
    }
    out.push({ ...iv });
  }
  return out;
}

/** Whether two intervals share a point. */
function overlap(p: Interval, q: Interval): boolean {
  const a = cmpEnd(p.lo, q.hi);
  const b = cmpEnd(q.lo, p.hi);
  if (a > 0 || b > 0) return false;
  if (a === 0 && !(p.loC && q.hiC)) return false;
  if (b === 0 && !(q.loC && p.hiC)) return false;
  return true;
}

function sameIntervals(a: Interval[], b: Interval[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => cmpEnd(x.lo, b[i].lo) === 0 && cmpEnd(x.hi, b[i].hi) === 0 && x.loC === b[i].loC && x.hiC === b[i].hiC);
}

/** A canonical string of a merged interval union (for cluster keys). */
export function intervalsKey(xs: Interval[]): string {
  const e = (q: Q | number): string => (typeof q === "number" ? (q > 0 ? "inf" : "-inf") : `${q.n}/${q.d}`);
  return xs.map((x) => `${x.loC ? "[" : "("}${e(x.lo)},${e(x.hi)}${x.hiC ? "]" : ")"}`).join("u");
}

/** An inequality (chain) without equality signs. */
function isInequality(n: Node): boolean {
  return n.k === "rel" && n.ops.every((o) => o === "<" || o === ">" || o === "<=" || o === ">=");
}

/** A union of sets, or a list of inequalities ("x < -2 or x > 3"). */
function isUnionLike(n: Node): boolean {
  return (n.k === "union" && n.op === "cup") || (n.k === "list" && n.items.length > 1 && n.items.every(isInequality));
}

/** A number node for a floating-point value: an exact small rational when it is one. */
function floatNode(x: number): Node {
  for (let d = 1; d <= 1000; d++) {
    const n = Math.round(x * d);
    if (Math.abs(n / d - x) <= 1e-12 * Math.max(1, Math.abs(x))) return { k: "rat", n: BigInt(n), d: BigInt(d) };
  }
  return { k: "fn", name: "id", args: [{ k: "num", v: String(Math.abs(x)) }] };
}

function nameKey(n: Node): string {
  return JSON.stringify(n, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** The value given by an equation `name = value` or `value = name` (or the last member of a chain a = b = c). */
function assignedValue(r: Extract<Node, { k: "rel" }>): Node | null {
  // A chain a = b = c, or a computation "2 \cdot 5 = 10" without variables: the last member.
  if (r.items.length > 2 || freeVars(r).size === 0) return r.items[r.items.length - 1];
  if (isName(r.items[0])) return r.items[1];
  // Written the other way round, "2 = x" / "\frac12 = y": the value is on the left.
  if (isName(r.items[1])) return r.items[0];
  return null;
}

/** Elements of a set-like answer (bare list, `\{...\}`, or a value with ±), else null. */
function asSet(n: Node): Node[] | null {
  if (n.k === "list") {
    const out: Node[] = [];
    for (const x of n.items) out.push(...(x.k === "list" ? [x] : expandPm(x)));
    return out;
  }
  if (n.k === "tuple" && n.open === "{") return n.items.flatMap((x) => expandPm(x));
  if (n.k === "pm" || has(n, "pm")) {
    const e = expandPm(n);
    return e.length > 1 ? e : null;
  }
  return null;
}

/** Whether an answer is a set of several answers: a bare list, `\{...\}` or a `\pm` value. */
export function isSetAnswer(n: Node): boolean {
  const items = asSet(prepare(n));
  return items !== null && items.length > 1;
}

/** Items of a tuple-like answer (tuple, or a matrix with one row or column). */
function vectorItems(n: Node): { items: Node[]; brackets: string | null } | null {
  if (n.k === "tuple") return { items: n.items, brackets: n.open + n.close };
  if (n.k === "matrix") {
    if (n.rows.length === 1) return { items: n.rows[0], brackets: null };
    if (n.rows.every((r) => r.length === 1)) return { items: n.rows.map((r) => r[0]), brackets: null };
  }
  return null;
}

/** A lower-case text form of a word-like answer (`\text{(C)}`, `Evelyn`, `odd`), or null. */
export function textOf(n: Node): string | null {
  switch (n.k) {
    case "text":
      return n.s.toLowerCase().replace(/[\s.]+/g, "").replace(/^\((.+)\)$/, "$1").replace(/^\\?text\{(.*)\}$/, "$1");
    case "sym":
      return n.name.toLowerCase();
    case "mul": {
      const a = textOf(n.a);
      const b = textOf(n.b);
      return a !== null && b !== null ? a + b : null;
    }
    case "num":
      return n.v;
    case "tuple":
      return n.items.length === 1 ? textOf(n.items[0]) : null;
    default:
      return null;
  }
}

function textEq(a: Node, b: Node): boolean {
  const ta = textOf(a);
  const tb = textOf(b);
  return ta !== null && ta === tb && ta !== "";
}
