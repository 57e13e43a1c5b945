/**
 * The synchronous grading API: verify (asymmetric, gold first), equivalent (symmetric),
 * gradeSolution (extract then verify). None of them throws; each call is bounded by a step budget
 * and a deadline (reason "timeout" when either runs out).
 */
import { Budget, BudgetExceeded, DEFAULT_DEADLINE_MS, DEFAULT_MAX_STEPS, MAX_ANSWER_CHARS, Unparsable } from "./budget.js";
import { Comparer, freeVars, isSetAnswer } from "./compare.js";
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

const MATH_SPAN = /\$\$[\s\S]*?\$\$|\$[^$]*\$|\\\([\s\S]*?\\\)/g;
const TEXT_GROUP = /\\(?:text\w*|mbox|mathrm)\s*\{([^{}]*)\}/g;

/**
 * The words of a text answer and whether it has math besides: words are the letter runs (2+
 * letters) outside math spans and inside `\text{...}` anywhere; math is a math span, or something
 * other than text groups beside a `\text{...}` (`\text{odd } n`).
 */
function textParts(s: string): { words: string[]; math: boolean } {
  const spans = s.match(MATH_SPAN) ?? [];
  const outside = s.replace(MATH_SPAN, (m) => ` ${[...m.matchAll(TEXT_GROUP)].map((t) => t[1]).join(" ")} `);
  const words = outside.replace(TEXT_GROUP, " $1 ").replace(/\\[A-Za-z]+/g, " ").toLowerCase().match(/[a-z]{2,}/g) ?? [];
  const rest = /\\(?:text\w*|mbox|mathrm)\s*\{/.test(s) && /[^\s{}.,;:]/.test(s.replace(TEXT_GROUP, " "));
  return { words, math: spans.some((m) => /[^\s$]/.test(m.replace(/^\\\(|\\\)$/g, ""))) || rest };
}

/**
 * Whether an answer is text with math (`odd $n$`, `\text{odd } n`, `$f(x) = ax$ for some $a > 0$`):
 * one line with words and math, no answer phrase and no sentence break. Such a gold is compared
 * whole, never by its last math span, and a solution's last line may be read against it.
 */
export function isTextAnswer(s: string): boolean {
  if (!s.includes("$") && !s.includes("\\(") && !s.includes("\\text") && !s.includes("\\m")) return false;
  const t = s.trim();
  if (t.length > 1000 || /\n/.test(t) || /\banswer\b/i.test(t) || /[.!?]\s+[A-Z]/.test(t)) return false;
  const { words, math } = textParts(t);
  return math && words.length > 0;
}

/**
 * Words that make a one-sentence text a (short) reference solution, "... its area is $6$", rather
 * than a text answer, "$f(x) = ax$ for some constant $a > 0$".
 */
const SOLUTION_WORDS = /^(?:is|are|was|were|equals?|gives?|gets?|find|found|we|so|thus|therefore|hence|since|because)$/;

/**
 * The answer a gold string stands for: its last box (with the boxes before it when they form a
 * list: the reference's author boxed several answers), or the final answer of a reference
 * solution. A long text answer with inline math that does not state a value ("is", "we find",
 * "so" ...) is an answer, not a solution, and is kept whole; its extracted answer is a second
 * reading only when it is a constant (the sentence then gives a value, "... area $3 \cdot 2 = 6$
 * square units"), never a variable or an expression cut out of it (`x` of "for all real $x$").
 */
function goldAnswers(gold: string, budget: Budget): string[] {
  if (/\\(?:boxed|fbox)/.test(gold)) return [boxedList(gold)?.list ?? unwrapAnswer(gold)];
  if (!isProse(gold)) return [unwrapAnswer(gold)];
  const extracted = extractAnswer(gold, { fallbackLastNumber: true }) ?? gold;
  if (!isTextAnswer(gold) || textParts(gold).words.some((w) => SOLUTION_WORDS.test(w))) return [extracted];
  const n = parseOrNull(prepareClean(extracted), budget);
  return n !== null && freeVars(n).size === 0 ? [unwrapAnswer(gold), extracted] : [unwrapAnswer(gold)];
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

/** The verdict of a call that threw: a budget (or the stack) ran out, or the input broke the grader. */
function failure(err: unknown): VerifyResult {
  if (err instanceof BudgetExceeded) return { correct: false, reason: "timeout" };
  if (err instanceof RangeError) return { correct: false, reason: "timeout" }; // stack or size overflow
  return { correct: false, reason: "unparsable" };
}

/**
 * Compares a prediction with a gold answer: first as extracted (`pred`, the last box's content or
 * the answer extraction found), then, when that is not equal, as the two other readings a gold can
 * call for: the list of boxes ending with the last box when the gold is a list of several answers,
 * and the last line of the solution as a text answer when the gold is text with inline math (its
 * words must then be the gold's). Returns the verdict and the reading it was reached on.
 */
function compareReadings(gold: string, pred: string, text: string, budget: Budget, options: VerifyOptions): GradeResult {
  const [g, ...other] = goldAnswers(gold, budget);
  const first = compareAnswers(g, unwrapAnswer(pred), budget, options);
  if (first.correct) return { ...first, extracted: pred };
  for (const o of other) {
    const r = compareAnswers(o, unwrapAnswer(pred), budget, options);
    if (r.correct) return { ...r, extracted: pred };
  }
  const boxes = text.includes("\\boxed") || text.includes("\\fbox") ? boxedList(text) : null;
  if (boxes !== null && boxes.last === stripDelimiters(unwrapAnswer(pred)) && isListGold(g, budget)) {
    const r = compareAnswers(g, boxes.list, budget, options);
    if (r.correct) return { ...r, extracted: boxes.list };
  }
  if (isTextAnswer(g)) {
    const line = lastLineAnswer(text);
    if (line !== null && line !== pred && textParts(line).words.join(" ") === textParts(g).words.join(" ")) {
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
  try {
    const r = compareReadings(gold, pred, pred, budgetFor(options), options);
    return { correct: r.correct, reason: r.reason };
  } catch (err) {
    return failure(err);
  }
}

/**
 * Symmetric equivalence of two answers, for clustering candidates: equal in either direction. Both
 * directions share one budget, so the call is bounded by `deadlineMs` / `maxSteps` as a whole.
 */
export function equivalent(a: string, b: string, options: VerifyOptions = {}): boolean {
  if (typeof a !== "string" || typeof b !== "string") return false;
  try {
    const budget = budgetFor(options);
    const ua = unwrapAnswer(a);
    const ub = unwrapAnswer(b);
    return compareAnswers(ua, ub, budget, options).correct || compareAnswers(ub, ua, budget, options).correct;
  } catch {
    return false;
  }
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
  try {
    return compareReadings(gold, extracted, solution, budgetFor(options), options);
  } catch (err) {
    return { ...failure(err), extracted };
  }
}
