/**
 * GGUF v3 reader and writer in plain TypeScript (no native code), so that checkpoints can be
 * inspected, loaded for fine-tuning and written without touching ggml.
 *
 * Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the
 * metadata key/value pairs, the tensor infos (name, dims in ggml `ne` order, ggml type, offset
 * relative to the data section), padding to `general.alignment` (32 by default), tensor data.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync, fsyncSync } from "node:fs";
import { MathtuneError, ErrorCode } from "../errors.js";
import { withAtomicPath } from "../util/fs.js";

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

const MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const DEFAULT_ALIGNMENT = 32;

function ggufError(path: string, message: string, hint?: string): MathtuneError {
  return new MathtuneError(ErrorCode.gguf, `${path}: ${message}`, hint === undefined ? {} : { hint });
}

/** Sequential reader over a file descriptor with a refillable buffer, so huge files are not read whole. */
class FileCursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  private ensure(n: number): void {
    const have = this.bufStart + this.buf.length - this.pos;
    if (this.pos >= this.bufStart && have >= n) return;
    if (this.pos + n > this.size) {
      throw ggufError(this.path, `truncated file: needs ${this.pos + n} bytes, has ${this.size}`, "the file was cut off; copy or download it again");
    }
    const len = Math.min(this.size - this.pos, Math.max(n, 1 << 20));
    const b = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const r = readSync(this.fd, b, got, len - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) throw ggufError(this.path, `truncated file at byte ${this.pos + got}`);
    this.buf = b.subarray(0, got);
    this.bufStart = this.pos;
  }

  /** Makes n bytes available and returns their offset in `buf` (read `buf` only after calling this). */
  private at(n: number): number {
    this.ensure(n);
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  u8(): number {
    const o = this.at(1);
    return this.buf.readUInt8(o);
  }
  i8(): number {
    const o = this.at(1);
    return this.buf.readInt8(o);
  }
  u16(): number {
    const o = this.at(2);
    return this.buf.readUInt16LE(o);
  }
  i16(): number {
    const o = this.at(2);
    return this.buf.readInt16LE(o);
  }
  u32(): number {
    const o = this.at(4);
    return this.buf.readUInt32LE(o);
  }
  i32(): number {
    const o = this.at(4);
    return this.buf.readInt32LE(o);
  }
  f32(): number {
    const o = this.at(4);
    return this.buf.readFloatLE(o);
  }
  f64(): number {
    const o = this.at(8);
    return this.buf.readDoubleLE(o);
  }
  u64(): bigint {
    const o = this.at(8);
    return this.buf.readBigUInt64LE(o);
  }
  i64(): bigint {
    const o = this.at(8);
    return this.buf.readBigInt64LE(o);
  }
  /** A u64 that must fit a JS number (counts, lengths, offsets). */
  size64(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.size)) throw ggufError(this.path, `corrupt ${what} (${v}) larger than the file`);
    return Number(v);
  }
  str(): string {
    const n = this.size64("string length");
    const o = this.at(n);
    return this.buf.toString("utf8", o, o + n);
  }
}

function readScalar(c: FileCursor, t: GgufType, path: string): number | bigint | boolean | string {
  switch (t) {
    case GgufType.UINT8:
      return c.u8();
    case GgufType.INT8:
      return c.i8();
    case GgufType.UINT16:
      return c.u16();
    case GgufType.INT16:
      return c.i16();
    case GgufType.UINT32:
      return c.u32();
    case GgufType.INT32:
      return c.i32();
    case GgufType.FLOAT32:
      return c.f32();
    case GgufType.FLOAT64:
      return c.f64();
    case GgufType.UINT64:
      return c.u64();
    case GgufType.INT64:
      return c.i64();
    case GgufType.BOOL:
      return c.u8() !== 0;
    case GgufType.STRING:
      return c.str();
    default:
      throw ggufError(path, `corrupt metadata: unknown value type ${t as number}`);
  }
}

function readValue(c: FileCursor, t: GgufType, path: string): GgufValue {
  if (t === GgufType.ARRAY) {
    const itemType = c.u32() as GgufType;
    const n = c.size64("array length");
    if (itemType === GgufType.ARRAY) throw ggufError(path, "nested metadata arrays are not supported");
    const items: Array<number | bigint | boolean | string> = new Array(n);
    for (let i = 0; i < n; i++) items[i] = readScalar(c, itemType, path);
    return { type: GgufType.ARRAY, value: { itemType, items } };
  }
  const value = readScalar(c, t, path);
  return { type: t, value: t === GgufType.FLOAT32 ? shortestF32(value as number) : value } as GgufValue;
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

/** Writes all of `data` at the current position (a single writeSync may write less). */
function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

/** Parses the header, metadata and tensor infos of a GGUF file. */
export function readGguf(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new MathtuneError(ErrorCode.gguf, `${path}: cannot open GGUF file (${(err as Error).message})`, {
      hint: "check the path",
      cause: err,
    });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw ggufError(path, "not a file (a directory?)", "pass the path of a .gguf model file");
    const size = st.size;
    const c = new FileCursor(fd, size, path);
    if (size < 4) throw ggufError(path, `not a GGUF file (only ${size} bytes)`);
    const magic = c.u32();
    if (magic !== MAGIC) {
      throw ggufError(path, "not a GGUF file (bad magic bytes)", "pass a .gguf model file (llama.cpp format)");
    }
    const version = c.u32();
    if (version !== 2 && version !== 3) throw ggufError(path, `unsupported GGUF version ${version} (supported: 2, 3)`);
    const nTensors = c.size64("tensor count");
    const nKv = c.size64("metadata count");
    const metadata: GgufMetadata = new Map();
    for (let i = 0; i < nKv; i++) {
      const key = c.str();
      const t = c.u32() as GgufType;
      metadata.set(key, readValue(c, t, path));
    }
    const alignV = metadata.get("general.alignment");
    const alignment = alignV !== undefined && typeof alignV.value === "number" ? alignV.value : DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
      throw ggufError(path, `bad general.alignment ${String(alignV?.value)}`);
    }
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str();
      const nDims = c.u32();
      if (nDims > 8) throw ggufError(path, `corrupt tensor info for ${name}: ${nDims} dimensions`);
      const shape: number[] = [];
      for (let d = 0; d < nDims; d++) shape.push(c.size64(`dimension of ${name}`));
      const type = c.u32();
      const offset = c.size64(`offset of ${name}`);
      const elements = shape.reduce((a, b) => a * b, 1);
      tensors.push({ name, shape, type, offset, elements, bytes: ggmlTypeBytes(type, elements) });
    }
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    for (const t of tensors) {
      const end = dataOffset + t.offset + (t.bytes ?? 0);
      if (end > size) {
        throw ggufError(path, `truncated file: tensor ${t.name} ends at byte ${end}, file has ${size}`, "the file was cut off; copy or download it again");
      }
    }
    return { path, version, metadata, tensors, alignment, dataOffset, fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/** The plain JS value of a metadata key (numbers for 64-bit ints that fit), or undefined. */
export function metaValue(meta: GgufMetadata, key: string): number | bigint | boolean | string | GgufArray | undefined {
  const v = meta.get(key);
  if (v === undefined) return undefined;
  if (typeof v.value === "bigint" && v.value <= BigInt(Number.MAX_SAFE_INTEGER) && v.value >= -BigInt(Number.MAX_SAFE_INTEGER)) {
    return Number(v.value);
  }
  return v.value;
}

/** A numeric metadata value; throws E_GGUF naming the key when missing or not a number. */
export function metaNumber(meta: GgufMetadata, key: string, path: string, fallback?: number): number {
  const v = metaValue(meta, key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number") throw ggufError(path, `metadata ${key} is ${v === undefined ? "missing" : "not a number"}`);
  return v;
}

/** A string metadata value, or undefined. */
export function metaString(meta: GgufMetadata, key: string): string | undefined {
  const v = meta.get(key);
  return v?.type === GgufType.STRING ? v.value : undefined;
}

/** An array metadata value's items, or undefined. */
export function metaArray(meta: GgufMetadata, key: string): GgufArray["items"] | undefined {
  const v = meta.get(key);
  return v?.type === GgufType.ARRAY ? v.value.items : undefined;
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

/** Reads the stored bytes of one tensor, whatever its type (E_GGUF for a type of unknown size). */
export function readTensorBytes(file: GgufFile, name: string): Buffer {
  const info = file.tensors.find((t) => t.name === name);
  if (info === undefined) throw ggufError(file.path, `no tensor named ${name}`);
  if (info.bytes === undefined) throw ggufError(file.path, `tensor ${name} has type ${ggmlTypeName(info.type)}, whose size mathtune does not know`);
  const bytes = info.bytes;
  const raw = Buffer.alloc(bytes);
  const fd = openSync(file.path, "r");
  try {
    let got = 0;
    while (got < bytes) {
      const r = readSync(fd, raw, got, bytes - got, file.dataOffset + info.offset + got);
      if (r === 0) throw ggufError(file.path, `truncated file while reading tensor ${name}`);
      got += r;
    }
  } finally {
    closeSync(fd);
  }
  return raw;
}

/** Reads one tensor as F32, converting F16 and BF16; other types fail with E_GGUF naming them. */
export function readTensorF32(file: GgufFile, name: string): Float32Array {
  const info = file.tensors.find((t) => t.name === name);
  if (info === undefined) throw ggufError(file.path, `no tensor named ${name}`);
  if (info.type !== GgmlType.F32 && info.type !== GgmlType.F16 && info.type !== GgmlType.BF16 && info.type !== GgmlType.Q8_0) {
    throw ggufError(
      file.path,
      `tensor ${name} has type ${ggmlTypeName(info.type)}; only F32, F16, BF16 and Q8_0 tensors can be read as F32`,
      "convert the model to F16 or F32 first (llama.cpp: convert_hf_to_gguf.py --outtype f16)",
    );
  }
  const raw = readTensorBytes(file, name);
  // Buffer.alloc is never pooled, so its memory starts at offset 0 and typed views are aligned;
  // GGUF is little-endian like every host llama.cpp runs on.
  if (info.type === GgmlType.F32) return new Float32Array(raw.buffer, raw.byteOffset, info.elements);
  if (info.type === GgmlType.Q8_0) return dequantizeQ8_0(raw, info.elements);
  const half = new Uint16Array(raw.buffer, raw.byteOffset, info.elements);
  const out = new Float32Array(info.elements);
  if (info.type === GgmlType.F16) {
    for (let i = 0; i < out.length; i++) out[i] = f16ToF32(half[i]);
  } else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < out.length; i++) bits[i] = half[i] << 16;
  }
  return out;
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

/** Growable little-endian byte builder for the header part. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private grow(n: number): number {
    if (this.length + n > this.buf.length) {
      const b = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(b, 0, 0, this.length);
      this.buf = b;
    }
    const o = this.length;
    this.length += n;
    return o;
  }
  u8(v: number): void {
    const o = this.grow(1);
    this.buf.writeUInt8(v, o);
  }
  i8(v: number): void {
    const o = this.grow(1);
    this.buf.writeInt8(v, o);
  }
  u16(v: number): void {
    const o = this.grow(2);
    this.buf.writeUInt16LE(v, o);
  }
  i16(v: number): void {
    const o = this.grow(2);
    this.buf.writeInt16LE(v, o);
  }
  u32(v: number): void {
    const o = this.grow(4);
    this.buf.writeUInt32LE(v, o);
  }
  i32(v: number): void {
    const o = this.grow(4);
    this.buf.writeInt32LE(v, o);
  }
  f32(v: number): void {
    const o = this.grow(4);
    this.buf.writeFloatLE(v, o);
  }
  f64(v: number): void {
    const o = this.grow(8);
    this.buf.writeDoubleLE(v, o);
  }
  u64(v: bigint | number): void {
    const o = this.grow(8);
    this.buf.writeBigUInt64LE(BigInt(v), o);
  }
  i64(v: bigint | number): void {
    const o = this.grow(8);
    this.buf.writeBigInt64LE(BigInt(v), o);
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    const o = this.grow(b.length); // before reading this.buf: grow() may replace it
    b.copy(this.buf, o);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.grow(n); // Buffer.alloc zero-fills, and grown buffers are zeroed too
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeScalar(w: ByteWriter, t: GgufType, v: number | bigint | boolean | string, key: string): void {
  const bad = (): never => {
    throw new MathtuneError(ErrorCode.gguf, `metadata ${key}: value ${String(v)} does not fit type ${GgufType[t]}`);
  };
  switch (t) {
    case GgufType.UINT8:
      return typeof v === "number" ? w.u8(v) : bad();
    case GgufType.INT8:
      return typeof v === "number" ? w.i8(v) : bad();
    case GgufType.UINT16:
      return typeof v === "number" ? w.u16(v) : bad();
    case GgufType.INT16:
      return typeof v === "number" ? w.i16(v) : bad();
    case GgufType.UINT32:
      return typeof v === "number" ? w.u32(v) : bad();
    case GgufType.INT32:
      return typeof v === "number" ? w.i32(v) : bad();
    case GgufType.FLOAT32:
      return typeof v === "number" ? w.f32(v) : bad();
    case GgufType.FLOAT64:
      return typeof v === "number" ? w.f64(v) : bad();
    case GgufType.UINT64:
      return typeof v === "bigint" || typeof v === "number" ? w.u64(v) : bad();
    case GgufType.INT64:
      return typeof v === "bigint" || typeof v === "number" ? w.i64(v) : bad();
    case GgufType.BOOL:
      return typeof v === "boolean" ? w.u8(v ? 1 : 0) : bad();
    case GgufType.STRING:
      return typeof v === "string" ? w.str(v) : bad();
    default:
      return bad();
  }
}

/**
 * Writes a GGUF v3 file atomically (temp file + rename): the metadata as given (plus
 * `general.alignment` when not 32) and the tensors, each aligned to `alignment`.
 */
export async function writeGguf(
  path: string,
  metadata: GgufMetadata,
  tensors: GgufTensorToWrite[],
  options: { alignment?: number } = {},
): Promise<void> {
  const alignment = options.alignment ?? DEFAULT_ALIGNMENT;
  const meta = new Map(metadata);
  if (alignment !== DEFAULT_ALIGNMENT) meta.set("general.alignment", gv.u32(alignment));
  else meta.delete("general.alignment");
  const names = new Set<string>();
  const w = new ByteWriter();
  w.u32(MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.size);
  for (const [key, v] of meta) {
    w.str(key);
    w.u32(v.type);
    if (v.type === GgufType.ARRAY) {
      w.u32(v.value.itemType);
      w.u64(v.value.items.length);
      for (const item of v.value.items) writeScalar(w, v.value.itemType, item, key);
    } else {
      writeScalar(w, v.type, v.value, key);
    }
  }
  let offset = 0;
  const layout: Array<{ t: GgufTensorToWrite; offset: number; bytes: number }> = [];
  for (const t of tensors) {
    if (names.has(t.name)) throw new MathtuneError(ErrorCode.gguf, `duplicate tensor name ${t.name}`);
    names.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    const type = t.type ?? GgmlType.F32;
    if ("raw" in t ? ggmlTypeBytes(type, n) !== t.raw.length : n !== t.data.length) {
      const has = "raw" in t ? `${t.raw.length} bytes` : `${t.data.length} elements`;
      throw new MathtuneError(ErrorCode.gguf, `tensor ${t.name}: shape [${t.shape.join(", ")}] has ${n} elements of ${ggmlTypeName(type)}, data has ${has}`);
    }
    w.str(t.name);
    w.u32(t.shape.length);
    for (const d of t.shape) w.u64(d);
    w.u32(type);
    w.u64(offset);
    if ("raw" in t) {
      layout.push({ t, offset, bytes: t.raw.length });
      offset += Math.ceil(t.raw.length / alignment) * alignment;
      continue;
    }
    if (type !== GgmlType.F32 && type !== GgmlType.F16 && type !== GgmlType.BF16 && type !== GgmlType.Q8_0) {
      throw new MathtuneError(ErrorCode.gguf, `tensor ${t.name}: cannot write type ${ggmlTypeName(type)} (F32, F16, BF16, Q8_0 only)`);
    }
    if (type === GgmlType.Q8_0 && t.shape[0] % 32 !== 0) throw new MathtuneError(ErrorCode.gguf, `tensor ${t.name}: Q8_0 rows must hold a multiple of 32 values (shape [${t.shape.join(", ")}])`);
    const bytes = ggmlTypeBytes(type, n) as number;
    layout.push({ t, offset, bytes });
    offset += Math.ceil(bytes / alignment) * alignment;
  }
  w.pad(alignment);
  const header = w.bytes();
  await withAtomicPath(path, (tmp) => {
    const fd = openSync(tmp, "w");
    try {
      writeAll(fd, header);
      let pos = header.length;
      for (const { t, offset: off, bytes } of layout) {
        const start = header.length + off;
        if (start > pos) {
          writeAll(fd, Buffer.alloc(start - pos));
          pos = start;
        }
        const type = t.type ?? GgmlType.F32;
        if ("raw" in t) {
          writeAll(fd, t.raw);
        } else if (type === GgmlType.Q8_0) {
          writeAll(fd, quantizeQ8_0(t.data));
        } else if (type !== GgmlType.F32) {
          const half = new Uint16Array(t.data.length);
          const conv = type === GgmlType.F16 ? f32ToF16 : f32ToBf16;
          for (let i = 0; i < t.data.length; i++) half[i] = conv(t.data[i]);
          writeAll(fd, new Uint8Array(half.buffer));
        } else {
          writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, bytes));
        }
        pos += bytes;
      }
      const end = header.length + offset;
      if (end > pos) writeAll(fd, Buffer.alloc(end - pos));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}
