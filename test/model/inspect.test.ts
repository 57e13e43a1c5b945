import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { saveTinyModel, tempDir } from "./fixtures.js";
import { saveArchModel } from "./arch-fixtures.js";
import { gv, readGguf, readTensorF32, writeGguf } from "../../src/model/gguf.js";

/** Runs the CLI from source in a child process (the test runner owns this process's stdout). */
export function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const entry = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", entry, ...args],
      { encoding: "utf8" },
      (error, out, err) => resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, out, err }),
    );
  });
}

test("mathtune inspect prints sizes, tensors and tokenizer; --json is machine-readable", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "m.gguf");
    const { config, tokenizer } = await saveTinyModel(path, { overrides: { nKvHeads: 2 } });
    const text = await runCli(["inspect", path]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /architecture\s+llama/);
    assert.match(text.out, /heads \(q \/ kv\)\s+4 \/ 2 \(head dim 16\)/);
    assert.match(text.out, /blk\.1\.attn_k\.weight\s+F32\s+\[64, 32\]/);
    assert.match(text.out, /character vocabulary: 100 characters \+ 256 byte tokens/);
    const json = await runCli(["inspect", "--json", path]);
    const s = JSON.parse(json.out) as { config: typeof config; parameters: number; tokenizer: { kind: string; tokens: number } };
    assert.deepEqual(s.config, config);
    assert.equal(s.tokenizer.kind, "char");
    assert.equal(s.tokenizer.tokens, tokenizer.vocabSize);
    assert.ok(s.parameters > 100_000);
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, "not a model");
    const r = await runCli(["inspect", bad]);
    assert.equal(r.code, 1);
    assert.match(r.err, /error: .*bad\.gguf: not a GGUF file/);
  } finally {
    cleanup();
  }
});

test("mathtune inspect shows a qwen2 model's biases and NeoX RoPE, and why a YaRN model cannot be trained", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "q.gguf");
    await saveArchModel(path, "qwen2");
    const text = await runCli(["inspect", path]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /architecture\s+qwen2/);
    assert.match(text.out, /rope\s+neox, base 1000000/);
    assert.match(text.out, /q\/k\/v bias\s+yes/);
    assert.match(text.out, /blk\.0\.attn_q\.bias\s+F32\s+\[64\]/);
    assert.match(text.out, /tokenizer\s+gpt2, 410 tokens, external/);
    const f = readGguf(path);
    const meta = new Map(f.metadata).set("qwen2.rope.scaling.type", gv.str("yarn"));
    const yarn = join(dir, "yarn.gguf");
    await writeGguf(yarn, meta, f.tensors.map((t) => ({ name: t.name, shape: t.shape, data: readTensorF32(f, t.name) })));
    const r = await runCli(["inspect", yarn]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trainable\s+no: .*qwen2\.rope\.scaling\.type is "yarn"/);
  } finally {
    cleanup();
  }
});
