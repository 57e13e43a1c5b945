/** GGUF v3 writer: metadata and tensors into a new file, written atomically (gguf.ts: layout). */
import { closeSync, openSync, writeSync, fsyncSync } from "node:fs";
import { MathtuneError, ErrorCode } from "../errors.js";
import { withAtomicPath } from "../util/fs.js";
import { GgufType, GgmlType, ggmlTypeName, ggmlTypeBytes, type GgufMetadata, gv, MAGIC, DEFAULT_ALIGNMENT, f32ToF16, f32ToBf16, type GgufTensorToWrite, quantizeQ8_0 } from "./gguf-types.js";

/** Writes all of `data` at the current position (a single writeSync may write less). */
function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
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
