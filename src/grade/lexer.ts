/**
 * The lexer of the answer parser: a cleaned LaTeX / plain-math answer split into tokens (numbers,
 * symbols, commands, text, operators). Units and plain function names are recognised here; every
 * character consumed ticks the budget.
 */
import { type Budget, Unparsable } from "./budget.js";
import { matchBrace } from "./extract.js";
import { ROW_SEP, numberWord } from "./normalize.js";

/** A token of a cleaned answer. */
export type Tok =
  | { t: "num"; v: string }
  | { t: "sym"; v: string }
  | { t: "cmd"; v: string }
  | { t: "text"; v: string }
  | { t: "op"; v: string }
  | { t: "end" };

const PLAIN_FUNCS = new Set(["sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "ln", "log", "exp", "sqrt", "abs"]);
const UNIT_WORDS = new Set([
  "units", "unit", "cm", "mm", "km", "m", "meters", "meter", "metres", "centimeters", "inches", "inch", "in",
  "feet", "foot", "ft", "yards", "yard", "yd", "miles", "mile", "mi", "sq", "square", "cubic", "kg", "g",
  "grams", "gram", "pounds", "pound", "lb", "lbs", "ounces", "oz", "seconds", "second", "sec", "s", "minutes",
  "minute", "min", "hours", "hour", "hr", "hrs", "h", "days", "day", "weeks", "week", "years", "year", "months",
  "month", "dollars", "dollar", "cents", "cent", "usd", "yuan", "euros", "euro", "liters", "liter", "l", "ml",
  "gallons", "gallon", "mph", "people", "students", "ways", "apples", "books", "points", "times", "degrees",
  "degree", "radians", "rad", "percent", "percentage", "pct",
]);
const REL_OPS: Record<string, string> = {
  le: "<=", leq: "<=", leqslant: "<=", ge: ">=", geq: ">=", geqslant: ">=", lt: "<", gt: ">", ne: "!=",
  neq: "!=", approx: "~", sim: "~", simeq: "~", approxeq: "~", equiv: "=", in: "in", coloneqq: "=",
};

/** Splits a cleaned answer into tokens. */
export function tokenize(s: string, budget: Budget): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    budget.tick();
    const c = s[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++;
      continue;
    }
    if (c >= "0" && c <= "9" && !(i > 0 && /[A-Za-z\\]/.test(s[i - 1]))) {
      // A base-n numeral with letter digits, `1A_{12}`: digits and capital letters (at least one of
      // each) with a numeric base subscript that every digit is below. Lower-case letters stay
      // variables (`2x_1`).
      const b = /^([0-9A-Z]*[A-Z][0-9A-Z]*)_(?:\{\s*(\d{1,2})\s*\}|(\d{1,2}))/.exec(s.slice(i, i + 80));
      if (b) {
        const base = Number(b[2] ?? b[3]);
        const digits = [...b[1]].map((ch) => parseInt(ch, 36));
        if (base >= 2 && base <= 36 && digits.every((d) => d < base)) {
          const v = digits.reduce((acc, d) => acc * BigInt(base) + BigInt(d), 0n);
          out.push({ t: "num", v: v.toString() });
          i += b[0].length;
          continue;
        }
      }
    }
    if ((c >= "0" && c <= "9") || (c === "." && s[i + 1] >= "0" && s[i + 1] <= "9")) {
      const m = /^(\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+(?![A-Za-z]))?/.exec(s.slice(i, i + 400));
      const v = m ? m[0] : c;
      out.push({ t: "num", v });
      i += v.length;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (j < n && /[A-Za-z]/.test(s[j])) j++;
      const word = s.slice(i, j);
      const lw = word.toLowerCase();
      const prev = out.length > 0 ? out[out.length - 1] : null;
      i = j;
      if (lw === "and" || lw === "or") {
        out.push({ t: "op", v: "," });
        continue;
      }
      if (PLAIN_FUNCS.has(lw) && word.length > 1 && !(UNIT_WORDS.has(lw) && prev !== null && prev.t === "num" && s[j] !== "(")) {
        out.push({ t: "cmd", v: lw });
        continue;
      }
      if (lw === "pi" && word.length === 2) {
        out.push({ t: "cmd", v: "pi" });
        continue;
      }
      if (lw === "percent" || lw === "percentage" || lw === "pct") {
        out.push({ t: "op", v: "%" });
        continue;
      }
      if (lw === "degrees" || lw === "degree") {
        out.push({ t: "op", v: "°" });
        continue;
      }
      let nw = word.length > 2 ? numberWord(lw) : null;
      if (nw !== null) {
        // A cardinal in several words ("twenty-five", "twenty one") is one number, not 20 - 5.
        const from = j - word.length;
        let end = j;
        for (let k = 0; k < 12; k++) {
          const more = /^(?:\s*-\s*|\s+(?:and\s+)?)[A-Za-z]+/.exec(s.slice(end, end + 40));
          const v = more ? numberWord(s.slice(from, end + more[0].length)) : null;
          if (more === null || v === null) break;
          nw = v;
          end += more[0].length;
        }
        i = end;
        out.push({ t: "num", v: nw });
        continue;
      }
      // A unit word right after a number (or a closing bracket / exponent) is a unit, not variables.
      // A single-letter unit only as a final squared / cubed unit ("1,000.99m²"); "2m" stays 2·m.
      const atEnd = n - j <= 8 && /^\^\{?[23]\}?\s*$/.test(s.slice(j));
      if ((word.length > 1 || atEnd) && UNIT_WORDS.has(lw) && prev !== null && (prev.t === "num" || (prev.t === "op" && /[)}\]%°]/.test(prev.v)) || prev.t === "text")) {
        out.push({ t: "text", v: word });
        continue;
      }
      // Trailing words after a number are a unit or a label ("18 eggs", "2 blue marbles"): lower-case
      // words of 3+ letters, separated from the number by a space, with only such words (and
      // spaces or a final period) up to the end of the answer. Glued letters ("18x") and short or
      // capitalised words ("5 ab", "2 ABC") stay variables.
      if (
        prev !== null &&
        (prev.t === "text" || (prev.t === "num" && /\s/.test(s[j - word.length - 1] ?? ""))) &&
        /^[a-z]{3,}$/.test(word) &&
        /^(?:\s+[a-z]{3,})*\s*\.?\s*$/.test(s.slice(j))
      ) {
        out.push({ t: "text", v: word });
        continue;
      }
      for (const ch of word) out.push({ t: "sym", v: ch });
      continue;
    }
    if (c === "\\") {
      const m = /^\\([A-Za-z]+)/.exec(s.slice(i, i + 64));
      if (m) {
        const name = m[1];
        i += m[0].length;
        if (name === "text") {
          const open = s.indexOf("{", i);
          const close = open >= 0 ? matchBrace(s, open) : -1;
          if (close < 0) throw new Unparsable("unbalanced \\text");
          const inner = s.slice(open + 1, close);
          // `\frac12 \text{ percent}` is a percentage like `\frac12\%`, not a value with a unit word.
          if (/^\s*(?:%|percent|percentage|per\s?cent|pct)\.?\s*$/i.test(inner)) out.push({ t: "op", v: "%" });
          else out.push({ t: "text", v: inner });
          i = close + 1;
          continue;
        }
        if (name in REL_OPS) {
          out.push({ t: "op", v: REL_OPS[name] });
          continue;
        }
        out.push({ t: "cmd", v: name });
        continue;
      }
      const d = s[i + 1];
      i += 2;
      if (d === "{") out.push({ t: "op", v: "\\{" });
      else if (d === "}") out.push({ t: "op", v: "\\}" });
      else if (d === "|") out.push({ t: "op", v: "|" });
      else if (d === "%") out.push({ t: "op", v: "%" });
      continue;
    }
    if (c === ROW_SEP) {
      out.push({ t: "op", v: "\\\\" });
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === "**") {
      // A Python power, `2**(1/4)`.
      out.push({ t: "op", v: "**" });
      i += 2;
      continue;
    }
    if (two === "<=" || two === ">=" || two === "!=" || two === "==" || two === "=<" || two === "=>") {
      out.push({ t: "op", v: two === "==" ? "=" : two === "=<" ? "<=" : two === "=>" ? ">=" : two });
      i += 2;
      continue;
    }
    if ("+-*/^_=<>!()[]{}|,;:'%°&".includes(c)) {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === '"' || c === "`" || c === "?") {
      i++;
      continue;
    }
    throw new Unparsable(`unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ t: "end" });
  return out;
}
