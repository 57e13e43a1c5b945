import { writeFileSync } from "node:fs";

/** GGUF metadata value types used here. */
const T = { u32: 4, string: 8, array: 9 } as const;

type Meta = Record<string, string | number | string[]>;

/**
 * Writes a GGUF v3 file holding only metadata (no tensors): enough for node-llama-cpp's
 * metadata reader, which is all the chat-template path uses.
 */
export function writeMetadataOnlyGguf(path: string, meta: Meta): void {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const str = (s: string) => {
    const b = Buffer.from(s, "utf8");
    u64(b.length);
    parts.push(b);
  };
  parts.push(Buffer.from("GGUF", "ascii"));
  u32(3);
  u64(0);
  u64(Object.keys(meta).length);
  for (const [k, v] of Object.entries(meta)) {
    str(k);
    if (typeof v === "string") {
      u32(T.string);
      str(v);
    } else if (typeof v === "number") {
      u32(T.u32);
      u32(v);
    } else {
      u32(T.array);
      u32(T.string);
      u64(v.length);
      for (const s of v) str(s);
    }
  }
  let buf = Buffer.concat(parts);
  const pad = (32 - (buf.length % 32)) % 32;
  buf = Buffer.concat([buf, Buffer.alloc(pad)]);
  writeFileSync(path, buf);
}
