/**
 * Tokenizers. Our own models use a character vocabulary with SentencePiece-style byte fallback,
 * stored in GGUF so that llama.cpp's `llama` (SPM) tokenizer splits text exactly as
 * `CharTokenizer.encode` does. External GGUF models use their own vocabulary through node-llama-cpp.
 */
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { MathtuneError, ErrorCode } from "../errors.js";
import { GgufType, gv, metaArray, metaString, metaValue, type GgufMetadata } from "./gguf.js";

/** Text ↔ token ids. `encode` never adds BOS/EOS; callers prepend `bosId` when `addBos` says so. */
export interface Tokenizer {
  /**
   * Token ids of `text`. With `specialTokens`, the text of a special (control) token, such as a
   * chat template's `<|im_start|>`, becomes that token (llama.cpp's `parse_special`); without, it
   * is plain text. Defaults to false.
   */
  encode(text: string, specialTokens?: boolean): number[];
  decode(ids: number[]): string;
  bosId: number;
  eosId: number;
  /**
   * Whether a sequence starts with BOS (`tokenizer.ggml.add_bos_token` as llama.cpp reads it:
   * Llama yes, Qwen2 no). Training data follows it so that it looks like what sampling feeds.
   */
  addBos: boolean;
  vocabSize: number;
}

/** SentencePiece token types as numbered in `tokenizer.ggml.token_type`. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** SentencePiece writes a space as U+2581 ("▁"); llama.cpp's SPM tokenizer expects that. */
const SPM_SPACE = "\u2581";
const SPECIALS = ["<unk>", "<s>", "</s>"] as const;
const UNK_ID = 0;
const BOS_ID = 1;
const EOS_ID = 2;
const BYTE_BASE = 3;
const CHAR_BASE = BYTE_BASE + 256;

function byteToken(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** Splits into code points, turning lone surrogates into U+FFFD as UTF-8 encoding (and llama.cpp) do. */
function codePoints(text: string): string[] {
  const out: string[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    out.push(c >= 0xd800 && c <= 0xdfff ? "\ufffd" : ch);
  }
  return out;
}

/** The options of `CharTokenizer.fromCorpus`. */
export interface CharVocabOptions {
  /** Characters seen fewer times than this are left to byte fallback. Defaults to 1. */
  minCount?: number;
  /** Keep at most this many characters (most frequent first). Defaults to no limit. */
  maxChars?: number;
}

/**
 * A character vocabulary: `<unk>`, `<s>`, `</s>`, the 256 byte tokens `<0x00>`..`<0xFF>` (ids 3..258),
 * then one token per character (ids 259..). A character outside the vocabulary is encoded as the
 * byte tokens of its UTF-8 form, so no input fails. Space and newline are always present.
 * U+2581 in input text means a space to llama.cpp, so it is encoded as the space token here too.
 */
export class CharTokenizer implements Tokenizer {
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  readonly addBos = true;
  readonly unkId = UNK_ID;
  /** The characters, in id order from id 259. */
  readonly chars: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(alphabet: Iterable<string>) {
    const seen = new Set<string>([" ", "\n"]);
    for (const ch of alphabet) {
      for (const c of codePoints(ch)) if (c !== SPM_SPACE) seen.add(c);
    }
    this.chars = [...seen].sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
    this.ids = new Map(this.chars.map((c, i) => [c, CHAR_BASE + i]));
  }

  /** A vocabulary of every character in `texts` (optionally only the frequent ones). */
  static fromCorpus(texts: Iterable<string>, options: CharVocabOptions = {}): CharTokenizer {
    const counts = new Map<string, number>();
    for (const t of texts) for (const c of codePoints(t)) counts.set(c, (counts.get(c) ?? 0) + 1);
    let chars = [...counts.entries()].filter(([, n]) => n >= (options.minCount ?? 1));
    if (options.maxChars !== undefined) {
      chars.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      chars = chars.slice(0, options.maxChars);
    }
    return new CharTokenizer(chars.map(([c]) => c));
  }

  /** Printable ASCII plus newline: a vocabulary that needs no corpus. */
  static ascii(): CharTokenizer {
    const chars: string[] = [];
    for (let c = 32; c < 127; c++) chars.push(String.fromCharCode(c));
    return new CharTokenizer(chars);
  }

  get vocabSize(): number {
    return CHAR_BASE + this.chars.length;
  }

  encode(text: string, specialTokens = false): number[] {
    if (specialTokens) {
      // <unk>, <s> and </s> are the only special tokens of a character vocabulary.
      const out: number[] = [];
      let at = 0;
      for (const m of text.matchAll(/<unk>|<s>|<\/s>/g)) {
        out.push(...this.encode(text.slice(at, m.index)), SPECIALS.indexOf(m[0] as (typeof SPECIALS)[number]));
        at = m.index + m[0].length;
      }
      out.push(...this.encode(text.slice(at)));
      return out;
    }
    const out: number[] = [];
    const enc = new TextEncoder();
    for (let c of codePoints(text)) {
      if (c === SPM_SPACE) c = " ";
      const id = this.ids.get(c);
      if (id !== undefined) out.push(id);
      else for (const b of enc.encode(c)) out.push(BYTE_BASE + b);
    }
    return out;
  }

  decode(ids: number[]): string {
    // Byte tokens are gathered and decoded together so a multi-byte character split over
    // several byte tokens comes back whole.
    const bytes: number[] = [];
    let out = "";
    // ignoreBOM keeps a U+FEFF that is part of the text instead of dropping it as a byte-order mark.
    const dec = new TextDecoder("utf-8", { ignoreBOM: true });
    const flush = (): void => {
      if (bytes.length > 0) {
        out += dec.decode(new Uint8Array(bytes));
        bytes.length = 0;
      }
    };
    for (const id of ids) {
      if (id >= BYTE_BASE && id < CHAR_BASE) {
        bytes.push(id - BYTE_BASE);
        continue;
      }
      flush();
      if (id >= CHAR_BASE && id < this.vocabSize) out += this.chars[id - CHAR_BASE];
    }
    flush();
    return out;
  }

  /** The token string of an id as written to GGUF (space as U+2581). */
  tokenText(id: number): string {
    if (id < BYTE_BASE) return SPECIALS[id];
    if (id < CHAR_BASE) return byteToken(id - BYTE_BASE);
    const c = this.chars[id - CHAR_BASE];
    return c === " " ? SPM_SPACE : c;
  }

  /** The `tokenizer.ggml.*` metadata llama.cpp needs to tokenize exactly like `encode`. */
  toGgufMetadata(): GgufMetadata {
    const n = this.vocabSize;
    const tokens: string[] = [];
    const types: number[] = [];
    for (let i = 0; i < n; i++) {
      tokens.push(this.tokenText(i));
      types.push(i === UNK_ID ? TokenType.unknown : i < BYTE_BASE ? TokenType.control : i < CHAR_BASE ? TokenType.byte : TokenType.normal);
    }
    const m: GgufMetadata = new Map();
    m.set("tokenizer.ggml.model", gv.str("llama"));
    m.set("tokenizer.ggml.tokens", gv.arr(GgufType.STRING, tokens));
    // No merges exist between single characters, so scores never matter; zeros as SentencePiece does for bytes.
    m.set("tokenizer.ggml.scores", gv.arr(GgufType.FLOAT32, new Array<number>(n).fill(0)));
    m.set("tokenizer.ggml.token_type", gv.arr(GgufType.INT32, types));
    m.set("tokenizer.ggml.bos_token_id", gv.u32(BOS_ID));
    m.set("tokenizer.ggml.eos_token_id", gv.u32(EOS_ID));
    m.set("tokenizer.ggml.unknown_token_id", gv.u32(UNK_ID));
    m.set("tokenizer.ggml.add_bos_token", gv.bool(true));
    m.set("tokenizer.ggml.add_eos_token", gv.bool(false));
    m.set("tokenizer.ggml.add_space_prefix", gv.bool(false));
    return m;
  }

  /**
   * Rebuilds a CharTokenizer from GGUF metadata, or returns undefined when the vocabulary is not
   * one of ours (an external model's subword vocabulary).
   */
  static fromGgufMetadata(meta: GgufMetadata): CharTokenizer | undefined {
    if (metaString(meta, "tokenizer.ggml.model") !== "llama") return undefined;
    const tokens = metaArray(meta, "tokenizer.ggml.tokens");
    const types = metaArray(meta, "tokenizer.ggml.token_type");
    if (tokens === undefined || types === undefined || tokens.length < CHAR_BASE) return undefined;
    for (let i = 0; i < SPECIALS.length; i++) if (tokens[i] !== SPECIALS[i]) return undefined;
    for (let b = 0; b < 256; b++) if (tokens[BYTE_BASE + b] !== byteToken(b) || types[BYTE_BASE + b] !== TokenType.byte) return undefined;
    if (metaValue(meta, "tokenizer.ggml.add_space_prefix") !== false) return undefined;
    const chars: string[] = [];
    for (let i = CHAR_BASE; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t !== "string" || [...t].length !== 1 || types[i] !== TokenType.normal) return undefined;
      chars.push(t === SPM_SPACE ? " " : t);
    }
    const tok = new CharTokenizer(chars);
    // The constructor sorts and adds space/newline; the ids must come out identical.
    if (tok.vocabSize !== tokens.length || tok.chars.some((c, i) => c !== chars[i])) return undefined;
    return tok;
  }
}

/** Options for the node-llama-cpp vocabulary of an external model. */
export interface LlamaVocabOptions {
  /** A Llama instance to reuse. Defaults to a CPU-only one. */
  llama?: Llama;
}

/**
 * The tokenizer of an external GGUF model: its own vocabulary, tokenized by llama.cpp through
 * node-llama-cpp (loaded with `vocabOnly`, so no weights are read).
 */
export class LlamaVocabTokenizer implements Tokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly addBos: boolean;
  readonly vocabSize: number;

  private constructor(readonly model: LlamaModel) {
    this.bosId = model.tokens.bos ?? -1;
    this.eosId = model.tokens.eos ?? -1;
    // What the sampler does too (src/sample/local.ts): BOS when the vocabulary asks for it.
    this.addBos = model.tokens.shouldPrependBosToken;
    let n = 0;
    for (const _ of model.iterateAllTokens()) n++;
    this.vocabSize = n;
  }

  /** Wraps an already loaded node-llama-cpp model. */
  static fromModel(model: LlamaModel): LlamaVocabTokenizer {
    return new LlamaVocabTokenizer(model);
  }

  /** Loads only the vocabulary of the GGUF file at `path`. */
  static async open(path: string, options: LlamaVocabOptions = {}): Promise<LlamaVocabTokenizer> {
    const { getLlamaCpu } = await import("../sample/llama.js");
    const llama = options.llama ?? (await getLlamaCpu());
    try {
      const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
      return new LlamaVocabTokenizer(model);
    } catch (err) {
      throw new MathtuneError(ErrorCode.gguf, `${path}: llama.cpp cannot load the vocabulary (${(err as Error).message})`, { cause: err });
    }
  }

  encode(text: string, specialTokens = false): number[] {
    return this.model.tokenize(text, specialTokens);
  }

  decode(ids: number[]): string {
    return this.model.detokenize(ids as Token[], false);
  }

  /** Frees the native vocabulary. */
  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}

/**
 * The tokenizer for a GGUF file: our CharTokenizer when the vocabulary is ours (no native code
 * needed), otherwise the model's own vocabulary through node-llama-cpp.
 */
export async function tokenizerForGguf(path: string, meta: GgufMetadata, options: LlamaVocabOptions = {}): Promise<Tokenizer> {
  return CharTokenizer.fromGgufMetadata(meta) ?? (await LlamaVocabTokenizer.open(path, options));
}
