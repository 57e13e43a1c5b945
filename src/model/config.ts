/**
 * Hyper-parameters of a llama-family decoder, named as in GGUF's `<arch>.*` keys, and the size
 * presets the project trains from scratch.
 */

/**
 * The GGUF architectures the engine trains. Both are the same pre-norm decoder (RMSNorm, RoPE,
 * grouped-query attention, SwiGLU); they differ as llama.cpp builds them:
 * - `llama` (Llama 1-3, TinyLlama, SmolLM, Mistral-style): RoPE on interleaved pairs
 *   (ggml's "normal" mode); q/k/v biases optional (none in practice).
 * - `qwen2` (Qwen2, Qwen2.5, Qwen2.5-Math): RoPE on the two halves of each head (NeoX mode);
 *   biases on q/k/v.
 */
export const MODEL_ARCHS = ["llama", "qwen2"] as const;
export type ModelArch = (typeof MODEL_ARCHS)[number];

export interface LlamaConfig {
  /** GGUF architecture (`general.architecture`). Defaults to "llama". */
  arch?: ModelArch;
  /** Number of tokens in the vocabulary (`llama.vocab_size`). */
  vocabSize: number;
  /** Longest sequence the model is trained for (`llama.context_length`). */
  contextLength: number;
  /** Hidden size (`llama.embedding_length`). */
  dModel: number;
  /** Number of transformer blocks (`llama.block_count`). */
  nLayers: number;
  /** Query heads (`llama.attention.head_count`). */
  nHeads: number;
  /** Key/value heads, for grouped-query attention (`llama.attention.head_count_kv`). Equal to nHeads for MHA. */
  nKvHeads: number;
  /** SwiGLU hidden size (`llama.feed_forward_length`). */
  ffnDim: number;
  /** RMSNorm epsilon (`llama.attention.layer_norm_rms_epsilon`). */
  rmsEps: number;
  /** RoPE base frequency (`llama.rope.freq_base`). */
  ropeFreqBase: number;
  /** Output projection shares the token embedding (no `output.weight` tensor). */
  tiedOutput: boolean;
  /** Biases on the q/k/v projections (`blk.N.attn_{q,k,v}.bias`, as Qwen2 has). Defaults to false. */
  qkvBias?: boolean;
  /**
   * Linear RoPE scaling: positions are multiplied by this (1 / `<arch>.rope.scaling.factor` with
   * scaling type `linear`). Defaults to 1.
   */
  ropeFreqScale?: number;
  /**
   * Per-frequency divisors of RoPE, headDim/2 values (the `rope_freqs.weight` tensor: Llama 3.1+
   * "llama3" scaling, which llama.cpp's converter bakes into this tensor). Not trained. Defaults
   * to none (all 1).
   */
  ropeFactors?: number[];
}

/** Sizes for models trained from scratch (vocabulary size is filled in from the tokenizer). */
export const SIZE_PRESETS = {
  /** For tests: trains in seconds. */
  tiny: { contextLength: 64, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 4, ffnDim: 192 },
  /** The reference model of the benchmarks: 4 layers, d_model 256, 4 heads, FFN 768, context 128. */
  reference: { contextLength: 128, dModel: 256, nLayers: 4, nHeads: 4, nKvHeads: 4, ffnDim: 768 },
  /** The demo's base model (models/demo-base.gguf): 1.8M parameters, fits the 10 MB budget in F32. */
  demo: { contextLength: 192, dModel: 192, nLayers: 4, nHeads: 6, nKvHeads: 6, ffnDim: 512 },
  /** A larger model for when time allows. */
  small: { contextLength: 256, dModel: 256, nLayers: 6, nHeads: 8, nKvHeads: 4, ffnDim: 768 },
} as const satisfies Record<string, Omit<LlamaConfig, "vocabSize" | "rmsEps" | "ropeFreqBase" | "tiedOutput">>;

export type SizePreset = keyof typeof SIZE_PRESETS;

/** A full config from a preset and a vocabulary size. */
export function presetConfig(size: SizePreset, vocabSize: number, overrides: Partial<LlamaConfig> = {}): LlamaConfig {
  return { arch: "llama", ...SIZE_PRESETS[size], vocabSize, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false, ...overrides };
}

/** Head dimension (`<arch>.rope.dimension_count`). */
export function headDim(c: LlamaConfig): number {
  return c.dModel / c.nHeads;
}

/**
 * RoPE frequency factors of Llama 3.1+ ("llama3" rope scaling): the divisor of each of the
 * headDim/2 rotation frequencies. High frequencies (wavelength under
 * originalContext / highFreqFactor) are kept, low ones (over originalContext / lowFreqFactor) are
 * slowed by `factor`, and the band between is interpolated. These are the values llama.cpp's
 * converter writes as `rope_freqs.weight`, rounded to F32 as the file stores them.
 */
export function llama3RopeFactors(o: {
  headDim: number;
  freqBase: number;
  /** Defaults to 8. */
  factor?: number;
  /** Defaults to 1. */
  lowFreqFactor?: number;
  /** Defaults to 4. */
  highFreqFactor?: number;
  /** The pre-training context (`original_max_position_embeddings`). Defaults to 8192. */
  originalContext?: number;
}): number[] {
  const factor = o.factor ?? 8;
  const low = o.lowFreqFactor ?? 1;
  const high = o.highFreqFactor ?? 4;
  const ctx = o.originalContext ?? 8192;
  const out: number[] = [];
  for (let i = 0; i < o.headDim; i += 2) {
    const freq = 1 / o.freqBase ** (i / o.headDim);
    const wavelength = (2 * Math.PI) / freq;
    if (wavelength < ctx / high) out.push(1);
    else if (wavelength > ctx / low) out.push(Math.fround(factor));
    else {
      const smooth = (ctx / wavelength - low) / (high - low);
      out.push(Math.fround(1 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}
