/**
 * String-level clean-up of a LaTeX (or plain) answer before parsing: unicode math, sizing commands,
 * spacing, thousands separators, `\dfrac`/`\tfrac`, percent/degree/currency words. Each rule is a
 * notation convention documented in docs/grader.md; none changes the mathematical value.
 */
import { matchBrace } from "./extract.js";

/** Placeholder for a LaTeX row break `\\` (kept apart from the spacing command `\ `). */
export const ROW_SEP = "\u0001";

const NUMBER_WORDS: Record<string, string> = {
  zero: "0", one: "1", two: "2", three: "3", four: "4", five: "5", six: "6", seven: "7", eight: "8",
  nine: "9", ten: "10", eleven: "11", twelve: "12", thirteen: "13", fourteen: "14", fifteen: "15",
  sixteen: "16", seventeen: "17", eighteen: "18", nineteen: "19", twenty: "20", thirty: "30",
  forty: "40", fifty: "50", sixty: "60", seventy: "70", eighty: "80", ninety: "90", hundred: "100",
  thousand: "1000", million: "1000000", none: "0", once: "1", twice: "2", half: "1/2",
};

const SCALES: Record<string, bigint> = { thousand: 1000n, million: 1000000n, billion: 1000000000n };

/**
 * The value of an answer written in number words, or null: one word ("five", "twice", "half") or
 * an English cardinal ("twenty-five", "twenty one", "three hundred and two", "two thousand
 * twenty"). Malformed sequences ("one one", "five twenty") are not numbers.
 */
export function numberWord(s: string): string | null {
  const w = s.trim().toLowerCase().replace(/[.!]$/, "");
  if (Object.prototype.hasOwnProperty.call(NUMBER_WORDS, w)) return NUMBER_WORDS[w];
  const words = w.split(/\s*-\s*|\s+/).filter((x) => x !== "and");
  if (words.length < 2 || words.length > 12 || w.startsWith("and") || w.endsWith("and")) return null;
  let total = 0n;
  let cur = 0n;
  let lastScale = 0n;
  let prev: "unit" | "teen" | "tens" | "hundred" | "scale" | null = null;
  for (const x of words) {
    if (Object.prototype.hasOwnProperty.call(SCALES, x)) {
      const sc = SCALES[x];
      if (cur === 0n || (lastScale !== 0n && sc >= lastScale)) return null;
      total += cur * sc;
      cur = 0n;
      lastScale = sc;
      prev = "scale";
      continue;
    }
    if (x === "hundred") {
      if (prev !== "unit" || cur < 1n || cur > 9n) return null;
      cur *= 100n;
      prev = "hundred";
      continue;
    }
    const v = /^(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)$/.test(x)
      ? BigInt(NUMBER_WORDS[x])
      : null;
    if (v === null || v === 0n) return null;
    const kind = v >= 20n ? "tens" : v >= 10n ? "teen" : "unit";
    // A tens word takes a following unit ("twenty one"); nothing else follows a unit or a teen.
    if (prev === "unit" || prev === "teen" || (prev === "tens" && kind !== "unit")) return null;
    if (prev === "hundred" && cur % 100n !== 0n) return null;
    cur += v;
    prev = kind;
  }
  return (total + cur).toString();
}

const UNICODE: Array<[RegExp, string]> = [
  [/[\u2212\u2013\u2014]/g, "-"],
  [/\u03c0/g, "\\pi "],
  [/\u00b0/g, "^\\circ "],
  [/\u00d7/g, "\\times "],
  [/\u00f7/g, "\\div "],
  [/\u22c5|\u00b7/g, "\\cdot "],
  [/\u2264/g, "\\le "],
  [/\u2265/g, "\\ge "],
  [/\u2260/g, "\\ne "],
  [/\u2248/g, "\\approx "],
  [/\u221e/g, "\\infty "],
  [/\u221a/g, "\\sqrt "],
  [/\u00b1/g, "\\pm "],
  [/\u222a/g, "\\cup "],
  [/\u2229/g, "\\cap "],
  [/\u2208/g, "\\in "],
  [/\u00b2/g, "^2"],
  [/\u00b3/g, "^3"],
  [/[\u20ac\u00a3\u00a5]/g, " "],
  [/\u00a0|\u2009|\u202f/g, " "],
];

/** Text wrappers whose content is read as text (units, words, labels). */
const TEXT_CMDS =
  /\\(?:text|textbf|textit|textrm|textnormal|textsf|texttt|mbox|hbox|mathrm|mathbf|mathit|mathsf|mathtt|mathbb|mathcal|boldsymbol|bm|operatorname)\s*\{/g;

/** Unwraps every `\boxed{X}` / `\fbox{X}` to `X` (answers sometimes keep a box inside math). */
function unbox(s: string): string {
  let out = s;
  for (let guard = 0; guard < 50; guard++) {
    const m = /\\(?:boxed|fbox)\s*\{/.exec(out);
    if (!m) break;
    const open = m.index + m[0].length - 1;
    const close = matchBrace(out, open);
    if (close < 0) {
      out = out.slice(0, m.index) + out.slice(open + 1);
      continue;
    }
    out = out.slice(0, m.index) + out.slice(open + 1, close) + out.slice(close + 1);
  }
  return out;
}

/** Normalises math wrappers to `\text{...}` and maps connectives inside them to commas. */
function normaliseText(s: string): string {
  let out = "";
  let last = 0;
  TEXT_CMDS.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TEXT_CMDS.exec(s)) !== null) {
    const open = m.index + m[0].length - 1;
    const close = matchBrace(s, open);
    if (close < 0) break;
    const cmd = m[0].replace(/[\s{]/g, "");
    const inner = s.slice(open + 1, close);
    out += s.slice(last, m.index);
    const word = inner.trim().toLowerCase();
    if (/^(,?\s*(and|or)\s*,?|,|;)$/.test(word)) out += ", ";
    else if (cmd === "\\operatorname") out += `\\${inner.trim()} `;
    else if (cmd === "\\mathbb" || cmd === "\\mathcal") out += `\\${inner.trim()} `;
    else if (/^[A-Za-z]$/.test(inner.trim()) && /^\\math|^\\bm|^\\boldsymbol/.test(cmd)) out += ` ${inner.trim()} `;
    else out += `\\text{${inner}}`;
    last = close + 1;
    TEXT_CMDS.lastIndex = close + 1;
  }
  return out + s.slice(last);
}

/**
 * Cleans an answer string. Returns the cleaned LaTeX-ish string (never throws; linear time).
 */
export function cleanAnswer(input: string): string {
  let s = input;
  for (const [re, rep] of UNICODE) s = s.replace(re, rep);
  // A doubled backslash before a command name is an escaping artefact (`\\frac` for `\frac`).
  s = s.replace(
    /\\\\(?=(?:frac|dfrac|tfrac|cfrac|sqrt|boxed|le|leq|ge|geq|lt|gt|text|pi|cdot|times|infty|in|pm|mp|left|right|mathrm|ne|neq|cup|circ)(?![a-zA-Z]))/g,
    "\\",
  );
  s = s.replace(/\\\\/g, ROW_SEP);
  s = unbox(s);
  s = s.replace(/\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|bigg|Bigg|big|Big)(?![a-zA-Z])\s*\.?/g, (m) =>
    m.endsWith(".") ? "" : "",
  );
  s = s.replace(/\\(?:displaystyle|textstyle|scriptstyle|limits|nolimits|mathstrut|strut|phantom\{[^{}]*\})(?![a-zA-Z])/g, "");
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, "\\frac");
  s = s.replace(/\\(?:dots|ldots|cdots|vdots|ddots)(?![a-zA-Z])/g, " ");
  // Thousands separators written with TeX spacing: 10,\!080  10{,}080  10\,080  10\ 080.
  s = s.replace(/(\d)(?:\s*,\s*\\!\s*|\s*\{\s*,\s*\}\s*|\\,\s*|\\\s|\\;\s*|\\!\s*|~)(?=\d{3}(?!\d))/g, "$1");
  s = s.replace(/(\d)\{,\}(?=\d)/g, "$1,");
  s = s.replace(/\\(?:hspace|vspace)\*?\{[^{}]*\}/g, " ");
  s = s.replace(/\\(?:quad|qquad|,|;|:|!|>|\s)|~/g, " ");
  s = s.replace(/\\\$|\$/g, " ");
  s = s.replace(/\\%/g, "%");
  s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|\\degree/g, "°");
  s = normaliseText(s);
  // A leading "=" or "\approx" ("\approx 8.24") introduces the value.
  s = s.trim().replace(/^(?:=|\\approx|\\sim)\s*/, "");
  return s.trim();
}
