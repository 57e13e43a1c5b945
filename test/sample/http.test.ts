import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { LocalModel } from "../../src/sample/local.js";
import { HttpSampler, probeServer } from "../../src/sample/http.js";
import { evaluatorScore, sequenceLogLikelihood } from "../../src/sample/scoring.js";
import { MathtuneError } from "../../src/errors.js";
import { saveTinyModel, tempDir } from "../model/fixtures.js";
import { startServe, type ServeProcess } from "./helpers.js";

const tmp = tempDir();
const modelPath = join(tmp.dir, "m.gguf");
let local: LocalModel;
let serve: ServeProcess;

before(async () => {
  await saveTinyModel(modelPath, { spread: 30, seed: 5, overrides: { contextLength: 256 } });
  [local, serve] = await Promise.all([LocalModel.open(modelPath, { threads: 1, parallel: 4 }), startServe(modelPath)]);
});
after(async () => {
  await serve?.stop();
  await local?.close();
  tmp.cleanup();
});

const isServerError = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_SERVER" && re.test(e.message);

test("the probe finds what mathtune serve supports", async () => {
  const caps = await probeServer(serve.url);
  assert.deepEqual(caps, { models: ["m"], n: true, seed: true, promptLogprobs: true, chat: true });
});

test("scores from the local backend and from serve over HTTP agree within 1e-3", async () => {
  const http = await HttpSampler.connect({ url: serve.url, model: "m" });
  const cases = [
    ["Here is a math problem: 1+1. Here is a candidate solution: 2. The above candidate solution is", ""],
    ["Problem: what is √4?\nSolution:\n", "It is 2, since 2*2=4."],
    ["tabs\tand ünïcode ", "π ≤ 4 and 😀"],
  ];
  let compared = 0;
  for (const [prompt, cont] of cases) {
    const [ls, hs] = await Promise.all([evaluatorScore(local, prompt), evaluatorScore(http, prompt)]);
    assert.ok(Math.abs(ls.score - hs.score) < 1e-3, `S local ${ls.score} http ${hs.score}`);
    assert.ok(Math.abs(ls.logpPositive - hs.logpPositive) < 1e-3);
    const [lseq, hseq] = await Promise.all([evaluatorScore(local, prompt, { mode: "sequence" }), evaluatorScore(http, prompt, { mode: "sequence" })]);
    assert.ok(Math.abs(lseq.score - hseq.score) < 1e-3);
    if (cont !== "") {
      const [l, h] = await Promise.all([local.continuationLogprobs(prompt, cont), http.continuationLogprobs(prompt, cont)]);
      assert.equal(h.logprobs.length, l.logprobs.length);
      for (let i = 0; i < l.logprobs.length; i++) assert.ok(Math.abs(l.logprobs[i] - h.logprobs[i]) < 1e-3, `token ${i}`);
      assert.ok(Math.abs((await sequenceLogLikelihood(http, prompt, cont)) - l.total) < 1e-3);
    }
    compared++;
  }
  assert.equal(compared, cases.length);
  // the scores are not all alike: the test would notice a backend that ignores its input
  const a = await evaluatorScore(http, "A");
  const b = await evaluatorScore(http, "B√");
  assert.notEqual(a.score.toFixed(6), b.score.toFixed(6));
});

test("HTTP sampling: n in one request, fan-out otherwise, seeded and reproducible", async () => {
  const http = await HttpSampler.connect({ url: serve.url });
  assert.equal(http.model, "m");
  assert.equal(http.capabilities.nativeN, true);
  const opts = { n: 3, temperature: 0.9, topP: 0.95, maxTokens: 16, seeds: [7, 8, 9], ignoreEos: true };
  const a = await http.generate("Problem: 1+1\nSolution:\n", opts);
  const b = await http.generate("Problem: 1+1\nSolution:\n", opts);
  assert.equal(a.length, 3);
  assert.deepEqual(a, b);
  assert.ok(a.every((c) => c.finish === "length" && c.seed === 7));
  assert.equal(new Set(a.map((c) => c.text)).size, 3, "the n choices differ");
  const fan = await HttpSampler.connect({ url: serve.url, model: "m", capabilities: { n: false, seed: true, promptLogprobs: true } });
  const f = await fan.generate("Problem: 1+1\nSolution:\n", opts);
  assert.deepEqual(f.map((c) => c.seed), [7, 8, 9]);
  assert.ok(f.every((c) => c.tokens === 16), "n = 1 replies give the token count");
  // one seed per request, so each fan-out sample is the local sample of that seed
  const l = await local.generate("Problem: 1+1\nSolution:\n", opts);
  assert.deepEqual(f.map((c) => c.text), l.map((c) => c.text));
  const chat = await HttpSampler.connect({ url: serve.url, model: "m", api: "chat" });
  const c = await chat.generate("Problem: 1+1\nSolution:\n", { ...opts, n: 1, seeds: [7] });
  assert.equal(c[0].text, l[0].text);
  await assert.rejects(HttpSampler.connect({ url: serve.url, model: "other" }), isServerError(/has no model "other"/));
});

/** A misbehaving peer: answers every request with `body`. */
async function garbageServer(body: string, status = 200): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test("a malformed server reply gives a clear error naming it", async () => {
  const caps = { n: false, seed: true, promptLogprobs: true };
  for (const [body, re] of [
    ["<html>oops</html>", /\/v1\/completions: malformed reply: not JSON \(starts with "<html>oops/],
    ['{"object": "text_completion"}', /malformed reply: choices is not an array/],
    ['{"choices": [{"index": 0, "text": 42}]}', /malformed reply: choices\[0\]\.text is not a string \(got 42\)/],
    ['{"choices": []}', /malformed reply: asked for 1 choices, got 0/],
  ] as const) {
    const g = await garbageServer(body);
    try {
      const http = await HttpSampler.connect({ url: g.url, model: "x", capabilities: caps, retries: 0 });
      await assert.rejects(http.generate("hi"), isServerError(re), body);
    } finally {
      g.server.close();
    }
  }
  const g = await garbageServer('{"choices": [{"text": "x", "logprobs": {"tokens": ["a"], "token_logprobs": []}}]}');
  try {
    const http = await HttpSampler.connect({ url: g.url, model: "x", capabilities: caps, retries: 0 });
    await assert.rejects(http.continuationLogprobs("a", "b"), isServerError(/choices\[0\]\.logprobs has tokens and token_logprobs of different lengths/));
  } finally {
    g.server.close();
  }
  const e = await garbageServer('{"error": {"message": "model overloaded"}}', 503);
  try {
    const http = await HttpSampler.connect({ url: e.url, model: "x", capabilities: caps, retries: 1, backoffMs: 10 });
    await assert.rejects(http.generate("hi"), isServerError(/HTTP 503: .*model overloaded.* after 2 attempts/));
  } finally {
    e.server.close();
  }
});

test("an unreachable server fails after the retries with E_SERVER", async () => {
  const g = await garbageServer("{}");
  const url = g.url;
  await new Promise<void>((r) => g.server.close(() => r()));
  const http = await HttpSampler.connect({ url, model: "x", capabilities: { n: false, seed: true, promptLogprobs: false }, retries: 2, backoffMs: 5 });
  await assert.rejects(http.generate("hi"), isServerError(/cannot connect \(ECONNREFUSED\) after 3 attempts/));
  await assert.rejects(http.continuationLogprobs("a", "b"), isServerError(/does not return prompt log-probabilities/));
});

test("mathtune doctor probes a server and checks the local runtime", async () => {
  const { runCli } = await import("./helpers.js");
  const r = await runCli(["doctor", "--server", serve.url, "--json"]);
  assert.equal(r.code, 0, r.err);
  const report = JSON.parse(r.out) as { server: { models: string[]; n: boolean; promptLogprobs: boolean } };
  assert.deepEqual(report.server.models, ["m"]);
  assert.equal(report.server.n, true);
  assert.equal(report.server.promptLogprobs, true);
  const local = await runCli(["doctor"]);
  assert.equal(local.code, 0, local.err);
  assert.match(local.out, /default threads\s+sampling \d+ \(cores - 1.*training \d+ or \d+, chosen step by step/);
  const down = await runCli(["doctor", "--server", "http://127.0.0.1:9"]);
  assert.equal(down.code, 1);
  assert.match(down.err, /error: server http:\/\/127\.0\.0\.1:9\/v1\/models: cannot connect/);
});

test("serve returns log-probs of sampled tokens that match local scoring, and rejects bad requests", async () => {
  const prompt = "Problem: 3+4\nSolution:\n";
  const res = await fetch(`${serve.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", prompt, max_tokens: 10, temperature: 0, logprobs: 0, ignore_eos: true }),
  });
  const body = (await res.json()) as { choices: Array<{ text: string; logprobs: { tokens: string[]; token_logprobs: number[]; text_offset: number[] } }>; usage: { completion_tokens: number } };
  const c = body.choices[0];
  assert.equal(c.logprobs.tokens.length, 10);
  assert.equal(body.usage.completion_tokens, 10);
  assert.equal(c.logprobs.text_offset[0], [...prompt].length, "offsets continue after the prompt");
  // the same greedy completion locally, scored locally
  const [g] = await local.generateWithIds(prompt, { temperature: 0, maxTokens: 10, ignoreEos: true });
  assert.equal(g.completion.text, c.text);
  const l = await local.tokenLogprobs(local.promptTokens(prompt), g.ids);
  assert.equal(l.length, 10);
  for (let i = 0; i < l.length; i++) assert.ok(Math.abs(l[i] - c.logprobs.token_logprobs[i]) < 1e-3, `token ${i}`);
  assert.ok(c.logprobs.token_logprobs.every((x) => x < 0));
  const bad = await fetch(`${serve.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: 5 }) });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /field prompt/);
  const notJson = await fetch(`${serve.url}/v1/completions`, { method: "POST", body: "{" });
  assert.equal(notJson.status, 400);
  const stream = await fetch(`${serve.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: "a", stream: true }) });
  assert.equal(stream.status, 400);
});

test("a server that does not answer in time fails with a timeout error", async () => {
  const server = createServer(() => {
    // never answers
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const http = await HttpSampler.connect({ url, model: "x", capabilities: { n: false, seed: true, promptLogprobs: true }, timeoutMs: 150, retries: 1, backoffMs: 10 });
    await assert.rejects(http.generate("hi"), isServerError(/no reply within 150 ms after 2 attempts/));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
