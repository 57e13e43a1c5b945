/**
 * Final-answer extraction from a model's solution text.
 *
 * Priority (the first rule that finds something wins):
 *  1. the last `\boxed{...}` / `\fbox{...}` (nested braces honoured): the last box is the answer,
 *     whatever boxes come before it (a list is a list inside one box; see {@link boxedList} for the
 *     one exception, a gold answer that is itself a list);
 *  2. Minerva's `Final Answer: The final answer is X. I hope it is correct.`;
 *  3. PRM800K's `# Answer` section (the text after the last such heading);
 *  4. GSM8K's `#### X`, or a final line `A: X` (GSM8K's published model solutions);
 *  5. the last `the answer is X` / `answer: X` sentence;
 *  6. the last markdown bold `**X**` that looks like an answer;
 *  7. a text that is itself a bare answer (short, no prose) is returned whole;
 *  8. the last math span `$$...$$`, `$...$`, `\[...\]`, `\(...\)`;
 *  9. the last number in the text (fractions `a/b` and decimals included), unless
 *     `fallbackLastNumber` is false.
 */
import { MAX_TEXT_CHARS } from "./budget.js";

/** Options of {@link extractAnswer}. */
export interface ExtractOptions {
  /** Fall back to the last number in the text when nothing else matches. Defaults to true. */
  fallbackLastNumber?: boolean;
}

/** Index of the `}` matching the `{` at `open`, skipping `\{` and `\}`; -1 when unbalanced. */
export function matchBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) {
      i++;
      continue;
    }
    if (c === 123 /* { */) depth++;
    else if (c === 125 /* } */) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

interface Box {
  start: number;
  end: number; // exclusive
  content: string;
}

const BOX_RE = /\\(?:boxed|fbox)\s*/g;

/** Every `\boxed{}` / `\fbox{}` in `s`, in order (a box inside a box is part of the outer one). */
function findBoxes(s: string): Box[] {
  const boxes: Box[] = [];
  BOX_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = BOX_RE.exec(s)) !== null) {
    const at = m.index + m[0].length;
    if (s[at] === "{") {
      const close = matchBrace(s, at);
      if (close < 0) {
        // An unclosed box (a cut-off generation): take the rest of the text.
        boxes.push({ start: m.index, end: s.length, content: s.slice(at + 1, at + 1 + 10_000) });
        break;
      }
      boxes.push({ start: m.index, end: close + 1, content: s.slice(at + 1, close) });
      BOX_RE.lastIndex = close + 1;
    } else {
      // `\boxed 5`: TeX takes one token; we take the following run up to a space or `$`.
      const rest = /^[^\s$]+/.exec(s.slice(at, at + 200));
      if (rest) {
        boxes.push({ start: m.index, end: at + rest[0].length, content: rest[0] });
        BOX_RE.lastIndex = at + rest[0].length;
      }
    }
  }
  return boxes;
}

/**
 * Whether the text between two boxes only separates list items: short, no sentence break, and
 * containing a separator word or sign. "\boxed{1} and \boxed{2}" is one answer (a list), while
 * "\boxed{1}. Then ... \boxed{2}" is a revised answer (the last wins).
 */
function isListGap(gap: string): boolean {
  const g = gap
    .replace(/\\(?:quad|qquad|,|;|:|!|\s)/g, " ")
    .replace(/\\text\{([^{}]*)\}/g, " $1 ")
    .replace(/\\[()[\]]|\$/g, " ")
    .trim();
  if (g.length > 40) return false;
  if (/\n\s*\n/.test(gap)) return false;
  if (/[.!?:](\s|$)/.test(g)) return false;
  if (g === "") return true;
  return /(^|[\s,;&])(,|;|&|and|or|\\\\)($|[\s,;&])|^[,;&]|[,;&]$/.test(g) || /^[,;&\s]+$/.test(g);
}

/** The content of the last box of `s`, or null when it has none. */
export function lastBoxed(s: string): string | null {
  const boxes = findBoxes(s);
  return boxes.length === 0 ? null : boxes[boxes.length - 1].content.trim();
}

/**
 * The last box of `s` and the boxes directly before it that are separated from it (and from each
 * other) only by a short list separator ("," ";" "and" "or" "\quad" ...), joined into one list
 * answer (`\boxed{1} and \boxed{2}` gives `1, 2`; boxes are never concatenated into one string).
 * Null unless there are at least two such boxes. The grader reads this list only against a gold
 * answer that is itself a list (Math-Verify's convention); otherwise the last box is the answer.
 * Applies the same preparation as {@link extractAnswer} (length cap, bold markers).
 */
export function boxedList(text: string): { last: string; list: string } | null {
  const raw = text.length > MAX_TEXT_CHARS ? text.slice(text.length - MAX_TEXT_CHARS) : text;
  const s = stripBold(raw);
  const boxes = findBoxes(s);
  if (boxes.length < 2) return null;
  const picked: Box[] = [boxes[boxes.length - 1]];
  for (let i = boxes.length - 2; i >= 0 && picked.length < 50; i--) {
    if (!isListGap(s.slice(boxes[i].end, picked[0].start))) break;
    picked.unshift(boxes[i]);
  }
  if (picked.length < 2) return null;
  return { last: stripDelimiters(picked[picked.length - 1].content.trim()), list: picked.map((b) => b.content.trim()).join(", ") };
}

/**
 * The last line of a solution read as a text answer (`odd $n$`, `$f(x)=ax$ for some $a>0$`), with
 * bold markers, a leading answer phrase ("The answer is", "Answer:", "Therefore,") and delimiters
 * removed; null when it is empty. The grader reads it only against a gold answer that is text with
 * inline math, which extraction would otherwise cut down to its last math span.
 */
export function lastLineAnswer(text: string): string | null {
  let line = stripBold(text.slice(-4000)).trimEnd();
  line = line.slice(line.lastIndexOf("\n") + 1).trim();
  for (let k = 0; k < 3; k++) {
    line = line.replace(/^(?:(?:the\s+)?(?:final\s+)?answer\s*(?:is\s*:?|:)|therefore,?|thus,?|hence,?|so,?)\s*/i, "");
  }
  line = stripDelimiters(line.replace(/^["']|["']$/g, "").trim());
  return line === "" ? null : line;
}

/** Strips one layer of math delimiters and trailing punctuation around an answer. */
export function stripDelimiters(s: string): string {
  let t = s.trim();
  for (let k = 0; k < 4; k++) {
    const before = t;
    t = t.replace(/[.,;:]+$/, "").trim();
    let m: RegExpExecArray | null;
    if ((m = /^\$\$([\s\S]*)\$\$$/.exec(t))) t = m[1].trim();
    else if ((m = /^\$([^$]*)\$$/.exec(t))) t = m[1].trim();
    else if ((m = /^\\\(([\s\S]*)\\\)$/.exec(t))) t = m[1].trim();
    else if ((m = /^\\\[([\s\S]*)\\\]$/.exec(t))) t = m[1].trim();
    else if ((m = /^\*\*([\s\S]*)\*\*$/.exec(t))) t = m[1].trim();
    if (t === before) break;
  }
  return t;
}

interface Span {
  start: number;
  content: string;
}

/** Math spans `$$..$$`, `$..$`, `\[..\]`, `\(..\)` in order (escaped `\$` is not a delimiter). */
function mathSpans(s: string): Span[] {
  const spans: Span[] = [];
  // Once a closer is missing from the rest of the text it stays missing: remembering that keeps
  // the scan linear on texts with thousands of unclosed "\(".
  const noCloser = new Set<string>();
  let i = 0;
  while (i < s.length && spans.length < 100_000) {
    const c = s[i];
    if (c === "\\" && (s[i + 1] === "(" || s[i + 1] === "[")) {
      const closer = s[i + 1] === "(" ? "\\)" : "\\]";
      const end = noCloser.has(closer) ? -1 : s.indexOf(closer, i + 2);
      if (end < 0) {
        noCloser.add(closer);
        i += 2;
        continue;
      }
      spans.push({ start: i, content: s.slice(i + 2, end) });
      i = end + 2;
      continue;
    }
    if (c === "\\") {
      i += 2;
      continue;
    }
    if (c === "$") {
      const dbl = s[i + 1] === "$";
      const open = dbl ? 2 : 1;
      let j = i + open;
      let end = -1;
      while (j < s.length) {
        if (s[j] === "\\") {
          j += 2;
          continue;
        }
        if (s[j] === "$") {
          if (dbl) {
            if (s[j + 1] === "$") end = j;
          } else end = j;
          break;
        }
        j++;
      }
      if (end < 0) {
        i += open;
        continue;
      }
      spans.push({ start: i, content: s.slice(i + open, end) });
      i = end + open;
      continue;
    }
    i++;
  }
  return spans;
}

/** Text after a marker up to the end of its sentence or line, delimiters stripped. */
function sentenceAfter(s: string, from: number): string {
  // Markdown emphasis closing the marker ("**Answer:** 17") is not part of the answer.
  const rest = s.slice(from, from + 2000).replace(/^\s*\*+\s*/, "");
  // A math span that starts the sentence is taken whole even when it contains dots.
  const lead = /^\s*(\$\$[\s\S]*?\$\$|\$(?:[^$\\]|\\.)*\$|\\\([\s\S]*?\\\)|\\\[[\s\S]*?\\\])/.exec(rest);
  if (lead) return stripDelimiters(lead[1]);
  const m = /^[^\n]*?(?=\.\s|\.$|\n|$)/.exec(rest);
  return stripDelimiters(m ? m[0] : rest);
}

// A number: an integer or decimal, a fraction `a/b`, or a mixed number `2 3/4` (one space or tab).
const NUMBER_PCT_RE = /(?<![A-Za-z\d.])-?\d+(?:[.,]\d+)*(?:[ \t]\d+\/\d+(?![\d/])|\s*\/\s*\d+)?%?/g;
const NUMBER_RE = /(?<![A-Za-z\d.])-?\d+(?:[.,]\d+)*(?:[ \t]\d+\/\d+(?![\d/])|\s*\/\s*\d+)?/g;
/** A number match with the spaces around its fraction bar removed (a mixed number keeps its one space). */
const compactNumber = (m: string): string => m.replace(/\s*\/\s*/g, "/").replace(/[ \t]+/g, " ");

/** Whether a short text is itself an answer rather than prose. */
function looksBare(t: string): boolean {
  if (t.length === 0 || t.length > 120) return false;
  if (/\n/.test(t.trim())) return false;
  // "label : value" is prose around a value, not a bare answer.
  if (/\s:\s|:\s/.test(t)) return false;
  const words = t.replace(/\\[a-zA-Z]+(\{[^{}]*\})?/g, " ").match(/[A-Za-z]{2,}/g) ?? [];
  return words.length <= 3;
}

/**
 * Extracts the final answer of a solution text, or null when nothing answer-like is found.
 * Never throws; linear in the length of the text (which is capped to its last 200,000 chars).
 */
export function extractAnswer(text: string, options: ExtractOptions = {}): string | null {
  try {
    return extractUnsafe(text, options.fallbackLastNumber ?? true);
  } catch {
    return null;
  }
}

/**
 * Reduces an answer sentence in prose ("The volume of $ABC$ is 120") to its value: the text after
 * its last "is" / "are" / "=", then the last math span or number in it. A bare answer is kept.
 */
function reduceSentence(body: string): string {
  const t = body.trim();
  if (looksBare(stripDelimiters(t)) && !/\s(is|are|was|equals)\s/i.test(t)) return stripDelimiters(t);
  const m = /^[\s\S]*\s(?:is|are|was|equals|=)\s+([\s\S]+)$/i.exec(t);
  // "$x \geq 5$ is the solution": when the part after "is" holds no value, look at the whole sentence.
  const hasValue = m !== null && /\d|\$|\\/.test(m[1]);
  const tail = hasValue && m ? m[1] : t;
  if (hasValue && looksBare(stripDelimiters(tail))) return stripDelimiters(tail);
  const spans = mathSpans(tail);
  if (spans.length > 0) return spans[spans.length - 1].content.trim();
  const nums = tail.match(NUMBER_PCT_RE);
  return nums ? compactNumber(nums[nums.length - 1]) : stripDelimiters(tail);
}

/** The explicit final-answer markers (rules 1-4), each with where it starts; the last one wins. */
function markedAnswer(s: string): string | null {
  const found: Array<{ at: number; value: string }> = [];
  const boxes = findBoxes(s);
  if (boxes.length > 0) {
    const boxed = lastBoxed(s);
    if (boxed !== null && boxed.trim() !== "") found.push({ at: boxes[boxes.length - 1].start, value: stripDelimiters(boxed) });
  }
  const lower = s.toLowerCase();
  let at = lower.lastIndexOf("the final answer is");
  if (at >= 0) {
    const from = at + "the final answer is".length;
    const hope = lower.indexOf("i hope it is correct", from);
    let body = hope >= 0 ? s.slice(from, hope) : sentenceAfter(s, from);
    body = body.trim().replace(/\.$/, "").trim();
    body = stripDelimiters(body.replace(/^["']|["']$/g, "").trim());
    body = stripDelimiters(body.replace(/^["']|["']$/g, ""));
    if (body !== "" && (boxes.length === 0 || at > boxes[boxes.length - 1].start)) found.push({ at, value: body });
  }
  at = s.lastIndexOf("# Answer");
  if (at >= 0) {
    const body = s
      .slice(at + "# Answer".length, at + 4000)
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    if (body.length > 0) found.push({ at, value: stripDelimiters(body[0]) });
  }
  at = s.lastIndexOf("####");
  if (at >= 0) {
    const line = s.slice(at + 4, at + 2000).split("\n")[0].trim();
    if (line !== "") found.push({ at, value: stripDelimiters(line) });
  }
  // The final line "A: X" of GSM8K's published model solutions.
  const aline = /(?:^|\n)A:[ \t]*([^\n]+)\s*$/.exec(s.slice(Math.max(0, s.length - 2000)));
  if (aline) found.push({ at: s.length - aline[0].length, value: stripDelimiters(aline[1]) });
  if (found.length === 0) return null;
  found.sort((a, b) => a.at - b.at);
  return found[found.length - 1].value;
}

/** The last concluding sentence ("Therefore, ...", "Thus ...", "So ...", "Hence ..."), or null. */
function concludingSentence(s: string): string | null {
  const re = /(?:\b(?:therefore|thus|hence|in conclusion|finally)|(?:^|[.!?\n]\s*)so)\b([^\n]*?)(?=\.\s|\.$|\n|$)/gi;
  let last: string | null = null;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    last = m[1];
    if (re.lastIndex === m.index) re.lastIndex++;
  }
  // "Therefore, odd $n$": the comma after the connective is not part of the answer.
  return last === null ? null : last.replace(/^[\s,:;]+/, "");
}

/**
 * Removes markdown bold markers (`**...**`, `__...__`) around and inside answer phrases, so that
 * `**Answer: 5**`, `Answer: **5**` and `The answer is **5**.` read as plain sentences. A marker
 * counts only where markdown allows it: the opening one not glued after a word character (so the
 * exponent in `2**3` stays), the closing one not followed by one.
 */
export function stripBold(s: string): string {
  // One left-to-right pass (linear): a pending opener is closed by the next marker of its kind on
  // the same line that can close; the pair is dropped.
  const drop: number[] = [];
  let open = -1;
  let kind = "";
  const re = /\*\*|__|\n/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    if (m[0] === "\n") {
      open = -1;
      continue;
    }
    const at = m.index;
    const before = at > 0 ? s[at - 1] : "";
    const after = s[at + 2] ?? "";
    if (open >= 0 && m[0] === kind && /\S/.test(before) && at > open + 2 && !/[\w(*]/.test(after)) {
      drop.push(open, at);
      open = -1;
      continue;
    }
    if (open < 0 && !/[\w)\]}*]/.test(before) && /\S/.test(after)) {
      open = at;
      kind = m[0];
    }
  }
  if (drop.length === 0) return s;
  let out = "";
  let last = 0;
  for (const at of drop) {
    out += s.slice(last, at);
    last = at + 2;
  }
  return out + s.slice(last);
}

function extractUnsafe(input: string, fallbackLastNumber: boolean): string | null {
  if (typeof input !== "string") return null;
  const raw = input.length > MAX_TEXT_CHARS ? input.slice(input.length - MAX_TEXT_CHARS) : input;
  // Answer phrases are read without bold markers; the bold rule itself looks at the raw text.
  const s = stripBold(raw);

  const marked = markedAnswer(s);
  if (marked !== null) return marked;

  const ansRe = /(?:answer is|answer:|answer is:)\s*/gi;
  let last: RegExpExecArray | null = null;
  let m: RegExpExecArray | null;
  while ((m = ansRe.exec(s)) !== null) last = m;
  if (last) {
    const body = reduceSentence(sentenceAfter(s, last.index + last[0].length));
    if (body !== "") return body;
  }

  const boldRe = /\*\*([^*\n]{1,80})\*\*/g;
  let bold: string | null = null;
  while ((m = boldRe.exec(raw)) !== null) {
    const inner = m[1].trim().replace(/[:.]$/, "");
    if (/\d|\$|\\/.test(inner) || inner.split(/\s+/).length <= 3) bold = inner;
  }
  if (bold !== null && !/:$/.test(bold)) return stripDelimiters(bold);

  const trimmed0 = stripDelimiters(s.trim());
  if (!looksBare(trimmed0)) {
    const concl = concludingSentence(s.slice(Math.max(0, s.length - 3000)));
    if (concl !== null) {
      // Only when the conclusion comes after the last math span, or contains one.
      const lastSpanEnd = s.lastIndexOf("$") >= 0 ? s.lastIndexOf("$") : s.lastIndexOf("\\)");
      const at = s.lastIndexOf(concl);
      if (at > lastSpanEnd || mathSpans(concl).length > 0) {
        const v = reduceSentence(concl);
        if (v !== "" && (mathSpans(concl).length > 0 || NUMBER_PCT_RE.test(concl))) return v;
      }
    }
  }
  const spans = mathSpans(s);
  if (spans.length > 0) {
    for (let k = spans.length - 1; k >= 0; k--) {
      const c = spans[k].content.trim();
      if (c !== "") return c;
    }
  }
  const trimmed = stripDelimiters(s.trim());
  if (looksBare(trimmed)) return trimmed;

  if (!fallbackLastNumber) return null;
  let num: string | null = null;
  NUMBER_RE.lastIndex = 0;
  while ((m = NUMBER_RE.exec(s)) !== null) num = m[0];
  return num === null ? null : compactNumber(num);
}
