/**
 * Cluster keys: a canonical string per answer such that equivalent answers usually get the same
 * key, so grouping N answers costs N canonicalisations plus pairwise checks only between keys.
 *
 * The rule is one-sided and strict: two answers share a key only if `equivalent` accepts them.
 * Values are keyed by their exact rationals at the probe points where they have them (the probe
 * coordinates are exact), else by the exact double values `equivalent` compares. A value that is
 * not finite (overflow, infinity, NaN) or not a number at all is keyed by its structure (the
 * normalised parse tree), which `equivalent` also accepts as identity.
 */
import { Budget, BudgetExceeded, DEFAULT_DEADLINE_MS, MAX_ANSWER_CHARS } from "./budget.js";
import { Comparer, exactEnv, expandPm, freeVars, hasDecimal, intervalsKey, isName, MAX_SET, prepare, probePoints, REL_TOL, textOf } from "./compare.js";
import { DEFAULT_MODES, evalNode, exactQ, finiteVal, type C, type Q, type Val } from "./numeric.js";
import { nodeKey, parseAnswer, type Node } from "./parse.js";
import { looseKey, prepareClean, unwrapAnswer } from "./verify.js";

/** Thrown inside canon when a part has no faithful value key; the caller keys it by structure. */
class NoValueKey extends Error {}

const qKey = (q: Q): string => (q.d === 1n ? `${q.n}` : `${q.n}/${q.d}`);

/**
 * A floating-point value as a key. Without decimals in the answer, `equivalent` accepts a relative
 * difference of REL_TOL (1e-12): rounding to 14 significant digits (differences below 1e-13) stays
 * inside it while still joining values that differ in their last bits. With decimals it accepts
 * only DECIMAL_TOL, so the exact double is keyed. The two forms are marked apart, so that a
 * rounded key never meets an exact one.
 */
function valKey(v: Val, exact: boolean): string {
  if (!finiteVal(v)) throw new NoValueKey();
  if (Array.isArray(v)) return `[${v.map((r) => r.map((x) => valKey(x, exact)).join(",")).join(";")}]`;
  const f = (x: number): string => (exact ? `${x}` : `${Number(x.toPrecision(14))}`);
  const mark = exact ? "~~" : "~";
  return v.im === 0 ? `${mark}${f(v.re)}` : `${mark}${f(v.re)}+${f(v.im)}i`;
}

function structural(n: Node): string {
  return `n:${nodeKey(n)}`;
}

class Canon {
  private readonly cmp: Comparer;

  constructor(private readonly budget: Budget) {
    this.cmp = new Comparer(budget);
  }

  key(n: Node): string {
    try {
      return this.canon(n);
    } catch (err) {
      if (err instanceof NoValueKey) return structural(prepare(n));
      throw err;
    }
  }

  private canon(n0: Node): string {
    this.budget.tick();
    const n = prepare(n0);
    switch (n.k) {
      case "rel": {
        if (n.ops.every((o) => o === "=")) {
          const first = n.items[0];
          const last = n.items[n.items.length - 1];
          // A computation without variables ("2 \cdot 5 = 10") is its result.
          if (freeVars(n).size === 0) return this.key(last);
          // A named value ("x = 5", "f(x) = 2x") keeps its name: "x = 5" and "y = 5" are different answers.
          if (isName(first)) return `${nodeKey(first)}=${this.key(last)}`;
          if (n.items.length === 2 && isName(last)) return `${nodeKey(last)}=${this.key(first)}`; // "2 = x" is "x = 2"
          return this.equationKey(first, last);
        }
        const iv = this.cmp.intervalSet(n);
        if (iv !== null) return `I:${intervalsKey(iv)}`;
        return `rel(${n.ops.join(",")}:${n.items.map((x) => this.key(x)).join(",")})`;
      }
      case "list": {
        const iv = n.items.length > 1 && n.items.every((x) => x.k === "rel") ? this.cmp.intervalSet(n) : null;
        if (iv !== null) return `I:${intervalsKey(iv)}`;
        return this.setKey(n.items.flatMap((x) => (x.k === "list" ? [x] : expandPm(x))));
      }
      case "tuple": {
        if (n.open === "{") return this.setKey(n.items.flatMap((x) => expandPm(x)));
        const items = n.items.map((x) => this.key(x)).join(",");
        return n.items.length === 2 ? `${n.open}${items}${n.close}` : `(${items})`;
      }
      case "union": {
        const iv = n.op === "cup" ? this.cmp.intervalSet(n) : null;
        if (iv !== null) return `I:${intervalsKey(iv)}`;
        return `${n.op}(${n.items.map((x) => this.key(x)).sort().join(",")})`;
      }
      case "ratio":
        return n.items.map((x) => this.key(x)).join(":");
      case "text": {
        const t = textOf(n) ?? "";
        return t === "" ? structural(n) : `t:${t}`;
      }
      default: {
        const pm = expandPm(n);
        if (pm.length > 1) return this.setKey(pm);
        if (n.k === "matrix" && (n.rows.length === 1 || n.rows.every((r) => r.length === 1))) {
          return `(${(n.rows.length === 1 ? n.rows[0] : n.rows.map((r) => r[0])).map((x) => this.key(x)).join(",")})`;
        }
        const vars = freeVars(n);
        const vals = probePoints(vars).map((env) => {
          const q = exactQ(n, DEFAULT_MODES, this.budget, exactEnv(env));
          return q !== null ? qKey(q) : valKey(evalNode(n, env, DEFAULT_MODES, this.budget), hasDecimal(n));
        });
        return vars.size === 0 ? vals[0] : `f[${[...vars].sort().join(",")}](${vals.join(",")})`;
      }
    }
  }

  /** Elements keyed and deduplicated; a set too large for `equivalent` has no value key. */
  private setKey(items: Node[]): string {
    if (items.length > MAX_SET) throw new NoValueKey();
    const keys = new Set(items.map((x) => this.key(x)));
    return keys.size === 1 ? [...keys][0] : `{${[...keys].sort().join(",")}}`;
  }

  /**
   * An equation: lhs - rhs at the probe points, divided by its first non-zero value, so that
   * rearranged and rescaled forms of one equation share a key. Exact where lhs - rhs is rational
   * at a point, exact doubles elsewhere; at least two non-zero points, as `equivalent` requires.
   */
  private equationKey(lhs: Node, rhs: Node): string {
    const f: Node = { k: "sub", a: lhs, b: rhs };
    const vars = freeVars(f);
    const pts: Array<Q | C> = probePoints(vars).map((env) => {
      const q = exactQ(f, DEFAULT_MODES, this.budget, exactEnv(env));
      if (q !== null) return q;
      const v = evalNode(f, env, DEFAULT_MODES, this.budget);
      if (Array.isArray(v) || !finiteVal(v)) throw new NoValueKey();
      return v;
    });
    const isQ = (x: Q | C): x is Q => "n" in x;
    const zero = (x: Q | C): boolean => (isQ(x) ? x.n === 0n : Math.hypot(x.re, x.im) <= REL_TOL);
    const first = pts.find((x) => !zero(x));
    if (first === undefined || pts.filter((x) => !zero(x)).length < 2) throw new NoValueKey();
    const parts = pts.map((x) => {
      if (zero(x)) return "0";
      if (isQ(x) && isQ(first)) {
        let num = x.n * first.d;
        let den = x.d * first.n;
        if (den < 0n) {
          num = -num;
          den = -den;
        }
        let a = num < 0n ? -num : num;
        let b = den;
        while (b !== 0n) [a, b] = [b, a % b];
        return qKey({ n: num / a, d: den / a });
      }
      const u: C = isQ(x) ? { re: Number(x.n) / Number(x.d), im: 0 } : x;
      const w: C = isQ(first) ? { re: Number(first.n) / Number(first.d), im: 0 } : first;
      const d = w.re * w.re + w.im * w.im;
      return valKey({ re: (u.re * w.re + u.im * w.im) / d, im: (u.im * w.re - u.re * w.im) / d }, hasDecimal(f));
    });
    return `eq[${[...vars].sort().join(",")}](${parts.join(",")})`;
  }
}

/**
 * A canonical key for an answer: equivalent answers usually share it (`1/2`, `0.5`, `\frac{2}{4}`
 * give `1/2`), and answers that share it are always equivalent. `x = 5` is keyed with its name.
 * Unparsable answers are keyed by their loose string form (as `equivalent` compares them).
 * Never throws.
 */
export function clusterKey(answer: string): string {
  if (typeof answer !== "string") return "s:";
  let clean: string | null = null;
  try {
    const u = unwrapAnswer(answer);
    if (u.length > MAX_ANSWER_CHARS) return `s:${looseKey(u)}`;
    clean = prepareClean(u);
    const budget = new Budget(200_000, DEFAULT_DEADLINE_MS);
    let node: Node;
    try {
      node = parseAnswer(clean, budget);
    } catch (err) {
      // Not parsable: equivalent compares such answers by their loose string form. Out of budget
      // while parsing: only the identical cleaned answer is certainly equivalent.
      return err instanceof BudgetExceeded || err instanceof RangeError ? `x:${clean}` : `s:${looseKey(clean)}`;
    }
    try {
      return new Canon(budget).key(node);
    } catch {
      // Out of budget (or too large) while keying: the parse tree, compared as identity.
      return structural(node);
    }
  } catch {
    return clean !== null ? `x:${clean}` : `x:${answer}`;
  }
}
