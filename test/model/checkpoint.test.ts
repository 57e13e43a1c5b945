import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readdirSync } from "node:fs";
import { presetConfig } from "../../src/model/config.js";
import { initWeights, loadModelGguf, parameterCount, saveModelGguf, tensorShapes } from "../../src/model/checkpoint.js";
import { GgmlType, gv, readGguf, readTensorF32, writeGguf, type GgufMetadata, type GgufTensorToWrite } from "../../src/model/gguf.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { MathtuneError } from "../../src/errors.js";
import { getLlamaCpu } from "../../src/sample/llama.js";
import type { Token } from "node-llama-cpp";
import { saveTinyModel, tempDir, testTokenizer } from "./fixtures.js";
import { saveArchModel } from "./arch-fixtures.js";

const isGgufError = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && re.test(e.message);

test("tensor shapes follow llama.cpp's ne order, with k/v sized for the kv heads", () => {
  const c = presetConfig("small", 300); // 8 heads, 4 kv heads, d 256 → head dim 32
  const s = new Map(tensorShapes(c).map((t) => [t.name, t.shape]));
  assert.deepEqual(s.get("token_embd.weight"), [256, 300]);
  assert.deepEqual(s.get("blk.0.attn_q.weight"), [256, 256]);
  assert.deepEqual(s.get("blk.0.attn_k.weight"), [256, 128]);
  assert.deepEqual(s.get("blk.0.attn_v.weight"), [256, 128]);
  assert.deepEqual(s.get("blk.5.attn_output.weight"), [256, 256]);
  assert.deepEqual(s.get("blk.5.ffn_gate.weight"), [256, 768]);
  assert.deepEqual(s.get("blk.5.ffn_down.weight"), [768, 256]);
  assert.deepEqual(s.get("output.weight"), [256, 300]);
  assert.equal(s.size, 1 + 6 * 9 + 2);
  assert.ok(!tensorShapes({ ...c, tiedOutput: true }).some((t) => t.name === "output.weight"));
  // reference model: 3.4M parameters with a ~100 char vocab, as the engine notes measure
  assert.equal(parameterCount(presetConfig("reference", 99)), 99 * 256 * 2 + 4 * (2 * 256 + 4 * 256 * 256 + 3 * 256 * 768) + 256);
});

test("initWeights is seeded and scaled: std 0.02, residual projections / sqrt(2L), norms 1", () => {
  const c = presetConfig("tiny", 100);
  const a = initWeights(c, 7);
  const b = initWeights(c, 7);
  const d = initWeights(c, 8);
  assert.deepEqual(a.get("blk.1.attn_q.weight"), b.get("blk.1.attn_q.weight"));
  assert.notDeepEqual(a.get("blk.1.attn_q.weight"), d.get("blk.1.attn_q.weight"));
  const std = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
  assert.ok(Math.abs(std(a.get("token_embd.weight")!) - 0.02) < 0.001);
  assert.ok(Math.abs(std(a.get("blk.0.ffn_down.weight")!) - 0.02 / Math.sqrt(4)) < 0.0008);
  assert.ok(Math.abs(std(a.get("blk.0.attn_output.weight")!) - 0.01) < 0.0008);
  assert.ok(a.get("output_norm.weight")!.every((v) => v === 1));
  assert.throws(() => initWeights({ ...c, nHeads: 3 }, 1), /not a multiple/);
});

test("save → load round-trips config, tokenizer and weights (F32 exact, F16 close)", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tok = testTokenizer();
    const config = presetConfig("tiny", tok.vocabSize, { nKvHeads: 2, tiedOutput: true, rmsEps: 1e-6, ropeFreqBase: 500000 });
    const weights = initWeights(config, 3);
    const p32 = join(dir, "m32.gguf");
    await saveModelGguf(p32, { config, tokenizer: tok, weights });
    const m = loadModelGguf(p32);
    assert.deepEqual(m.config, config);
    assert.deepEqual(m.tokenizer?.chars, tok.chars);
    assert.deepEqual([...m.weights.keys()], [...weights.keys()]);
    for (const [k, v] of weights) assert.deepEqual(m.weights.get(k), v, k);

    const p16 = join(dir, "m16.gguf");
    await saveModelGguf(p16, { config, tokenizer: tok, weights, f16: true });
    const f = readGguf(p16);
    assert.equal(f.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.type, GgmlType.F16);
    assert.equal(f.tensors.find((t) => t.name === "blk.0.attn_norm.weight")?.type, GgmlType.F32);
    const m16 = loadModelGguf(p16);
    let maxErr = 0;
    for (const [k, v] of weights) {
      const w = m16.weights.get(k)!;
      for (let i = 0; i < v.length; i++) maxErr = Math.max(maxErr, Math.abs(w[i] - v[i]));
    }
    assert.ok(maxErr > 0 && maxErr < 1e-4, `F16 error ${maxErr}`);
    assert.deepEqual(readdirSync(dir).sort(), ["m16.gguf", "m32.gguf"], "no temp files left");
  } finally {
    cleanup();
  }
});

test("an external-style llama GGUF (BF16/F16 weights, subword vocab, rope_freqs) loads as F32 and saves back with its keys", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const config = presetConfig("tiny", 6, { tiedOutput: true });
    const weights = initWeights(config, 5);
    const meta = new Map([
      ["general.architecture", gv.str("llama")],
      ["llama.context_length", gv.u32(64)],
      ["llama.embedding_length", gv.u32(64)],
      ["llama.block_count", gv.u32(2)],
      ["llama.feed_forward_length", gv.u32(192)],
      ["llama.attention.head_count", gv.u32(4)],
      ["llama.attention.layer_norm_rms_epsilon", gv.f32(1e-5)],
      ["general.license", gv.str("apache-2.0")],
      ["mathtune.evaluator.template", gv.str("not carried over")],
      ["tokenizer.ggml.model", gv.str("llama")],
      ["tokenizer.ggml.tokens", gv.arr(8, ["<unk>", "<s>", "</s>", "▁the", "▁a", "ing"])],
      ["tokenizer.ggml.scores", gv.arr(6, [0, 0, 0, -1, -2, -3])],
      ["tokenizer.ggml.token_type", gv.arr(5, [2, 3, 3, 1, 1, 1])],
    ]);
    const tensors: GgufTensorToWrite[] = tensorShapes(config).map(({ name, shape }) => ({
      name,
      shape,
      data: weights.get(name)!,
      type: name.includes("attn") && shape.length > 1 ? GgmlType.BF16 : shape.length > 1 ? GgmlType.F16 : GgmlType.F32,
    }));
    const factors = [1, 1, 1, 1.5, 2, 4, 8, 8];
    tensors.push({ name: "rope_freqs.weight", shape: [8], data: Float32Array.from(factors), type: GgmlType.F32 });
    const path = join(dir, "ext.gguf");
    await writeGguf(path, meta as never, tensors);
    const m = loadModelGguf(path);
    assert.equal(m.config.vocabSize, 6, "vocab size from token_embd when llama.vocab_size is absent");
    assert.equal(m.config.nKvHeads, 4, "head_count_kv defaults to head_count");
    assert.equal(m.config.tiedOutput, true);
    assert.equal(m.tokenizer, undefined, "a subword vocabulary is not a CharTokenizer");
    assert.deepEqual(m.config.ropeFactors, factors, "Llama 3 RoPE factors read from rope_freqs.weight");
    assert.equal(m.config.qkvBias, undefined);
    assert.deepEqual([...m.keptMetadata.keys()].sort(), ["general.license", "tokenizer.ggml.model", "tokenizer.ggml.scores", "tokenizer.ggml.token_type", "tokenizer.ggml.tokens"]);
    const q = m.weights.get("blk.0.attn_q.weight")!;
    const q0 = weights.get("blk.0.attn_q.weight")!;
    assert.ok(q.every((v, i) => Math.abs(v - q0[i]) <= Math.abs(q0[i]) / 128 + 1e-30), "BF16 → F32");
    // Fine-tuned external models are saved with their own tokenizer metadata.
    const out = join(dir, "tuned.gguf");
    await saveModelGguf(out, { config: m.config, tokenizer: m.keptMetadata, weights: m.weights });
    const back = loadModelGguf(out);
    assert.deepEqual(back.keptMetadata, m.keptMetadata);
    assert.deepEqual(back.config, m.config);
    assert.deepEqual(readTensorF32(readGguf(out), "rope_freqs.weight"), Float32Array.from(factors));
    assert.deepEqual(back.weights.get("blk.1.ffn_up.weight"), m.weights.get("blk.1.ffn_up.weight"));
  } finally {
    cleanup();
  }
});

test("non-llama architecture, missing tensors and unreadable files fail with E_GGUF", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, "gpt2.gguf");
    await writeGguf(p, new Map([["general.architecture", gv.str("gpt2")]]), []);
    assert.throws(() => loadModelGguf(p), isGgufError(/general.architecture is "gpt2"; supported: "llama", "qwen2"/));
    const q = join(dir, "noarch.gguf");
    await writeGguf(q, new Map(), []);
    assert.throws(() => loadModelGguf(q), isGgufError(/architecture is missing/));
    assert.throws(() => loadModelGguf(join(dir, "absent.gguf")), isGgufError(/cannot open/));
    // a shape that does not match the config
    const tok = testTokenizer();
    const config = presetConfig("tiny", tok.vocabSize);
    const wrong = join(dir, "wrong.gguf");
    await saveModelGguf(wrong, { config, tokenizer: tok, weights: initWeights(config, 1) });
    const f = readGguf(wrong);
    const meta = new Map(f.metadata);
    meta.set("llama.feed_forward_length", gv.u32(100));
    await writeGguf(wrong, meta, []);
    assert.throws(() => loadModelGguf(wrong), isGgufError(/missing tensor token_embd.weight/));
  } finally {
    cleanup();
  }
});

test("saveModelGguf refuses a tokenizer that does not match the vocabulary size", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const tok = CharTokenizer.ascii();
    const config = presetConfig("tiny", tok.vocabSize + 1);
    await assert.rejects(saveModelGguf(join(dir, "x.gguf"), { config, tokenizer: tok, weights: initWeights(config, 1) }), /tokenizer has/);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    cleanup();
  }
});

test("llama.cpp loads our random models (MHA and GQA, tied and untied) and generates", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const llama = await getLlamaCpu();
    for (const overrides of [{}, { nKvHeads: 2, tiedOutput: true }]) {
      const path = join(dir, "m.gguf");
      const { tokenizer } = await saveTinyModel(path, { overrides, spread: 20 });
      const model = await llama.loadModel({ modelPath: path });
      try {
        const ctx = await model.createContext({ contextSize: 64, threads: 1 });
        const seq = ctx.getSequence();
        const out: number[] = [];
        for await (const t of seq.evaluate([tokenizer.bosId, ...tokenizer.encode("1+1=")] as Token[], { temperature: 0, yieldEogToken: true })) {
          out.push(t);
          if (out.length >= 12) break;
        }
        assert.equal(out.length, 12);
        assert.ok(out.every((t) => t >= 0 && t < tokenizer.vocabSize));
        await ctx.dispose();
      } finally {
        await model.dispose();
      }
    }
  } finally {
    cleanup();
  }
});

const ropeFreqs = (n: number): GgufTensorToWrite => ({ name: "rope_freqs.weight", shape: [n], data: new Float32Array(n).fill(1) });

/** Copies a GGUF model with edited metadata and tensors. */
async function rewrite(from: string, to: string, edit: { meta?: (m: GgufMetadata) => void; tensors?: (t: GgufTensorToWrite[]) => GgufTensorToWrite[] }): Promise<void> {
  const f = readGguf(from);
  const meta = new Map(f.metadata);
  edit.meta?.(meta);
  let tensors: GgufTensorToWrite[] = f.tensors.map((t) => ({ name: t.name, shape: t.shape, data: readTensorF32(f, t.name) }));
  if (edit.tensors) tensors = edit.tensors(tensors);
  await writeGguf(to, meta, tensors);
}

test("a qwen2 model round-trips; settings the engine does not compute fail with E_GGUF naming the file and the field", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "qwen2.gguf");
    const { config, weights } = await saveArchModel(path, "qwen2");
    const m = loadModelGguf(path);
    assert.deepEqual(m.config, config);
    assert.equal(m.config.qkvBias, true);
    assert.deepEqual(m.weights.get("blk.1.attn_k.bias"), weights.get("blk.1.attn_k.bias"));
    assert.equal(readGguf(path).metadata.get("qwen2.attention.head_count_kv")?.value, 2);
    const llama3 = join(dir, "llama3.gguf");
    await saveArchModel(llama3, "llama3");
    const cases: Array<[string, string, Parameters<typeof rewrite>[2], RegExp]> = [
      ["YaRN scaling", path, { meta: (x) => x.set("qwen2.rope.scaling.type", gv.str("yarn")) }, /qwen2\.rope\.scaling\.type is "yarn"/],
      ["a separate head size", path, { meta: (x) => x.set("qwen2.attention.key_length", gv.u32(8)) }, /qwen2\.attention\.key_length is 8 but d_model \/ heads is 16/],
      ["experts", path, { meta: (x) => x.set("qwen2.expert_count", gv.u32(4)) }, /qwen2\.expert_count is 4/],
      ["a missing key", path, { meta: (x) => x.delete("qwen2.attention.layer_norm_rms_epsilon") }, /metadata qwen2\.attention\.layer_norm_rms_epsilon is missing/],
      ["an output bias", path, { tensors: (t) => [...t, { name: "output.bias", shape: [config.vocabSize], data: new Float32Array(config.vocabSize) }] }, /tensor output\.bias is not part of the qwen2 decoder/],
      ["biases on some layers only", path, { tensors: (t) => t.filter((x) => x.name !== "blk.1.attn_k.bias") }, /some layers have attn_q\/k\/v biases/],
      ["RoPE factors on qwen2", path, { tensors: (t) => [...t, ropeFreqs(8)] }, /tensor rope_freqs\.weight is not part of the qwen2 decoder/],
      ["wrong RoPE factor count", llama3, { tensors: (t) => [...t.filter((x) => x.name !== "rope_freqs.weight"), ropeFreqs(3)] }, /rope_freqs\.weight has shape \[3\], expected \[8\]/],
    ];
    for (const [label, from, edit, re] of cases) {
      const p = join(dir, `${label.replaceAll(" ", "-")}.gguf`);
      await rewrite(from, p, edit);
      assert.throws(
        () => loadModelGguf(p),
        (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && e.message.startsWith(p) && re.test(e.message),
        label,
      );
    }
  } finally {
    cleanup();
  }
});
