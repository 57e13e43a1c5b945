/**
 * The local backend: a GGUF model run by llama.cpp through node-llama-cpp. A context holds many
 * sequences; completions in flight at the same time share each decode batch (batched decoding),
 * which is where the throughput of sampling N candidates per problem comes from. Several contexts
 * on the one loaded model decode side by side, each on its own threads.
 */
import type { LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { MathtuneError, ErrorCode } from "../errors.js";
import { metaArray, readGguf } from "../model/gguf.js";
import { checkLoraFor } from "../model/lora.js";
import { defaultContexts, defaultThreads, getLlamaCpu } from "./llama.js";
import { guardOutputReorder } from "./reorder-guard.js";
import type { Completion, ContinuationLogprobs, GenerateOptions, Sampler, SamplerCapabilities, Scorer } from "./types.js";

/** Options of {@link LocalModel.open}. */
export interface LocalModelOptions {
  /** CPU threads for llama.cpp. Defaults to cores - 1 (the ggml pool spin-waits; leave Node a core). */
  threads?: number;
  /** Sequences decoded in parallel, over all contexts. Defaults to 4; samples and scores do not depend on it (docs/sampling.md). */
  parallel?: number;
  /**
   * llama.cpp contexts on the one loaded model, each decoding its share of the `parallel`
   * sequences on its own `threads` threads, side by side. Defaults to 2 when 2 x `threads` fit the
   * cores (and `parallel` >= 2), else 1: on a small machine, two contexts of one thread each use two
   * cores without llama.cpp's spinning thread pool (docs/sampling.md).
   */
  contexts?: number;
  /** Tokens per sequence (prompt + completion). Defaults to the model's training context, at most 4096. */
  contextSize?: number;
  /**
   * Element type of the KV cache. Defaults to "f32": a token's numbers then do not depend on which
   * other sequences shared its decode batch (within 1e-5 against 2e-4 with "f16", docs/sampling.md).
   * "f16" halves the cache's memory.
   */
  kvCache?: "f32" | "f16";
  /** A LoRA adapter GGUF (e.g. `adapter.gguf` of `mathtune train sft --lora-rank`) that llama.cpp applies to the model at scale 1. Defaults to none. */
  lora?: string;
  /**
   * Tokenize prompts with special-token parsing: the text of a special token (a chat template's
   * `<|im_start|>`) becomes that token, as the chat prompt format needs. Continuations are always
   * plain text. Defaults to false (prompts are plain text).
   */
  specialTokens?: boolean;
}

/** Smallest probability used when taking logs, so an underflowed probability gives a finite log. */
const MIN_PROB = 1e-45;

/** Sampler options that make node-llama-cpp return the model's untruncated distribution. */
const FULL_DISTRIBUTION = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

/**
 * A counting semaphore over the context's sequences that always hands out the free sequence
 * created first. Reusing sequences in the order they happened to finish (a plain stack or queue)
 * cost about 25% more CPU per generated token in llama.cpp on a quiet machine (bench/sample.ts),
 * against the same calls with each completion on a fixed sequence.
 */
class SequencePool {
  private readonly free: LlamaContextSequence[];
  private readonly waiters: Array<(s: LlamaContextSequence) => void> = [];

  private readonly order: Map<LlamaContextSequence, number>;

  constructor(sequences: LlamaContextSequence[]) {
    this.free = [...sequences];
    this.order = new Map(sequences.map((s, i) => [s, i]));
  }

  /** A free sequence now, or undefined. */
  tryAcquire(): LlamaContextSequence | undefined {
    return this.free.shift();
  }

  /** Waits for a free sequence. */
  acquire(): Promise<LlamaContextSequence> {
    const s = this.free.shift();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(s: LlamaContextSequence): void {
    const w = this.waiters.shift();
    if (w !== undefined) {
      w(s);
      return;
    }
    // Keep the free list in sequence-id order (see the class comment).
    const rank = this.order.get(s) ?? 0;
    let i = this.free.length;
    while (i > 0 && (this.order.get(this.free[i - 1]) ?? 0) > rank) i--;
    this.free.splice(i, 0, s);
  }
}

/** A loaded GGUF model that samples and scores; implements both Sampler and Scorer. */
export class LocalModel implements Sampler, Scorer {
  readonly capabilities: SamplerCapabilities;
  /** Tokens per sequence. */
  readonly contextSize: number;
  readonly threads: number;

  private byteOfToken: Map<number, number> | undefined;

  private constructor(
    readonly path: string,
    readonly model: LlamaModel,
    private readonly contexts: LlamaContext[],
    private readonly pool: SequencePool,
    parallel: number,
    threads: number,
    private readonly specialTokens: boolean,
  ) {
    this.contextSize = contexts[0].contextSize;
    this.threads = threads;
    this.capabilities = { nativeN: false, seeds: true, promptLogprobs: true, maxConcurrency: parallel };
  }

  /** Loads `path` and creates `contexts` contexts with `parallel` sequences in all. */
  static async open(path: string, options: LocalModelOptions = {}): Promise<LocalModel> {
    const threads = options.threads ?? defaultThreads();
    const parallel = options.parallel ?? 4;
    const kvCache = options.kvCache ?? "f32";
    const nContexts = options.contexts ?? defaultContexts(threads, parallel);
    if (!Number.isInteger(threads) || threads < 1) throw new MathtuneError(ErrorCode.usage, `threads must be a positive integer (got ${threads})`);
    if (!Number.isInteger(parallel) || parallel < 1) throw new MathtuneError(ErrorCode.usage, `parallel must be a positive integer (got ${parallel})`);
    if (!Number.isInteger(nContexts) || nContexts < 1 || nContexts > parallel) {
      throw new MathtuneError(ErrorCode.usage, `contexts must be an integer from 1 to parallel (${parallel}) (got ${nContexts})`);
    }
    if (kvCache !== "f32" && kvCache !== "f16") throw new MathtuneError(ErrorCode.usage, `kvCache must be "f32" or "f16" (got ${String(kvCache)})`);
    // Read the header ourselves first: a missing or non-GGUF file gets our clear error, not a native one.
    const file = readGguf(path);
    // An adapter of another model (or not an adapter) would abort the process inside llama.cpp or load wrongly.
    if (options.lora !== undefined) checkLoraFor(file, options.lora);
    const llama = await getLlamaCpu();
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: path });
    } catch (err) {
      throw new MathtuneError(ErrorCode.gguf, `${path}: llama.cpp cannot load the model (${(err as Error).message})`, { cause: err });
    }
    try {
      const contextSize = options.contextSize ?? Math.min(model.trainContextSize, 4096);
      const contexts: LlamaContext[] = [];
      const perContext: LlamaContextSequence[][] = [];
      for (let c = 0; c < nContexts; c++) {
        // Context c holds sequences c, c + nContexts, ... of the pool's order.
        const sequences = Math.ceil((parallel - c) / nContexts);
        const context = await model.createContext({
          sequences,
          contextSize,
          threads,
          // Prompt evaluation of many sequences fits one batch; decode steps are one token per sequence.
          batchSize: Math.max(512, sequences),
          flashAttention: false,
          experimentalKvCacheKeyType: kvCache === "f32" ? "F32" : "F16",
          experimentalKvCacheValueType: kvCache === "f32" ? "F32" : "F16",
          ...(options.lora !== undefined ? { lora: { adapters: [{ filePath: options.lora, scale: 1 }] } } : {}),
        });
        // Reads of one decode's outputs race in llama.cpp's lazy row reordering (reorder-guard.ts).
        guardOutputReorder(context);
        contexts.push(context);
        perContext.push(Array.from({ length: sequences }, () => context.getSequence()));
      }
      // Interleaved, so the pool's first-free order spreads completions over the contexts.
      const seqs = Array.from({ length: parallel }, (_, i) => perContext[i % nContexts][Math.floor(i / nContexts)]);
      return new LocalModel(path, model, contexts, new SequencePool(seqs), parallel, threads, options.specialTokens === true);
    } catch (err) {
      await model.dispose();
      throw new MathtuneError(ErrorCode.native, `${path}: cannot create a llama.cpp context (${(err as Error).message})`, { cause: err });
    }
  }

  /** Prompt tokens, with BOS when the model wants one (special tokens parsed when opened with `specialTokens`). */
  promptTokens(prompt: string): Token[] {
    const toks = this.model.tokenize(prompt, this.specialTokens);
    const bos = this.model.tokens.bos;
    return bos !== null && this.model.tokens.shouldPrependBosToken ? [bos, ...toks] : toks;
  }

  contextRoom(prompt: string): number {
    return this.contextSize - this.promptTokens(prompt).length;
  }

  async generate(prompt: string, options: GenerateOptions = {}): Promise<Completion[]> {
    return (await this.generateWithIds(prompt, options)).map((c) => c.completion);
  }

  /** Like `generate`, with the generated token ids (re-tokenizing the text would not give them back). */
  async generateWithIds(prompt: string, options: GenerateOptions = {}): Promise<Array<{ completion: Completion; ids: Token[] }>> {
    const n = options.n ?? 1;
    const base = Date.now() >>> 0;
    const seeds = Array.from({ length: n }, (_, i) => options.seeds?.[i] ?? (base + i) >>> 0);
    const promptTokens = this.promptTokens(prompt);
    return Promise.all(seeds.map((seed) => this.generateOne(promptTokens, seed, options)));
  }

  private async generateOne(promptTokens: Token[], seed: number, options: GenerateOptions): Promise<{ completion: Completion; ids: Token[] }> {
    const maxTokens = options.maxTokens ?? 256;
    const temperature = options.temperature ?? 1;
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    if (promptTokens.length >= this.contextSize) {
      throw new MathtuneError(ErrorCode.input, `prompt of ${promptTokens.length} tokens does not fit the context of ${this.contextSize} tokens`, {
        hint: "shorten the prompt or raise the context size",
      });
    }
    const budget = Math.min(maxTokens, this.contextSize - promptTokens.length);
    // A stop string of L characters spans at most 4L tokens (byte-fallback tokens are 1 byte each).
    const window = stops.length > 0 ? 4 * Math.max(...stops.map((s) => s.length)) + 4 : 0;
    // Take a free sequence synchronously: completions started together must queue their first
    // evaluation in the same tick, or node-llama-cpp dispatches a batch with only some of them and
    // the sequences stay out of step, each decode batch holding a fraction of them (measured:
    // about a third more CPU per token).
    const seq = this.pool.tryAcquire() ?? (await this.pool.acquire());
    const out: Token[] = [];
    let finish: Completion["finish"] = "length";
    let stopAt = -1;
    try {
      if (budget > 0) {
        const it = seq.evaluate(promptTokens, {
          temperature,
          topK: options.topK ?? 0,
          topP: options.topP ?? 1,
          minP: 0,
          seed,
          yieldEogToken: true,
        });
        for await (const tok of it) {
          if (options.signal?.aborted) break;
          if (!options.ignoreEos && this.model.isEogToken(tok)) {
            finish = "stop";
            break;
          }
          out.push(tok);
          if (window > 0) {
            const tail = this.model.detokenize(out.slice(-window));
            if (stops.some((s) => tail.includes(s))) {
              finish = "stop";
              stopAt = out.length;
              break;
            }
          }
          if (out.length >= budget) break;
        }
      }
    } finally {
      await seq.clearHistory();
      this.pool.release(seq);
    }
    if (options.signal?.aborted) throw new MathtuneError(ErrorCode.usage, "generation aborted");
    let text = this.model.detokenize(out);
    if (stopAt >= 0) {
      let cut = text.length;
      for (const s of stops) {
        const i = text.indexOf(s);
        if (i >= 0 && i < cut) cut = i;
      }
      text = text.slice(0, cut);
    }
    return { completion: { text, tokens: out.length, finish, seed }, ids: out };
  }

  /**
   * Log-probabilities of `continuation`'s tokens after `prompt`, from the full next-token
   * distribution at each position. The continuation is tokenized on its own, so the split is
   * the same whatever the prompt (exact for character vocabularies).
   */
  async continuationLogprobs(prompt: string, continuation: string): Promise<ContinuationLogprobs> {
    const promptTokens = this.promptTokens(prompt);
    const contTokens = this.model.tokenize(continuation, false);
    const lps = await this.tokenLogprobs(promptTokens, contTokens);
    return {
      tokens: contTokens.map((t) => this.model.detokenize([t])),
      logprobs: lps,
      total: lps.reduce((a, b) => a + b, 0),
    };
  }

  /**
   * log p(target[i] | context, target[<i]) for each target token; with `fromStart`, also every
   * token of `context` after the first (the OpenAI `echo` shape).
   */
  async tokenLogprobs(context: Token[], target: Token[], fromStart = false): Promise<number[]> {
    const all = [...context, ...target];
    if (all.length > this.contextSize) {
      throw new MathtuneError(ErrorCode.input, `prompt and continuation of ${all.length} tokens do not fit the context of ${this.contextSize} tokens`);
    }
    const first = fromStart ? 1 : context.length;
    if (first < 1) throw new MathtuneError(ErrorCode.input, "cannot score the first token of a sequence with no context (the model adds no BOS)");
    const seq = await this.pool.acquire();
    try {
      // Position i predicts token i + 1: ask for the distribution at first-1 .. all.length-2.
      const input = all.slice(0, -1).map((t, i) =>
        i >= first - 1 ? ([t, { generateNext: { probabilities: true, options: FULL_DISTRIBUTION } }] as const) : t,
      );
      const res = await seq.controlledEvaluate(input as Parameters<LlamaContextSequence["controlledEvaluate"]>[0]);
      const out: number[] = [];
      for (let i = first - 1; i < all.length - 1; i++) {
        const probs = res[i]?.next.probabilities;
        if (probs === undefined) throw new MathtuneError(ErrorCode.native, `llama.cpp returned no probabilities at position ${i}`);
        out.push(Math.log(Math.max(probs.get(all[i + 1]) ?? 0, MIN_PROB)));
      }
      return out;
    } finally {
      await seq.clearHistory();
      this.pool.release(seq);
    }
  }

  /**
   * Token texts and their offsets in code points (the OpenAI `text_offset` convention), starting
   * at `start`. A byte-fallback token belongs to the character its byte is part of, so all the
   * byte tokens of one split character share that character's offset.
   */
  tokenPieces(ids: Token[], start = 0): { texts: string[]; offsets: number[] } {
    if (this.byteOfToken === undefined) {
      // The byte value of a BYTE token lives only in its vocabulary text `<0xNN>`.
      const meta = readGguf(this.path).metadata;
      const tokens = metaArray(meta, "tokenizer.ggml.tokens") ?? [];
      const types = metaArray(meta, "tokenizer.ggml.token_type") ?? [];
      this.byteOfToken = new Map();
      for (let i = 0; i < types.length; i++) {
        const m = types[i] === 6 ? /^<0x([0-9A-Fa-f]{2})>$/.exec(String(tokens[i])) : null;
        if (m) this.byteOfToken.set(i, parseInt(m[1], 16));
      }
    }
    const texts: string[] = [];
    const offsets: number[] = [];
    let chars = start;
    for (const id of ids) {
      const text = this.model.detokenize([id]);
      texts.push(text);
      const b = this.byteOfToken.get(id);
      const bytes = b === undefined ? Buffer.from(text, "utf8") : [b];
      // UTF-8 continuation bytes (10xxxxxx) do not start a character.
      const startsChar = bytes.length > 0 && (bytes[0] & 0xc0) !== 0x80;
      offsets.push(startsChar || chars === start ? chars : chars - 1);
      for (const x of bytes) if ((x & 0xc0) !== 0x80) chars++;
    }
    return { texts, offsets };
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.dispose();
    await this.model.dispose();
  }
}
