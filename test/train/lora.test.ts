// LoRA fine-tuning through the SFT trainer: the loss falls with only the adapter trained, the
// result is an adapter llama.cpp (node-llama-cpp) applies as our engine does, resume is
// bit-for-bit, and bad settings fail with usage errors before anything is loaded.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend } from "../../src/engine/backend.js";
import { MathtuneError } from "../../src/errors.js";
import { loadFrozenModelGguf, loadModelGguf } from "../../src/model/checkpoint.js";
import { GgmlType, readGguf } from "../../src/model/gguf.js";
import { loadLoraGguf } from "../../src/model/lora.js";
import { loadLoraCheckpoint } from "../../src/train/checkpoints.js";
import { runSft, type SftOptions } from "../../src/train/sft.js";
import { llamaCppLogProbs, maxAbsDiff, tsLogProbs } from "../engine/logprobs.js";
import { mathCorpus, promptIds, saveArchModel } from "../model/arch-fixtures.js";
import { writeUppercaseTask } from "./helpers.js";
import { TEST_DEVICE, deviceSkip } from "../device.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-lora-"));
after(() => rmSync(dir, { recursive: true, force: true }));
// The engine's own log-probs are computed where the run trained (the CPU when the GPU is missing).
const backend = Backend.create({ kind: deviceSkip() ? "cpu" : TEST_DEVICE, threads: 1 });
const data = join(dir, "upper.jsonl");
writeUppercaseTask(data, 400);
const sha = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
const stepLosses = (out: string): number[] =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { loss: number }).loss);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * The base: a tiny char-vocabulary model after 60 full SFT steps on the toy task (a frozen random
 * model could not be adapted: its frozen output projection keeps every distribution near uniform).
 */
async function charBase(): Promise<string> {
  const out = join(dir, "char-base");
  if (!existsSync(join(out, "model.gguf"))) await runSft({ data, out, steps: 60, batch: 8, seqLen: 32, lr: 3e-3, threads: 1, seed: 7, valFraction: 0 });
  return join(out, "model.gguf");
}

test(`LoRA on the toy task (${TEST_DEVICE}): the loss falls with only the adapter trained; the base file is untouched`, { skip: deviceSkip() }, async (t) => {
  const base = await charBase();
  const before = sha(base);
  const out = join(dir, "toy");
  const r = await runSft({ data, out, base, loraRank: 8, loraAlpha: 32, steps: 60, batch: 8, seqLen: 32, lr: 1e-2, warmup: 5, threads: 1, evalEvery: 30, device: TEST_DEVICE });
  const losses = stepLosses(out);
  const first = mean(losses.slice(0, 3));
  const last = mean(losses.slice(-3));
  t.diagnostic(`training loss ${first.toFixed(3)} -> ${last.toFixed(3)}, validation ${r.valLoss?.toFixed(3)} after ${r.step} steps`);
  // About 1.83 -> 1.55 nats here (a full fine-tune of every tensor gets further in as many steps).
  assert.ok(last < 0.9 * first, `loss ${first} -> ${last}`);
  assert.equal(r.modelPath, null);
  assert.equal(r.adapterPath, join(out, "adapter.gguf"));
  assert.ok(!existsSync(join(out, "model.gguf")));
  assert.equal(sha(base), before);
  // The checkpoint holds the adapter and AdamW state for its tensors only.
  const ck = loadLoraCheckpoint(r.checkpoint, loadModelGguf(base).config);
  assert.ok(!existsSync(join(r.checkpoint, "model.gguf")));
  assert.deepEqual([...ck.optimizer.m.keys()], [...ck.adapter.weights.keys()]);
  assert.ok([...ck.adapter.weights.keys()].every((k) => /\.lora_[ab]$/.test(k)));
  const meta = readGguf(r.adapterPath!).metadata;
  assert.equal(meta.get("general.type")?.value, "adapter");
  assert.equal(meta.get("adapter.type")?.value, "lora");
  assert.equal(meta.get("adapter.lora.alpha")?.value, 32);
});

test(`LoRA fine-tune of a qwen2-shaped F16 model (BPE, ${TEST_DEVICE}): loss falls, the adapter loads in node-llama-cpp, log-probs agree within 1e-3`, { skip: deviceSkip() }, async (t) => {
  const base = join(dir, "qwen2-f16.gguf");
  await saveArchModel(base, "qwen2", { seed: 4, spread: 2, f16: true });
  const corpus = join(dir, "qwen2.jsonl");
  const lines = mathCorpus(9, 40).split("\n").filter((l) => l.length > 30);
  writeFileSync(corpus, lines.map((l, i) => JSON.stringify({ prompt: `Q${i}: ${l.slice(0, 20)}`, completion: l.slice(20) })).join("\n") + "\n");
  const out = join(dir, "qwen2-lora");
  const r = await runSft({ data: corpus, out, base, loraRank: 4, loraAlpha: 8, loraTargets: ["q", "v", "o", "down"], steps: 24, batch: 2, seqLen: 64, lr: 2e-2, warmup: 0, threads: 1, valFraction: 0, device: TEST_DEVICE });
  const losses = stepLosses(out);
  t.diagnostic(`training loss ${mean(losses.slice(0, 3)).toFixed(3)} -> ${mean(losses.slice(-3)).toFixed(3)}`);
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)) - 0.15, `loss ${losses.join(", ")}`);
  const m = loadFrozenModelGguf(base);
  assert.equal(m.weights.get("blk.0.attn_q.weight")?.type, GgmlType.F16);
  const ad = loadLoraGguf(r.adapterPath!, m.config);
  assert.deepEqual(ad.spec, { rank: 4, alpha: 8, targets: ["q", "v", "o", "down"] });
  const ids = await promptIds(base, "Problem: What is 128+35? Solution: We add $128 + 35 = 163$.");
  const reference = await llamaCppLogProbs(base, ids, m.config.vocabSize, true, r.adapterPath!);
  const worst = maxAbsDiff(tsLogProbs(m.config, ad.weights, ids, backend, { spec: ad.spec, base: m.weights }), reference);
  t.diagnostic(`max abs log-prob difference, trained adapter: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
  const baseOnly = maxAbsDiff(await llamaCppLogProbs(base, ids, m.config.vocabSize, true), reference);
  t.diagnostic(`llama.cpp with vs without the adapter: ${baseOnly.toExponential(2)}`);
  assert.ok(baseOnly > 1e-2, `the trained adapter changes llama.cpp's log-probs by only ${baseOnly}`);
});

test("an interrupted LoRA run resumed with --resume ends bit-for-bit where an uninterrupted one does", async () => {
  const base = await charBase();
  const opts: Omit<SftOptions, "out"> = { data, base, loraRank: 4, loraTargets: ["q", "k", "v", "o"], steps: 6, batch: 4, seqLen: 32, lr: 5e-3, threads: 1, evalEvery: 2 };
  const straight = await runSft({ ...opts, out: join(dir, "straight") });
  let stopAfter = 3;
  const first = await runSft({ ...opts, out: join(dir, "split") }, { shouldStop: () => stopAfter-- <= 0 });
  assert.deepEqual([first.stopped, first.step, first.adapterPath], [true, 3, null]);
  const second = await runSft({ ...opts, out: join(dir, "split"), resume: true });
  assert.equal(second.step, 6);
  assert.equal(sha(second.adapterPath!), sha(straight.adapterPath!));
  // Resuming with other LoRA settings, or as a full fine-tune, is refused.
  const again = { ...opts, out: join(dir, "split"), resume: true, steps: 8 };
  await assert.rejects(runSft({ ...again, loraRank: 8 }), (e: MathtuneError) => e.code === "E_USAGE" && /lora was/.test(e.message));
  const { loraRank: _r, loraTargets: _t, ...full } = again;
  await assert.rejects(runSft(full), (e: MathtuneError) => e.code === "E_USAGE" && /trains a LoRA adapter, but --lora-rank is not given/.test(e.message));
});

test("LoRA settings: usage errors for a missing rank or base, a bad target, alpha <= 0; a Q4_0 base names the type", async () => {
  const usage = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_USAGE" && re.test(e.message);
  const out = join(dir, "bad");
  await assert.rejects(runSft({ data, out, loraRank: 4 }), usage(/--lora-rank needs --base/));
  const base = await charBase();
  await assert.rejects(runSft({ data, out, base, loraAlpha: 4 }), usage(/need --lora-rank/));
  await assert.rejects(runSft({ data, out, base, loraRank: 4, loraTargets: ["q", "qkv"] }), usage(/unknown target "qkv"/));
  await assert.rejects(runSft({ data, out, base, loraRank: 0 }), usage(/--lora-rank must be a positive integer/));
  await assert.rejects(runSft({ data, out, base, loraRank: 4, loraAlpha: 0 }), usage(/--lora-alpha must be a positive number/));
  // A Q4_0 base: rewrite one matrix's type field and cut its data to Q4_0's block size.
  const m = loadModelGguf(base);
  const q4 = join(dir, "q4.gguf");
  const buf = readFileSync(base);
  const name = Buffer.from("blk.0.attn_q.weight");
  const info = readGguf(base).tensors.find((x) => x.name === "blk.0.attn_q.weight")!;
  buf.writeUInt32LE(2 /* Q4_0 */, buf.indexOf(name) + name.length + 4 + 8 * info.shape.length);
  writeFileSync(q4, buf);
  assert.equal(readGguf(q4).tensors.find((x) => x.name === info.name)?.type, 2);
  assert.ok(m.config.dModel % 32 === 0);
  await assert.rejects(
    runSft({ data, out, base: q4, loraRank: 4, steps: 1, threads: 1 }),
    (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && /blk\.0\.attn_q\.weight has type Q4_0; only F32, F16, BF16, Q8_0/.test(e.message) && /LoRA needs the base/.test(e.hint ?? ""),
  );
});
