import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalModel } from "../../src/sample/local.js";
import { evaluatorScore, scoreFromLogprobs, sequenceLogLikelihood } from "../../src/sample/scoring.js";
import { MathtuneError } from "../../src/errors.js";
import { runSampling } from "../../src/sample/run.js";
import { readJsonl } from "../../src/util/jsonl.js";
import { SampleSchema } from "../../src/data/records.js";
import { saveTinyModel, tempDir } from "../model/fixtures.js";

const tmp = tempDir();
let model: LocalModel;
// One sequence at a time (parallel-exact.test.ts checks that parallel sequences give the same samples).
let serial: LocalModel;

before(async () => {
  const path = join(tmp.dir, "m.gguf");
  await saveTinyModel(path, { spread: 30, seed: 11 });
  model = await LocalModel.open(path, { threads: 1, parallel: 8 });
  serial = await LocalModel.open(path, { threads: 1, parallel: 1 });
});
after(async () => {
  await model.close();
  await serial.close();
  tmp.cleanup();
});

const PROMPT = "Problem: 2+3\nSolution:\n";

test("local sampling is reproducible for a fixed seed, and seeds matter", async () => {
  const opts = { n: 6, temperature: 0.9, topP: 0.95, maxTokens: 24, seeds: [1, 2, 3, 4, 5, 6], ignoreEos: true };
  const a = await serial.generate(PROMPT, opts);
  const b = await serial.generate(PROMPT, opts);
  assert.deepEqual(a, b);
  assert.deepEqual(a.map((c) => c.seed), [1, 2, 3, 4, 5, 6]);
  assert.ok(a.every((c) => c.tokens === 24 && c.finish === "length"));
  assert.ok(new Set(a.map((c) => c.text)).size >= 4, "different seeds give different samples");
  // the same seed asked alone gives the same sample
  const single = await serial.generate(PROMPT, { ...opts, n: 1, seeds: [3] });
  assert.equal(single[0].text, a[2].text);
});

test("greedy decoding ignores the seed; stop strings cut the text before the match", async () => {
  const g1 = await model.generate(PROMPT, { temperature: 0, maxTokens: 30, seeds: [1], ignoreEos: true });
  const g2 = await model.generate(PROMPT, { temperature: 0, maxTokens: 30, seeds: [99], ignoreEos: true });
  assert.equal(g1[0].text, g2[0].text);
  const full = g1[0].text;
  assert.ok(full.length >= 10, `greedy text ${JSON.stringify(full)}`);
  const stop = full.slice(6, 8);
  const cut = await model.generate(PROMPT, { temperature: 0, maxTokens: 30, stop: [stop], ignoreEos: true });
  assert.equal(cut[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(cut[0].finish, "stop");
  assert.ok(cut[0].tokens !== undefined && cut[0].tokens < 30);
});

test("continuation log-probs follow the chain rule and give the evaluator score", async () => {
  const whole = await model.continuationLogprobs(PROMPT, "ab");
  const a = await model.continuationLogprobs(PROMPT, "a");
  const b = await model.continuationLogprobs(`${PROMPT}a`, "b");
  assert.deepEqual(whole.tokens, ["a", "b"]);
  assert.ok(Math.abs(whole.logprobs[0] - a.total) < 1e-5);
  assert.ok(Math.abs(whole.logprobs[1] - b.total) < 1e-5);
  assert.ok(Math.abs((await sequenceLogLikelihood(model, PROMPT, "ab")) - (a.total + b.total)) < 1e-5);
  assert.ok(whole.logprobs.every((x) => x < 0 && x > -60));

  const s = await evaluatorScore(model, "Here is a candidate. It is");
  const c = await model.continuationLogprobs("Here is a candidate. It is ", "c");
  const i = await model.continuationLogprobs("Here is a candidate. It is ", "i");
  assert.ok(Math.abs(s.logpPositive - c.total) < 1e-5 && Math.abs(s.logpNegative - i.total) < 1e-5, "first differing token after the shared space");
  assert.ok(Math.abs(s.score - Math.exp(c.total) / (Math.exp(c.total) + Math.exp(i.total))) < 1e-9);
  const seq = await evaluatorScore(model, "Here is a candidate. It is", { mode: "sequence" });
  const cw = await model.continuationLogprobs("Here is a candidate. It is ", "correct");
  const iw = await model.continuationLogprobs("Here is a candidate. It is ", "incorrect");
  assert.ok(Math.abs(seq.score - scoreFromLogprobs(cw.total, iw.total)) < 1e-6);
  await assert.rejects(evaluatorScore(model, "x", { positive: " yes", negative: " yes!" }), /do not differ/);
});

test("scoreFromLogprobs is stable for extreme values", () => {
  assert.equal(scoreFromLogprobs(0, -1000), 1);
  assert.equal(scoreFromLogprobs(-1000, 0), 0);
  assert.equal(scoreFromLogprobs(-3, -3), 0.5);
  assert.ok(Math.abs(scoreFromLogprobs(Math.log(0.3), Math.log(0.1)) - 0.75) < 1e-12);
});

test("a prompt longer than the context and a bad model path give clear errors", async () => {
  await assert.rejects(model.generate("x".repeat(200)), (e: unknown) => e instanceof MathtuneError && /does not fit the context/.test(e.message));
  await assert.rejects(LocalModel.open(join(tmp.dir, "missing.gguf")), (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF");
});

test("the context caps a sample below maxTokens: finish is length at exactly the room left, and sampling warns", async () => {
  // The tiny preset has a 64-token context: a 24-token prompt leaves 40, a 48-token one leaves 16.
  const problems = [
    { id: "short", problem: "2+3", answer: "5" },
    { id: "long", problem: "2+3 and then add twenty-one", answer: "26" },
  ];
  const prompt = (p: { problem: string }): string => `Problem: ${p.problem}\nSolution:\n`;
  const rooms = problems.map((p) => model.contextRoom(prompt(p)));
  assert.deepEqual(rooms, [64 - 24, 64 - 48]);
  const out = join(tmp.dir, "capped.jsonl");
  const warnings: string[] = [];
  await runSampling({ problems, sampler: model, out, prompt, n: 4, maxTokens: 100, temperature: 1, seed: 3, quiet: true, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /for 2 of 2 problems the model's context leaves room for fewer than the 100 tokens asked for \(as few as 16\)/);
  const samples = readJsonl(out, SampleSchema);
  assert.equal(samples.length, 8);
  for (const s of samples) {
    const room = rooms[problems.findIndex((p) => p.id === s.problem_id)];
    if (s.finish === "length") assert.equal(s.tokens, room, JSON.stringify(s));
    else assert.ok(s.tokens !== undefined && s.tokens < room, JSON.stringify(s));
  }
  assert.ok(samples.some((s) => s.finish === "length"));
  // Asking for no more than the smallest room warns about nothing.
  const quiet: string[] = [];
  await runSampling({ problems, sampler: model, out: join(tmp.dir, "fits.jsonl"), prompt, n: 1, maxTokens: 16, quiet: true, warn: (m) => quiet.push(m) });
  assert.deepEqual(quiet, []);
});
