/**
 * Hyper-parameters of a llama-family decoder, named as in GGUF's `llama.*` keys, and the size
 * presets the project trains from scratch.
 */
export interface LlamaConfig {
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
  return { ...SIZE_PRESETS[size], vocabSize, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: false, ...overrides };
}

/** Head dimension (`llama.rope.dimension_count`). */
export function headDim(c: LlamaConfig): number {
  return c.dModel / c.nHeads;
}
