import { appendFileSync, existsSync, readFileSync, truncateSync, statSync, openSync, readSync, closeSync } from "node:fs";
import type { z } from "zod";
import { inputError, MathtuneError, ErrorCode } from "../errors.js";
import { writeFileAtomic } from "./fs.js";

/** One parsed line of a JSONL file with where it came from. */
export interface JsonlLine {
  /** 1-based line number in the file. */
  line: number;
  value: unknown;
}

/** Reads a JSONL file; blank lines are skipped; a line that is not JSON fails with `file:line:`. */
export function readJsonlRaw(file: string): JsonlLine[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new MathtuneError(ErrorCode.input, `${file}: cannot read file (${(err as Error).message})`, {
      hint: "check the path",
      cause: err,
    });
  }
  const out: JsonlLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw inputError(file, i + 1, `invalid JSON (${(err as Error).message})`, "each line must be one JSON object");
    }
    out.push({ line: i + 1, value });
  }
  return out;
}

/** Formats a zod issue path as `field` / `a.b[2]`. */
function fieldName(path: ReadonlyArray<PropertyKey>): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s === "" ? String(p) : `.${String(p)}`;
  return s === "" ? "(record)" : s;
}

/**
 * Parses one value with a zod schema; on failure throws `file:line: field X: message`.
 */
export function parseRecord<S extends z.ZodType>(schema: S, value: unknown, file: string, line: number): z.infer<S> {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const issue = res.error.issues[0];
  throw inputError(file, line, `field ${fieldName(issue.path)}: ${issue.message}`);
}

/** Reads and validates every line of a JSONL file. */
export function readJsonl<S extends z.ZodType>(file: string, schema: S): Array<z.infer<S>> {
  return readJsonlRaw(file).map(({ line, value }) => parseRecord(schema, value, file, line));
}

/** Serialises records as JSONL text (one object a line, trailing newline). */
export function toJsonl(records: Iterable<unknown>): string {
  let s = "";
  for (const r of records) s += JSON.stringify(r) + "\n";
  return s;
}

/** Writes a whole JSONL file atomically. */
export function writeJsonlAtomic(file: string, records: Iterable<unknown>): void {
  writeFileAtomic(file, toJsonl(records));
}

/** Appends records to a JSONL file (created if missing); one write call per batch. */
export function appendJsonl(file: string, records: Iterable<unknown>): void {
  const text = toJsonl(records);
  if (text !== "") appendFileSync(file, text);
}

/**
 * Prepares an append-only JSONL file for resuming: if the last line was cut off by a crash
 * (no trailing newline), it is removed. Returns the number of bytes dropped.
 */
export function repairJsonlTail(file: string): number {
  if (!existsSync(file)) return 0;
  const size = statSync(file).size;
  if (size === 0) return 0;
  let keep = 0;
  const fd = openSync(file, "r");
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return 0;
    const chunk = 65536;
    for (let pos = size; pos > 0; ) {
      const start = Math.max(0, pos - chunk);
      const buf = Buffer.alloc(pos - start);
      readSync(fd, buf, 0, buf.length, start);
      const idx = buf.lastIndexOf(0x0a);
      if (idx >= 0) {
        keep = start + idx + 1;
        break;
      }
      pos = start;
    }
  } finally {
    closeSync(fd);
  }
  truncateSync(file, keep);
  return size - keep;
}
