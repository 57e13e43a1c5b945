/**
 * Building blocks of the detailed solutions: each function returns lines that each do one small
 * operation a character-level model can carry out by looking at a few nearby characters
 * (one column of an addition, one Euclid division, one product of a digit by a number).
 */
import { Rational } from "../rational.js";

/** Digits of a non-negative integer, least significant first. */
function digitsOf(n: number): number[] {
  return String(n).split("").reverse().map(Number);
}

/**
 * Column addition of non-negative integers, right to left, with a running partial result:
 * `7+6=13, so far 3, carry 1`. The last column writes its whole value, so no final carry line.
 */
export function addColumns(a: number, b: number): { lines: string[]; value: string } {
  const da = digitsOf(a);
  const db = digitsOf(b);
  const width = Math.max(da.length, db.length);
  const lines: string[] = [];
  let carry = 0;
  let soFar = "";
  for (let i = 0; i < width; i++) {
    const terms: number[] = [];
    if (i < da.length) terms.push(da[i]);
    if (i < db.length) terms.push(db[i]);
    if (carry) terms.push(carry);
    const v = terms.reduce((s, t) => s + t, 0);
    const expr = terms.length === 1 ? `${v}` : `${terms.join("+")}=${v}`;
    const last = i === width - 1;
    if (last) {
      soFar = `${v}${soFar}`;
      lines.push(`${expr}, so far ${soFar}`);
    } else {
      carry = v >= 10 ? 1 : 0;
      soFar = `${v % 10}${soFar}`;
      lines.push(`${expr}, so far ${soFar}${carry ? ", carry 1" : ""}`);
    }
  }
  return { lines, value: soFar };
}

/**
 * Column subtraction a - b for a >= b >= 0, right to left with borrows: a column that needs a
 * borrow is written with its borrowed ten, `12-8=4, so far 4, borrow 1`, and the next column
 * subtracts the borrow, `7-1-3=3`. Leading zeros stay in the running result; the caller states
 * the final value.
 */
export function subtractColumns(a: number, b: number): { lines: string[]; value: string } {
  if (b > a) throw new RangeError("subtractColumns needs a >= b");
  const da = digitsOf(a);
  const db = digitsOf(b);
  const lines: string[] = [];
  let borrow = 0;
  let soFar = "";
  for (let i = 0; i < da.length; i++) {
    const t = da[i];
    const d = i < db.length ? db[i] : 0;
    const need = t - borrow < d;
    const top = need ? 10 + t : t;
    const v = top - borrow - d;
    let expr = `${top}`;
    if (borrow) expr += "-1";
    if (i < db.length) expr += `-${d}`;
    soFar = `${v}${soFar}`;
    const shown = expr === `${top}` ? `${v}` : `${expr}=${v}`;
    lines.push(`${shown}, so far ${soFar}${need ? ", borrow 1" : ""}`);
    borrow = need ? 1 : 0;
  }
  return { lines, value: soFar.replace(/^0+(?=\d)/, "") };
}

/**
 * Product of a number by one digit-times-power-of-ten `m` (such as 6 or 30), split by the place
 * values of `a`: `47*30=40*30+7*30=1200+210=1410`.
 */
export function multiplyByPart(a: number, m: number): string {
  const parts = digitsOf(a)
    .map((d, i) => d * 10 ** i)
    .reverse()
    .filter((p) => p !== 0);
  if (parts.length === 1) return `${a}*${m}=${a * m}`;
  const prods = parts.map((p) => p * m);
  return `${a}*${m}=${parts.map((p) => `${p}*${m}`).join("+")}=${prods.join("+")}=${a * m}`;
}

/**
 * Long multiplication a * b: one line per non-zero digit of b, then the sum of the partial
 * products (one line). `value` is that sum, computed from the partial products.
 */
export function multiplyLines(a: number, b: number): { lines: string[]; value: number } {
  const parts = digitsOf(b)
    .map((d, i) => d * 10 ** i)
    .filter((p) => p !== 0);
  const lines = parts.map((p) => multiplyByPart(a, p));
  const prods = parts.map((p) => a * p);
  const value = prods.reduce((s, x) => s + x, 0);
  if (parts.length > 1) lines.push(`${prods.join("+")}=${value}`);
  return { lines, value };
}

/** Euclid's algorithm on a, b > 0 as lines `48=2*18+12`; returns the lines and the gcd. */
export function euclidLines(a: number, b: number): { lines: string[]; gcd: number } {
  let x = Math.max(a, b);
  let y = Math.min(a, b);
  const lines: string[] = [];
  while (y !== 0) {
    const q = Math.floor(x / y);
    const r = x % y;
    lines.push(`${x}=${q}*${y}+${r}`);
    x = y;
    y = r;
  }
  return { lines, gcd: x };
}

export function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

export function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/**
 * Remainder of n >= 0 by m > 0 in two checkable lines: the largest multiple of m not above n,
 * then the difference. Returns the lines and the remainder.
 */
export function modLines(n: number, m: number): { lines: string[]; r: number } {
  const q = Math.floor(n / m);
  const r = n % m;
  if (q === 0) return { lines: [`${n}<${m}, so ${n} mod ${m}=${n}`], r };
  return { lines: [`${m}*${q}=${m * q}`, `${n}-${m * q}=${r}, so ${n} mod ${m}=${r}`], r };
}

/** `n/d` with the sign in front: `-7/3`, `7/3`. */
export function slash(n: number, d: number): string {
  const neg = n < 0 !== d < 0 && n !== 0;
  return `${neg ? "-" : ""}${Math.abs(n)}/${Math.abs(d)}`;
}

/**
 * Reducing `prefix n/d` to lowest terms: nothing when it already is (and d is 1 or positive),
 * otherwise `gcd(18,12)=6, so x=3/2` (or an integer). `prefix` is what the line starts with
 * (`x=` or `=` or empty).
 */
export function reduceLines(n: number, d: number, prefix: string): string[] {
  const g = gcd(n, d);
  const v = Rational.of(n, d);
  if (g === 1 && d > 0) return [];
  const shown = v.isInteger() ? v.num.toString() : slash(Number(v.num), Number(v.den));
  if (g === 1) return [`${prefix}${shown}`];
  return [`gcd(${Math.abs(n)},${Math.abs(d)})=${g}, so ${prefix}${shown}`];
}

/** How a boxed answer is written: canonical LaTeX, or a mixed number. */
export type AnswerForm = "canonical" | "mixed";

/** The final line of every solution. */
export function boxed(v: Rational, form: AnswerForm = "canonical"): string {
  return `\\boxed{${form === "mixed" ? v.toMixedLatex() : v.toLatex()}}`;
}
