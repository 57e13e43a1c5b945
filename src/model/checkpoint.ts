/**
 * Model checkpoints as GGUF files that llama.cpp loads: weight initialisation, the tensor layout
 * of llama.cpp's `llama` architecture, and save/load of weights with config and tokenizer.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import { Rng } from "../util/rng.js";
import { headDim, type LlamaConfig } from "./config.js";
import {
  GgmlType,
  ggmlTypeName,
  gv,
  metaNumber,
  metaString,
  metaArray,
  readGguf,
  readTensorF32,
  writeGguf,
  type GgufFile,
  type GgufMetadata,
  type GgufTensorToWrite,
} from "./gguf.js";
import { CharTokenizer } from "./tokenizer.js";

/** Weights by GGUF tensor name, F32, in ggml element order (ne[0] fastest). */
export type Weights = Map<string, Float32Array>;

/** Name and ggml `ne` shape of one model tensor. */
export interface TensorShape {
  name: string;
  shape: number[];
}

/**
 * The tensors of a llama model, in file order, with shapes as llama.cpp expects them: a matrix
 * mapping n_in → n_out has ne = [n_in, n_out]. k/v projections are sized for nKvHeads (GQA).
 */
export function tensorShapes(config: LlamaConfig): TensorShape[] {
  const d = config.dModel;
  const hd = headDim(config);
  const qDim = hd * config.nHeads;
  const kvDim = hd * config.nKvHeads;
  const out: TensorShape[] = [{ name: "token_embd.weight", shape: [d, config.vocabSize] }];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blk.${l}.`;
    out.push(
      { name: `${p}attn_norm.weight`, shape: [d] },
      { name: `${p}attn_q.weight`, shape: [d, qDim] },
      { name: `${p}attn_k.weight`, shape: [d, kvDim] },
      { name: `${p}attn_v.weight`, shape: [d, kvDim] },
      { name: `${p}attn_output.weight`, shape: [qDim, d] },
      { name: `${p}ffn_norm.weight`, shape: [d] },
      { name: `${p}ffn_gate.weight`, shape: [d, config.ffnDim] },
      { name: `${p}ffn_up.weight`, shape: [d, config.ffnDim] },
      { name: `${p}ffn_down.weight`, shape: [config.ffnDim, d] },
    );
  }
  out.push({ name: "output_norm.weight", shape: [d] });
  if (!config.tiedOutput) out.push({ name: "output.weight", shape: [d, config.vocabSize] });
  return out;
}

/** Total number of parameters. */
export function parameterCount(config: LlamaConfig): number {
  return tensorShapes(config).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
}

function validateConfig(config: LlamaConfig): void {
  const bad = (msg: string): never => {
    throw new MathtuneError(ErrorCode.usage, `invalid model config: ${msg}`);
  };
  for (const k of ["vocabSize", "contextLength", "dModel", "nLayers", "nHeads", "nKvHeads", "ffnDim"] as const) {
    if (!Number.isInteger(config[k]) || config[k] <= 0) bad(`${k} must be a positive integer (got ${config[k]})`);
  }
  if (config.dModel % config.nHeads !== 0) bad(`dModel ${config.dModel} is not a multiple of nHeads ${config.nHeads}`);
  if (config.nHeads % config.nKvHeads !== 0) bad(`nHeads ${config.nHeads} is not a multiple of nKvHeads ${config.nKvHeads}`);
}

/**
 * Random initial weights (GPT-2 style): normal(0, 0.02), RMSNorm gains 1, and the projections
 * that write into the residual stream (attn_output, ffn_down) scaled by 1/sqrt(2·nLayers) so the
 * residual's variance does not grow with depth. Same seed → same weights.
 */
export function initWeights(config: LlamaConfig, seed: number): Weights {
  validateConfig(config);
  const rng = new Rng(seed);
  const residualScale = 1 / Math.sqrt(2 * config.nLayers);
  const out: Weights = new Map();
  for (const { name, shape } of tensorShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm.weight")) {
      data.fill(1);
    } else {
      const std = 0.02 * (name.endsWith("attn_output.weight") || name.endsWith("ffn_down.weight") ? residualScale : 1);
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, data);
  }
  return out;
}

/** The `llama.*` and `general.*` keys for a config. */
export function llamaMetadata(config: LlamaConfig, options: { name?: string; fileType?: number } = {}): GgufMetadata {
  const m: GgufMetadata = new Map();
  m.set("general.architecture", gv.str("llama"));
  m.set("general.name", gv.str(options.name ?? "mathtune"));
  m.set("general.file_type", gv.u32(options.fileType ?? 0));
  m.set("llama.vocab_size", gv.u32(config.vocabSize));
  m.set("llama.context_length", gv.u32(config.contextLength));
  m.set("llama.embedding_length", gv.u32(config.dModel));
  m.set("llama.block_count", gv.u32(config.nLayers));
  m.set("llama.feed_forward_length", gv.u32(config.ffnDim));
  m.set("llama.attention.head_count", gv.u32(config.nHeads));
  m.set("llama.attention.head_count_kv", gv.u32(config.nKvHeads));
  m.set("llama.attention.layer_norm_rms_epsilon", gv.f32(config.rmsEps));
  m.set("llama.rope.freq_base", gv.f32(config.ropeFreqBase));
  m.set("llama.rope.dimension_count", gv.u32(headDim(config)));
  return m;
}

/** What `saveModelGguf` writes. */
export interface SaveModelOptions {
  config: LlamaConfig;
  /** Our CharTokenizer, or the `tokenizer.*` metadata of an external model being fine-tuned. */
  tokenizer: CharTokenizer | GgufMetadata;
  weights: Weights;
  /** `general.name`. Defaults to "mathtune". */
  name?: string;
  /** Store the matrices as F16 (norms stay F32, as llama.cpp's converters do). Defaults to false. */
  f16?: boolean;
  /** Extra metadata keys to record (e.g. training provenance). */
  extraMetadata?: GgufMetadata;
}

/** Writes a model GGUF file that llama.cpp loads, atomically. */
export async function saveModelGguf(path: string, options: SaveModelOptions): Promise<void> {
  const { config, weights } = options;
  validateConfig(config);
  const meta = llamaMetadata(config, { name: options.name, fileType: options.f16 ? 1 : 0 });
  const tokMeta = options.tokenizer instanceof CharTokenizer ? options.tokenizer.toGgufMetadata() : options.tokenizer;
  const vocabLen = metaArray(tokMeta, "tokenizer.ggml.tokens")?.length;
  if (vocabLen !== config.vocabSize) {
    throw new MathtuneError(ErrorCode.usage, `tokenizer has ${vocabLen ?? "no"} tokens but config.vocabSize is ${config.vocabSize}`);
  }
  for (const [k, v] of tokMeta) if (k.startsWith("tokenizer.")) meta.set(k, v);
  for (const [k, v] of options.extraMetadata ?? []) meta.set(k, v);
  const tensors: GgufTensorToWrite[] = tensorShapes(config).map(({ name, shape }) => {
    const data = weights.get(name);
    if (data === undefined) throw new MathtuneError(ErrorCode.usage, `weights lack tensor ${name}`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new MathtuneError(ErrorCode.usage, `tensor ${name}: expected ${n} values for shape [${shape.join(", ")}], got ${data.length}`);
    }
    const type = options.f16 && shape.length > 1 ? GgmlType.F16 : GgmlType.F32;
    return { name, shape, data, type };
  });
  await writeGguf(path, meta, tensors);
}

/** A loaded model: config, tokenizer, F32 weights, and the file's full metadata. */
export interface LoadedModel {
  config: LlamaConfig;
  /** Our char tokenizer when the file holds one; undefined for an external vocabulary (see `tokenizerMetadata`). */
  tokenizer: CharTokenizer | undefined;
  /** Every `tokenizer.*` key of the file, to write back unchanged when saving a fine-tuned model. */
  tokenizerMetadata: GgufMetadata;
  weights: Weights;
  /** Tensors in the file that the llama decoder here does not use (e.g. `rope_freqs.weight`). */
  ignoredTensors: string[];
  file: GgufFile;
}

/** Reads a llama config from GGUF metadata; throws E_GGUF for another architecture. */
export function configFromGguf(file: GgufFile): LlamaConfig {
  const { metadata: m, path } = file;
  const arch = metaString(m, "general.architecture");
  if (arch !== "llama") {
    throw new MathtuneError(ErrorCode.gguf, `${path}: architecture is ${arch === undefined ? "missing" : `"${arch}"`}, only "llama" models are supported`, {
      hint: "use a llama-architecture GGUF (Llama, Mistral-style, TinyLlama, or a model saved by mathtune)",
    });
  }
  const embd = file.tensors.find((t) => t.name === "token_embd.weight");
  const vocabFromTensor = embd?.shape[1];
  const tokens = metaArray(m, "tokenizer.ggml.tokens");
  const nHeads = metaNumber(m, "llama.attention.head_count", path);
  const config: LlamaConfig = {
    vocabSize: metaNumber(m, "llama.vocab_size", path, vocabFromTensor ?? tokens?.length ?? 0),
    contextLength: metaNumber(m, "llama.context_length", path),
    dModel: metaNumber(m, "llama.embedding_length", path),
    nLayers: metaNumber(m, "llama.block_count", path),
    nHeads,
    nKvHeads: metaNumber(m, "llama.attention.head_count_kv", path, nHeads),
    ffnDim: metaNumber(m, "llama.feed_forward_length", path),
    rmsEps: metaNumber(m, "llama.attention.layer_norm_rms_epsilon", path, 1e-5),
    ropeFreqBase: metaNumber(m, "llama.rope.freq_base", path, 10000),
    tiedOutput: !file.tensors.some((t) => t.name === "output.weight"),
  };
  const ropeDim = metaNumber(m, "llama.rope.dimension_count", path, headDim(config));
  if (ropeDim !== headDim(config)) {
    throw new MathtuneError(ErrorCode.gguf, `${path}: llama.rope.dimension_count ${ropeDim} differs from the head size ${headDim(config)} (partial RoPE is not supported)`);
  }
  try {
    validateConfig(config);
  } catch (err) {
    throw new MathtuneError(ErrorCode.gguf, `${path}: ${(err as Error).message}`);
  }
  return config;
}

/**
 * Loads a llama-architecture GGUF (ours or external) with F32/F16/BF16 weights, as F32.
 * Quantized tensors, another architecture, or shapes that do not match the config fail with E_GGUF.
 */
export function loadModelGguf(path: string): LoadedModel {
  const file = readGguf(path);
  const config = configFromGguf(file);
  const expected = tensorShapes(config);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  for (const { name, shape } of expected) {
    const t = byName.get(name);
    if (t === undefined) throw new MathtuneError(ErrorCode.gguf, `${path}: missing tensor ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new MathtuneError(ErrorCode.gguf, `${path}: tensor ${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
    if (t.type !== GgmlType.F32 && t.type !== GgmlType.F16 && t.type !== GgmlType.BF16) {
      throw new MathtuneError(ErrorCode.gguf, `${path}: tensor ${name} has type ${ggmlTypeName(t.type)}; only F32, F16 and BF16 weights can be loaded`, {
        hint: "use an F16/BF16/F32 GGUF of the model (quantized files cannot be fine-tuned)",
      });
    }
  }
  const weights: Weights = new Map();
  for (const { name } of expected) weights.set(name, readTensorF32(file, name));
  const wanted = new Set(expected.map((e) => e.name));
  const tokenizerMetadata: GgufMetadata = new Map([...file.metadata].filter(([k]) => k.startsWith("tokenizer.")));
  return {
    config,
    tokenizer: CharTokenizer.fromGgufMetadata(file.metadata),
    tokenizerMetadata,
    weights,
    ignoredTensors: file.tensors.map((t) => t.name).filter((n) => !wanted.has(n)),
    file,
  };
}
