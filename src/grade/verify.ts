/**
 * The synchronous grading API: verify (asymmetric, gold first), equivalent (symmetric),
 * gradeSolution (extract then verify). None of them throws; each call is bounded by a step budget
 * and a deadline (reason "timeout" when either runs out).
 */
import { Budget, BudgetExceeded, DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, MAX_ANSWER_CHARS, Unparsable } from "./budget.js";
import { Comparer } from "./compare.js";
import { extractAnswer, lastBoxed, stripDelimiters } from "./extract.js";
import { cleanAnswer, numberWord } from "./normalize.js";
import { nodeKey, parseAnswer, type Node } from "./parse.js";

/** Why a verdict was reached. */
export type GradeReason = "equal" | "not-equal" | "unparsable" | "timeout";

/** A verdict. */
export interface VerifyResult {
  correct: boolean;
  reason: GradeReason;
}

/** A verdict on a full solution, with the answer extracted from it. */
export interface GradeResult extends VerifyResult {
  /** The extracted final answer, or null when none was found. */
  extracted: string | null;
}

/** Options of {@link verify}, {@link equivalent} and {@link gradeSolution}. */
export interface VerifyOptions {
  /** Wall-clock bound of the call in milliseconds. Defaults to 250. */
  deadlineMs?: number;
  /** Step bound of the call (tokens + evaluation nodes + comparisons). Defaults to 2,000,000. */
  maxSteps?: number;
  /** gradeSolution only: fall back to the last number of the text. Defaults to true. */
  fallbackLastNumber?: boolean;
  /**
   * Accept a decimal of 15 or more significant digits (a program's floating-point print-out,
   * `0.0833333333333333` for 1/12) when it agrees with an exact value to double precision.
   * Defaults to true. Shorter (rounded) decimals are never equal to a value they do not equal.
   */
  floatPrintouts?: boolean;
}

/**
 * The budget of one call. A bound that is not a positive number (NaN, negative, a string from an
 * untyped caller) is replaced by its default, so that no option value can switch the bounds off;
 * Infinity is not finite and is replaced too.
 */
export function budgetFor(options: VerifyOptions): Budget {
  const ok = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;
  return new Budget(ok(options.maxSteps) ? options.maxSteps : DEFAULT_MAX_STEPS, ok(options.deadlineMs) ? options.deadlineMs : DEFAULT_DEADLINE_MS);
}

/** Removes answer wrappers: a box, math delimiters, trailing punctuation, stray dollar signs. */
export function unwrapAnswer(s: string): string {
  let t = s.trim();
  if (/\\(?:boxed|fbox)/.test(t)) {
    const b = lastBoxed(t);
    if (b !== null) t = b;
  }
  t = stripDelimiters(t);
  return t;
}

/** Whether a gold answer is prose (a reference solution) rather than an answer. */
function isProse(s: string): boolean {
  if (s.length < 60) return false;
  const words = s.match(/(?<![\\a-zA-Z])[A-Za-z]{3,}(?![a-zA-Z{])/g) ?? [];
  return words.length >= 6;
}

/** The answer a gold string stands for: its box, or the final answer of a reference solution. */
function goldAnswer(gold: string): string {
  if (/\\(?:boxed|fbox)/.test(gold)) return unwrapAnswer(gold);
  if (isProse(gold)) return extractAnswer(gold, { fallbackLastNumber: true }) ?? gold;
  return unwrapAnswer(gold);
}

/** A loose string key: no spaces, braces or case; for answers that cannot be parsed. */
export function looseKey(s: string): string {
  return s.toLowerCase().replace(/[\s{}$]/g, "").replace(/\\(text|mathrm|textbf)/g, "");
}

/** Whether a cleaned answer is words (compared as text, case-insensitively). */
function wordy(s: string): boolean {
  return /^(\\text\{)?[(]?[A-Za-z][A-Za-z\s.'-]*[)]?\}?$/.test(s) && /[A-Za-z]{2,}|\\text|\(/.test(s);
}

function textKey(s: string): string {
  return s
    .toLowerCase()
    .replace(/\\text\{([^{}]*)\}/g, "$1")
    .replace(/(?<!\d)\.|\.(?!\d)/g, "")
    .replace(/[\s()]/g, "");
}

function parseOrNull(clean: string, budget: Budget): Node | null {
  try {
    return parseAnswer(clean, budget);
  } catch (err) {
    if (err instanceof Unparsable) return null;
    throw err;
  }
}

/**
 * Plain thousands separators (7,425,000 / 1 000), read before parsing. Commas only in an answer that
 * is not a list, tuple or interval, where "12,102" would be two numbers. Spaces only in a purely
 * numeric answer (digit groups, optionally signed, with a decimal part and a trailing unit word or
 * percent): elsewhere a space separates tokens (`\log_2 128` is log base 2 of 128).
 */
function dropThousands(s: string): string {
  if (/[([]|\\\{|, /.test(s)) return s;
  const t = s.replace(/(?<![\d.,])[1-9]\d{0,2}(?:,\d{3})+(?![\d,])/g, (m) => m.replace(/,/g, ""));
  const spaced = /^([-+]?[1-9]\d{0,2}(?: \d{3})+)((?:\.\d+)?\s*(?:%|°|\\text\{[^{}]*\}|[A-Za-z]+)?)$/.exec(t.trim());
  return spaced ? spaced[1].replace(/ /g, "") + spaced[2] : t;
}

/**
 * `1,22` / `0,111` / `1000,99`: one number with a decimal comma. "1,5" and "-2,1" stay lists (the
 * usual MATH notation for several answers): the comma must be followed by at least two digits, and
 * three digits only after a 0 or a 4+ digit integer part (else it is a thousands separator).
 */
function decimalComma(s: string): string | null {
  const m = /^(-?\d+),(\d+)$/.exec(s.trim());
  if (!m) return null;
  const [, ip, fp] = m;
  const digits = ip.replace("-", "");
  if (fp.length < 2) return null;
  if (fp.length === 3 && digits !== "0" && digits.length < 4) return null;
  return `${ip}.${fp}`;
}

export function prepareClean(raw: string): string {
  let c = cleanAnswer(raw);
  const w = numberWord(c);
  if (w !== null) c = w;
  return dropThousands(c);
}

/** Compares two unwrapped answers; the core of verify. */
function compareAnswers(g: string, p: string, budget: Budget, options: VerifyOptions): VerifyResult {
  if (g === p && g !== "") return { correct: true, reason: "equal" };
  if (p.trim() === "") return { correct: false, reason: "unparsable" };
  if (g.length > MAX_ANSWER_CHARS || p.length > MAX_ANSWER_CHARS) {
    return looseKey(g) === looseKey(p) ? { correct: true, reason: "equal" } : { correct: false, reason: "unparsable" };
  }
  const cg = prepareClean(g);
  const cp = prepareClean(p);
  if (cg === cp && cg !== "") return { correct: true, reason: "equal" };
  if ((wordy(cg) || /\\text\{/.test(cg)) && (wordy(cp) || /\\text\{/.test(cp)) && textKey(cg) === textKey(cp)) {
    return { correct: true, reason: "equal" };
  }
  const ng = parseOrNull(cg, budget);
  const np = parseOrNull(cp, budget);
  if (ng === null || np === null) {
    if (looseKey(cg) === looseKey(cp)) return { correct: true, reason: "equal" };
    return { correct: false, reason: "unparsable" };
  }
  // Identical parse trees are the same answer, whatever their value (also when it has none).
  if (nodeKey(ng) === nodeKey(np)) return { correct: true, reason: "equal" };
  const cmp = new Comparer(budget, options.floatPrintouts ?? true);
  if (cmp.equal(ng, np)) return { correct: true, reason: "equal" };
  // A decimal comma (1,22) against the same digits written with a decimal point (1.22). "1,5" is
  // also a two-element list, so the comma is read as a decimal point only in this case.
  const dg = decimalComma(cg);
  const dp = decimalComma(cp);
  if ((dg !== null && dg === cp.trim()) || (dp !== null && dp === cg.trim())) return { correct: true, reason: "equal" };
  return { correct: false, reason: "not-equal" };
}

function guarded(run: (budget: Budget) => VerifyResult, options: VerifyOptions): VerifyResult {
  try {
    return run(budgetFor(options));
  } catch (err) {
    if (err instanceof BudgetExceeded) return { correct: false, reason: "timeout" };
    if (err instanceof RangeError) return { correct: false, reason: "timeout" }; // stack or size overflow
    return { correct: false, reason: "unparsable" };
  }
}

/**
 * Whether `pred` is a correct answer for the reference answer `gold`. Asymmetric: the gold may be
 * a reference solution (its final answer is taken); `pred` is an answer (a box or math delimiters
 * around it are removed, but no prose extraction: use {@link gradeSolution} for solutions).
 */
export function verify(gold: string, pred: string, options: VerifyOptions = {}): VerifyResult {
  if (typeof gold !== "string" || typeof pred !== "string") return { correct: false, reason: "unparsable" };
  return guarded((budget) => compareAnswers(goldAnswer(gold), unwrapAnswer(pred), budget, options), options);
}

/**
 * Symmetric equivalence of two answers, for clustering candidates: equal in either direction. Both
 * directions share one budget, so the call is bounded by `deadlineMs` / `maxSteps` as a whole.
 */
export function equivalent(a: string, b: string, options: VerifyOptions = {}): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  return guarded((budget) => {
    const ua = unwrapAnswer(a);
    const ub = unwrapAnswer(b);
    const r1 = compareAnswers(ua, ub, budget, options);
    return r1.correct ? r1 : compareAnswers(ub, ua, budget, options);
  }, options).correct;
}

/** Extracts the final answer of a solution text and verifies it against `gold`. */
export function gradeSolution(gold: string, solution: string, options: VerifyOptions = {}): GradeResult {
  if (typeof gold !== "string" || typeof solution !== "string") return { correct: false, reason: "unparsable", extracted: null };
  const extracted = extractAnswer(solution, { fallbackLastNumber: options.fallbackLastNumber ?? true });
  if (extracted === null) return { correct: false, reason: "unparsable", extracted };
  return { ...verify(gold, extracted, options), extracted };
}
