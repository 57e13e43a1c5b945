/**
 * Skills where checking is easier than solving. Solving needs a search or a guess (which factor
 * pair, which quotient); checking the answer is one substitution built from single-digit facts
 * and a comparison with a number in the problem. Every solution ends with that check as its last
 * line before `\boxed{}`:
 *
 * - `root`: the positive root of `x*x+b*x=c` (or `x*x-b*x=c`), found among the factor pairs of c;
 *   check `x*(x+b)=x*f=c`.
 * - `remainder`: `n` divided by `m`, a quotient guessed and multiplied back; check `r<m`.
 * - `sum-product`: the larger of two integers with a given sum and product, found among the factor
 *   pairs of the product; check both the sum and the product.
 *
 * Each draw also carries `negatives`: wrong solutions in the world's own styles, an honestly wrong
 * guess carried through to a check that shows it (the check's value differs from the problem's
 * number, or the comparison is false), or a slip carried through consistently (one false fact,
 * after which the check agrees with the problem). They label the verification corpus the demo's
 * base model is pretrained on (docs/data.md).
 */
import type { Rng } from "../../util/rng.js";
import { Rational } from "../rational.js";
import { multiplyLines, boxed } from "./steps.js";

/** A draw of a checkable skill: the shape of SynthDraft plus wrong solutions. */
export interface CheckableDraft {
  problem: string;
  answer: Rational;
  terse: string;
  detailed: string;
  /** Wrong solutions, each ending in a `\boxed{}` whose value differs from `answer`. */
  negatives: string[];
}

/** Thrown when a draw is unsuitable; the world redraws. Same role as skills.ts's Redraw. */
export type RedrawFn = () => never;

const R = (n: number): Rational => Rational.of(n, 1);
const join = (lines: string[]): string => lines.join("\n");

/** Factor pairs `d*e` of c with d <= e, smallest d first. */
function factorPairs(c: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let d = 1; d * d <= c; d++) if (c % d === 0) out.push([d, c / d]);
  return out;
}

/**
 * `g*h` as a scratchpad of single-digit facts, the digit factor first: `7*83=7*80+7*3=560+21=581`
 * (a two-digit factor split by place value). `value` is what the last `=` states (the product,
 * or a slipped value carried through).
 */
export function product(g: number, h: number, value: number): string {
  const [d, n] = g <= 9 ? [g, h] : [h, g];
  const order = (k: number): string => (g <= 9 ? `${d}*${k}` : `${k}*${d}`);
  const parts = String(n)
    .split("")
    .map((ch, i, all) => Number(ch) * 10 ** (all.length - 1 - i))
    .filter((k) => k !== 0);
  if (parts.length === 1) return `${g}*${h}=${value}`;
  return `${g}*${h}=${parts.map(order).join("+")}=${parts.map((k) => k * d).join("+")}=${value}`;
}

/** The factor pairs of c whose smaller factor is a digit 2..9, as a chain: `288=2*144=3*96=4*72=6*48=8*36=9*32`. */
function pairsLine(c: number): string {
  return `${c}=${factorPairs(c)
    .filter(([d]) => d >= 2 && d <= 9)
    .map(([d, e]) => `${d}*${e}`)
    .join("=")}`;
}

// ---------------------------------------------------------------------------------------------
// root: x*x+b*x=c or x*x-b*x=c, positive integer x

/** Largest value of the factor that is not a digit, per level (the other factor is 2..9). */
const ROOT_LARGE: Record<number, [number, number]> = { 1: [2, 59], 2: [60, 199], 3: [200, 499], 4: [500, 999], 5: [100, 999] };

export function drawRoot(rng: Rng, level: number, redraw: RedrawFn): CheckableDraft {
  const [lo, hi] = ROOT_LARGE[level];
  const digit = rng.int(2, 9);
  const large = rng.int(lo, hi);
  // The root is the digit (x*(x+b)) or the large factor (x*(x-b)).
  const minus = rng.next() < 0.5;
  const [x, f] = minus ? [large, digit] : [digit, large];
  const b = minus ? x - f : f - x;
  if (b < 1) return redraw();
  const c = x * f;
  const op = minus ? "-" : "+";
  const problem = `Find the positive integer x with x*x${op}${b}*x=${c}.`;
  const check = (g: number, h: number, value: number): string => `check: ${g}*(${g}${op}${b})=${product(g, h, value)}`;
  const choice = (g: number, h: number, diff: number): string => (minus ? `${g}-${h}=${diff}, so x=${g}` : `${h}-${g}=${diff}, so x=${g}`);
  const terse = join([`x=${x}`, check(x, f, c), boxed(R(x))]);
  const detailed = join([`x*(x${op}${b})=${c}`, pairsLine(c), choice(x, f, b), check(x, f, c), boxed(R(x))]);

  const negatives: string[] = [];
  // A wrong guess g, honestly substituted: the check's value is not c.
  const guesses = [x - 1, x + 1, x + 2, x - 2].filter((g) => g >= 2 && (minus ? g - b >= 1 : true));
  if (guesses.length > 0) {
    const g = rng.pick(guesses);
    const h = minus ? g - b : g + b;
    negatives.push(join([`x=${g}`, check(g, h, g * h), boxed(R(g))]));
    // The same guess with the check slipped to agree with the problem (g*h=c is false).
    negatives.push(join([`x=${g}`, check(g, h, c), boxed(R(g))]));
  }
  // Detailed: another factor pair taken, its difference miscounted, the check copying the pair.
  const others = factorPairs(c).filter(([d, e]) => !(d === Math.min(x, f) && e === Math.max(x, f)) && d > 1 && d <= 9);
  if (others.length > 0) {
    const [d, e] = rng.pick(others);
    const gx = minus ? e : d;
    const gh = minus ? d : e;
    negatives.push(join([`x*(x${op}${b})=${c}`, pairsLine(c), choice(gx, gh, b), check(gx, gh, c), boxed(R(gx))]));
  }
  return { problem, answer: R(x), terse, detailed, negatives: negatives.filter((n) => !n.endsWith(`{${x}}`)) };
}

// ---------------------------------------------------------------------------------------------
// remainder: n = m*q + r with the check r<m

export function drawRemainder(rng: Rng, level: number, redraw: RedrawFn): CheckableDraft {
  let m: number;
  let n: number;
  if (level === 1) {
    m = rng.int(3, 9);
    n = rng.int(10, 99);
  } else if (level <= 3) {
    m = rng.int(3, 9);
    n = level === 2 ? rng.int(100, 499) : rng.int(500, 999);
  } else {
    m = level === 4 ? rng.int(11, 19) : rng.int(21, 29);
    n = rng.int(100, 999);
  }
  if (n < m || n > 999) return redraw();
  const q = Math.floor(n / m);
  const r = n % m;
  const problem = `Find the remainder of ${n} divided by ${m}.`;
  const solution = (qq: number, rr: number): string => {
    const p = multiplyLines(qq, m);
    return join([...p.lines, `${n}-${p.value}=${rr}`, `check: ${rr}<${m}`, boxed(R(rr))]);
  };
  const terse = join([`${n}=${m}*${q}+${r}`, `check: ${r}<${m}`, boxed(R(r))]);
  const detailed = solution(q, r);

  const negatives: string[] = [];
  // A quotient guessed one too small, honestly carried: the remainder is not below m.
  if (q >= 2) {
    negatives.push(join([`${n}=${m}*${q - 1}+${r + m}`, `check: ${r + m}<${m}`, boxed(R(r + m))]));
    negatives.push(solution(q - 1, r + m));
  }
  // A subtraction slip carried through: the check holds, the difference line is false.
  const slips = [r - 1, r + 1, r + 2, r - 2].filter((s) => s >= 0 && s < m && s !== r);
  if (slips.length > 0) negatives.push(solution(q, rng.pick(slips)));
  return { problem, answer: R(r), terse, detailed, negatives };
}

// ---------------------------------------------------------------------------------------------
// sum-product: the larger of x, y with x+y=s and x*y=p

/** Range of the larger number per level (the smaller is 2..9). */
const SUM_PRODUCT_LARGE: Record<number, [number, number]> = { 1: [3, 79], 2: [80, 199], 3: [200, 499], 4: [500, 999], 5: [100, 999] };

export function drawSumProduct(rng: Rng, level: number, redraw: RedrawFn): CheckableDraft {
  const [lo, hi] = SUM_PRODUCT_LARGE[level];
  const x = rng.int(lo, hi);
  const y = rng.int(2, 9);
  if (y >= x) return redraw();
  const s = x + y;
  const p = x * y;
  const problem = `Find the larger of x,y if x+y=${s} and x*y=${p}.`;
  const check = (a: number, b: number, sum: number, prod: number): string => `check: ${a}+${b}=${sum}, ${product(a, b, prod)}`;
  const terse = join([`x=${x}, y=${y}`, check(x, y, s, p), boxed(R(x))]);
  const detailed = join([pairsLine(p), `${y}+${x}=${s}, so x=${x}`, check(x, y, s, p), boxed(R(x))]);

  const negatives: string[] = [];
  // Another split of the sum, honestly multiplied: the product is not p.
  const splits: number[] = [];
  for (let b = 2; b <= 9; b++) if (b !== y && s - b > b) splits.push(s - b);
  if (splits.length > 0) {
    const a = rng.pick(splits);
    const b = s - a;
    negatives.push(join([`x=${a}, y=${b}`, check(a, b, s, a * b), boxed(R(a))]));
    // The same split with the product slipped to agree with the problem.
    negatives.push(join([`x=${a}, y=${b}`, check(a, b, s, p), boxed(R(a))]));
  }
  // Detailed: another factor pair of p taken, its sum miscounted, the check copying the problem.
  const others = factorPairs(p).filter(([d, e]) => !(d === y && e === x) && d !== e && d > 1 && d <= 9);
  if (others.length > 0) {
    const [d, e] = rng.pick(others);
    negatives.push(join([pairsLine(p), `${d}+${e}=${s}, so x=${e}`, check(e, d, s, p), boxed(R(e))]));
  }
  return { problem, answer: R(x), terse, detailed, negatives: negatives.filter((n) => !n.endsWith(`{${x}}`)) };
}
