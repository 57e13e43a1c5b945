/**
 * LoRA adapters in llama.cpp's format: which projections get one, their shapes, initialisation,
 * and the adapter GGUF file (save, load) that llama.cpp applies on top of the base model.
 *
 * For a base matrix W with ne = [n_in, n_out] (y = W x), the adapter adds
 * scale · B (A x) with A = `<W name>.lora_a`, ne [n_in, rank], and B = `<W name>.lora_b`,
 * ne [rank, n_out]; scale = alpha / rank (times the user's adapter scale in llama.cpp). These are
 * the shapes and the order of products llama.cpp's loader checks and its graph computes.
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import { Rng } from "../util/rng.js";
import { checkedModelFile, FROZEN_TYPES, tensorShapes, type TensorShape, type Weights } from "./checkpoint.js";
import type { LlamaConfig } from "./config.js";
import {
  GgmlType,
  ggmlTypeName,
  gv,
  metaNumber,
  metaString,
  readGguf,
  readTensorBytes,
  readTensorF32,
  writeGguf,
  type GgufFile,
  type GgufMetadata,
  type GgufTensorToWrite,
} from "./gguf.js";

/** The projections an adapter may target, by short name. */
export const LORA_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** GGUF tensor name (after `blk.N.`) of each target. */
export const LORA_TARGET_TENSOR: Record<LoraTarget, string> = {
  q: "attn_q.weight",
  k: "attn_k.weight",
  v: "attn_v.weight",
  o: "attn_output.weight",
  gate: "ffn_gate.weight",
  up: "ffn_up.weight",
  down: "ffn_down.weight",
};

/**
 * Every linear layer of the blocks: on small models adapting the MLP as well as attention gives
 * most of a full fine-tune's gain for a few more parameters (attention-only q,v adapters, the
 * original LoRA setting, are one `--lora-targets q,v` away).
 */
export const DEFAULT_LORA_TARGETS: readonly LoraTarget[] = LORA_TARGETS;

/** What an adapter is: its rank, alpha and the projections it targets. */
export interface LoraSpec {
  /** Inner dimension of A and B. */
  rank: number;
  /** The update is scaled by alpha / rank. */
  alpha: number;
  /** Targeted projections, in {@link LORA_TARGETS} order. */
  targets: LoraTarget[];
}

/** Checks and normalises a spec (targets deduplicated, in canonical order). */
export function loraSpec(o: { rank: number; alpha?: number; targets?: readonly string[] }): LoraSpec {
  if (!Number.isInteger(o.rank) || o.rank < 1) throw new MathtuneError(ErrorCode.usage, `--lora-rank must be a positive integer (got ${o.rank})`);
  const alpha = o.alpha ?? o.rank;
  if (!(alpha > 0 && Number.isFinite(alpha))) {
    throw new MathtuneError(ErrorCode.usage, `--lora-alpha must be a positive number (got ${alpha})`, { hint: "llama.cpp reads alpha 0 as 'no scaling'; use alpha = rank for a scale of 1" });
  }
  const given = o.targets ?? DEFAULT_LORA_TARGETS;
  for (const t of given) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new MathtuneError(ErrorCode.usage, `--lora-targets: unknown target "${t}"`, { hint: `choose from ${LORA_TARGETS.join(",")}` });
    }
  }
  const targets = LORA_TARGETS.filter((t) => given.includes(t));
  if (targets.length === 0) throw new MathtuneError(ErrorCode.usage, "--lora-targets is empty", { hint: `choose from ${LORA_TARGETS.join(",")}` });
  return { rank: o.rank, alpha, targets };
}

/** Parses a comma-separated target list ("q,k,v,o"). */
export function parseLoraTargets(s: string): string[] {
  return s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** The scale llama.cpp applies to B (A x) for a user scale of 1. */
export function loraScale(spec: LoraSpec): number {
  return spec.alpha / spec.rank;
}

/** One adapted matrix: the base tensor's name and the names and shapes of A and B. */
export interface LoraPairShape {
  base: string;
  a: TensorShape;
  b: TensorShape;
}

/** The adapted matrices of a model, block by block, targets in canonical order. */
export function loraPairs(config: LlamaConfig, spec: LoraSpec): LoraPairShape[] {
  const shapes = new Map(tensorShapes(config).map((t) => [t.name, t.shape]));
  const out: LoraPairShape[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    for (const t of spec.targets) {
      const base = `blk.${l}.${LORA_TARGET_TENSOR[t]}`;
      const [nIn, nOut] = shapes.get(base) as number[];
      out.push({ base, a: { name: `${base}.lora_a`, shape: [nIn, spec.rank] }, b: { name: `${base}.lora_b`, shape: [spec.rank, nOut] } });
    }
  }
  return out;
}

/** The trainable tensors of an adapter (A then B of each pair), as {@link tensorShapes} lists a model's. */
export function loraShapes(config: LlamaConfig, spec: LoraSpec): TensorShape[] {
  return loraPairs(config, spec).flatMap((p) => [p.a, p.b]);
}

/**
 * Initial adapter: A uniform in ±1/sqrt(n_in) (the bound of PyTorch's default Linear init, which
 * PEFT uses for A), B zero, so training starts exactly at the base model.
 */
export function initLora(config: LlamaConfig, spec: LoraSpec, seed: number): Weights {
  const rng = new Rng(seed);
  const w: Weights = new Map();
  for (const { a, b } of loraPairs(config, spec)) {
    const bound = 1 / Math.sqrt(a.shape[0]);
    w.set(a.name, Float32Array.from({ length: a.shape[0] * a.shape[1] }, () => (2 * rng.next() - 1) * bound));
    w.set(b.name, new Float32Array(b.shape[0] * b.shape[1]));
  }
  return w;
}

/** What {@link saveLoraGguf} writes. */
export interface SaveLoraOptions {
  config: LlamaConfig;
  spec: LoraSpec;
  /** A and B by tensor name ({@link loraShapes}). */
  weights: Weights;
  /** `general.name`. Defaults to "mathtune-lora". */
  name?: string;
  /** Extra metadata keys (provenance). */
  extraMetadata?: GgufMetadata;
}

/** Writes an adapter GGUF that llama.cpp (and node-llama-cpp's `lora` option) loads, atomically. */
export async function saveLoraGguf(path: string, o: SaveLoraOptions): Promise<void> {
  const meta: GgufMetadata = new Map([
    ["general.architecture", gv.str(o.config.arch ?? "llama")],
    ["general.type", gv.str("adapter")],
    ["general.name", gv.str(o.name ?? "mathtune-lora")],
    ["adapter.type", gv.str("lora")],
    ["adapter.lora.alpha", gv.f32(o.spec.alpha)],
    ["mathtune.lora.rank", gv.u32(o.spec.rank)],
    ["mathtune.lora.targets", gv.str(o.spec.targets.join(","))],
  ]);
  for (const [k, v] of o.extraMetadata ?? []) meta.set(k, v);
  const tensors = loraShapes(o.config, o.spec).map(({ name, shape }) => {
    const data = o.weights.get(name);
    const n = shape[0] * shape[1];
    if (!data || data.length !== n) throw new MathtuneError(ErrorCode.usage, `adapter weights lack tensor ${name} (${n} values)`);
    return { name, shape, data };
  });
  await writeGguf(path, meta, tensors);
}

/** A loaded adapter. */
export interface LoadedLora {
  spec: LoraSpec;
  /** `general.architecture` of the adapter. */
  arch: string;
  /** A and B as F32, by tensor name. */
  weights: Weights;
  file: GgufFile;
}

function badAdapter(path: string, what: string, hint = "pass a LoRA adapter GGUF (general.type = adapter, adapter.type = lora), e.g. one written by mathtune train --lora-rank"): MathtuneError {
  return new MathtuneError(ErrorCode.gguf, `${path}: ${what}`, { hint });
}

/** The general.type / adapter.type / architecture checks of both loaders. */
function checkAdapterHeader(path: string, m: GgufMetadata, modelArch: string): void {
  if (metaString(m, "general.type") !== "adapter") throw badAdapter(path, `general.type is ${JSON.stringify(metaString(m, "general.type") ?? null)}, not "adapter"`);
  if (metaString(m, "adapter.type") !== "lora") throw badAdapter(path, `adapter.type is ${JSON.stringify(metaString(m, "adapter.type") ?? null)}, not "lora"`);
  const arch = metaString(m, "general.architecture") ?? "";
  if (arch !== modelArch) throw badAdapter(path, `general.architecture is "${arch}" but the base model is "${modelArch}"`, "use the adapter with the base model it was trained on");
}

/**
 * Checks that llama.cpp can apply the adapter at `path` to `model` (any architecture): an adapter
 * of the model's architecture whose every lora_a / lora_b pair belongs to a tensor of the model,
 * with the shapes llama.cpp checks. llama.cpp would otherwise refuse it with a native error.
 */
export function checkLoraFor(model: GgufFile, path: string): void {
  const file = readGguf(path);
  checkAdapterHeader(path, file.metadata, metaString(model.metadata, "general.architecture") ?? "");
  const base = new Map(model.tensors.map((t) => [t.name, t]));
  const ab = new Map(file.tensors.map((t) => [t.name, t]));
  for (const a of file.tensors) {
    if (!a.name.endsWith(".lora_a")) continue;
    const name = a.name.slice(0, -".lora_a".length);
    const b = ab.get(`${name}.lora_b`);
    const w = base.get(name);
    if (!b) throw badAdapter(path, `tensor ${a.name} has no ${name}.lora_b`);
    if (!w) throw badAdapter(path, `tensor ${a.name} adapts ${name}, which ${model.path} does not have`, "use the adapter with the base model it was trained on");
    if (name !== "token_embd.weight" && (a.shape[0] !== w.shape[0] || b.shape[1] !== w.shape[1] || a.shape[1] !== b.shape[0])) {
      throw badAdapter(path, `tensors ${a.name} [${a.shape.join(", ")}] and ${name}.lora_b [${b.shape.join(", ")}] do not fit ${name} [${w.shape.join(", ")}] of ${model.path}`, "use the adapter with the base model it was trained on");
    }
  }
}

/**
 * Reads a LoRA adapter GGUF (ours or another tool's, F32/F16/BF16) and checks it against the base
 * model's config: same architecture, every pair of a targeted projection present with the shapes
 * llama.cpp expects, one rank.
 */
export function loadLoraGguf(path: string, config: LlamaConfig): LoadedLora {
  const file = readGguf(path);
  const m = file.metadata;
  const arch = config.arch ?? "llama";
  checkAdapterHeader(path, m, arch);
  const alpha = metaNumber(m, "adapter.lora.alpha", path, 0);
  const byName = new Map(file.tensors.map((t) => [t.name, t]));
  const targets = LORA_TARGETS.filter((t) => byName.has(`blk.0.${LORA_TARGET_TENSOR[t]}.lora_a`));
  const first = targets.length > 0 ? byName.get(`blk.0.${LORA_TARGET_TENSOR[targets[0]]}.lora_a`) : undefined;
  if (!first || first.shape.length !== 2) throw badAdapter(path, "no lora_a tensor for a projection of block 0 (attn_q/k/v/output, ffn_gate/up/down)");
  const rank = first.shape[1];
  if (!(alpha > 0)) throw badAdapter(path, `adapter.lora.alpha is ${alpha}; mathtune needs alpha > 0 (llama.cpp then scales by alpha / rank)`);
  const spec: LoraSpec = { rank, alpha, targets };
  const expected = loraShapes(config, spec);
  const known = new Set(expected.map((e) => e.name));
  for (const { name, shape } of expected) {
    const t = byName.get(name);
    if (!t) throw badAdapter(path, `missing tensor ${name} (an adapter must cover its targets in every block)`);
    if (t.shape.length !== 2 || t.shape[0] !== shape[0] || t.shape[1] !== shape[1]) {
      throw badAdapter(path, `tensor ${name} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] for this base model and rank ${rank}`, "use the adapter with the base model it was trained on");
    }
    if (t.type !== GgmlType.F32 && t.type !== GgmlType.F16 && t.type !== GgmlType.BF16) {
      throw badAdapter(path, `tensor ${name} has type ${ggmlTypeName(t.type)}; adapters must be F32, F16 or BF16`);
    }
  }
  const extra = file.tensors.map((t) => t.name).filter((n) => !known.has(n));
  if (extra.length > 0) throw badAdapter(path, `tensor ${extra[0]} is not a LoRA matrix of the projections mathtune adapts`);
  const weights: Weights = new Map(expected.map((e) => [e.name, readTensorF32(file, e.name)]));
  return { spec, arch, weights, file };
}

/**
 * The base matrix with the adapter merged in: W[i, o] + scale · Σ_r A[i, r] B[r, o], in double
 * precision, returned as F32.
 */
export function mergedMatrix(w: Float32Array, a: Float32Array, b: Float32Array, shape: readonly number[], rank: number, scale: number): Float32Array {
  const [nIn, nOut] = shape;
  const out = new Float32Array(w.length);
  const row = new Float64Array(nIn);
  for (let o = 0; o < nOut; o++) {
    row.fill(0);
    for (let r = 0; r < rank; r++) {
      const br = b[o * rank + r];
      if (br === 0) continue;
      for (let i = 0; i < nIn; i++) row[i] += a[r * nIn + i] * br;
    }
    for (let i = 0; i < nIn; i++) out[o * nIn + i] = w[o * nIn + i] + scale * row[i];
  }
  return out;
}

/** What {@link mergeLoraGguf} reads and writes. */
export interface MergeLoraOptions {
  /** The base model GGUF. */
  base: string;
  /** The adapter GGUF. */
  lora: string;
  /** The merged model to write. */
  out: string;
  /** User scale of the adapter (llama.cpp's adapter scale). Defaults to 1. */
  scale?: number;
}

/**
 * Writes `base` with the adapter merged into its targeted matrices (each stored in its original
 * type: F32, F16, BF16 or Q8_0, re-quantized), every other tensor copied byte for byte and every
 * metadata key kept. Returns the number of merged matrices.
 */
export async function mergeLoraGguf(o: MergeLoraOptions): Promise<number> {
  const { file, config } = checkedModelFile(o.base, FROZEN_TYPES, "merge needs a base in F32, F16, BF16 or Q8_0");
  const ad = loadLoraGguf(o.lora, config);
  const scale = loraScale(ad.spec) * (o.scale ?? 1);
  const pairs = new Map(loraPairs(config, ad.spec).map((p) => [p.base, p]));
  const tensors: GgufTensorToWrite[] = file.tensors.map((t) => {
    const p = pairs.get(t.name);
    if (!p) return { name: t.name, shape: t.shape, raw: readTensorBytes(file, t.name), type: t.type };
    const data = mergedMatrix(readTensorF32(file, t.name), ad.weights.get(p.a.name) as Float32Array, ad.weights.get(p.b.name) as Float32Array, t.shape, ad.spec.rank, scale);
    return { name: t.name, shape: t.shape, data, type: t.type as GgmlType.F32 | GgmlType.F16 | GgmlType.BF16 | GgmlType.Q8_0 };
  });
  await writeGguf(o.out, file.metadata, tensors, { alignment: file.alignment });
  return pairs.size;
}
