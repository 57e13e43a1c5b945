/**
 * The sampler and scorer contracts shared by the local (node-llama-cpp) and HTTP
 * (OpenAI-compatible) backends.
 */

/** What a backend can do; callers adapt (e.g. fan out when `nativeN` is false). */
export interface SamplerCapabilities {
  /** One call returns n completions more cheaply than n separate calls (an HTTP server's `n`). */
  nativeN: boolean;
  /** Per-request seeds are honoured, so a fixed seed reproduces a completion. */
  seeds: boolean;
  /** Log-probabilities of given prompt/continuation tokens can be computed (scoring). */
  promptLogprobs: boolean;
  /** How many completions may usefully be in flight at once. */
  maxConcurrency: number;
}

/** Decoding options of one `generate` call. */
export interface GenerateOptions {
  /** Completions to return. Defaults to 1. */
  n?: number;
  /** Sampling temperature; 0 means greedy. Defaults to 1. */
  temperature?: number;
  /** Nucleus sampling mass. Defaults to 1 (off). */
  topP?: number;
  /** Keep only the k most likely tokens; 0 is off. Defaults to 0. */
  topK?: number;
  /** Most new tokens per completion. Defaults to 256. */
  maxTokens?: number;
  /** Generation stops before the first of these strings (which is not included). Defaults to none. */
  stop?: string[];
  /**
   * Seed of each completion: `seeds[i]` for completion i. Backends that take one seed per call
   * use `seeds[0]`. Defaults to seeds derived from the clock (not reproducible).
   */
  seeds?: number[];
  /** Keep generating past end-of-sequence until maxTokens (benchmarks). Defaults to false. */
  ignoreEos?: boolean;
  /** Abort the call. */
  signal?: AbortSignal;
}

/** One generated completion. */
export interface Completion {
  text: string;
  /**
   * Number of generated tokens (the stop string's tokens included when one matched). Undefined
   * when a server does not say (OpenAI replies give only the total of all `n` choices).
   */
  tokens?: number;
  /** "stop": end-of-sequence or a stop string; "length": maxTokens or the context ran out. */
  finish: "stop" | "length";
  /** The seed the backend used for this completion (undefined when it reported none). */
  seed?: number;
}

/** Generates completions for a text prompt. */
export interface Sampler {
  readonly capabilities: SamplerCapabilities;
  generate(prompt: string, options?: GenerateOptions): Promise<Completion[]>;
  /**
   * How many new tokens fit after `prompt` in one sequence of the model's context, where the
   * backend knows (a local model); generation stops there with finish "length" whatever
   * `maxTokens` asks for.
   */
  contextRoom?(prompt: string): number;
  close(): Promise<void>;
}

/** Log-probabilities of the tokens of a continuation after a prompt. */
export interface ContinuationLogprobs {
  /** Token texts of the continuation as the model split it. */
  tokens: string[];
  /** Natural-log probability of each token given everything before it (full distribution). */
  logprobs: number[];
  /** Sum of `logprobs`: log p(continuation | prompt). */
  total: number;
}

/** Computes model probabilities of given text (no sampling, no truncation of the distribution). */
export interface Scorer {
  continuationLogprobs(prompt: string, continuation: string): Promise<ContinuationLogprobs>;
  close(): Promise<void>;
}
