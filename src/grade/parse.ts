/**
 * Recursive-descent parser from the lexer's tokens (lexer.ts) to a small AST.
 * Bounded: the token count is capped by the input length cap, nesting by MAX_DEPTH, and every
 * token consumed ticks the budget.
 */
import { Budget, MAX_DEPTH, Unparsable } from "./budget.js";
import { numberWord } from "./normalize.js";
import { tokenize, type Tok } from "./lexer.js";

/** A parsed answer. */
export type Node =
  | { k: "num"; v: string } // decimal literal, e.g. "12", "0.5"
  | { k: "rat"; n: bigint; d: bigint } // exact rational from a repeating decimal or a base-n numeral
  | { k: "sym"; name: string } // a variable (or e / i, read as constants by the evaluator)
  | { k: "pi" }
  | { k: "inf" }
  | { k: "add"; a: Node; b: Node }
  | { k: "sub"; a: Node; b: Node }
  | { k: "mul"; a: Node; b: Node }
  | { k: "div"; a: Node; b: Node }
  | { k: "pow"; a: Node; b: Node }
  | { k: "neg"; a: Node }
  | { k: "pm"; a: Node | null; b: Node; minusFirst: boolean } // a ± b (a null: unary ±)
  | { k: "fn"; name: string; args: Node[] }
  | { k: "pct"; a: Node }
  | { k: "deg"; a: Node }
  | { k: "matrix"; rows: Node[][] }
  | { k: "tuple"; open: string; close: string; items: Node[] } // (a,b) [a,b) \{a,b\} ...
  | { k: "list"; items: Node[]; groups: boolean } // bare comma / semicolon list
  | { k: "rel"; ops: string[]; items: Node[] } // a = b < c ...
  | { k: "ratio"; items: Node[] } // a : b
  | { k: "union"; op: string; items: Node[] }
  | { k: "text"; s: string };

const FUNCS = new Set([
  "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "sinh", "cosh", "tanh",
  "ln", "log", "exp", "sqrt", "abs", "gcd", "lcm", "max", "min", "det", "floor", "ceil",
]);
const GREEK = new Set([
  "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
  "kappa", "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
  "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Phi", "Psi", "Omega", "ell",
]);

const num = (v: string): Node => ({ k: "num", v });

/** The parser state over a token array. */
class Parser {
  private pos = 0;
  private depth = 0;
  private absDepth = 0;

  constructor(
    private readonly toks: Tok[],
    private readonly budget: Budget,
  ) {}

  private peek(o = 0): Tok {
    return this.toks[Math.min(this.pos + o, this.toks.length - 1)];
  }
  private next(): Tok {
    this.budget.tick();
    return this.toks[Math.min(this.pos++, this.toks.length - 1)];
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.t === "op" && t.v === v;
  }
  private expectOp(v: string): void {
    if (!this.isOp(v)) throw new Unparsable(`expected ${v}`);
    this.next();
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Unparsable("nesting too deep");
  }
  private leave(): void {
    this.depth--;
  }

  parseTop(): Node {
    const r = this.parseSeq(new Set());
    if (this.peek().t !== "end") throw new Unparsable("trailing input");
    return r.items.length === 1 && !r.sawSep ? r.items[0] : { k: "list", items: r.items, groups: r.semi };
  }

  /** Comma / semicolon separated items up to one of `closers` (not consumed). Empty items are skipped. */
  private parseSeq(closers: Set<string>): { items: Node[]; sawSep: boolean; semi: boolean } {
    const items: Node[] = [];
    let group: Node[] = [];
    const groups: Node[][] = [];
    let sawSep = false;
    let semi = false;
    for (;;) {
      const t = this.peek();
      if (t.t === "end" || (t.t === "op" && closers.has(t.v)) || (t.t === "cmd" && closers.has("\\" + t.v))) break;
      if (t.t === "op" && (t.v === "," || t.v === ";")) {
        this.next();
        sawSep = true;
        if (t.v === ";") {
          semi = true;
          groups.push(group);
          group = [];
        }
        continue;
      }
      group.push(this.parseRel());
    }
    groups.push(group);
    if (!semi) items.push(...group);
    else if (closers.size > 0) {
      // Inside brackets a semicolon separates components like a comma: (0;-2;6).
      for (const g of groups) items.push(...g);
    } else {
      for (const g of groups) {
        if (g.length === 1) items.push(g[0]);
        else if (g.length > 1) items.push({ k: "list", items: g, groups: false });
      }
    }
    return { items, sawSep, semi: semi && closers.size === 0 };
  }

  private parseRel(): Node {
    this.enter();
    const first = this.parseRatio();
    const ops: string[] = [];
    const items: Node[] = [first];
    for (;;) {
      const t = this.peek();
      if (t.t === "op" && ["=", "<", ">", "<=", ">=", "!=", "~", "in"].includes(t.v)) {
        this.next();
        ops.push(t.v);
        items.push(this.parseRatio());
        continue;
      }
      break;
    }
    this.leave();
    return ops.length === 0 ? first : { k: "rel", ops, items };
  }

  private parseRatio(): Node {
    const first = this.parseUnion();
    if (!this.isOp(":")) return first;
    const items = [first];
    while (this.isOp(":")) {
      this.next();
      items.push(this.parseUnion());
    }
    return { k: "ratio", items };
  }

  private parseUnion(): Node {
    let a = this.parseAdd();
    for (;;) {
      const t = this.peek();
      if (t.t === "cmd" && (t.v === "cup" || t.v === "cap" || t.v === "setminus")) {
        this.next();
        const b = this.parseAdd();
        if (a.k === "union" && a.op === t.v) a = { k: "union", op: t.v, items: [...a.items, b] };
        else a = { k: "union", op: t.v, items: [a, b] };
        continue;
      }
      if (t.t === "sym" && t.v === "U" && (a.k === "tuple" || a.k === "union") && this.startsPrimary(this.peek(1))) {
        // Plain-text union "(0,1) U (2,3)".
        this.next();
        const b = this.parseAdd();
        a = a.k === "union" ? { k: "union", op: "cup", items: [...a.items, b] } : { k: "union", op: "cup", items: [a, b] };
        continue;
      }
      return a;
    }
  }

  private parseAdd(): Node {
    let a: Node | null = null;
    for (;;) {
      const t = this.peek();
      if (t.t === "op" && (t.v === "+" || t.v === "-")) {
        this.next();
        const b = this.parseMul();
        if (a === null) a = t.v === "-" ? { k: "neg", a: b } : b;
        else a = t.v === "+" ? { k: "add", a, b } : { k: "sub", a, b };
        continue;
      }
      if (t.t === "cmd" && (t.v === "pm" || t.v === "mp")) {
        this.next();
        const b = this.parseMul();
        a = { k: "pm", a, b, minusFirst: t.v === "mp" };
        continue;
      }
      if (a !== null) return a;
      a = this.parseMul();
    }
  }

  private startsPrimary(t: Tok): boolean {
    if (t.t === "num" || t.t === "sym" || t.t === "text") return true;
    if (t.t === "cmd") return !["cup", "cap", "setminus", "pm", "mp", "cdot", "times", "div", "end", "rfloor", "rceil", "right", "ast", "to", "mid"].includes(t.v);
    if (t.t === "op") return t.v === "(" || t.v === "{" || t.v === "\\{" || t.v === "[" || (t.v === "|" && this.absDepth === 0);
    return false;
  }

  private parseMul(): Node {
    let a = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if ((t.t === "op" && (t.v === "*" || t.v === "/")) || (t.t === "cmd" && (t.v === "cdot" || t.v === "times" || t.v === "div" || t.v === "ast"))) {
        this.next();
        const b = this.parseUnary();
        a = t.v === "/" || t.v === "div" ? { k: "div", a, b } : { k: "mul", a, b };
        continue;
      }
      if (this.startsPrimary(t)) {
        const b = this.parsePower();
        a = { k: "mul", a, b };
        continue;
      }
      return a;
    }
  }

  private parseUnary(): Node {
    const t = this.peek();
    if (t.t === "op" && (t.v === "-" || t.v === "+")) {
      this.next();
      this.enter();
      const a = this.parseUnary();
      this.leave();
      return t.v === "-" ? { k: "neg", a } : a;
    }
    if (t.t === "cmd" && (t.v === "pm" || t.v === "mp")) {
      this.next();
      return { k: "pm", a: null, b: this.parseUnary(), minusFirst: t.v === "mp" };
    }
    return this.parsePower();
  }

  private parsePower(): Node {
    this.enter();
    let base = this.parsePostfix(this.parsePrimary());
    if (this.isOp("^")) {
      this.next();
      const e = this.parseArg(true);
      base = this.parsePostfix({ k: "pow", a: base, b: e });
    } else if (this.isOp("**")) {
      // Python's power: right-associative, a signed exponent (`2**-1`), binds tighter than a
      // unary minus on its left (`-2**2` is -4) and than `*` and `/` (`2**3*4` is 32).
      this.next();
      base = { k: "pow", a: base, b: this.parseUnary() };
    }
    this.leave();
    return base;
  }

  private parsePostfix(a: Node): Node {
    for (;;) {
      const t = this.peek();
      if (t.t === "op" && t.v === "!") {
        if (this.isOp("=", 1)) return a;
        this.next();
        a = { k: "fn", name: "fact", args: [a] };
        continue;
      }
      if (t.t === "op" && t.v === "%") {
        this.next();
        a = { k: "pct", a };
        continue;
      }
      if (t.t === "op" && t.v === "°") {
        this.next();
        a = { k: "deg", a };
        continue;
      }
      if (t.t === "op" && t.v === "'") {
        this.next();
        if (a.k === "sym") a = { k: "sym", name: a.name + "'" };
        continue;
      }
      if (t.t === "op" && t.v === "_") {
        this.next();
        a = this.subscript(a);
        continue;
      }
      if (t.t === "text") {
        // A word after a value is a unit or a label: dropped (`5 \text{ cm}`, `864 inches^2`).
        if (this.peek(1).t === "end" || !this.startsPrimary(this.peek(1)) || a.k !== "text") {
          this.next();
          if (this.isOp("^")) {
            this.next();
            this.parseArg(true);
          }
          continue;
        }
      }
      return a;
    }
  }

  /** `52_8` is a base-8 numeral; `x_1` / `a_{37}` are variable names; other subscripts are labels. */
  private subscript(a: Node): Node {
    const sub = this.parseArgRaw();
    if (a.k === "num" && /^[0-9]+$/.test(a.v) && sub.k === "num" && /^\d+$/.test(sub.v)) {
      const base = Number(sub.v);
      if (base >= 2 && base <= 36) {
        let v = 0n;
        for (const ch of a.v) {
          const d = parseInt(ch, 36);
          if (d >= base) throw new Unparsable("digit out of range for base");
          v = v * BigInt(base) + BigInt(d);
        }
        return { k: "rat", n: v, d: 1n };
      }
    }
    if (a.k === "num" && sub.k === "sym" && /^[0-9a-z]+$/i.test(a.v)) return a;
    if (a.k === "sym") return { k: "sym", name: `${a.name}_${nodeKey(sub)}` };
    return a;
  }

  /** A TeX argument: a braced group or one token (one digit of a number, as TeX reads `\frac43`). */
  private parseArg(exponent = false): Node {
    const t = this.peek();
    if (t.t === "op" && t.v === "{") return this.parseArgRaw();
    if (exponent && t.t === "op" && (t.v === "-" || t.v === "+")) {
      this.next();
      const a = this.parseArg(true);
      return t.v === "-" ? { k: "neg", a } : a;
    }
    if (t.t === "num" && !exponent && t.v.length > 1) {
      // TeX reads one digit: \frac43 = 4/3.
      const first = t.v[0];
      (this.toks[this.pos] as { v: string }).v = t.v.slice(1);
      this.budget.tick();
      return num(first);
    }
    if (t.t === "num") {
      this.next();
      return num(t.v);
    }
    if (t.t === "sym") {
      this.next();
      return { k: "sym", name: t.v };
    }
    return this.parsePrimary();
  }

  private parseArgRaw(): Node {
    const t = this.peek();
    if (t.t === "op" && t.v === "{") {
      this.next();
      this.enter();
      const r = this.parseSeq(new Set(["}"]));
      this.expectOp("}");
      this.leave();
      if (r.items.length === 0) return num("1");
      return r.items.length === 1 ? r.items[0] : { k: "list", items: r.items, groups: false };
    }
    return this.parseArg(true);
  }

  private parseBracket(open: string): Node {
    this.enter();
    const closers = open === "\\{" ? new Set(["\\}"]) : open === "{" ? new Set(["}"]) : new Set([")", "]"]);
    const r = this.parseSeq(closers);
    const close = this.next();
    if (close.t !== "op" || !closers.has(close.v)) throw new Unparsable("unbalanced bracket");
    this.leave();
    if (open === "\\{") return { k: "tuple", open: "{", close: "}", items: r.items };
    if (open === "{") {
      if (r.items.length === 1 && !r.sawSep) return r.items[0];
      return { k: "tuple", open: "{", close: "}", items: r.items };
    }
    if (r.items.length === 1 && !r.sawSep) return r.items[0];
    if (r.items.length === 0) throw new Unparsable("empty brackets");
    return { k: "tuple", open, close: close.v, items: r.items };
  }

  private parseMatrix(env: string): Node {
    if (env === "array") {
      // Column specification {cc} or {c|c}.
      if (this.isOp("{")) {
        let d = 0;
        do {
          const t = this.next();
          if (t.t === "end") throw new Unparsable("bad array");
          if (t.t === "op" && t.v === "{") d++;
          if (t.t === "op" && t.v === "}") d--;
        } while (d > 0);
      }
    }
    const rows: Node[][] = [];
    let row: Node[] = [];
    const closers = new Set(["&", "\\\\", "\\end"]);
    for (;;) {
      const r = this.parseSeq(closers);
      const cell: Node = r.items.length === 1 ? r.items[0] : r.items.length === 0 ? num("0") : { k: "list", items: r.items, groups: false };
      const t = this.next();
      if (t.t === "op" && t.v === "&") {
        row.push(cell);
        continue;
      }
      if (t.t === "op" && t.v === "\\\\") {
        if (r.items.length > 0 || row.length > 0) row.push(cell);
        if (row.length > 0) rows.push(row);
        row = [];
        continue;
      }
      if (t.t === "cmd" && t.v === "end") {
        if (r.items.length > 0 || row.length > 0) row.push(cell);
        if (row.length > 0) rows.push(row);
        this.skipBraced();
        break;
      }
      throw new Unparsable("bad matrix");
    }
    if (rows.length === 0) throw new Unparsable("empty matrix");
    if (env === "cases" || env === "aligned" || env === "align" || env === "gathered") {
      const items = rows.map((r) => r[r.length - 1]);
      return items.length === 1 ? items[0] : { k: "list", items, groups: false };
    }
    const w = rows[0].length;
    if (!rows.every((r) => r.length === w)) throw new Unparsable("ragged matrix");
    return { k: "matrix", rows };
  }

  private skipBraced(): string {
    if (!this.isOp("{")) return "";
    this.next();
    let name = "";
    while (!this.isOp("}")) {
      const t = this.next();
      if (t.t === "end") throw new Unparsable("unbalanced");
      if (t.t === "sym" || t.t === "cmd") name += t.v;
      if (t.t === "op" && t.v === "*") name += "*";
    }
    this.next();
    return name;
  }

  /** Argument of a function written without parentheses: `\sin 2x`, `\log_2 8`, `\cos a`. */
  private parseFnArg(): Node {
    const t = this.peek();
    if (t.t === "op" && (t.v === "(" || t.v === "[" || t.v === "{")) return this.parsePower();
    let a = this.parseUnaryNoMul();
    for (;;) {
      const n = this.peek();
      if (n.t === "num" || n.t === "sym" || (n.t === "cmd" && (GREEK.has(n.v) || n.v === "pi"))) {
        a = { k: "mul", a, b: this.parsePower() };
        continue;
      }
      return a;
    }
  }

  private parseUnaryNoMul(): Node {
    const t = this.peek();
    if (t.t === "op" && t.v === "-") {
      this.next();
      return { k: "neg", a: this.parseUnaryNoMul() };
    }
    return this.parsePower();
  }

  private parsePrimary(): Node {
    this.budget.tick();
    const t = this.next();
    switch (t.t) {
      case "num": {
        if (t.v.includes("e") || t.v.includes("E")) {
          const [m, e] = t.v.split(/[eE]/);
          return { k: "mul", a: num(m), b: { k: "pow", a: num("10"), b: e.startsWith("-") ? { k: "neg", a: num(e.slice(1)) } : num(e.replace("+", "")) } };
        }
        const nx = this.peek();
        if (nx.t === "cmd" && nx.v === "overline") {
          this.next();
          const rep = this.parseArgRaw();
          const digits = rep.k === "num" ? rep.v : "";
          if (!/^\d+$/.test(digits)) throw new Unparsable("bad repeating decimal");
          return repeating(t.v, digits);
        }
        if (/^\d+$/.test(t.v) && nx.t === "num" && this.isOp("/", 1) && this.peek(2).t === "num") {
          // Mixed number in plain text, `1 1/2` = 3/2: an integer, then (two number tokens in a row
          // come only from a space) a proper fraction of integers that nothing else binds to.
          const p = nx.v;
          const q = (this.peek(2) as { v: string }).v;
          const after = this.peek(3);
          const free = !(after.t === "op" && ["^", "**", "_", "!", "/", "*", "."].includes(after.v)) && (after.t === "text" || !this.startsPrimary(after));
          if (/^\d+$/.test(p) && /^\d+$/.test(q) && BigInt(p) < BigInt(q) && free) {
            this.next();
            this.next();
            this.next();
            return { k: "add", a: num(t.v), b: { k: "div", a: num(p), b: num(q) } };
          }
        }
        if (/^\d+$/.test(t.v) && nx.t === "cmd" && nx.v === "frac") {
          // Mixed number 1\frac{4}{5} = 1 + 4/5 when the fraction is a proper numeric one.
          const save = this.pos;
          this.next();
          const p = this.parseArg();
          const q = this.parseArg();
          if (p.k === "num" && q.k === "num" && /^\d+$/.test(p.v) && /^\d+$/.test(q.v) && BigInt(p.v) < BigInt(q.v)) {
            return { k: "add", a: num(t.v), b: { k: "div", a: p, b: q } };
          }
          this.pos = save;
        }
        return num(t.v);
      }
      case "sym":
        return { k: "sym", name: t.v };
      case "text": {
        const inner = t.v.trim();
        if (/^-?\d+(\.\d+)?$/.test(inner)) return num(inner);
        const w = numberWord(inner);
        if (w !== null) return num(w);
        // Several choice letters in one text, "\text{(A), (C)}": a list of choices like "A, C".
        if (/^\(?[A-Z]\)?(?:\s*(?:,|;|\band\b|\bor\b)\s*\(?[A-Z]\)?)+$/.test(inner)) {
          const letters = inner.match(/(?<![A-Za-z])[A-Z](?![A-Za-z])/g) ?? [];
          return { k: "list", items: letters.map((l): Node => ({ k: "text", s: l })), groups: false };
        }
        return { k: "text", s: inner };
      }
      case "op": {
        if (t.v === "(" || t.v === "[" || t.v === "\\{" || t.v === "{") return this.parseBracket(t.v);
        if (t.v === "|") {
          this.absDepth++;
          this.enter();
          const a = this.parseAdd();
          this.leave();
          this.absDepth--;
          this.expectOp("|");
          return { k: "fn", name: "abs", args: [a] };
        }
        throw new Unparsable(`unexpected ${t.v}`);
      }
      case "cmd":
        return this.parseCommand(t.v);
      default:
        throw new Unparsable("unexpected end");
    }
  }

  private parseCommand(name: string): Node {
    if (name === "frac" || name === "over") {
      const a = this.parseArg();
      const b = this.parseArg();
      return { k: "div", a, b };
    }
    if (name === "binom" || name === "dbinom" || name === "tbinom" || name === "choose") {
      const a = this.parseArg();
      const b = this.parseArg();
      return { k: "fn", name: "binom", args: [a, b] };
    }
    if (name === "sqrt") {
      let index: Node | null = null;
      if (this.isOp("[")) {
        this.next();
        const r = this.parseSeq(new Set(["]"]));
        this.expectOp("]");
        index = r.items[0] ?? num("2");
      }
      // Departure from TeX: `\sqrt13` is read as the square root of 13 (nobody means sqrt(1)*3).
      const t = this.peek();
      let arg: Node;
      if (t.t === "num") {
        this.next();
        arg = num(t.v);
      } else if (t.t === "op" && t.v === "(") arg = this.parsePower();
      else arg = this.parseArg();
      return index === null ? { k: "fn", name: "sqrt", args: [arg] } : { k: "fn", name: "root", args: [arg, index] };
    }
    if (name === "pi") return { k: "pi" };
    if (name === "infty" || name === "infin") return { k: "inf" };
    if (name === "emptyset" || name === "varnothing") return { k: "tuple", open: "{", close: "}", items: [] };
    if (name === "R" || name === "Reals") return { k: "tuple", open: "(", close: ")", items: [{ k: "neg", a: { k: "inf" } }, { k: "inf" }] };
    if (name === "imath") return { k: "sym", name: "i" };
    if (name === "overline" || name === "bar" || name === "hat" || name === "vec" || name === "widehat" || name === "overrightarrow" || name === "tilde" || name === "mathbf" || name === "underline") {
      const a = this.parseArgRaw();
      return a.k === "sym" ? { k: "sym", name: `${name}(${a.name})` } : a;
    }
    if (name === "lfloor" || name === "lceil") {
      const r = this.parseSeq(new Set([name === "lfloor" ? "\\rfloor" : "\\rceil"]));
      this.next();
      return { k: "fn", name: name === "lfloor" ? "floor" : "ceil", args: r.items.slice(0, 1) };
    }
    if (name === "begin") {
      const env = this.skipBraced().replace("*", "");
      return this.parseMatrix(env);
    }
    if (name === "log" || name === "ln" || name === "lg" || FUNCS.has(name)) {
      let fname = name === "lg" ? "log" : name;
      let base: Node | null = null;
      let power: Node | null = null;
      if (fname === "log" && this.isOp("_")) {
        this.next();
        base = this.parseArgRaw();
      }
      if (this.isOp("^")) {
        this.next();
        power = this.parseArg(true);
        if (power.k === "neg" && power.a.k === "num" && power.a.v === "1" && ["sin", "cos", "tan", "cot", "sec", "csc"].includes(fname)) {
          fname = "arc" + fname;
          power = null;
        }
      }
      let args: Node[];
      if (this.isOp("(") && ["gcd", "lcm", "max", "min"].includes(fname)) {
        this.next();
        const r = this.parseSeq(new Set([")", "]"]));
        this.next();
        args = r.items;
      } else args = [this.parseFnArg()];
      let f: Node = base !== null ? { k: "fn", name: "logb", args: [args[0], base] } : { k: "fn", name: fname, args };
      if (power !== null) f = { k: "pow", a: f, b: power };
      return f;
    }
    if (GREEK.has(name)) return { k: "sym", name };
    if (name === "mathbb" || name === "mathcal") return this.parseArgRaw();
    // Any other command is read as a named symbol (`\zzz`), so that both sides compare alike.
    return { k: "sym", name: "\\" + name };
  }
}

/** A repeating decimal `int.frac\overline{rep}` as an exact rational. */
function repeating(lit: string, rep: string): Node {
  const [ip, fp = ""] = lit.split(".");
  const a = BigInt((ip || "0") + fp + rep);
  const b = BigInt((ip || "0") + fp);
  const d = (10n ** BigInt(fp.length + rep.length)) - 10n ** BigInt(fp.length);
  return { k: "rat", n: a - b, d };
}

/** The direct sub-nodes of a node, in order (matrix entries row by row); none for a leaf. */
export function children(n: Node): Node[] {
  switch (n.k) {
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow":
      return [n.a, n.b];
    case "neg":
    case "pct":
    case "deg":
      return [n.a];
    case "pm":
      return n.a === null ? [n.b] : [n.a, n.b];
    case "fn":
      return n.args;
    case "matrix":
      return n.rows.flat();
    case "tuple":
    case "list":
    case "rel":
    case "ratio":
    case "union":
      return n.items;
    default:
      return [];
  }
}

/** A compact string of a node, for names and cluster keys. */
export function nodeKey(n: Node): string {
  switch (n.k) {
    case "num":
      return n.v;
    case "rat":
      return `${n.n}/${n.d}`;
    case "sym":
      return n.name;
    case "pi":
      return "pi";
    case "inf":
      return "inf";
    case "neg":
      return `-(${nodeKey(n.a)})`;
    case "add":
    case "sub":
    case "mul":
    case "div":
    case "pow":
      return `${n.k}(${nodeKey(n.a)},${nodeKey(n.b)})`;
    case "pm":
      return `pm(${n.a ? nodeKey(n.a) : ""},${nodeKey(n.b)})`;
    case "fn":
      return `${n.name}(${n.args.map(nodeKey).join(",")})`;
    case "pct":
      return `${nodeKey(n.a)}%`;
    case "deg":
      return `${nodeKey(n.a)}deg`;
    case "matrix":
      return `[${n.rows.map((r) => r.map(nodeKey).join(",")).join(";")}]`;
    case "tuple":
      return `${n.open}${n.items.map(nodeKey).join(",")}${n.close}`;
    case "list":
      return `list(${n.items.map(nodeKey).join(",")})`;
    case "rel":
      return n.items.map(nodeKey).reduce((acc, s, i) => (i === 0 ? s : `${acc}${n.ops[i - 1]}${s}`), "");
    case "ratio":
      return n.items.map(nodeKey).join(":");
    case "union":
      return `${n.op}(${n.items.map(nodeKey).join(",")})`;
    case "text":
      return `"${n.s}"`;
  }
}

/** Parses a cleaned answer; throws Unparsable or BudgetExceeded. */
export function parseAnswer(clean: string, budget: Budget): Node {
  const toks = tokenize(clean, budget);
  if (toks.length === 1) throw new Unparsable("empty");
  return new Parser(toks, budget).parseTop();
}
