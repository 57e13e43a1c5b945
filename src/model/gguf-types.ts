/**
 * GGUF v3 types: the metadata value types, the ggml tensor types with their block sizes, the
 * parsed-file and tensor descriptions, and the element formats (F16, BF16, Q8_0) that the reader
 * (gguf-reader.ts) and the writer (gguf-writer.ts) convert between. No file access here.
 */
import { MathtuneError, ErrorCode } from "../errors.js";

/** GGUF metadata value types, as numbered in the file format. */
export enum GgufType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** ggml tensor types (the subset with names we report; others are reported by number). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Human name of a ggml type number ("F32", "Q4_K", or "type 77" when unknown). */
export function ggmlTypeName(t: number): string {
  const name = (GgmlType as unknown as Record<number, string | undefined>)[t];
  return name ?? `type ${t}`;
}

/** Block size (elements) and bytes per block of the ggml types; used for tensor sizes and offsets. */
const GGML_BLOCK: Record<number, readonly [number, number]> = {
  [GgmlType.F32]: [1, 4],
  [GgmlType.F16]: [1, 2],
  [GgmlType.BF16]: [1, 2],
  [GgmlType.F64]: [1, 8],
  [GgmlType.I8]: [1, 1],
  [GgmlType.I16]: [1, 2],
  [GgmlType.I32]: [1, 4],
  [GgmlType.I64]: [1, 8],
  [GgmlType.Q4_0]: [32, 18],
  [GgmlType.Q4_1]: [32, 20],
  [GgmlType.Q5_0]: [32, 22],
  [GgmlType.Q5_1]: [32, 24],
  [GgmlType.Q8_0]: [32, 34],
  [GgmlType.Q8_1]: [32, 36],
  [GgmlType.Q2_K]: [256, 84],
  [GgmlType.Q3_K]: [256, 110],
  [GgmlType.Q4_K]: [256, 144],
  [GgmlType.Q5_K]: [256, 176],
  [GgmlType.Q6_K]: [256, 210],
  [GgmlType.Q8_K]: [256, 292],
  [GgmlType.IQ2_XXS]: [256, 66],
  [GgmlType.IQ2_XS]: [256, 74],
  [GgmlType.IQ3_XXS]: [256, 98],
  [GgmlType.IQ1_S]: [256, 50],
  [GgmlType.IQ4_NL]: [32, 18],
  [GgmlType.IQ3_S]: [256, 110],
  [GgmlType.IQ2_S]: [256, 82],
  [GgmlType.IQ4_XS]: [256, 136],
  [GgmlType.IQ1_M]: [256, 56],
  [GgmlType.TQ1_0]: [256, 54],
  [GgmlType.TQ2_0]: [256, 66],
  [GgmlType.MXFP4]: [32, 17],
};

/** Bytes taken by `n` elements of ggml type `t`, or undefined for a type we do not know. */
export function ggmlTypeBytes(t: number, n: number): number | undefined {
  const b = GGML_BLOCK[t];
  if (b === undefined) return undefined;
  return Math.ceil(n / b[0]) * b[1];
}

/** An array metadata value. Numeric arrays are plain number arrays (bigint for 64-bit integers). */
export interface GgufArray {
  itemType: GgufType;
  items: Array<number | bigint | boolean | string>;
}

/** One typed metadata value, as stored in the file. */
export type GgufValue =
  | { type: GgufType.UINT8 | GgufType.INT8 | GgufType.UINT16 | GgufType.INT16 | GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32 | GgufType.FLOAT64; value: number }
  | { type: GgufType.UINT64 | GgufType.INT64; value: bigint }
  | { type: GgufType.BOOL; value: boolean }
  | { type: GgufType.STRING; value: string }
  | { type: GgufType.ARRAY; value: GgufArray };

/** Ordered metadata (the file keeps insertion order). */
export type GgufMetadata = Map<string, GgufValue>;

/** Constructors for typed metadata values. */
export const gv = {
  u32: (v: number): GgufValue => ({ type: GgufType.UINT32, value: v }),
  i32: (v: number): GgufValue => ({ type: GgufType.INT32, value: v }),
  f32: (v: number): GgufValue => ({ type: GgufType.FLOAT32, value: v }),
  u64: (v: bigint | number): GgufValue => ({ type: GgufType.UINT64, value: BigInt(v) }),
  bool: (v: boolean): GgufValue => ({ type: GgufType.BOOL, value: v }),
  str: (v: string): GgufValue => ({ type: GgufType.STRING, value: v }),
  arr: (itemType: GgufType, items: Array<number | bigint | boolean | string>): GgufValue => ({
    type: GgufType.ARRAY,
    value: { itemType, items },
  }),
};

/** A tensor's description in the file. */
export interface GgufTensorInfo {
  name: string;
  /** Dimensions in ggml `ne` order (ne[0] is the contiguous one). */
  shape: number[];
  type: number;
  /** Offset relative to the start of the data section. */
  offset: number;
  /** Number of elements. */
  elements: number;
  /** Size in bytes, or undefined for an unknown type. */
  bytes: number | undefined;
}

/** A parsed GGUF file: header, metadata and tensor infos (tensor data is read on demand). */
export interface GgufFile {
  path: string;
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute file offset of the data section. */
  dataOffset: number;
  fileSize: number;
}

export const MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const DEFAULT_ALIGNMENT = 32;

export function ggufError(path: string, message: string, hint?: string): MathtuneError {
  return new MathtuneError(ErrorCode.gguf, `${path}: ${message}`, hint === undefined ? {} : { hint });
}

/**
 * The shortest decimal that is the same float32: 1e-5 stored as f32 reads back as 1e-5, not
 * 0.0000099999997, so configs survive a save/load round trip unchanged.
 */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

/** IEEE half → float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32Buf = new Float32Array(1);
const u32View = new Uint32Array(f32Buf.buffer);

/** float → IEEE half with round-to-nearest-even (overflow → ±inf, NaN kept). */
export function f32ToF16(x: number): number {
  f32Buf[0] = x;
  const bits = u32View[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit bit, rounding to nearest even.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let r = mant >>> shift;
    if (rest > half || (rest === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (r & 1) === 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** float → bfloat16 with round-to-nearest-even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32Buf[0] = x;
  const bits = u32View[0];
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) & 0xffff) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 → float (the top 16 bits of an f32). */
export function bf16ToF32(h: number): number {
  u32View[0] = (h & 0xffff) << 16;
  return f32Buf[0];
}

/**
 * A tensor to write, shape in ggml `ne` order: F32 data stored as F32, F16, BF16 or Q8_0, or
 * `raw` bytes already in `type` (copied from another file).
 */
export type GgufTensorToWrite =
  | {
      name: string;
      shape: number[];
      data: Float32Array;
      /** Storage type (Q8_0 needs rows that are a multiple of 32 values). Defaults to F32. */
      type?: GgmlType.F32 | GgmlType.F16 | GgmlType.BF16 | GgmlType.Q8_0;
    }
  | { name: string; shape: number[]; raw: Uint8Array; type: number };

/** F32 values of `n` Q8_0-quantized values (d · q per block of 32). */
export function dequantizeQ8_0(raw: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let blk = 0; blk < n / 32; blk++) {
    const d = f16ToF32(view.getUint16(blk * 34, true));
    for (let i = 0; i < 32; i++) out[blk * 32 + i] = d * view.getInt8(blk * 34 + 2 + i);
  }
  return out;
}

/**
 * Q8_0 blocks of `x` (length a multiple of 32): per block of 32 values an F16 scale
 * d = max|x| / 127 and 32 int8 values round(x / d), as llama.cpp's reference quantizer does.
 */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % 32 !== 0) throw new MathtuneError(ErrorCode.gguf, `Q8_0 needs a multiple of 32 values (got ${x.length})`);
  const out = new Uint8Array((x.length / 32) * 34);
  const view = new DataView(out.buffer);
  for (let blk = 0; blk < x.length / 32; blk++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[blk * 32 + i]));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    view.setUint16(blk * 34, f32ToF16(d), true);
    for (let i = 0; i < 32; i++) view.setInt8(blk * 34 + 2 + i, Math.round(Math.fround(x[blk * 32 + i] * id)));
  }
  return out;
}
