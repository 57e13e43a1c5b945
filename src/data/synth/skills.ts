/**
 * The skills of the synthetic world. Each generator draws one problem at a level (1 easy .. 5
 * hard) and writes it twice: `terse` jumps to results in a line or two, the way MATH's human
 * solutions do; `detailed` writes one small checkable step per line, the way PRM800K's do.
 *
 * The reference `answer` is computed with exact rationals straight from the problem's numbers;
 * the boxed values of both solutions come from the step arithmetic (plain numbers), so the
 * world's self-check (src/data/synth/world.ts) compares two independent computations.
 */
import type { Rng } from "../../util/rng.js";
import { Rational } from "../rational.js";
import {
  addColumns,
  subtractColumns,
  multiplyLines,
  euclidLines,
  modLines,
  reduceLines,
  slash,
  boxed,
  gcd,
  lcm,
} from "./steps.js";
import { drawRoot, drawRemainder, drawSumProduct } from "./checkable.js";
import { drawDigits } from "./digits.js";

/** The skills, in the order the world cycles through them. `subject` of a synth record. */
export const SKILLS = ["arithmetic", "fractions", "linear", "modular", "gcd-lcm", "expression", "word", "root", "remainder", "sum-product", "digits", "digits-search"] as const;
/** The skills whose solutions end with a check that is easier than the solving (checkable.ts, digits.ts). */
export const CHECKABLE_SKILLS: readonly Skill[] = ["root", "remainder", "sum-product", "digits", "digits-search"];
export type Skill = (typeof SKILLS)[number];

/** Difficulty levels, as in MATH. */
export const LEVELS = [1, 2, 3, 4, 5] as const;
export type Level = (typeof LEVELS)[number];

/** One drawn problem with both solutions (each ending in its `\boxed{}` line). */
export interface SynthDraft {
  problem: string;
  /** The exact value, computed from the problem's numbers. */
  answer: Rational;
  terse: string;
  detailed: string;
  /** Wrong solutions (checkable skills only), each boxing a value other than `answer`. */
  negatives?: string[];
}

type Generator = (rng: Rng, level: Level) => SynthDraft;

/** Thrown by a generator when a draw is unsuitable (too big, degenerate); the world redraws. */
export class Redraw extends Error {
  constructor() {
    super("redraw");
  }
}

const redraw = (): never => {
  throw new Redraw();
};

const R = (n: number, d = 1): Rational => Rational.of(n, d);
const join = (lines: string[]): string => lines.join("\n");
/** A k-digit number. */
const digits = (rng: Rng, k: number): number => rng.int(10 ** (k - 1), 10 ** k - 1);
/** A non-zero integer in [lo, hi]. */
function nonZero(rng: Rng, lo: number, hi: number): number {
  for (;;) {
    const v = rng.int(lo, hi);
    if (v !== 0) return v;
  }
}
/** The value a step computed, as a rational (the boxed value comes from here). */
const fromSteps = (n: number, d = 1): Rational => Rational.of(n, d);

// ---------------------------------------------------------------------------------------------
// arithmetic: column addition / subtraction (levels 1-3), long multiplication (levels 4-5)

const arithmetic: Generator = (rng, level) => {
  if (level <= 3) {
    const k = level + 1;
    const sub = level >= 2 && rng.next() < 0.5;
    let a = digits(rng, k);
    let b = digits(rng, k);
    if (sub && a < b) [a, b] = [b, a];
    const op = sub ? "-" : "+";
    const cols = sub ? subtractColumns(a, b) : addColumns(a, b);
    const v = fromSteps(Number(cols.value));
    return {
      problem: `Compute ${a}${op}${b}.`,
      answer: sub ? R(a).sub(R(b)) : R(a).add(R(b)),
      terse: join([`${a}${op}${b}=${sub ? a - b : a + b}.`, boxed(R(sub ? a - b : a + b))]),
      detailed: join([...cols.lines, boxed(v)]),
    };
  }
  const a = digits(rng, level === 4 ? 2 : 3);
  const b = digits(rng, 2);
  const m = multiplyLines(a, b);
  return {
    problem: `Compute ${a}*${b}.`,
    answer: R(a).mul(R(b)),
    terse: join([`${a}*${b}=${a * b}.`, boxed(R(a * b))]),
    detailed: join([...m.lines, boxed(fromSteps(m.value))]),
  };
};

// ---------------------------------------------------------------------------------------------
// fractions: simplify, same denominator, common denominators, products / quotients, three terms

/** `lcm(4,6)=12` and one line per fraction rewriting it over the common denominator. */
function toCommon(fracs: Array<[number, number]>): { lines: string[]; nums: number[]; den: number } {
  const den = fracs.reduce((l, [, d]) => lcm(l, d), 1);
  const lines = [`lcm(${fracs.map(([, d]) => d).join(",")})=${den}`];
  const nums: number[] = [];
  for (const [n, d] of fracs) {
    const k = den / d;
    nums.push(n * k);
    lines.push(`${den}/${d}=${k}, so ${n}/${d}=${n * k}/${den}`);
  }
  return { lines, nums, den };
}

/** `a+b-c` with the signs of a signed list (first term without a leading +). */
function signedSum(terms: number[]): string {
  return terms.map((t, i) => (t < 0 ? `-${-t}` : i === 0 ? `${t}` : `+${t}`)).join("");
}

const fractions: Generator = (rng, level) => {
  if (level === 1) {
    const g = rng.int(2, 12);
    let x = rng.int(1, 12);
    const y = rng.int(2, 12);
    if (gcd(x, y) !== 1 || x === y) throw new Redraw();
    if (rng.next() < 0.3) x += y; // sometimes improper
    const [n, d] = [g * x, g * y];
    const e = euclidLines(n, d);
    return {
      problem: `Simplify ${n}/${d}.`,
      answer: R(n, d),
      terse: join([`${n}/${d}=${x}/${y}.`, boxed(R(x, y))]),
      detailed: join([...e.lines, `${n}/${e.gcd}=${n / e.gcd}`, `${d}/${e.gcd}=${d / e.gcd}`, boxed(fromSteps(n / e.gcd, d / e.gcd))]),
    };
  }
  if (level === 2) {
    const d = rng.int(3, 15);
    const a = rng.int(1, d - 1);
    const b = rng.int(1, d - 1);
    const sub = rng.next() < 0.4;
    if (sub && a === b) throw new Redraw();
    const s = sub ? a - b : a + b;
    const red = reduceLines(s, d, "");
    const problem = `Compute ${a}/${d}${sub ? "-" : "+"}${b}/${d}.`;
    return {
      problem,
      answer: sub ? R(a, d).sub(R(b, d)) : R(a, d).add(R(b, d)),
      terse: join([`${a}/${d}${sub ? "-" : "+"}${b}/${d}=${Rational.of(s, d)}.`, boxed(R(s, d))]),
      detailed: join([`${signedSum([a, sub ? -b : b])}=${s}, so ${slash(s, d)}`, ...red, boxed(fromSteps(s, d))]),
    };
  }
  if (level === 3) {
    const b = rng.int(2, 12);
    const d = rng.int(2, 12);
    if (b === d) throw new Redraw();
    const a = rng.int(1, b - 1);
    const c = rng.int(1, d - 1);
    const sub = rng.next() < 0.4;
    const com = toCommon([
      [a, b],
      [c, d],
    ]);
    const terms = [com.nums[0], sub ? -com.nums[1] : com.nums[1]];
    const s = terms[0] + terms[1];
    if (s === 0) throw new Redraw();
    const op = sub ? "-" : "+";
    const answer = sub ? R(a, b).sub(R(c, d)) : R(a, b).add(R(c, d));
    return {
      problem: `Compute ${a}/${b}${op}${c}/${d}.`,
      answer,
      terse: join([`${a}/${b}${op}${c}/${d}=${slash(s, com.den)}=${answer}.`.replace(/=([^=]+)=\1\.$/, "=$1."), boxed(R(s, com.den))]),
      detailed: join([...com.lines, `${signedSum(terms)}=${s}, so ${slash(s, com.den)}`, ...reduceLines(s, com.den, ""), boxed(fromSteps(s, com.den))]),
    };
  }
  if (level === 4) {
    const a = rng.int(1, 12);
    const b = rng.int(2, 12);
    const c = rng.int(1, 12);
    const d = rng.int(2, 12);
    const divide = rng.next() < 0.4;
    const [p, q] = divide ? [a * d, b * c] : [a * c, b * d];
    const answer = divide ? R(a, b).div(R(c, d)) : R(a, b).mul(R(c, d));
    const lines: string[] = [];
    if (divide) lines.push(`${a}/${b}*${d}/${c}`);
    const [x, y] = divide ? [d, c] : [c, d];
    lines.push(`${a}*${x}=${p}`, `${b}*${y}=${q}, so ${p}/${q}`, ...reduceLines(p, q, ""));
    return {
      problem: divide ? `Compute ${a}/${b} divided by ${c}/${d}.` : `Compute ${a}/${b}*${c}/${d}.`,
      answer,
      terse: join([`${divide ? `${a}/${b}*${d}/${c}` : `${a}/${b}*${c}/${d}`}=${answer}.`, boxed(R(p, q))]),
      detailed: join([...lines, boxed(fromSteps(p, q))]),
    };
  }
  const fr: Array<[number, number]> = [];
  for (let i = 0; i < 3; i++) {
    const d = rng.int(2, 9);
    fr.push([rng.int(1, d - 1), d]);
  }
  const signs = [1, rng.next() < 0.5 ? -1 : 1, rng.next() < 0.5 ? -1 : 1];
  const com = toCommon(fr);
  if (com.den > 60) throw new Redraw();
  const terms = com.nums.map((n, i) => n * signs[i]);
  const s = terms.reduce((x, y) => x + y, 0);
  if (s === 0) throw new Redraw();
  const answer = fr.reduce((acc, [n, d], i) => acc.add(R(n * signs[i], d)), Rational.zero);
  const expr = fr.map(([n, d], i) => `${i === 0 ? "" : signs[i] < 0 ? "-" : "+"}${n}/${d}`).join("");
  return {
    problem: `Compute ${expr}.`,
    answer,
    terse: join([`${expr}=${slash(s, com.den)}=${answer}.`.replace(/=([^=]+)=\1\.$/, "=$1."), boxed(R(s, com.den))]),
    detailed: join([...com.lines, `${signedSum(terms)}=${s}, so ${slash(s, com.den)}`, ...reduceLines(s, com.den, ""), boxed(fromSteps(s, com.den))]),
  };
};

// ---------------------------------------------------------------------------------------------
// linear: one algebraic move per line; roots are fractions from level 3 on

/** `3x`, `x`, `-x`, `-3x`. */
function xTerm(a: number): string {
  return a === 1 ? "x" : a === -1 ? "-x" : `${a}x`;
}
/** `+4`, `-4`, or nothing for 0. */
function constTerm(b: number): string {
  return b === 0 ? "" : b > 0 ? `+${b}` : `${b}`;
}
/** `c-b` written without a double sign: `9-4`, `9+4`. */
function minus(c: number, b: number): string {
  return b < 0 ? `${c}+${-b}` : `${c}-${b}`;
}

/** From `a*x = n` (a, n known) to the value of x, one line each; returns the lines and x. */
function divideOut(a: number, n: number): { lines: string[]; x: Rational } {
  const lines: string[] = [`${xTerm(a)}=${n}`];
  if (a === 1) return { lines, x: fromSteps(n) };
  if (a === -1) {
    lines.push(`x=${-n}`);
    return { lines, x: fromSteps(-n) };
  }
  const sn = a < 0 ? -n : n;
  const sa = Math.abs(a);
  lines.push(`x=${slash(sn, sa)}`);
  lines.push(...reduceLines(sn, sa, "x="));
  return { lines, x: fromSteps(sn, sa) };
}

const linear: Generator = (rng, level) => {
  if (level === 1) {
    const b = nonZero(rng, -20, 20);
    const c = rng.int(1, 60);
    return {
      problem: `Solve x${constTerm(b)}=${c}.`,
      answer: R(c).sub(R(b)),
      terse: join([`x=${c - b}.`, boxed(R(c - b))]),
      detailed: join([`x=${minus(c, b)}`, `x=${c - b}`, boxed(fromSteps(c - b))]),
    };
  }
  if (level <= 3) {
    const a = rng.int(2, 9) * (level === 3 && rng.next() < 0.3 ? -1 : 1);
    const b = nonZero(rng, -20, 20);
    let c: number;
    if (level === 2) c = a * nonZero(rng, -9, 9) + b;
    else {
      c = rng.int(-30, 30);
      if ((c - b) % a === 0) throw new Redraw();
    }
    const answer = R(c).sub(R(b)).div(R(a));
    const d = divideOut(a, c - b);
    return {
      problem: `Solve ${xTerm(a)}${constTerm(b)}=${c}.`,
      answer,
      terse: join([`${xTerm(a)}=${c - b}, so x=${answer}.`, boxed(R(c - b, a))]),
      detailed: join([`${xTerm(a)}=${minus(c, b)}`, ...d.lines, boxed(d.x)]),
    };
  }
  // level 4: ax+b=cx+d; level 5: a(ex+f)=cx+d, expanded first.
  let a: number, b: number;
  const pre: string[] = [];
  let lhs: string;
  if (level === 4) {
    a = nonZero(rng, -9, 9);
    b = nonZero(rng, -20, 20);
    lhs = `${xTerm(a)}${constTerm(b)}`;
  } else {
    const m = rng.int(2, 6);
    const e = rng.int(1, 5);
    const f = nonZero(rng, -9, 9);
    a = m * e;
    b = m * f;
    lhs = `${m}(${xTerm(e)}${constTerm(f)})`;
    pre.push(`${xTerm(a)}${constTerm(b)}`);
  }
  const c = nonZero(rng, -9, 9);
  const d = rng.int(-20, 20);
  if (a === c || d === b) throw new Redraw();
  const rhs = `${xTerm(c)}${constTerm(d)}`;
  if (pre.length) pre[0] += `=${rhs}`;
  const answer = R(d).sub(R(b)).div(R(a - c));
  const moveX = `${xTerm(a)}${c < 0 ? `+${xTerm(-c)}` : `-${xTerm(c)}`}`;
  const dv = divideOut(a - c, d - b);
  return {
    problem: `Solve ${lhs}=${rhs}.`,
    answer,
    terse: join([`${xTerm(a - c)}=${d - b}, so x=${answer}.`, boxed(R(d - b, a - c))]),
    detailed: join([...pre, `${moveX}=${minus(d, b)}`, ...dv.lines, boxed(dv.x)]),
  };
};

// ---------------------------------------------------------------------------------------------
// modular: remainders of numbers, sums, products and powers

const modular: Generator = (rng, level) => {
  if (level <= 2) {
    const n = level === 1 ? rng.int(10, 199) : rng.int(100, 999);
    const m = level === 1 ? rng.int(3, 9) : rng.int(3, 12);
    const r = modLines(n, m);
    const q = Math.floor(n / m);
    return {
      problem: `Find ${n} mod ${m}.`,
      answer: R(n).sub(R(q).mul(R(m))),
      terse: join([`${n}=${m}*${q}+${n % m}.`, boxed(R(n % m))]),
      detailed: join([...r.lines, boxed(fromSteps(r.r))]),
    };
  }
  if (level <= 4) {
    const prod = level === 4;
    const a = prod ? rng.int(20, 999) : rng.int(100, 999);
    const b = prod ? rng.int(20, 999) : rng.int(100, 999);
    const m = prod ? rng.int(5, 13) : rng.int(3, 12);
    const op = prod ? "*" : "+";
    const ra = modLines(a, m);
    const rb = modLines(b, m);
    const s = prod ? ra.r * rb.r : ra.r + rb.r;
    const rs = modLines(s, m);
    const exact = prod ? a * b : a + b;
    const lines = [...ra.lines, ...rb.lines, `${ra.r}${op}${rb.r}=${s}`, ...(s >= m ? rs.lines : [])];
    return {
      problem: `Find (${a}${op}${b}) mod ${m}.`,
      answer: R(exact % m),
      terse: join([`${a}${op}${b}=${exact}=${m}*${Math.floor(exact / m)}+${exact % m}.`, boxed(R(exact % m))]),
      detailed: join([...lines, boxed(fromSteps(rs.r))]),
    };
  }
  const a = rng.int(2, 40);
  const k = rng.int(3, 6);
  const m = rng.int(5, 17);
  if (a % m === 0) throw new Redraw();
  const lines: string[] = [];
  let r = a;
  if (a >= m) {
    const ra = modLines(a, m);
    lines.push(...ra.lines);
    r = ra.r;
  }
  let cur = r;
  for (let j = 2; j <= k; j++) {
    const p = cur * r;
    const q = Math.floor(p / m);
    cur = p % m;
    lines.push(p >= m ? `${a}^${j}: ${p / r}*${r}=${p}=${q}*${m}+${cur}` : `${a}^${j}: ${p / r}*${r}=${p}`);
  }
  const big = BigInt(a) ** BigInt(k);
  const ans = Number(big % BigInt(m));
  return {
    problem: `Find ${a}^${k} mod ${m}.`,
    answer: R(ans),
    terse: join([`${a}^${k}=${big}=${m}*${big / BigInt(m)}+${ans}.`, boxed(R(ans))]),
    detailed: join([...lines, boxed(fromSteps(cur))]),
  };
};

// ---------------------------------------------------------------------------------------------
// gcd-lcm: Euclid's algorithm, lcm through the gcd, gcd of three numbers

const gcdLcm: Generator = (rng, level) => {
  if (level === 5) {
    const g = rng.int(2, 12);
    const [x, y, z] = [rng.int(3, 40), rng.int(3, 40), rng.int(3, 40)];
    const [a, b, c] = [g * x, g * y, g * z];
    if (a === b || b === c || a === c) throw new Redraw();
    const e1 = euclidLines(a, b);
    const e2 = euclidLines(e1.gcd, c);
    const ans = gcd(gcd(a, b), c);
    return {
      problem: `Find gcd(${a},${b},${c}).`,
      answer: R(ans),
      terse: join([`gcd(${a},${b})=${e1.gcd}, so gcd(${a},${b},${c})=${ans}.`, boxed(R(ans))]),
      detailed: join([...e1.lines, ...(e1.gcd === c ? [] : e2.lines), boxed(fromSteps(e2.gcd))]),
    };
  }
  const isLcm = level >= 3;
  const small = level === 1 || level === 3;
  const g = small ? rng.int(2, 19) : rng.int(2, 30);
  const x = small ? rng.int(2, 19) : rng.int(2, 33);
  const y = small ? rng.int(2, 19) : rng.int(2, 33);
  const a = g * x;
  const b = g * y;
  if (a === b || (small && (a > 99 || b > 99)) || (!small && (a < 100 || b < 100 || a > 999 || b > 999)))
    throw new Redraw();
  const e = euclidLines(a, b);
  if (!isLcm) {
    return {
      problem: `Find gcd(${a},${b}).`,
      answer: R(gcd(a, b)),
      terse: join([`gcd(${a},${b})=${gcd(a, b)}.`, boxed(R(gcd(a, b)))]),
      detailed: join([...e.lines, boxed(fromSteps(e.gcd))]),
    };
  }
  const l = lcm(a, b);
  const q = a / e.gcd;
  const m = multiplyLines(b, q);
  return {
    problem: `Find lcm(${a},${b}).`,
    answer: R(a).mul(R(b)).div(R(gcd(a, b))),
    terse: join([`lcm(${a},${b})=${a}*${b}/${gcd(a, b)}=${l}.`, boxed(R(l))]),
    detailed: join([...e.lines, `${a}/${e.gcd}=${q}, so lcm=${b}*${q}`, ...m.lines, boxed(fromSteps(m.value))]),
  };
};

// ---------------------------------------------------------------------------------------------
// expression: evaluation with precedence, one operation per line, the whole expression rewritten

type Expr = { kind: "num"; v: number } | { kind: "op"; op: "+" | "-" | "*"; l: Expr; r: Expr };

const prec = (op: string): number => (op === "*" ? 2 : 1);

/** Renders with the fewest parentheses; negative numbers in parentheses unless leftmost. */
function render(e: Expr, parentPrec = 0, rightSide = false, leftmost = true): string {
  if (e.kind === "num") return e.v < 0 && !leftmost ? `(${e.v})` : `${e.v}`;
  const p = prec(e.op);
  const paren = p < parentPrec || (rightSide && p === parentPrec);
  const inner = `${render(e.l, p, false, paren || leftmost)}${e.op}${render(e.r, p, true, false)}`;
  return paren ? `(${inner})` : inner;
}

function value(e: Expr): number {
  if (e.kind === "num") return e.v;
  const l = value(e.l);
  const r = value(e.r);
  return e.op === "+" ? l + r : e.op === "-" ? l - r : l * r;
}

/** The same value with exact rationals (the reference answer). */
function exactValue(e: Expr): Rational {
  if (e.kind === "num") return R(e.v);
  const l = exactValue(e.l);
  const r = exactValue(e.r);
  return e.op === "+" ? l.add(r) : e.op === "-" ? l.sub(r) : l.mul(r);
}

/** Replaces the leftmost operation whose operands are both numbers by its value. */
function reduceOnce(e: Expr): Expr {
  if (e.kind === "num") return e;
  if (e.l.kind === "num" && e.r.kind === "num") return { kind: "num", v: value(e) };
  if (e.l.kind === "op") return { ...e, l: reduceOnce(e.l) };
  return { ...e, r: reduceOnce(e.r) };
}

/** All intermediate values stay within +-limit. */
function bounded(e: Expr, limit: number): boolean {
  if (e.kind === "num") return Math.abs(e.v) <= limit;
  return bounded(e.l, limit) && bounded(e.r, limit) && Math.abs(value(e)) <= limit;
}

function randomExpr(rng: Rng, ops: number, maxNum: number, allowNeg: boolean): Expr {
  if (ops === 0) {
    const v = rng.int(1, maxNum);
    return { kind: "num", v: allowNeg && rng.next() < 0.15 ? -v : v };
  }
  const left = rng.int(0, ops - 1);
  const op = rng.pick(["+", "-", "*"] as const);
  return { kind: "op", op, l: randomExpr(rng, left, maxNum, allowNeg), r: randomExpr(rng, ops - 1 - left, maxNum, allowNeg) };
}

/** Chain lines `=...` reducing `e` to a number. */
function chain(e: Expr, show: (x: Expr) => string): { lines: string[]; v: number } {
  const lines: string[] = [];
  while (e.kind !== "num") {
    e = reduceOnce(e);
    lines.push(`=${show(e)}`);
  }
  return { lines, v: e.v };
}

const expression: Generator = (rng, level) => {
  const spec = { 1: [2, 9], 2: [3, 12], 3: [4, 15], 5: [5, 12] } as const;
  if (level !== 4) {
    const [ops, maxNum] = spec[level];
    const e = randomExpr(rng, ops, maxNum, level >= 3);
    if (!bounded(e, level <= 2 ? 200 : 999)) throw new Redraw();
    const c = chain(e, (x) => render(x));
    const text = render(e);
    return {
      problem: `Evaluate ${text}.`,
      answer: exactValue(e),
      terse: join([`${text}=${value(e)}.`, boxed(R(value(e)))]),
      detailed: join([...c.lines, boxed(fromSteps(c.v))]),
    };
  }
  // level 4: a quotient (E1)/(E2) whose value is a fraction in lowest terms at the end.
  const top = randomExpr(rng, 2, 12, false);
  const bottom = randomExpr(rng, 1, 12, false);
  const tv = value(top);
  const bv = value(bottom);
  if (bv === 0 || tv === 0 || !bounded(top, 200) || !bounded(bottom, 200) || tv % bv === 0) throw new Redraw();
  // Numerator and denominator: an operation in parentheses; a negative denominator too.
  const side = (x: Expr, bottomSide = false): string => (x.kind === "num" ? render(x, 0, false, !bottomSide) : `(${render(x)})`);
  const text = `${side(top)}/${side(bottom, true)}`;
  const lines: string[] = [];
  let t = top;
  let b = bottom;
  while (t.kind !== "num") {
    t = reduceOnce(t);
    lines.push(`=${side(t)}/${side(b, true)}`);
  }
  while (b.kind !== "num") {
    b = reduceOnce(b);
    lines.push(`=${side(t)}/${side(b, true)}`);
  }
  const n = (t as { v: number }).v;
  const d = (b as { v: number }).v;
  lines.push(...reduceLines(n, d, "="));
  const answer = exactValue(top).div(exactValue(bottom));
  return {
    problem: `Evaluate ${text}.`,
    answer,
    terse: join([`${text}=${slash(tv, bv)}${gcd(tv, bv) > 1 ? `=${answer}` : ""}.`, boxed(R(tv, bv))]),
    detailed: join([...lines, boxed(fromSteps(n, d))]),
  };
};

// ---------------------------------------------------------------------------------------------
// word: short stories over the same operations; shares come out as mixed numbers

const NAMES = ["Ann", "Bo", "Cy", "Dee", "Eve", "Max", "Sam", "Tom"] as const;
const ITEMS = ["apples", "pens", "cards", "eggs", "books", "coins", "beads", "shells"] as const;
const FOODS = ["pies", "cakes", "pears", "melons"] as const;

/** `q r/d` reasoning for n / d: `3*2=6`, `7-6=1, so 2 and 1/3`; returns lines and the value. */
function shareLines(n: number, d: number, unit: string): { lines: string[]; v: Rational } {
  const q = Math.floor(n / d);
  const r = n - d * q;
  const lines = [`${d}*${q}=${d * q}`];
  if (r === 0) {
    lines.push(`${n}-${d * q}=0, so ${q} ${unit}`);
    return { lines, v: fromSteps(q) };
  }
  const g = gcd(r, d);
  lines.push(`${n}-${d * q}=${r}, so ${q} and ${r}/${d} ${unit}`);
  if (g > 1) lines.push(`gcd(${r},${d})=${g}, so ${r}/${d}=${r / g}/${d / g}`);
  return { lines, v: fromSteps(q).add(fromSteps(r / g, d / g)) };
}

/** A positive rational as plain text, mixed when above 1: `2 1/3`, `1/2`, `4`. */
function mixedText(v: Rational): string {
  if (v.isInteger() || v.num < v.den) return v.toString();
  return `${v.num / v.den} ${v.num % v.den}/${v.den}`;
}

const word: Generator = (rng, level) => {
  const name = rng.pick(NAMES);
  const item = rng.pick(ITEMS);
  if (level === 1) {
    const a = rng.int(10, 99);
    const b = rng.int(10, 99);
    if (rng.next() < 0.5) {
      const c = addColumns(a, b);
      return {
        problem: `${name} has ${a} ${item} and gets ${b} more. How many ${item} does ${name} have?`,
        answer: R(a).add(R(b)),
        terse: join([`${a}+${b}=${a + b}.`, boxed(R(a + b))]),
        detailed: join([`${name} has ${a}+${b} ${item}.`, ...c.lines, boxed(fromSteps(Number(c.value)))]),
      };
    }
    const [hi, lo] = a >= b ? [a, b] : [b, a];
    const c = subtractColumns(hi, lo);
    return {
      problem: `${name} has ${hi} ${item} and gives away ${lo}. How many ${item} are left?`,
      answer: R(hi).sub(R(lo)),
      terse: join([`${hi}-${lo}=${hi - lo}.`, boxed(R(hi - lo))]),
      detailed: join([`${hi}-${lo} ${item} are left.`, ...c.lines, boxed(fromSteps(Number(c.value)))]),
    };
  }
  if (level === 2) {
    const a = rng.int(11, 99);
    const b = rng.int(3, 9);
    const m = multiplyLines(a, b);
    return {
      problem: `A box holds ${a} ${item}. How many ${item} are in ${b} boxes?`,
      answer: R(a).mul(R(b)),
      terse: join([`${a}*${b}=${a * b}.`, boxed(R(a * b))]),
      detailed: join([`${b} boxes hold ${a}*${b} ${item}.`, ...m.lines, boxed(fromSteps(m.value))]),
    };
  }
  if (level === 3) {
    const k = rng.int(2, 9);
    const p = rng.int(11, 49);
    const pay = [100, 200, 500].find((x) => x > k * p) as number;
    const m = multiplyLines(p, k);
    const s = subtractColumns(pay, m.value);
    return {
      problem: `${name} buys ${k} pens at ${p} cents each and pays ${pay} cents. How much change, in cents?`,
      answer: R(pay).sub(R(k).mul(R(p))),
      terse: join([`${pay}-${k}*${p}=${pay - k * p}.`, boxed(R(pay - k * p))]),
      detailed: join([`The pens cost ${p}*${k} cents.`, ...m.lines, `The change is ${pay}-${m.value}.`, ...s.lines, boxed(fromSteps(Number(s.value)))]),
    };
  }
  if (level === 4) {
    if (rng.next() < 0.5) {
      const b = rng.int(2, 9);
      const a = rng.int(b + 1, 60);
      if (a % b === 0) throw new Redraw();
      const food = rng.pick(FOODS);
      const sh = shareLines(a, b, food);
      return {
        problem: `${a} ${food} are shared equally by ${b} kids. How many ${food} does each kid get?`,
        answer: R(a, b),
        terse: join([`${a}/${b}=${mixedText(R(a, b))}.`, boxed(R(a, b), "mixed")]),
        detailed: join([`Each kid gets ${a}/${b} ${food}.`, ...sh.lines, boxed(sh.v, "mixed")]),
      };
    }
    const q = rng.int(3, 9);
    const p = rng.int(1, q - 1);
    if (gcd(p, q) !== 1) throw new Redraw();
    const k = rng.int(2, 15);
    const t = q * k;
    const m = multiplyLines(k, p);
    return {
      problem: `A tank holds ${t} liters and is ${p}/${q} full. How many liters are in it?`,
      answer: R(t).mul(R(p, q)),
      terse: join([`${p}/${q}*${t}=${p * k}.`, boxed(R(p * k))]),
      detailed: join([`${t}/${q}=${t / q}`, ...m.lines, boxed(fromSteps(m.value))]),
    };
  }
  const other = rng.pick(NAMES.filter((n) => n !== name));
  const a = rng.int(5, 30);
  const b = rng.int(5, 30);
  const s = a + b;
  const total = rng.int(s + 1, 300);
  if (total % s === 0) throw new Redraw();
  const sh = shareLines(total, s, "days");
  return {
    problem: `${name} reads ${a} pages a day and ${other} reads ${b}. Together, how many days to read ${total} pages?`,
    answer: R(total, a + b),
    terse: join([`${total}/(${a}+${b})=${total}/${s}=${mixedText(R(total, s))}.`, boxed(R(total, s), "mixed")]),
    detailed: join([`${a}+${b}=${s} pages a day.`, `${total}/${s} days.`, ...sh.lines, boxed(sh.v, "mixed")]),
  };
};

/** The generator of each skill. */
export const GENERATORS: Readonly<Record<Skill, Generator>> = {
  arithmetic,
  fractions,
  linear,
  modular,
  "gcd-lcm": gcdLcm,
  expression,
  word,
  root: (rng, level) => drawRoot(rng, level, redraw),
  remainder: (rng, level) => drawRemainder(rng, level, redraw),
  "sum-product": (rng, level) => drawSumProduct(rng, level, redraw),
  digits: (rng, level) => drawDigits(rng, level, redraw),
  "digits-search": (rng, level) => drawDigits(rng, level, redraw, { search: true }),
};
