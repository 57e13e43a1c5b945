import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, basename, join } from "node:path";
import { randomBytes } from "node:crypto";

/** A temp path next to `path` (same directory, so the final rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

/**
 * Writes `data` to `path` atomically: a temp file in the same folder, fsync, then rename.
 * A reader never sees a half-written file, and a crash leaves the old file (or none).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data, "utf8") : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Runs `write(tmpPath)` then renames the temp file onto `path`; on any failure the temp file is
 * removed and `path` is left as it was. For writers that need a path (native code, streams).
 */
export async function withAtomicPath<T>(path: string, write: (tmpPath: string) => Promise<T> | T): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const result = await write(tmp);
    renameSync(tmp, path);
    return result;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
