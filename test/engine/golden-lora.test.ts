// Golden tests of LoRA: a base model in each stored type the engine keeps frozen (F32, F16, BF16,
// Q8_0) plus an adapter written by saveLoraGguf. Our forward pass (base constant in its stored
// type, adapter applied in the graph) and llama.cpp loading the same adapter through
// node-llama-cpp's `lora` option must agree on every next-token log-probability within 1e-3; a
// model merged by mergeLoraGguf must give llama.cpp the same log-probabilities as base + adapter.
//
// F16 on a CPU with AMX (ggml's `sapphirerapids` variant): llama.cpp puts F16 matrices in its AMX
// "extra" buffer type (on by default, `use_extra_bufts`; node-llama-cpp does not expose it), and
// that buffer multiplies an F16 matrix whose output size is a multiple of 32 by the F32
// activations as they are (ggml-cpu/amx/mmq.cpp, `is_floating_type`), where ggml's ordinary F16
// product, which our engine uses, first rounds the activations to F16. The two then differ by the
// F16 rounding of activations (about 1.5e-3 on these large-weight models), not by the model code.
// There the F16 cases compare the same arithmetic instead: our forward and llama.cpp's on an F32
// copy of the same values (1e-3), and each engine's F16 result against its own F32 one (5e-3).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend, cpuVariant } from "../../src/engine/backend.js";
import { loadFrozenModelGguf, loadModelGguf, saveModelGguf, type Weights } from "../../src/model/checkpoint.js";
import type { LlamaConfig } from "../../src/model/config.js";
import { GgmlType, readGguf } from "../../src/model/gguf.js";
import { initLora, loadLoraGguf, loraSpec, mergeLoraGguf, saveLoraGguf, type LoraSpec } from "../../src/model/lora.js";
import { Rng } from "../../src/util/rng.js";
import { ARCH_CASES, archTokenizer, promptIds, saveArchModel, type ArchName } from "../model/arch-fixtures.js";
import { bpeGgufMetadata } from "../model/bpe.js";
import { llamaCppLogProbs, maxAbsDiff, tsLogProbs } from "./logprobs.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-golden-lora-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const backend = Backend.create({ threads: 1 });
const TEXT = "Problem: What is 128+35? Solution: We add $128 + 35 = 163$.\nThe answer is \\boxed{163}.";

/** An adapter with non-zero B (a trained adapter's shape of update), so that every pair moves the output. */
function randomAdapter(config: LlamaConfig, spec: LoraSpec, seed: number): Weights {
  const w = initLora(config, spec, seed);
  const rng = new Rng(seed + 1);
  for (const [k, v] of w) if (k.endsWith(".lora_b")) for (let i = 0; i < v.length; i++) v[i] = rng.normal() * 0.3;
  return w;
}

const TYPES = [
  ["F32", GgmlType.F32],
  ["F16", GgmlType.F16],
  ["BF16", GgmlType.BF16],
  ["Q8_0", GgmlType.Q8_0],
] as const;

const CASES: Array<[ArchName, (typeof TYPES)[number]]> = [...TYPES.map((t): [ArchName, (typeof TYPES)[number]] => ["qwen2", t]), ["llama3", TYPES[1]]];
/** ggml's CPU variant built with AMX; llama.cpp's F16 products skip the activation rounding there. */
const AMX = cpuVariant() === "sapphirerapids";

for (const [name, [typeName, type]] of CASES) {
  test(`${ARCH_CASES[name].label}, ${typeName} base + adapter: TS forward matches llama.cpp within 1e-3`, async (t) => {
    const base = join(dir, `${name}-${typeName}.gguf`);
    await saveArchModel(base, name, { seed: 3, spread: 3, ...(type === GgmlType.F32 ? {} : { matrixType: type }) });
    const m = loadFrozenModelGguf(base);
    assert.equal(m.weights.get("blk.0.attn_q.weight")?.type, type, "the base stays in its stored type");
    const spec = loraSpec({ rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] });
    const adapter = join(dir, `${name}-${typeName}.lora.gguf`);
    await saveLoraGguf(adapter, { config: m.config, spec, weights: randomAdapter(m.config, spec, 5) });
    const loaded = loadLoraGguf(adapter, m.config);
    assert.deepEqual(loaded.spec, spec);
    const ids = await promptIds(base, TEXT);
    const reference = await llamaCppLogProbs(base, ids, m.config.vocabSize, true, adapter);
    const ours = tsLogProbs(m.config, loaded.weights, ids, backend, { spec, base: m.weights });
    const worst = maxAbsDiff(ours, reference);
    t.diagnostic(`max abs log-prob difference: ${worst.toExponential(2)} over ${ids.length} positions x ${m.config.vocabSize} tokens`);
    if (type === GgmlType.F16 && AMX) {
      // The same values stored as F32: no activation rounding in either engine.
      const copy = join(dir, `${name}-F16-as-F32.gguf`);
      const values = loadModelGguf(base);
      await saveModelGguf(copy, { config: values.config, tokenizer: bpeGgufMetadata(archTokenizer(name)), weights: values.weights, name: `tiny-${name}` });
      const m32 = loadFrozenModelGguf(copy);
      const ours32 = tsLogProbs(m32.config, loaded.weights, ids, backend, { spec, base: m32.weights });
      const cpp32 = await llamaCppLogProbs(copy, ids, m.config.vocabSize, true, adapter);
      const same = maxAbsDiff(ours32, cpp32);
      const oursF16 = maxAbsDiff(ours, ours32);
      const theirs = maxAbsDiff(reference, cpp32);
      t.diagnostic(`AMX CPU: F32 copy, ours vs llama.cpp ${same.toExponential(2)}; F16 vs F32 copy: ours ${oursF16.toExponential(2)}, llama.cpp ${theirs.toExponential(2)}`);
      assert.ok(same < 1e-3, `F32 copy: max abs log-prob difference ${same}`);
      assert.ok(oursF16 < 5e-3 && theirs < 5e-3, `F16 against the F32 copy: ours ${oursF16}, llama.cpp ${theirs}`);
    } else {
      assert.ok(worst < 1e-3, `max abs log-prob difference ${worst}`);
    }
    // The adapter matters: the base alone is far from llama.cpp's base + adapter.
    const zero = new Map([...loaded.weights].map(([k, v]) => [k, k.endsWith(".lora_b") ? new Float32Array(v.length) : v]));
    const without = maxAbsDiff(tsLogProbs(m.config, zero, ids, backend, { spec, base: m.weights }), reference);
    t.diagnostic(`without the adapter: ${without.toExponential(2)}`);
    assert.ok(without > 0.05, `the adapter moves the log-probs by only ${without}`);
  });
}

test("merge: base + adapter merged into one model gives llama.cpp the adapter's log-probs (1e-3), every base key kept", async (t) => {
  const base = join(dir, "merge-base.gguf");
  await saveArchModel(base, "qwen2", { seed: 6, spread: 3 });
  const m = loadModelGguf(base);
  const spec = loraSpec({ rank: 2, alpha: 4, targets: ["q", "v", "down"] });
  const adapter = join(dir, "merge.lora.gguf");
  await saveLoraGguf(adapter, { config: m.config, spec, weights: randomAdapter(m.config, spec, 8) });
  const merged = join(dir, "merged.gguf");
  await mergeLoraGguf({ base, lora: adapter, out: merged });
  const ids = await promptIds(base, TEXT);
  const viaAdapter = await llamaCppLogProbs(base, ids, m.config.vocabSize, true, adapter);
  const viaMerged = await llamaCppLogProbs(merged, ids, m.config.vocabSize, true);
  const worst = maxAbsDiff(viaAdapter, viaMerged);
  t.diagnostic(`llama.cpp, merged vs base + adapter: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `merged differs by ${worst}`);
  // Our engine: the merged model's forward equals the adapter applied in the graph (F32 base).
  const ours = maxAbsDiff(tsLogProbs(m.config, loadModelGguf(merged).weights, ids, backend), viaAdapter);
  t.diagnostic(`our merged forward vs llama.cpp base + adapter: ${ours.toExponential(2)}`);
  assert.ok(ours < 1e-3);
  const a = readGguf(base);
  const b = readGguf(merged);
  for (const [k, v] of a.metadata) assert.deepEqual(b.metadata.get(k), v, k);
  assert.deepEqual(
    b.tensors.map((x) => [x.name, x.type, x.shape]),
    a.tensors.map((x) => [x.name, x.type, x.shape]),
  );
  // Untargeted tensors are copied byte for byte; targeted ones moved.
  const mw = loadModelGguf(merged).weights;
  assert.deepEqual(mw.get("blk.0.attn_k.weight"), m.weights.get("blk.0.attn_k.weight"));
  assert.notDeepEqual(mw.get("blk.0.attn_q.weight"), m.weights.get("blk.0.attn_q.weight"));
});
