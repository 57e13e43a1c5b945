/**
 * Model checkpoints as GGUF files that llama.cpp loads: weight initialisation, the tensor layout
 * of llama.cpp's `llama` and `qwen2` architectures, and save/load of weights with config and
 * tokenizer.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import { Rng } from "../util/rng.js";
import { headDim, MODEL_ARCHS, type LlamaConfig, type ModelArch } from "./config.js";
import {
  GgmlType,
  ggmlTypeName,
  gv,
  metaNumber,
  metaString,
  metaArray,
  metaValue,
  readGguf,
  readTensorBytes,
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
 * The trainable tensors of a model, in file order, with shapes as llama.cpp expects them: a matrix
 * mapping n_in → n_out has ne = [n_in, n_out]. k/v projections are sized for nKvHeads (GQA).
 * `rope_freqs.weight` (config.ropeFactors) is a constant, not listed here.
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
      ...(config.qkvBias
        ? [
            { name: `${p}attn_q.bias`, shape: [qDim] },
            { name: `${p}attn_k.bias`, shape: [kvDim] },
            { name: `${p}attn_v.bias`, shape: [kvDim] },
          ]
        : []),
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
  if (!MODEL_ARCHS.includes(config.arch ?? "llama")) bad(`arch must be one of ${MODEL_ARCHS.join(", ")} (got ${config.arch})`);
  const scale = config.ropeFreqScale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) bad(`ropeFreqScale must be a positive number (got ${scale})`);
  const f = config.ropeFactors;
  if (f !== undefined && (f.length !== headDim(config) / 2 || !f.every((x) => x > 0 && Number.isFinite(x)))) {
    bad(`ropeFactors must be ${headDim(config) / 2} positive numbers (headDim / 2), got ${f.length}`);
  }
  // llama.cpp's qwen2 graph has no frequency factors (a qwen2 file with rope_freqs.weight does not load).
  if (f !== undefined && config.arch === "qwen2") bad("ropeFactors (rope_freqs.weight) exist for llama models only");
}

/**
 * Random initial weights (GPT-2 style): normal(0, 0.02), RMSNorm gains 1, biases 0, and the
 * projections that write into the residual stream (attn_output, ffn_down) scaled by
 * 1/sqrt(2·nLayers) so the residual's variance does not grow with depth. Same seed → same weights.
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
    } else if (!name.endsWith(".bias")) {
      const std = 0.02 * (name.endsWith("attn_output.weight") || name.endsWith("ffn_down.weight") ? residualScale : 1);
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, data);
  }
  return out;
}

/**
 * Hyper-parameter keys under the architecture's prefix (`llama.`, `qwen2.`) that the config
 * determines: read by {@link configFromGguf}, written (when they apply) by {@link modelMetadata},
 * and never copied from a base model.
 */
const ARCH_KEYS = [
  "vocab_size",
  "context_length",
  "embedding_length",
  "block_count",
  "feed_forward_length",
  "attention.head_count",
  "attention.head_count_kv",
  "attention.layer_norm_rms_epsilon",
  "rope.freq_base",
  "rope.dimension_count",
  "rope.scaling.type",
  "rope.scaling.factor",
  "rope.scale_linear",
] as const;

/** The `general.*` keys the saver always writes itself. */
const GENERAL_KEYS = ["general.architecture", "general.name", "general.file_type"] as const;

/** The `<arch>.*` and `general.*` keys for a config. */
export function modelMetadata(config: LlamaConfig, options: { name?: string; fileType?: number } = {}): GgufMetadata {
  const arch = config.arch ?? "llama";
  const m: GgufMetadata = new Map();
  m.set("general.architecture", gv.str(arch));
  m.set("general.name", gv.str(options.name ?? "mathtune"));
  m.set("general.file_type", gv.u32(options.fileType ?? 0));
  const k = (key: (typeof ARCH_KEYS)[number]): string => `${arch}.${key}`;
  m.set(k("vocab_size"), gv.u32(config.vocabSize));
  m.set(k("context_length"), gv.u32(config.contextLength));
  m.set(k("embedding_length"), gv.u32(config.dModel));
  m.set(k("block_count"), gv.u32(config.nLayers));
  m.set(k("feed_forward_length"), gv.u32(config.ffnDim));
  m.set(k("attention.head_count"), gv.u32(config.nHeads));
  m.set(k("attention.head_count_kv"), gv.u32(config.nKvHeads));
  m.set(k("attention.layer_norm_rms_epsilon"), gv.f32(config.rmsEps));
  m.set(k("rope.freq_base"), gv.f32(config.ropeFreqBase));
  m.set(k("rope.dimension_count"), gv.u32(headDim(config)));
  const scale = config.ropeFreqScale ?? 1;
  if (scale !== 1) {
    m.set(k("rope.scaling.type"), gv.str("linear"));
    m.set(k("rope.scaling.factor"), gv.f32(1 / scale));
  }
  return m;
}

/** What `saveModelGguf` writes. */
export interface SaveModelOptions {
  config: LlamaConfig;
  /**
   * Our CharTokenizer, or the metadata of an external model being fine-tuned
   * (`LoadedModel.keptMetadata`: its `tokenizer.*` keys and every other key the config does not
   * determine, written back unchanged).
   */
  tokenizer: CharTokenizer | GgufMetadata;
  weights: Weights;
  /** `general.name`. Defaults to "mathtune". */
  name?: string;
  /** Store the matrices as F16 (norms stay F32, as llama.cpp's converters do). Defaults to false. */
  f16?: boolean;
  /** Store the matrices in this type instead (BF16, or Q8_0 for a quantized base to fine-tune with LoRA); overrides `f16`. */
  matrixType?: GgmlType.F16 | GgmlType.BF16 | GgmlType.Q8_0;
  /** Extra metadata keys to record (e.g. training provenance). */
  extraMetadata?: GgufMetadata;
}

/** Writes a model GGUF file that llama.cpp loads, atomically. */
export async function saveModelGguf(path: string, options: SaveModelOptions): Promise<void> {
  const { config, weights } = options;
  validateConfig(config);
  const matrixType = options.matrixType ?? (options.f16 ? GgmlType.F16 : GgmlType.F32);
  // llama_ftype: 0 all F32, 1 mostly F16, 7 mostly Q8_0, 32 mostly BF16.
  const fileType = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q8_0]: 7, [GgmlType.BF16]: 32 }[matrixType];
  const own = modelMetadata(config, { name: options.name, fileType });
  const kept = options.tokenizer instanceof CharTokenizer ? options.tokenizer.toGgufMetadata() : options.tokenizer;
  const vocabLen = metaArray(kept, "tokenizer.ggml.tokens")?.length;
  if (vocabLen !== config.vocabSize) {
    throw new MathtuneError(ErrorCode.usage, `tokenizer has ${vocabLen ?? "no"} tokens but config.vocabSize is ${config.vocabSize}`);
  }
  // The architecture and general keys first, then what the base model had beyond them (in its
  // order), then provenance.
  const meta: GgufMetadata = new Map(own);
  for (const [k, v] of kept) if (!own.has(k)) meta.set(k, v);
  for (const [k, v] of options.extraMetadata ?? []) meta.set(k, v);
  const tensors: GgufTensorToWrite[] = tensorShapes(config).map(({ name, shape }) => {
    const data = weights.get(name);
    if (data === undefined) throw new MathtuneError(ErrorCode.usage, `weights lack tensor ${name}`);
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new MathtuneError(ErrorCode.usage, `tensor ${name}: expected ${n} values for shape [${shape.join(", ")}], got ${data.length}`);
    }
    const type = shape.length > 1 ? matrixType : GgmlType.F32;
    return { name, shape, data, type };
  });
  if (config.ropeFactors) {
    // Where llama.cpp's converter puts it: a constant F32 tensor, read by every layer.
    tensors.unshift({ name: "rope_freqs.weight", shape: [config.ropeFactors.length], data: Float32Array.from(config.ropeFactors), type: GgmlType.F32 });
  }
  await writeGguf(path, meta, tensors);
}

/** A loaded model: config, tokenizer, F32 weights, and the file's full metadata. */
export interface LoadedModel {
  config: LlamaConfig;
  /** Our char tokenizer when the file holds one; undefined for an external vocabulary (see `keptMetadata`). */
  tokenizer: CharTokenizer | undefined;
  /**
   * Every key of the file that the config does not determine: the `tokenizer.*` keys (vocabulary,
   * merges, special tokens, chat template) and the rest (`general.license`, ...), to write back
   * unchanged when saving a fine-tuned model. mathtune's own `mathtune.*` keys (an evaluator's
   * template) are left out: they describe how that file was trained, not its successor.
   */
  keptMetadata: GgufMetadata;
  weights: Weights;
  file: GgufFile;
}

/** E_GGUF for a file the engine cannot train as llama.cpp would run it. */
function unsupported(path: string, what: string): MathtuneError {
  return new MathtuneError(ErrorCode.gguf, `${path}: ${what}`, {
    hint: "mathtune trains llama and qwen2 decoders as llama.cpp runs them (Llama 2/3.x, TinyLlama, SmolLM, Qwen2/2.5); pick or convert such a model",
  });
}

/**
 * Reads the config from GGUF metadata (and the tensor list: tied output, q/k/v biases, RoPE
 * factors). Throws E_GGUF naming the file and the key for another architecture, a missing key, or
 * a setting llama.cpp would honour that the engine here does not compute (YaRN or LongRoPE
 * scaling, experts, a head size other than d_model / heads, non-causal attention, ...).
 */
export function configFromGguf(file: GgufFile): LlamaConfig {
  const { metadata: m, path } = file;
  const archName = metaString(m, "general.architecture");
  if (archName === undefined || !(MODEL_ARCHS as readonly string[]).includes(archName)) {
    throw unsupported(
      path,
      `general.architecture is ${archName === undefined ? "missing" : `"${archName}"`}; supported: ${MODEL_ARCHS.map((a) => `"${a}"`).join(", ")}`,
    );
  }
  const arch = archName as ModelArch;
  const key = (k: string): string => `${arch}.${k}`;
  const num = (k: string, fallback?: number): number => metaNumber(m, key(k), path, fallback);
  const has = (name: string): boolean => file.tensors.some((t) => t.name === name);
  const embd = file.tensors.find((t) => t.name === "token_embd.weight");
  const tokens = metaArray(m, "tokenizer.ggml.tokens");
  const nHeads = num("attention.head_count");
  const nLayers = num("block_count");
  const config: LlamaConfig = {
    arch,
    vocabSize: num("vocab_size", embd?.shape[1] ?? tokens?.length ?? 0),
    contextLength: num("context_length"),
    dModel: num("embedding_length"),
    nLayers,
    nHeads,
    nKvHeads: num("attention.head_count_kv", nHeads),
    ffnDim: num("feed_forward_length"),
    rmsEps: num("attention.layer_norm_rms_epsilon"),
    ropeFreqBase: num("rope.freq_base", 10000),
    tiedOutput: !has("output.weight"),
  };
  try {
    validateConfig(config);
  } catch (err) {
    throw new MathtuneError(ErrorCode.gguf, `${path}: ${(err as Error).message}`);
  }
  const hd = headDim(config);
  for (const k of ["rope.dimension_count", "attention.key_length", "attention.value_length"]) {
    const v = num(k, hd);
    if (v !== hd) throw unsupported(path, `${key(k)} is ${v} but d_model / heads is ${hd} (partial RoPE or a separate head size is not supported)`);
  }
  for (const k of ["expert_count", "nextn_predict_layers"]) {
    if (num(k, 0) !== 0) throw unsupported(path, `${key(k)} is ${num(k)} (mixture-of-experts and multi-token-prediction layers are not supported)`);
  }
  if (metaValue(m, key("attention.causal")) === false) throw unsupported(path, `${key("attention.causal")} is false (only causal decoders are supported)`);

  // RoPE scaling as llama.cpp reads it: type "linear" when absent; factor 0 or absent means none.
  const scalingType = metaString(m, key("rope.scaling.type")) ?? "linear";
  if (scalingType !== "linear" && scalingType !== "none") {
    throw unsupported(path, `${key("rope.scaling.type")} is "${scalingType}"; only "none", "linear" and Llama 3's rope_freqs.weight factors are supported`);
  }
  const factor = scalingType === "none" ? 0 : num("rope.scaling.factor", num("rope.scale_linear", 0));
  if (factor !== 0 && factor !== 1) config.ropeFreqScale = 1 / factor;
  const attnFactor = num("rope.scaling.attn_factor", 1);
  if (attnFactor !== 1) throw unsupported(path, `${key("rope.scaling.attn_factor")} is ${attnFactor} (only 1 is supported)`);

  // q/k/v biases: all or none (llama.cpp allows each to be missing; real models have all or none).
  const biases: boolean[] = [];
  for (let l = 0; l < nLayers; l++) for (const w of ["q", "k", "v"]) biases.push(has(`blk.${l}.attn_${w}.bias`));
  if (biases.some((b) => b !== biases[0])) throw unsupported(path, "some layers have attn_q/k/v biases and others do not");
  if (biases[0]) config.qkvBias = true;
  const freqs = arch === "llama" ? file.tensors.find((t) => t.name === "rope_freqs.weight") : undefined;
  if (freqs) {
    if (freqs.shape.length !== 1 || freqs.shape[0] !== hd / 2) {
      throw unsupported(path, `tensor rope_freqs.weight has shape [${freqs.shape.join(", ")}], expected [${hd / 2}] (head size / 2)`);
    }
    config.ropeFactors = Array.from(readTensorF32(file, "rope_freqs.weight"));
  }
  return config;
}

/** Keys of `file` that `configFromGguf` reads or `modelMetadata` writes, plus mathtune's own. */
function keptMetadataOf(file: GgufFile, arch: ModelArch): GgufMetadata {
  const derived = new Set<string>([...GENERAL_KEYS, ...ARCH_KEYS.map((k) => `${arch}.${k}`)]);
  return new Map([...file.metadata].filter(([k]) => !derived.has(k) && !k.startsWith("mathtune.")));
}

/**
 * Reads a model file's config and checks its tensors: every tensor of the decoder present with the
 * expected shape and one of `types`, and nothing the decoder here does not compute (an output
 * bias, a fused qkv, ...): llama.cpp would use it, so training without it would be training
 * another model.
 */
export function checkedModelFile(path: string, types: readonly number[], typeHint: string): { file: GgufFile; config: LlamaConfig; expected: TensorShape[] } {
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
    if (!types.includes(t.type)) {
      throw new MathtuneError(ErrorCode.gguf, `${path}: tensor ${name} has type ${ggmlTypeName(t.type)}; only ${types.map(ggmlTypeName).join(", ")} weights can be loaded`, {
        hint: typeHint,
      });
    }
  }
  const known = new Set([...expected.map((e) => e.name), ...(config.ropeFactors ? ["rope_freqs.weight"] : [])]);
  const extra = file.tensors.map((t) => t.name).filter((n) => !known.has(n));
  if (extra.length > 0) {
    const list = extra.slice(0, 3).join(", ") + (extra.length > 3 ? `, ... (${extra.length} in all)` : "");
    throw unsupported(path, `tensor ${list} is not part of the ${config.arch} decoder mathtune computes`);
  }
  return { file, config, expected };
}

/**
 * Loads a llama or qwen2 GGUF (ours or external) with F32/F16/BF16 weights, as F32.
 * Quantized tensors, another architecture, shapes that do not match the config, or a tensor the
 * decoder here does not compute fail with E_GGUF.
 */
export function loadModelGguf(path: string): LoadedModel {
  const { file, config, expected } = checkedModelFile(
    path,
    [GgmlType.F32, GgmlType.F16, GgmlType.BF16],
    "use an F16/BF16/F32 GGUF of the model (a quantized file can only be the frozen base of a LoRA fine-tune: --lora-rank)",
  );
  const weights: Weights = new Map();
  for (const { name } of expected) weights.set(name, readTensorF32(file, name));
  return { ...fileParts(file, config), weights };
}

/** What a loaded model holds besides its weights. */
function fileParts(file: GgufFile, config: LlamaConfig): Omit<LoadedModel, "weights"> {
  return { config, tokenizer: CharTokenizer.fromGgufMetadata(file.metadata), keptMetadata: keptMetadataOf(file, config.arch ?? "llama"), file };
}

/** One frozen tensor as the file stores it. */
export interface StoredTensor {
  type: number;
  shape: number[];
  /**
   * Reads the stored bytes (F32, F16, BF16 values or Q8_0 blocks). Read on demand, one tensor at a
   * time, so that a session copying them into its buffer holds the base once, never twice.
   */
  read: () => Uint8Array;
}

/** Base weights kept in their stored types, by GGUF name. */
export type StoredWeights = Map<string, StoredTensor>;

/** Stored types a frozen base may have: those ggml's CPU kernels multiply and differentiate through. */
export const FROZEN_TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0] as const;

/** A model loaded as the frozen base of a LoRA fine-tune. */
export interface FrozenModel extends Omit<LoadedModel, "weights"> {
  weights: StoredWeights;
}

/**
 * Opens a llama or qwen2 GGUF as a frozen base: weights stay in their stored type (F32, F16, BF16
 * or Q8_0; no F32 copy), read from the file when a session copies them into its buffer. Other quantized types fail with E_GGUF: either ggml's CPU backward has no
 * kernel for them, or they are untested here.
 */
export function loadFrozenModelGguf(path: string): FrozenModel {
  const { file, config, expected } = checkedModelFile(
    path,
    FROZEN_TYPES,
    "LoRA needs the base in F32, F16, BF16 or Q8_0 (ggml's CPU kernels differentiate through those); requantize or convert it with llama.cpp's llama-quantize / convert_hf_to_gguf.py",
  );
  const weights: StoredWeights = new Map();
  for (const { name, shape } of expected) {
    const info = file.tensors.find((t) => t.name === name) as { type: number };
    weights.set(name, { type: info.type, shape, read: () => readTensorBytes(file, name) });
  }
  return { ...fileParts(file, config), weights };
}
