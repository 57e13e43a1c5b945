/** GGUF v3 reader: header, metadata and tensor infos, then tensor data on demand (gguf.ts: layout). */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { MathtuneError, ErrorCode } from "../errors.js";
import { GgufType, GgmlType, ggmlTypeName, ggmlTypeBytes, type GgufArray, type GgufValue, type GgufMetadata, type GgufTensorInfo, type GgufFile, MAGIC, DEFAULT_ALIGNMENT, ggufError, shortestF32, f16ToF32, dequantizeQ8_0 } from "./gguf-types.js";

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
