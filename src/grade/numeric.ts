/**
 * Evaluation of parsed expressions: exact rationals (BigInt, size-capped) where the expression is
 * rational, and complex floating point everywhere else (variables bound to probe points). Matrices
 * evaluate to arrays of complex numbers so that `\frac{8}{49}\begin{pmatrix}2\\6\\3\end{pmatrix}`
 * compares with the expanded vector.
 */
import { Budget, MAX_EXACT_BITS } from "./budget.js";
import type { Node } from "./parse.js";

/** A complex number. */
export interface C {
  re: number;
  im: number;
}
/** An evaluated value: a complex scalar or a matrix of them. */
export type Val = C | C[][];

/** How percent and degree marks are read. */
export interface Modes {
  /** `drop`: 44% is 44; `scale`: 44% is 0.44. */
  pct: "drop" | "scale";
  /** `drop`: 30° is 30; `rad`: 30° is pi/6. Inside trig functions degrees are always radians. */
  deg: "drop" | "rad";
}

export const DEFAULT_MODES: Modes = { pct: "drop", deg: "drop" };

const c = (re: number, im = 0): C => ({ re, im });
const NAN = c(NaN, NaN);

function cadd(a: C, b: C): C {
  return c(a.re + b.re, a.im + b.im);
}
function csub(a: C, b: C): C {
  return c(a.re - b.re, a.im - b.im);
}
function cmul(a: C, b: C): C {
  return c(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re);
}
function cdiv(a: C, b: C): C {
  const d = b.re * b.re + b.im * b.im;
  if (d === 0) return a.re === 0 && a.im === 0 ? NAN : c(a.re === 0 ? 0 : Infinity * Math.sign(a.re), a.im === 0 ? 0 : Infinity);
  return c((a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d);
}
function cabs(a: C): number {
  return Math.hypot(a.re, a.im);
}
function clog(a: C): C {
  return c(Math.log(cabs(a)), Math.atan2(a.im, a.re));
}
function cexp(a: C): C {
  const r = Math.exp(a.re);
  return a.im === 0 ? c(r) : c(r * Math.cos(a.im), r * Math.sin(a.im));
}
function cpow(a: C, b: C): C {
  if (b.im === 0 && a.im === 0) {
    if (a.re >= 0 || Number.isInteger(b.re)) return c(Math.pow(a.re, b.re));
    // Real powers of negatives with an odd-denominator exponent, as a student means them:
    // (-8)^(1/3) = -2 and (-8)^(2/3) = 4, not the complex principal values.
    for (let q = 1; q < 100; q += 2) {
      const p = Math.round(b.re * q);
      if (Math.abs(b.re * q - p) < 1e-9) return c((p % 2 === 0 ? 1 : -1) * Math.pow(-a.re, b.re));
    }
  }
  if (a.re === 0 && a.im === 0) return b.re > 0 ? c(0) : NAN;
  return cexp(cmul(b, clog(a)));
}
function csqrt(a: C): C {
  if (a.im === 0) return a.re >= 0 ? c(Math.sqrt(a.re)) : c(0, Math.sqrt(-a.re));
  const r = cabs(a);
  const re = Math.sqrt((r + a.re) / 2);
  const im = Math.sign(a.im) * Math.sqrt((r - a.re) / 2);
  return c(re, im);
}
function csin(a: C): C {
  return c(Math.sin(a.re) * Math.cosh(a.im), Math.cos(a.re) * Math.sinh(a.im));
}
function ccos(a: C): C {
  return c(Math.cos(a.re) * Math.cosh(a.im), -Math.sin(a.re) * Math.sinh(a.im));
}
function real(f: (x: number) => number): (a: C) => C {
  return (a) => (Math.abs(a.im) > 1e-12 * Math.max(1, Math.abs(a.re)) ? NAN : c(f(a.re)));
}

const isMat = (v: Val): v is C[][] => Array.isArray(v);

function gammaLn(x: number): number {
  // Lanczos approximation, enough for factorials of non-integers (rare in answers).
  const g = 7;
  const p = [0.99999999999981, 676.520368121885, -1259.1392167224, 771.323428777653, -176.615608213672, 12.5073432786869, -0.13857109526572, 9.98436957801957e-06, 1.50563273514931e-07];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - gammaLn(1 - x);
  x -= 1;
  let a = p[0];
  const t = x + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += p[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

function factorial(x: number): number {
  if (Number.isInteger(x) && x >= 0) {
    if (x > 170) return Infinity;
    let r = 1;
    for (let i = 2; i <= x; i++) r *= i;
    return r;
  }
  return Math.exp(gammaLn(x + 1));
}

function gcdNum(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  for (let k = 0; b > 0 && k < 2000; k++) [a, b] = [b, a % b];
  return a;
}

const UNARY: Record<string, (a: C) => C> = {
  sin: csin,
  cos: ccos,
  tan: (a) => cdiv(csin(a), ccos(a)),
  cot: (a) => cdiv(ccos(a), csin(a)),
  sec: (a) => cdiv(c(1), ccos(a)),
  csc: (a) => cdiv(c(1), csin(a)),
  arcsin: real(Math.asin),
  arccos: real(Math.acos),
  arctan: real(Math.atan),
  arccot: real((x) => Math.atan(1 / x)),
  sinh: real(Math.sinh),
  cosh: real(Math.cosh),
  tanh: real(Math.tanh),
  ln: clog,
  log: (a) => cdiv(clog(a), c(Math.LN10)),
  exp: cexp,
  sqrt: csqrt,
  abs: (a) => c(cabs(a)),
  floor: real(Math.floor),
  ceil: real(Math.ceil),
  fact: real(factorial),
  det: (a) => a,
};
const TRIG = new Set(["sin", "cos", "tan", "cot", "sec", "csc"]);

/** Numeric evaluation with variables bound by `env`. Unknown structure evaluates to NaN. */
export function evalNode(n: Node, env: Map<string, C>, modes: Modes, budget: Budget): Val {
  budget.tick();
  switch (n.k) {
    case "num":
      return c(Number(n.v));
    case "rat":
      return c(Number(n.n) / Number(n.d));
    case "pi":
      return c(Math.PI);
    case "inf":
      return c(Infinity);
    case "sym": {
      const v = env.get(n.name);
      if (v !== undefined) return v;
      if (n.name === "e") return c(Math.E);
      if (n.name === "i") return c(0, 1);
      return NAN;
    }
    case "neg":
      return mapVal(evalNode(n.a, env, modes, budget), (x) => c(-x.re, -x.im));
    case "add":
    case "sub": {
      const a = evalNode(n.a, env, modes, budget);
      const b = evalNode(n.b, env, modes, budget);
      const f = n.k === "add" ? cadd : csub;
      if (isMat(a) && isMat(b)) {
        if (a.length !== b.length || a[0].length !== b[0].length) return NAN;
        return a.map((r, i) => r.map((x, j) => f(x, b[i][j])));
      }
      if (isMat(a) || isMat(b)) return NAN;
      return f(a, b);
    }
    case "mul": {
      const a = evalNode(n.a, env, modes, budget);
      const b = evalNode(n.b, env, modes, budget);
      if (isMat(a) && isMat(b)) return matmul(a, b, budget);
      if (isMat(a)) return a.map((r) => r.map((x) => cmul(x, b as C)));
      if (isMat(b)) return b.map((r) => r.map((x) => cmul(a, x)));
      return cmul(a, b);
    }
    case "div": {
      const a = evalNode(n.a, env, modes, budget);
      const b = evalNode(n.b, env, modes, budget);
      if (isMat(b)) return NAN;
      if (isMat(a)) return a.map((r) => r.map((x) => cdiv(x, b)));
      return cdiv(a, b);
    }
    case "pow": {
      const a = evalNode(n.a, env, modes, budget);
      const b = evalNode(n.b, env, modes, budget);
      if (isMat(a) || isMat(b)) return NAN;
      return cpow(a, b);
    }
    case "pct": {
      const a = evalNode(n.a, env, modes, budget);
      return modes.pct === "scale" ? mapVal(a, (x) => c(x.re / 100, x.im / 100)) : a;
    }
    case "deg": {
      const a = evalNode(n.a, env, modes, budget);
      return modes.deg === "rad" ? mapVal(a, (x) => c((x.re * Math.PI) / 180, (x.im * Math.PI) / 180)) : a;
    }
    case "fn": {
      if (TRIG.has(n.name)) {
        const a = evalNode(n.args[0], env, { ...modes, deg: "rad" }, budget);
        return isMat(a) ? NAN : UNARY[n.name](a);
      }
      if (n.name === "det") {
        const a = evalNode(n.args[0], env, modes, budget);
        return isMat(a) ? det(a) : a;
      }
      const args = n.args.map((x) => evalNode(x, env, modes, budget));
      if (args.some(isMat) || args.length === 0) return NAN;
      const xs = args as C[];
      const u = UNARY[n.name];
      if (u && xs.length === 1) return u(xs[0]);
      if (n.name === "root") return cpow(xs[0], cdiv(c(1), xs[1]));
      if (n.name === "logb") return cdiv(clog(xs[0]), clog(xs[1]));
      if (n.name === "binom") {
        const [a, b] = xs;
        if (a.im !== 0 || b.im !== 0) return NAN;
        return c(Math.exp(gammaLn(a.re + 1) - gammaLn(b.re + 1) - gammaLn(a.re - b.re + 1)));
      }
      if ((n.name === "gcd" || n.name === "lcm") && xs.every((x) => x.im === 0 && Number.isInteger(x.re))) {
        let g = xs[0].re;
        for (const x of xs.slice(1)) g = n.name === "gcd" ? gcdNum(g, x.re) : Math.abs(g * x.re) / gcdNum(g, x.re);
        return c(g);
      }
      if ((n.name === "max" || n.name === "min") && xs.every((x) => x.im === 0)) {
        return c(n.name === "max" ? Math.max(...xs.map((x) => x.re)) : Math.min(...xs.map((x) => x.re)));
      }
      return NAN;
    }
    case "matrix":
      return n.rows.map((r) =>
        r.map((x) => {
          const v = evalNode(x, env, modes, budget);
          return isMat(v) ? NAN : v;
        }),
      );
    default:
      return NAN;
  }
}

function mapVal(v: Val, f: (x: C) => C): Val {
  return isMat(v) ? v.map((r) => r.map(f)) : f(v);
}

function matmul(a: C[][], b: C[][], budget: Budget): Val {
  const n = a.length;
  const m = a[0].length;
  const p = b[0].length;
  if (b.length !== m) return NAN;
  budget.tick(n * m * p);
  const out: C[][] = [];
  for (let i = 0; i < n; i++) {
    const row: C[] = [];
    for (let j = 0; j < p; j++) {
      let s = c(0);
      for (let k = 0; k < m; k++) s = cadd(s, cmul(a[i][k], b[k][j]));
      row.push(s);
    }
    out.push(row);
  }
  return out;
}

function det(a: C[][]): C {
  if (a.length !== a[0].length) return NAN;
  if (a.length === 1) return a[0][0];
  if (a.length === 2) return csub(cmul(a[0][0], a[1][1]), cmul(a[0][1], a[1][0]));
  if (a.length > 6) return NAN;
  let s = c(0);
  for (let j = 0; j < a.length; j++) {
    const minor = a.slice(1).map((r) => r.filter((_, k) => k !== j));
    const t = cmul(a[0][j], det(minor));
    s = j % 2 === 0 ? cadd(s, t) : csub(s, t);
  }
  return s;
}

/** Whether a value is finite (every entry of a matrix). */
export function finiteVal(v: Val): boolean {
  if (isMat(v)) return v.every((r) => r.every((x) => Number.isFinite(x.re) && Number.isFinite(x.im)));
  return Number.isFinite(v.re) && Number.isFinite(v.im);
}

/**
 * Relative closeness of two values (same shape required for matrices). Magnitudes below 1 are
 * compared on the scale of 1, so that a floating-point residue of a zero (`\sin\pi`) still compares
 * equal to 0; `rel` is meant to absorb the rounding error of our own evaluation, nothing more.
 */
export function closeVal(a: Val, b: Val, rel: number): boolean {
  if (isMat(a) || isMat(b)) {
    if (!isMat(a) || !isMat(b)) {
      // A 1x1 matrix equals its entry.
      if (isMat(a) && a.length === 1 && a[0].length === 1) return closeVal(a[0][0], b, rel);
      if (isMat(b) && b.length === 1 && b[0].length === 1) return closeVal(a, b[0][0], rel);
      return false;
    }
    if (a.length !== b.length || a[0].length !== b[0].length) return false;
    return a.every((r, i) => r.every((x, j) => closeVal(x, b[i][j], rel)));
  }
  if (!Number.isFinite(a.re) || !Number.isFinite(b.re)) {
    return a.re === b.re && Math.abs(a.im - b.im) <= rel;
  }
  const scale = Math.max(cabs(a), cabs(b), 1);
  return cabs(csub(a, b)) <= rel * scale;
}

// ---------------------------------------------------------------- exact rationals

/** An exact rational with d > 0 and gcd(n, d) = 1. */
export interface Q {
  n: bigint;
  d: bigint;
}

function bgcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function bits(x: bigint): number {
  return (x < 0n ? -x : x).toString(16).length * 4;
}

function mk(n: bigint, d: bigint): Q | null {
  if (d === 0n) return null;
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = bgcd(n, d);
  const q = g > 1n ? { n: n / g, d: d / g } : { n, d };
  if (bits(q.n) > MAX_EXACT_BITS || bits(q.d) > MAX_EXACT_BITS) return null;
  return q;
}

/** Parses a decimal literal exactly. */
export function decimalQ(v: string): Q | null {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(v);
  if (!m) return null;
  const ip = m[1] || "0";
  const fp = m[2] ?? "";
  if (ip.length + fp.length > 1200) return null; // 10^1200 is about MAX_EXACT_BITS
  return mk(BigInt(ip + fp), 10n ** BigInt(fp.length));
}

/** The exact value of a float that is a dyadic rational (every probe coordinate is one). */
export function dyadicQ(x: number): Q | null {
  if (!Number.isFinite(x)) return null;
  let d = 1n;
  let v = x;
  for (let k = 0; k < 64 && !Number.isInteger(v); k++) {
    v *= 2;
    d *= 2n;
  }
  return Number.isInteger(v) ? mk(BigInt(v), d) : null;
}

/**
 * Exact value of a rational expression (numbers, + - * /, integer powers, %, factorials of
 * small integers), or null when the expression is not rational or the numbers grow too large.
 * Variables take their exact values from `env` (a probe point) when it is given.
 */
export function exactQ(n: Node, modes: Modes, budget: Budget, env?: ReadonlyMap<string, Q>): Q | null {
  budget.tick();
  switch (n.k) {
    case "sym":
      return env?.get(n.name) ?? null;
    case "num":
      return decimalQ(n.v);
    case "rat":
      return mk(n.n, n.d);
    case "neg": {
      const a = exactQ(n.a, modes, budget, env);
      return a && { n: -a.n, d: a.d };
    }
    case "add":
    case "sub": {
      const a = exactQ(n.a, modes, budget, env);
      if (!a) return null;
      const b = exactQ(n.b, modes, budget, env);
      if (!b) return null;
      return mk(n.k === "add" ? a.n * b.d + b.n * a.d : a.n * b.d - b.n * a.d, a.d * b.d);
    }
    case "mul": {
      const a = exactQ(n.a, modes, budget, env);
      if (!a) return null;
      const b = exactQ(n.b, modes, budget, env);
      if (!b) return null;
      return mk(a.n * b.n, a.d * b.d);
    }
    case "div": {
      const a = exactQ(n.a, modes, budget, env);
      if (!a) return null;
      const b = exactQ(n.b, modes, budget, env);
      if (!b || b.n === 0n) return null;
      return mk(a.n * b.d, a.d * b.n);
    }
    case "pow": {
      const a = exactQ(n.a, modes, budget, env);
      if (!a) return null;
      const b = exactQ(n.b, modes, budget, env);
      if (!b || b.d !== 1n) return null;
      const e = b.n < 0n ? -b.n : b.n;
      if (a.n === 0n && b.n < 0n) return null;
      if (a.n === 0n || a.n === 1n && a.d === 1n) return a;
      if (e > 100000n || Number(e) * Math.max(bits(a.n), bits(a.d)) > MAX_EXACT_BITS) return null;
      const p = mk(a.n ** e, a.d ** e);
      if (!p) return null;
      return b.n < 0n ? mk(p.d, p.n) : p;
    }
    case "pct": {
      const a = exactQ(n.a, modes, budget, env);
      if (!a) return null;
      return modes.pct === "scale" ? mk(a.n, a.d * 100n) : a;
    }
    case "deg":
      return modes.deg === "drop" ? exactQ(n.a, modes, budget, env) : null;
    case "fn": {
      if (n.name === "fact") {
        const a = exactQ(n.args[0], modes, budget, env);
        if (!a || a.d !== 1n || a.n < 0n || a.n > 500n) return null;
        let r = 1n;
        for (let i = 2n; i <= a.n; i++) r *= i;
        return mk(r, 1n);
      }
      if (n.name === "abs") {
        const a = exactQ(n.args[0], modes, budget, env);
        return a && { n: a.n < 0n ? -a.n : a.n, d: a.d };
      }
      if (n.name === "binom") {
        const a = exactQ(n.args[0], modes, budget, env);
        const b = exactQ(n.args[1], modes, budget, env);
        if (!a || !b || a.d !== 1n || b.d !== 1n || b.n < 0n || b.n > 1000n || a.n < 0n) return null;
        let r = 1n;
        for (let i = 0n; i < b.n; i++) r = (r * (a.n - i)) / (i + 1n);
        return mk(r, 1n);
      }
      return null;
    }
    default:
      return null;
  }
}
