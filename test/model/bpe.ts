// A small byte-level BPE (the GPT-2 family of tokenizers that Qwen2, Llama 3 and SmolLM use),
// trained deterministically in the tests so that no vocabulary has to be downloaded: the
// GPT-2 byte-to-unicode mapping, the pre-tokenizers llama.cpp selects by `tokenizer.ggml.pre`,
// a trainer, a reference encoder and the `tokenizer.*` GGUF metadata llama.cpp loads.
import { gv, GgufType, type GgufMetadata } from "../../src/model/gguf.js";
import { TokenType } from "../../src/model/tokenizer.js";

/**
 * GPT-2's reversible byte → character map: printable Latin-1 bytes stand for themselves, the
 * others (controls, space, ...) for U+0100 upwards in byte order, so every token is printable
 * text without spaces (a space byte is "Ġ", a newline "Ċ").
 */
export function byteToChar(): string[] {
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0x100;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : next++));
  return out;
}

const BYTE_CHARS = byteToChar();
const utf8 = new TextEncoder();

/** A word's bytes as GPT-2 characters. */
export function byteEncode(word: string): string {
  let s = "";
  for (const b of utf8.encode(word)) s += BYTE_CHARS[b];
  return s;
}

/** The pre-tokenizers of this fixture, by their `tokenizer.ggml.pre` name. */
export type PreTokenizer = "qwen2" | "llama-bpe" | "smollm";

// llama.cpp's whitespace is Unicode White_Space (it includes U+0085, JavaScript's \s does not,
// and JavaScript's \s includes U+FEFF, which is not White_Space): spell the class out.
const WS = "\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
// The splitting expressions of the Qwen2 and Llama 3 tokenizer.json files (digits one at a time
// vs. up to three), and GPT-2's, which SmolLM applies after splitting off every digit.
const qwenLike = (digits: string): RegExp =>
  new RegExp(
    `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}${digits}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*|[${WS}]*[\\r\\n]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
    "gu",
  );
const SPLITS: Record<PreTokenizer, RegExp[]> = {
  qwen2: [qwenLike("")],
  "llama-bpe": [qwenLike("{1,3}")],
  smollm: [/\p{N}/gu, new RegExp(`'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])`, "gu")],
};

/**
 * Splits text into words as llama.cpp does for `pre`: each expression splits every piece the
 * previous one left, keeping the text between matches as pieces too.
 */
export function preTokenize(text: string, pre: PreTokenizer): string[] {
  let pieces = [text];
  for (const re of SPLITS[pre]) {
    const next: string[] = [];
    for (const p of pieces) {
      let last = 0;
      for (const m of p.matchAll(re)) {
        if (m.index > last) next.push(p.slice(last, m.index));
        next.push(m[0]);
        last = m.index + m[0].length;
      }
      if (last < p.length) next.push(p.slice(last));
    }
    pieces = next;
  }
  return pieces.filter((p) => p.length > 0);
}

/** A trained byte-level BPE: tokens (ids in order) and merges (rank in order). */
export interface ByteBpe {
  pre: PreTokenizer;
  tokens: string[];
  /** Token types as in `tokenizer.ggml.token_type` (1 normal, 3 control). */
  types: number[];
  /** "left right" in rank order. */
  merges: string[];
  bosId: number;
  eosId: number;
  addBos: boolean;
}

/** What {@link trainByteBpe} builds besides the merges. */
export interface BpeOptions {
  pre: PreTokenizer;
  /** Number of merges to learn (fewer when no pair occurs twice). */
  merges: number;
  /** Control tokens, in id order. */
  specials: readonly string[];
  /** Put the specials before the byte tokens (SmolLM) instead of after the merges (Qwen2, Llama 3). */
  specialsFirst?: boolean;
  /** Indexes into `specials`. */
  bos: number;
  eos: number;
  /** `tokenizer.ggml.add_bos_token`. */
  addBos: boolean;
}

/**
 * Learns merges from `corpus`: words from the pre-tokenizer, counted; repeatedly the most
 * frequent adjacent pair (ties: the smaller "left right" string) becomes a token. Deterministic.
 */
export function trainByteBpe(corpus: string, o: BpeOptions): ByteBpe {
  const counts = new Map<string, number>();
  for (const w of preTokenize(corpus, o.pre)) {
    const e = byteEncode(w);
    counts.set(e, (counts.get(e) ?? 0) + 1);
  }
  const words = [...counts].map(([w, n]) => ({ syms: [...w], n }));
  const merges: string[] = [];
  const learned: string[] = [];
  while (merges.length < o.merges) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const p = `${syms[i]} ${syms[i + 1]}`;
        pairs.set(p, (pairs.get(p) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestN = 1;
    for (const [p, n] of pairs) if (n > bestN || (n === bestN && best !== undefined && p < best)) [best, bestN] = [p, n];
    if (best === undefined) break;
    merges.push(best);
    const [a, b] = best.split(" ");
    learned.push(a + b);
    for (const w of words) w.syms = mergeOnce(w.syms, a, b);
  }
  // Two merges can make the same string ("ab c", "a bc"): one token. A merged token has at
  // least two characters, so it never equals a byte token.
  const body = [...BYTE_CHARS, ...new Set(learned)];
  const tokens = o.specialsFirst ? [...o.specials, ...body] : [...body, ...o.specials];
  const firstSpecial = o.specialsFirst ? 0 : body.length;
  const types = tokens.map((_, i) => (i >= firstSpecial && i < firstSpecial + o.specials.length ? TokenType.control : TokenType.normal));
  return { pre: o.pre, tokens, types, merges, bosId: firstSpecial + o.bos, eosId: firstSpecial + o.eos, addBos: o.addBos };
}

function mergeOnce(syms: string[], a: string, b: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < syms.length; i++) {
    if (i + 1 < syms.length && syms[i] === a && syms[i + 1] === b) {
      out.push(a + b);
      i++;
    } else out.push(syms[i]);
  }
  return out;
}

/**
 * Reference encoding (no special-token parsing): per word, the lowest-ranked adjacent pair is
 * merged (leftmost first) until none applies. Llama 3's pre-tokenizer also takes a whole word
 * that is itself a token without merging (llama.cpp's `ignore_merges`).
 */
export function bpeEncode(bpe: ByteBpe, text: string): number[] {
  const id = new Map(bpe.tokens.map((t, i) => [t, i]));
  const rank = new Map(bpe.merges.map((m, i) => [m, i]));
  const out: number[] = [];
  for (const w of preTokenize(text, bpe.pre)) {
    const enc = byteEncode(w);
    if (bpe.pre === "llama-bpe" && id.has(enc)) {
      out.push(id.get(enc)!);
      continue;
    }
    let syms = [...enc];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      syms = [...syms.slice(0, best), syms[best] + syms[best + 1], ...syms.slice(best + 2)];
    }
    for (const s of syms) out.push(id.get(s)!);
  }
  return out;
}

/** The `tokenizer.*` GGUF keys of a byte-level BPE vocabulary, as llama.cpp's converter writes them. */
export function bpeGgufMetadata(bpe: ByteBpe): GgufMetadata {
  return new Map([
    ["tokenizer.ggml.model", gv.str("gpt2")],
    ["tokenizer.ggml.pre", gv.str(bpe.pre)],
    ["tokenizer.ggml.tokens", gv.arr(GgufType.STRING, bpe.tokens)],
    ["tokenizer.ggml.token_type", gv.arr(GgufType.INT32, bpe.types)],
    ["tokenizer.ggml.merges", gv.arr(GgufType.STRING, bpe.merges)],
    ["tokenizer.ggml.bos_token_id", gv.u32(bpe.bosId)],
    ["tokenizer.ggml.eos_token_id", gv.u32(bpe.eosId)],
    ["tokenizer.ggml.add_bos_token", gv.bool(bpe.addBos)],
  ]);
}
