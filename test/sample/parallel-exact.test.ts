// Samples and scores of a local model do not depend on how many sequences share a decode batch:
// parallel 16 gives the texts and per-token log-probabilities of parallel 1 (docs/sampling.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { LocalModel } from "../../src/sample/local.js";
import { runSampling } from "../../src/sample/run.js";
import { synthesizeWorld, synthToProblem } from "../../src/data/synth/world.js";
import { generatorPrompt } from "../../src/data/prompts.js";
import { readJsonl } from "../../src/util/jsonl.js";
import { SampleSchema, type Problem, type Sample } from "../../src/data/records.js";
import { tempDir } from "../model/fixtures.js";

const DEMO_BASE = fileURLToPath(new URL("../../models/demo-base.gguf", import.meta.url));
const tmp = tempDir();
const problems: Problem[] = synthesizeWorld({ seed: 3, n: 1, validation: 0, test: 8, levels: [1, 2, 3], skills: ["arithmetic", "fractions", "linear", "modular", "gcd-lcm", "expression"], maxChars: 160 }).test.map((t) => synthToProblem(t, "detailed"));
const prompt = (p: Problem): string => generatorPrompt(p.problem);
let one: LocalModel;
let many: LocalModel;
// The same 16 sequences split over two contexts decoding side by side.
let split: LocalModel;

before(async () => {
  // The demo's base model at the demo's sampling context.
  one = await LocalModel.open(DEMO_BASE, { threads: 1, parallel: 1, contextSize: 192 });
  many = await LocalModel.open(DEMO_BASE, { threads: 1, parallel: 16, contextSize: 192 });
  split = await LocalModel.open(DEMO_BASE, { threads: 1, parallel: 16, contexts: 2, contextSize: 192 });
});
after(async () => {
  await one.close();
  await many.close();
  await split.close();
  tmp.cleanup();
});

async function sampleAll(model: LocalModel, name: string, greedy: boolean): Promise<Map<string, string>> {
  const out = `${tmp.dir}/${name}.jsonl`;
  await runSampling({ problems, sampler: model, out, prompt, n: 8, greedy, temperature: 0.9, topP: 0.95, maxTokens: 144, seed: 5, quiet: true });
  const samples: Sample[] = readJsonl(out, SampleSchema);
  return new Map(samples.map((s) => [`${s.problem_id}#${s.sample}`, s.text]));
}

for (const [label, greedy, n] of [
  ["temperature 0.9", false, 64],
  ["greedy", true, 8],
] as const) {
  test(`8 problems x ${greedy ? "1 greedy sample" : "8 seeds"} (${label}): parallel 16, in one context or two, gives exactly the texts of parallel 1`, async () => {
    const a = await sampleAll(one, `one-${greedy}`, greedy);
    assert.equal(a.size, n);
    for (const [name, model] of [["parallel 16", many], ["parallel 16 over 2 contexts", split]] as const) {
      const b = await sampleAll(model, `${name}-${greedy}`.replace(/ /g, "-"), greedy);
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
      const differ = [...a].filter(([k, t]) => b.get(k) !== t).map(([k]) => k);
      assert.deepEqual(differ, [], `samples that differ between parallel 1 and ${name}: ${differ.join(", ")}`);
    }
    if (!greedy) assert.ok(new Set(a.values()).size > 32, "the seeds give different samples");
  });
}

test("64 texts of different lengths: per-token log-probabilities at parallel 16 (one context or two) within 1e-4 of parallel 1", async () => {
  // Pieces of what the model wrote, of lengths from 1 to 100 characters, scored all at once.
  const written = [...(await sampleAll(one, "score-src", false)).values()].join("\n");
  assert.ok(written.length > 1000, `the samples hold ${written.length} characters`);
  const texts = Array.from({ length: 64 }, (_, i) => ({
    prompt: prompt(problems[i % problems.length]),
    text: written.slice((i * 97) % (written.length - 100)).slice(0, 1 + ((i * 37) % 100)),
  }));
  assert.equal(texts.length, 64);
  assert.ok(new Set(texts.map((t) => t.text.length)).size > 50, "the lengths differ");
  const score = (m: LocalModel) => Promise.all(texts.map((t) => m.continuationLogprobs(t.prompt, t.text)));
  const a = await score(one);
  let worst = 0;
  for (const b of [await score(many), await score(split)]) {
    for (let i = 0; i < texts.length; i++) {
      assert.equal(b[i].logprobs.length, a[i].logprobs.length, `text ${i}: token counts`);
      for (let j = 0; j < a[i].logprobs.length; j++) worst = Math.max(worst, Math.abs(a[i].logprobs[j] - b[i].logprobs[j]));
    }
  }
  assert.ok(worst <= 1e-4, `largest per-token difference ${worst}`);
});
