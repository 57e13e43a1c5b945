/**
 * The `digits` skill: a number whose digits satisfy a small system, one equation per pair of
 * neighbouring digits plus one that closes the chain (`Find the three-digit number abc whose digits
 * satisfy a+b=9, b+c=12, a+c=11.`). Solving it needs a guess (or the algebra that eliminates all
 * but one digit); checking a candidate needs only single-digit facts: each line of every solution
 * is a sum, difference, product or quotient of digits, and the check compares the closing
 * equation's value with the number the problem states.
 *
 * - terse: all digits guessed at once, then every equation checked on one line;
 * - detailed: the first digit guessed, each next digit derived from its equation with the one
 *   before (one fact per line), then the closing equation checked.
 *
 * The system always has exactly one solution among the k-digit numbers (checked by enumeration).
 * Negatives: a wrong first digit carried through honestly (the check's value is not the problem's
 * number), the same with the check slipped to state the problem's number (a false fact), a slip in
 * one derivation carried through, and the terse guess of a wrong number with honest or slipped
 * checks. Levels: 2, 3, 4 digits with sums and differences (levels 1-3); 4 and 5 digits with
 * products too (levels 4-5).
 *
 * The `digits-search` skill is the same system with a detailed solution that shows the search:
 * up to two wrong first digits are tried before the right one, each carried until it fails, and
 * the failure is written as a true statement (`b=9+2=11, not a digit`; `check: a-c=7-1=6, not 4`).
 * A wrong guess then always has an honest continuation, and the value a check states can only be
 * computed, never copied from the problem (in `digits` it always equals the problem's number).
 * Its negatives carry the same failed tries before the wrong final attempt.
 */
import type { Rng } from "../../util/rng.js";
import { Rational } from "../rational.js";
import type { CheckableDraft, RedrawFn } from "./checkable.js";
import { boxed } from "./steps.js";

const LETTERS = ["a", "b", "c", "d", "e"] as const;
const WORDS: Record<number, string> = { 2: "two", 3: "three", 4: "four", 5: "five" };

type Op = "+" | "-" | "*";

/** One equation of the system: digit `i` op digit `j` = value (`j - i` for a difference written `b-a`). */
interface Equation {
  i: number;
  j: number;
  op: Op;
  value: number;
}

const apply = (op: Op, x: number, y: number): number => (op === "+" ? x + y : op === "-" ? x - y : x * y);
const name = (e: Equation): string => `${LETTERS[e.i]}${e.op}${LETTERS[e.j]}`;

/** The equation over digits `x` (index i) and `y` (index j), written so its value is not negative. */
function equation(i: number, j: number, x: number, y: number, op: Op): Equation {
  if (op === "-" && x < y) return { i: j, j: i, op, value: y - x };
  return { i, j, op, value: apply(op, x, y) };
}

/** The k-digit numbers (first digit 1-9) whose digits satisfy every equation. */
function solutions(k: number, eqs: readonly Equation[]): number[][] {
  const out: number[][] = [];
  const ds = new Array<number>(k).fill(0);
  const walk = (pos: number): void => {
    if (pos === k) {
      if (eqs.every((e) => apply(e.op, ds[e.i], ds[e.j]) === e.value)) out.push([...ds]);
      return;
    }
    for (let v = pos === 0 ? 1 : 0; v <= 9; v++) {
      ds[pos] = v;
      walk(pos + 1);
    }
  };
  walk(0);
  return out;
}

/**
 * The line that derives digit `t` from the known digit `s` by equation `e`
 * (`b=9-4=5`, `b=7-2=5`, `b=4+2=6`, `b=20/4=5`), with `value` as the stated result (a slip when
 * it is not the true one). Null when the digit cannot be derived (out of range, not exact).
 */
function deriveLine(e: Equation, t: number, known: number): { line: string; value: number } | null {
  const tl = LETTERS[t];
  let expr: string;
  let value: number;
  if (e.op === "+") {
    expr = `${e.value}-${known}`;
    value = e.value - known;
  } else if (e.op === "-") {
    // e: x_i - x_j = value. Deriving j: known - value; deriving i: known + value.
    if (t === e.j) {
      expr = `${known}-${e.value}`;
      value = known - e.value;
    } else {
      expr = `${known}+${e.value}`;
      value = known + e.value;
    }
  } else {
    if (known === 0 || e.value % known !== 0) return null;
    expr = `${e.value}/${known}`;
    value = e.value / known;
  }
  if (value < 0 || value > 9) return null;
  return { line: `${tl}=${expr}=${value}`, value };
}

/** `name=x op y=value` for equation e over the digits `ds`, stating `stated` as its value. */
const checkPart = (e: Equation, ds: readonly number[], stated: number): string => `${name(e)}=${ds[e.i]}${e.op}${ds[e.j]}=${stated}`;

/**
 * The detailed solution from first digit `first`: each next digit derived from the chain's
 * equation, with `slipAt` (a chain index) stating `slipValue` instead of the true result. Null when
 * a digit leaves 0-9. Returns the lines before the check and the digits.
 */
function derive(chain: readonly Equation[], k: number, first: number, slip?: { at: number; by: number }): { lines: string[]; ds: number[] } | null {
  const ds = [first];
  const lines = [`a=${first}`];
  for (let t = 1; t < k; t++) {
    const d = deriveLine(chain[t - 1], t, ds[t - 1]);
    if (!d) return null;
    if (slip && slip.at === t - 1) {
      const v = d.value + slip.by;
      if (v < 0 || v > 9) return null;
      lines.push(d.line.replace(/=\d+$/, `=${v}`));
      ds.push(v);
    } else {
      lines.push(d.line);
      ds.push(d.value);
    }
  }
  return { lines, ds };
}

/**
 * The lines of a tried first digit that fails: derived until a digit leaves 0-9 or a quotient is
 * inexact (`b=9+2=11, not a digit`), or, when every digit derives, the closing check that misses
 * (`check: a-c=7-1=6, not 4`). Null when the digit is the solution.
 */
function failedTry(chain: readonly Equation[], close: Equation, k: number, first: number): string[] | null {
  const ds = [first];
  const lines = [`a=${first}`];
  for (let t = 1; t < k; t++) {
    const d = deriveLine(chain[t - 1], t, ds[t - 1]);
    if (!d) {
      const e = chain[t - 1];
      const known = ds[t - 1];
      const tl = LETTERS[t];
      if (e.op === "*") lines.push(`${tl}=${e.value}/${known}, not a digit`);
      else if (e.op === "+") lines.push(`${tl}=${e.value}-${known}=${e.value - known}, not a digit`);
      else if (t === e.j) lines.push(`${tl}=${known}-${e.value}=${known - e.value}, not a digit`);
      else lines.push(`${tl}=${known}+${e.value}=${known + e.value}, not a digit`);
      return lines;
    }
    lines.push(d.line);
    ds.push(d.value);
  }
  const v = apply(close.op, ds[close.i], ds[close.j]);
  if (v === close.value) return null;
  lines.push(`check: ${checkPart(close, ds, v)}, not ${close.value}`);
  return lines;
}

export function drawDigits(rng: Rng, level: number, redraw: RedrawFn, options: { search?: boolean } = {}): CheckableDraft {
  const k = level <= 3 ? level + 1 : level;
  const ops: Op[] = level <= 3 ? ["+", "-"] : ["+", "-", "*"];
  const ds = [rng.int(1, 9), ...Array.from({ length: k - 1 }, () => rng.int(0, 9))];
  const chain: Equation[] = [];
  for (let t = 1; t < k; t++) {
    const op = rng.pick(ops);
    if (op === "*" && (ds[t - 1] === 0 || ds[t] === 0)) return redraw();
    chain.push(equation(t - 1, t, ds[t - 1], ds[t], op));
  }
  // The closing equation: the first and the last digit (for two digits, the other operation).
  const closeOp: Op = k === 2 ? (chain[0].op === "+" ? "-" : "+") : rng.pick(["+", "-"] as Op[]);
  const close = equation(0, k - 1, ds[0], ds[k - 1], closeOp);
  const eqs = [...chain, close];
  if (solutions(k, eqs).length !== 1) return redraw();
  // The detailed solution derives each digit from the one before: deriving forward must work.
  const right = derive(chain, k, ds[0]);
  if (!right) return redraw();

  const problem = `Find the ${WORDS[k]}-digit number ${LETTERS.slice(0, k).join("")} whose digits satisfy ${eqs.map((e) => `${name(e)}=${e.value}`).join(", ")}.`;
  const number = (xs: readonly number[]): number => Number(xs.join(""));
  const answer = Rational.of(number(ds), 1);
  const box = (xs: readonly number[]): string => boxed(Rational.of(number(xs), 1));
  const guessLine = (xs: readonly number[]): string => xs.map((x, t) => `${LETTERS[t]}=${x}`).join(", ");
  const terseOf = (xs: readonly number[], slipped: boolean): string =>
    [guessLine(xs), `check: ${eqs.map((e) => checkPart(e, xs, slipped ? e.value : apply(e.op, xs[e.i], xs[e.j]))).join(", ")}`, box(xs)].join("\n");
  // The failed tries the search shows before the final attempt (none without `search`).
  const trace: string[] = [];
  if (options.search === true) {
    const others = rng.shuffle([1, 2, 3, 4, 5, 6, 7, 8, 9].filter((g) => g !== ds[0])).slice(0, rng.int(0, 2));
    for (const g of others) trace.push(...(failedTry(chain, close, k, g) ?? []));
  }
  const detailedOf = (lines: readonly string[], xs: readonly number[], slipped: boolean): string =>
    [...trace, ...lines, `check: ${checkPart(close, xs, slipped ? close.value : apply(close.op, xs[close.i], xs[close.j]))}`, box(xs)].join("\n");

  const terse = terseOf(ds, false);
  const detailed = detailedOf(right.lines, ds, false);

  const negatives: string[] = [];
  // A wrong first digit, carried through honestly (the check misses), and with the check slipped.
  const firsts = [ds[0] - 1, ds[0] + 1, ds[0] - 2, ds[0] + 2].filter((g) => g >= 1 && g <= 9);
  const wrong = firsts.map((g) => derive(chain, k, g)).filter((w): w is NonNullable<typeof w> => w !== null);
  if (wrong.length > 0) {
    const w = rng.pick(wrong);
    negatives.push(detailedOf(w.lines, w.ds, false), detailedOf(w.lines, w.ds, true));
    // The terse guess of the same wrong number, its checks honest and slipped.
    negatives.push(terseOf(w.ds, false), terseOf(w.ds, true));
  }
  // A slip in one derivation carried through (a false line; the check then misses).
  const at = rng.int(0, k - 2);
  const slip = derive(chain, k, ds[0], { at, by: rng.pick([-1, 1]) });
  if (slip) negatives.push(detailedOf(slip.lines, slip.ds, false));
  const wrongOnly = negatives.filter((n) => !n.endsWith(`{${number(ds)}}`));
  return { problem, answer, terse, detailed, negatives: wrongOnly };
}
