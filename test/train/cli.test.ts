// `mathtune train sft` end to end: child-process training, table and summary, input errors first.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeUppercaseTask } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-train-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", entry, "train", "sft", ...args], { encoding: "utf8" });
const data = join(dir, "upper.jsonl");
writeUppercaseTask(data, 60);

test("train sft trains in a child process and reports the model", () => {
  const out = join(dir, "run");
  const r = cli("--data", data, "--out", out, "--steps", "3", "--batch", "2", "--seq-len", "32", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Parameter\s+\| Value/);
  assert.match(r.stderr, /examples \(train \/ validation\)\s+\| 57 \/ 3/);
  assert.match(r.stdout, /trained 3 steps: loss \d+\.\d+, validation loss \d+\.\d+/);
  assert.ok(existsSync(join(out, "model.gguf")));
  assert.ok(existsSync(join(out, "checkpoint-3", "optimizer.gguf")));
});

test("train sft stops at the first bad record with file:line: field, before any training", () => {
  const bad = join(dir, "bad.jsonl");
  writeFileSync(bad, '{"prompt":"a=","completion":"A"}\n{"prompt":"b=","completion":""}\n');
  const out = join(dir, "bad-run");
  const r = cli("--data", bad, "--out", out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`error: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:2: field completion: `));
  assert.ok(!existsSync(out));
});

test("train sft refuses --base with --size, and an unknown size", () => {
  let r = cli("--data", data, "--out", join(dir, "x"), "--base", "m.gguf", "--size", "tiny");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--base and --size are exclusive/);
  r = cli("--data", data, "--out", join(dir, "x"), "--size", "huge");
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--size must be one of tiny, reference, demo, small \(got huge\)/);
});
