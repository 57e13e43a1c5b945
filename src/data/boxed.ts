/**
 * The last `\boxed{...}` of a reference solution, with nested braces. This is what the MATH
 * dataset defines as its answer; it is used to build reference answers from solutions, not to
 * grade model output (the grader has its own, more forgiving extraction).
 */

/** Where the last box is: its content and the character range of the whole `\boxed{...}`. */
export interface BoxedMatch {
  /** The text inside the braces (or after `\boxed ` in the brace-less form), trimmed. */
  content: string;
  /** Index of the backslash of `\boxed`. */
  start: number;
  /** Index just past the closing brace (or the end of the brace-less argument). */
  end: number;
}

const COMMANDS = ["\\boxed", "\\fbox"];

/**
 * Finds the last `\boxed{...}` (or `\fbox{...}`, or the brace-less `\boxed 5` that a few MATH
 * solutions use). Returns null when there is none or its braces never close.
 */
export function findLastBoxed(text: string): BoxedMatch | null {
  let start = -1;
  let cmd = "";
  for (const c of COMMANDS) {
    let i = text.lastIndexOf(c);
    // Skip a match that is a prefix of a longer command name (e.g. `\boxedx`).
    while (i >= 0 && /[A-Za-z]/.test(text[i + c.length] ?? "")) i = text.lastIndexOf(c, i - 1);
    if (i > start) {
      start = i;
      cmd = c;
    }
  }
  if (start < 0) return null;
  let i = start + cmd.length;
  while (text[i] === " ") i++;
  if (text[i] !== "{") {
    // Brace-less form: the argument runs to the next `$` or whitespace.
    if (i === start + cmd.length) return null;
    let j = i;
    while (j < text.length && !/[\s$]/.test(text[j])) j++;
    const content = text.slice(i, j).trim();
    return content === "" ? null : { content, start, end: j };
  }
  const close = matchBrace(text, i);
  if (close < 0) return null;
  return { content: text.slice(i + 1, close).trim(), start, end: close + 1 };
}

/** The content of the last `\boxed{...}`, or null. */
export function lastBoxedContent(text: string): string | null {
  return findLastBoxed(text)?.content ?? null;
}

/**
 * Index of the `}` that closes the `{` at `open`, or -1. Escaped braces (`\{`, `\}`) do not
 * count, because MATH answers such as `\{1,2\}` contain them.
 */
export function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\\") {
      i++;
      continue;
    }
    if (ch === "{") depth++;
    else if (ch === "}") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
