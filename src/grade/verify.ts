/**
 * The synchronous grading API: verify (asymmetric, gold first), equivalent (symmetric),
 * gradeSolution (extract then verify). None of them throws; each call is bounded by a step budget
 * and a deadline (reason "timeout" when either runs out).
 */
import { Budget, BudgetExceeded, DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, MAX_ANSWER_CHARS, Unparsable } from "./budget.js";
import { Comparer, isSetAnswer } from "./compare.js";
import { boxedList, extractAnswer, lastBoxed, lastLineAnswer, stripDelimiters } from "./extract.js";
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
   * `0.0833333333333333` for 1/12) when it agrees with a value to double precision, and a decimal
   * of 6 or more significant digits that is an exact rational value rounded or truncated to its
   * last digit (`0.333333` for 1/3; docs/grader.md, "Exactness and tolerance"). Defaults to true.
   * Shorter decimals are never equal to a value they do not equal.
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

/** Removes answer wrappers: the last box, math delimiters, trailing punctuation. */
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

/** Letter words (2+ letters) of a text outside its math spans, and inside `\text{...}` anywhere. */
function proseWords(s: string): string[] {
  const texts = s.match(/\\(?:text\w*|mbox|mathrm)\s*\{[^{}]*\}/g) ?? [];
  const outside = s.replace(/\$\$[\s\S]*?\$\$|\$[^$]*\$|\\\([\s\S]*?\\\)/g, " ");
  return [...texts, outside].join(" ").replace(/\\[A-Za-z]+/g, " ").toLowerCase().match(/[a-z]{2,}/g) ?? [];
}

/**
 * Whether an answer is text with inline math (`odd $n$`, `$f(x) = ax$ for some $a > 0$`): one
 * line, at least one math span and words outside it, no answer phrase and no sentence break. Such
 * an answer is compared whole, never by its last math span.
 */
export function isTextAnswer(s: string): boolean {
  const t = s.trim();
  if (t.length > 1000 || /\n/.test(t) || /\banswer\b/i.test(t) || /[.!?]\s+[A-Z]/.test(t)) return false;
  if (!/\$[^$]*[^\s$][^$]*\$|\\\([\s\S]*?\\\)/.test(t)) return false;
  const outside = t.replace(/\$\$[\s\S]*?\$\$|\$[^$]*\$|\\\([\s\S]*?\\\)/g, " ").replace(/\\[A-Za-z]+/g, " ");
  return /[A-Za-z]{2,}/.test(outside);
}

/**
 * The answer a gold string stands for: its last box (with the boxes before it when they form a
 * list: the reference's author boxed several answers), or the final answer of a reference
 * solution (a text answer with inline math, however long, is an answer, not a solution).
 */
function goldAnswer(gold: string): string {
  if (/\\(?:boxed|fbox)/.test(gold)) return boxedList(gold)?.list ?? unwrapAnswer(gold);
  if (isProse(gold) && !isTextAnswer(gold)) return extractAnswer(gold, { fallbackLastNumber: true }) ?? gold;
  return unwrapAnswer(gold);
}

/** Whether a gold answer is a list (set) of several answers, against which a list of boxes is read. */
function isListGold(g: string, budget: Budget): boolean {
  const n = parseOrNull(prepareClean(g), budget);
  return n !== null && isSetAnswer(n);
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

function guarded<T extends VerifyResult>(run: (budget: Budget) => T, options: VerifyOptions, failed: (r: VerifyResult) => T): T {
  try {
    return run(budgetFor(options));
  } catch (err) {
    if (err instanceof BudgetExceeded) return failed({ correct: false, reason: "timeout" });
    if (err instanceof RangeError) return failed({ correct: false, reason: "timeout" }); // stack or size overflow
    return failed({ correct: false, reason: "unparsable" });
  }
}

/**
 * Compares a prediction with a gold answer: first as extracted (`pred`, the last box's content or
 * the answer extraction found), then, when that is not equal, as the two other readings a gold can
 * call for: the list of boxes ending with the last box when the gold is a list of several answers,
 * and the last line of the solution as a text answer when the gold is text with inline math (its
 * words must then be the gold's). Returns the verdict and the reading it was reached on.
 */
function compareReadings(gold: string, pred: string, text: string, budget: Budget, options: VerifyOptions): GradeResult {
  const g = goldAnswer(gold);
  const first = compareAnswers(g, unwrapAnswer(pred), budget, options);
  if (first.correct) return { ...first, extracted: pred };
  const boxes = /\\(?:boxed|fbox)/.test(text) ? boxedList(text) : null;
  if (boxes !== null && boxes.last === stripDelimiters(unwrapAnswer(pred)) && isListGold(g, budget)) {
    const r = compareAnswers(g, boxes.list, budget, options);
    if (r.correct) return { ...r, extracted: boxes.list };
  }
  if (isTextAnswer(g)) {
    const line = lastLineAnswer(text);
    if (line !== null && line !== pred && proseWords(line).join(" ") === proseWords(g).join(" ")) {
      const r = compareAnswers(g, line, budget, options);
      if (r.correct) return { ...r, extracted: line };
    }
  }
  return { ...first, extracted: pred };
}

/**
 * Whether `pred` is a correct answer for the reference answer `gold`. Asymmetric: the gold may be
 * a reference solution (its final answer is taken); `pred` is an answer (a box or math delimiters
 * around it are removed, but no prose extraction: use {@link gradeSolution} for solutions).
 */
export function verify(gold: string, pred: string, options: VerifyOptions = {}): VerifyResult {
  if (typeof gold !== "string" || typeof pred !== "string") return { correct: false, reason: "unparsable" };
  const r = guarded((budget) => compareReadings(gold, pred, pred, budget, options), options, (f) => ({ ...f, extracted: null }));
  return { correct: r.correct, reason: r.reason };
}

/**
 * Symmetric equivalence of two answers, for clustering candidates: equal in either direction. Both
 * directions share one budget, so the call is bounded by `deadlineMs` / `maxSteps` as a whole.
 */
export function equivalent(a: string, b: string, options: VerifyOptions = {}): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  return guarded(
    (budget) => {
      const ua = unwrapAnswer(a);
      const ub = unwrapAnswer(b);
      const r1 = compareAnswers(ua, ub, budget, options);
      return r1.correct ? r1 : compareAnswers(ub, ua, budget, options);
    },
    options,
    (f) => f,
  ).correct;
}

/**
 * Extracts the final answer of a solution text and verifies it against `gold`. When the extracted
 * answer is not equal, the readings a gold calls for are tried too (a list of boxes against a list
 * gold, the last line against a text gold with inline math; see docs/grader.md), and `extracted`
 * is the reading the verdict was reached on. One budget bounds the whole call.
 */
export function gradeSolution(gold: string, solution: string, options: VerifyOptions = {}): GradeResult {
  if (typeof gold !== "string" || typeof solution !== "string") return { correct: false, reason: "unparsable", extracted: null };
  const extracted = extractAnswer(solution, { fallbackLastNumber: options.fallbackLastNumber ?? true });
  if (extracted === null) return { correct: false, reason: "unparsable", extracted };
  return guarded((budget) => compareReadings(gold, extracted, solution, budget, options), options, (f) => ({ ...f, extracted }));
}
