/**
 * Content hashes for the stage cache and the run record: sha256 of files (streamed, so a
 * multi-gigabyte GGUF does not need to fit in memory) and of canonical JSON (sorted keys, so the
 * hash of a config slice does not depend on the order its fields were written in).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";

/** JSON with object keys sorted at every level; `undefined` fields are dropped as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** sha256 (hex) of a string. */
export function sha256Text(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** sha256 (hex) of a value's canonical JSON. */
export function sha256Json(value: unknown): string {
  return sha256Text(canonicalJson(value));
}

const memo = new Map<string, { size: number; mtimeMs: number; hash: string }>();

/**
 * sha256 (hex) of a file's bytes. Remembered per process by (path, size, mtime), so hashing the
 * same model for the cache key and for config.json reads it once.
 */
export function sha256File(path: string): string {
  const st = statSync(path);
  const known = memo.get(path);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.hash;
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  const hash = h.digest("hex");
  memo.set(path, { size: st.size, mtimeMs: st.mtimeMs, hash });
  return hash;
}
