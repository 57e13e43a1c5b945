// LoRA end to end through the CLI: `train sft --lora-rank` writes an adapter, `merge` folds it into
// the base, and `sample --lora` / LocalModel.open(path, {lora}) apply it in llama.cpp, where the
// merged model and base + adapter agree; a mismatched adapter is refused before llama.cpp sees it.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MathtuneError } from "../../src/errors.js";
import { readGguf } from "../../src/model/gguf.js";
import { LocalModel } from "../../src/sample/local.js";
import { saveArchModel } from "../model/arch-fixtures.js";
import { writeUppercaseTask } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-lora-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", entry, ...args], { encoding: "utf8" });
const data = join(dir, "upper.jsonl");
writeUppercaseTask(data, 60);
const problems = join(dir, "problems.jsonl");
writeFileSync(problems, JSON.stringify({ id: "p1", problem: "abc", answer: "ABC" }) + "\n");

test("train sft --lora-rank writes an adapter; merge folds it in; sample --lora and the merged model agree in llama.cpp", async () => {
  const baseRun = join(dir, "base");
  let r = cli("train", "sft", "--data", data, "--out", baseRun, "--steps", "20", "--batch", "4", "--seq-len", "32", "--lr", "3e-3", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  const base = join(baseRun, "model.gguf");
  const run = join(dir, "lora");
  r = cli("train", "sft", "--data", data, "--out", run, "--base", base, "--lora-rank", "4", "--lora-alpha", "16", "--lora-targets", "q,v,down", "--steps", "8", "--lr", "2e-2", "--batch", "4", "--seq-len", "32", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /LoRA rank \/ alpha \/ targets \(trained parameters\)\s+\| 4 \/ 16 \/ q,v,down \(\d[\d,]*\)/);
  const adapter = join(run, "adapter.gguf");
  assert.match(r.stdout, new RegExp(`adapter: ${adapter.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} \\(base `));
  assert.ok(existsSync(adapter) && !existsSync(join(run, "model.gguf")));

  const merged = join(dir, "merged.gguf");
  r = cli("merge", "--base", base, "--lora", adapter, "--out", merged);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /merged 6 matrices/);
  assert.deepEqual(
    readGguf(merged).tensors.map((t) => t.name),
    readGguf(base).tensors.map((t) => t.name),
  );

  // Base + adapter in llama.cpp equals the merged model, and differs from the base alone.
  const prompt = "abcde=";
  const cont = "ABCDE";
  const score = async (path: string, lora?: string): Promise<number[]> => {
    const m = await LocalModel.open(path, { threads: 1, parallel: 1, ...(lora ? { lora } : {}) });
    try {
      return (await m.continuationLogprobs(prompt, cont)).logprobs;
    } finally {
      await m.close();
    }
  };
  const withAdapter = await score(base, adapter);
  const viaMerged = await score(merged);
  const plain = await score(base);
  const diff = (a: number[], b: number[]): number => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
  assert.ok(diff(withAdapter, viaMerged) < 1e-3, `merged vs adapter: ${diff(withAdapter, viaMerged)}`);
  assert.ok(diff(withAdapter, plain) > 1e-3, "the adapter changes the log-probs");

  // sample --lora runs the adapter through the sampler path.
  const samples = join(dir, "samples.jsonl");
  r = cli("sample", "--data", problems, "--out", samples, "--model", base, "--lora", adapter, "--greedy", "--max-tokens", "8", "--threads", "1", "--quiet", "--template", "{problem}=");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(samples, "utf8").trim().split("\n").length, 1);
});

test("an adapter of another model is refused with E_GGUF naming the file, in LocalModel.open and merge", async () => {
  const qwen = join(dir, "qwen2.gguf");
  await saveArchModel(qwen, "qwen2", { seed: 2 });
  const baseRun = join(dir, "base2");
  let r = cli("train", "sft", "--data", data, "--out", baseRun, "--steps", "1", "--batch", "2", "--seq-len", "32", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  const run = join(dir, "lora2");
  r = cli("train", "sft", "--data", data, "--out", run, "--base", join(baseRun, "model.gguf"), "--lora-rank", "2", "--steps", "1", "--batch", "2", "--seq-len", "32", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  const adapter = join(run, "adapter.gguf");
  await assert.rejects(
    LocalModel.open(qwen, { threads: 1, parallel: 1, lora: adapter }),
    (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && e.message.startsWith(adapter) && /general.architecture is "llama" but the base model is "qwen2"/.test(e.message),
  );
  r = cli("merge", "--base", qwen, "--lora", adapter, "--out", join(dir, "x.gguf"));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /general.architecture is "llama" but the base model is "qwen2"/);
  r = cli("sample", "--data", problems, "--out", join(dir, "s.jsonl"), "--server", "http://127.0.0.1:9", "--lora", adapter);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--lora applies to a local --model/);
});
