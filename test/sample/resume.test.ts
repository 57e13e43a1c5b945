import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { SampleSchema, type Sample } from "../../src/data/records.js";
import { saveTinyModel, tempDir } from "../model/fixtures.js";
import { runCli, spawnCli, startServe } from "./helpers.js";

function readSamples(path: string): Sample[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => SampleSchema.parse(JSON.parse(l)));
}

function writeProblems(path: string, count: number): void {
  const lines = Array.from({ length: count }, (_, i) => JSON.stringify({ id: `p${i}`, problem: `What is ${i} + ${i}?`, answer: String(2 * i) }));
  writeFileSync(path, lines.join("\n") + "\n");
}

test("a server stopped mid-run and restarted: the rerun resumes the same file with no duplicated or missing lines", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = join(dir, "m.gguf");
    const data = join(dir, "problems.jsonl");
    const out = join(dir, "samples.jsonl");
    await saveTinyModel(model, { spread: 30, overrides: { contextLength: 128 } });
    const problems = 6;
    const n = 8;
    writeProblems(data, problems);
    const server = await startServe(model);
    const args = ["sample", "--data", data, "--out", out, "--server", server.url, "--n", String(n), "--max-tokens", "40", "--concurrency", "1", "--retries", "0", "--seed", "3", "--quiet"];
    // serve answers n > 1 natively: one request per problem, its 8 samples appended together;
    // a concurrency of 1 makes the run long enough to stop halfway.
    const run = spawnCli(args);
    let err = "";
    run.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number>((r) => run.on("close", (code) => r(code ?? 1)));
    // Stop the server (a crash: SIGKILL) once some but not all samples are in.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && (!existsSync(out) || readSamples(out).length < 2)) await new Promise((r) => setTimeout(r, 10));
    await server.stop("SIGKILL");
    const code = await exited;
    const first = readFileSync(out, "utf8");
    const firstCount = readSamples(out).length;
    assert.equal(code, 1, "the run fails when its server dies");
    assert.match(err, /error: server http:\/\/127\.0\.0\.1:\d+\/v1\/completions: cannot connect/);
    assert.ok(firstCount >= 2 && firstCount < problems * n, `first run wrote ${firstCount}`);
    // A line cut off by a crash while writing is dropped on resume.
    appendFileSync(out, '{"problem_id": "p0", "sample": 7, "te');

    const again = await startServe(model, server.port);
    try {
      const r = await runCli(args.map((a) => (a === server.url ? again.url : a)));
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, new RegExp(`wrote ${problems * n - firstCount} samples \\(${firstCount} already done\\)`));
    } finally {
      await again.stop();
    }
    const text = readFileSync(out, "utf8");
    assert.ok(text.startsWith(first), "lines of the first run are kept as they were");
    const samples = readSamples(out);
    assert.equal(samples.length, problems * n);
    const keys = new Set(samples.map((s) => `${s.problem_id}/${s.sample}`));
    assert.equal(keys.size, problems * n, "no duplicates");
    for (let p = 0; p < problems; p++) for (let i = 0; i < n; i++) assert.ok(keys.has(`p${p}/${i}`), `p${p}/${i} present`);
    assert.ok(samples.every((s) => s.finish !== undefined && s.seed !== undefined));
    // One seed per problem request (derived from --seed and the problem id), the same in both runs.
    assert.equal(new Set(samples.map((s) => s.seed)).size, problems);
  } finally {
    cleanup();
  }
});

test("mathtune sample with a local model: N lines per problem, a rerun adds nothing, --greedy adds one greedy line each", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = join(dir, "m.gguf");
    const data = join(dir, "problems.jsonl");
    const out = join(dir, "samples.jsonl");
    await saveTinyModel(model, { spread: 30, overrides: { contextLength: 128 } });
    writeProblems(data, 3);
    const base = ["sample", "--data", data, "--out", out, "--model", model, "--threads", "1", "--parallel", "8", "--max-tokens", "20", "--quiet"];
    const r1 = await runCli([...base, "--n", "4"]);
    assert.equal(r1.code, 0, r1.err);
    const s1 = readSamples(out);
    assert.equal(s1.length, 12);
    assert.ok(s1.every((s) => typeof s.tokens === "number" && s.tokens <= 20 && s.seed !== undefined));
    const r2 = await runCli([...base, "--n", "4"]);
    assert.equal(r2.code, 0, r2.err);
    assert.match(r2.err, /wrote 0 samples \(12 already done\)/);
    const r3 = await runCli([...base, "--greedy"]);
    assert.equal(r3.code, 0, r3.err);
    const greedy = readSamples(out).filter((s) => s.greedy);
    assert.deepEqual(greedy.map((s) => `${s.problem_id}/${s.sample}`).sort(), ["p0/0", "p1/0", "p2/0"]);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, '{"id": "a", "problem": "x", "answer": "1"}\n{"id": "b", "answer": "2"}\n');
    const r4 = await runCli(["sample", "--data", bad, "--out", out, "--model", model]);
    assert.equal(r4.code, 1);
    assert.match(r4.err, /bad\.jsonl:2: field problem/);
  } finally {
    cleanup();
  }
});
