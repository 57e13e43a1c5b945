// The `import qwen` and `eval` commands end to end on a small committed fixture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const FIXTURE = fileURLToPath(new URL("./fixtures/qwen-mini.jsonl", import.meta.url));

const ENTRY = fileURLToPath(new URL("./fixtures/cli-entry.ts", import.meta.url));

/** Runs the CLI from source in a child process. */
function run(args: string[]): { code: number; out: string; err: string } {
  const res = spawnSync(process.execPath, ["--import", "tsx", ENTRY, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: res.status ?? -1, out: res.stdout, err: res.stderr };
}

// results.json rounds to 6 decimals.
const near = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

test("import qwen, then eval with exact clustering and the file's correctness", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-"));
  try {
    const samples = join(dir, "s.jsonl");
    const problems = join(dir, "p.jsonl");
    const imp = run(["import", "qwen", FIXTURE, "--out", samples, "--problems-out", problems]);
    assert.equal(imp.code, 0, imp.err);
    const lines = readFileSync(samples, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 12);
    assert.deepEqual(lines[1], { problem_id: "0", sample: 1, text: "It is \\boxed{3}", extracted: "3", correct: false, score: 0.95 });
    const probs = readFileSync(problems, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(probs[1], { id: "1", problem: "Half of $1$?", answer: "\\dfrac{1}{2}", source: "qwen", level: 2 });

    const ev = run(["eval", "--samples", samples, "--problems", problems, "--cluster", "exact", "--correct-from-file", "--top-k", "2", "--json", "--report", join(dir, "run")]);
    assert.equal(ev.code, 0, ev.err);
    const r = JSON.parse(ev.out).results;
    // Worked by hand in docs/selection.md's example: see the fixture's three problems.
    near(r["first@1"], 2 / 3, "first@1");
    near(r["mean@1"], 5 / 12, "mean@1");
    near(r["pass@4"], 2 / 3, "pass@4");
    near(r["maj1@4"], 1 / 3, "maj1@4");
    near(r["majK@4"], 2 / 3, "majK@4");
    near(r["rr.all@4"], 1 / 3, "rr.all@4");
    near(r["wrr@4"], 2 / 3, "wrr@4");
    near(r["rr.top2@4"], 1 / 3, "rr.top2@4");
    assert.equal(r["rr.top2@4:calls"], 9);
    assert.equal(r["rr.all@4:calls"], 11); // the blank answer of problem 2 is never scored
    for (const f of ["results.json", "report.md", "report.html"]) assert.ok(existsSync(join(dir, "run", f)), f);

    // Equivalence clustering merges 2 with 2.0 and 0.5 with \frac12: Maj1 now gets problem 1 right.
    const eq = run(["eval", "--samples", samples, "--cluster", "equiv", "--correct-from-file", "--top-k", "2", "--json"]);
    assert.equal(eq.code, 0, eq.err);
    const r2 = JSON.parse(eq.out).results;
    near(r2["maj1@4"], 2 / 3, "equiv maj1@4");
    assert.equal(r2["rr.top2@4:calls"], 4 + 4 + 3); // every answered sample is in the top 2 clusters now

    // Re-grading with the grader (gold answers from the problems file).
    const rg = run(["eval", "--samples", samples, "--problems", problems, "--top-k", "2", "--json"]);
    assert.equal(rg.code, 0, rg.err);
    const r3 = JSON.parse(rg.out);
    assert.equal(r3.config.correct_from_file, false);
    near(r3.results["pass@4"], 2 / 3, "regraded pass@4");
    near(r3.results["maj1@4"], 2 / 3, "regraded maj1@4");
    assert.deepEqual(Object.keys(r3.breakdowns.level), ["1", "2", "3"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("eval errors: no gold answers, partial scores, score strategies without scores", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-"));
  try {
    const samples = join(dir, "s.jsonl");
    const noGold = run(["eval", "--samples", FIXTURE]);
    assert.equal(noGold.code, 1);
    assert.match(noGold.err, /re-grading needs the gold answers\nhint: pass --problems/);

    const recs = [
      { problem_id: "a", sample: 0, text: "", extracted: "1", correct: true, score: 0.3 },
      { problem_id: "a", sample: 1, text: "", extracted: "2", correct: false },
    ];
    writeFileSync(samples, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const partial = run(["eval", "--samples", samples, "--correct-from-file"]);
    assert.equal(partial.code, 1);
    assert.match(partial.err, /s\.jsonl:2: field score: missing, while 1 other samples have one/);
    const allowed = run(["eval", "--samples", samples, "--correct-from-file", "--allow-missing-scores", "--json"]);
    assert.equal(allowed.code, 0, allowed.err);
    assert.equal(JSON.parse(allowed.out).results["rr.all@2"], 1);

    writeFileSync(samples, JSON.stringify({ ...recs[1], sample: 0 }) + "\n");
    const none = run(["eval", "--samples", samples, "--correct-from-file", "--strategies", "maj1,rr.all"]);
    assert.equal(none.code, 1);
    assert.match(none.err, /rr\.all need evaluator scores/);
    const plain = run(["eval", "--samples", samples, "--correct-from-file", "--json"]);
    assert.equal(plain.code, 0);
    assert.match(plain.err, /no evaluator scores/);
    assert.deepEqual(JSON.parse(plain.out).meta.strategies, ["maj1"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("import qwen errors: ragged arrays and nested scores need a reduction", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-"));
  try {
    const bad = join(dir, "q.jsonl");
    const row = JSON.parse(readFileSync(FIXTURE, "utf8").split("\n")[0]);
    writeFileSync(bad, JSON.stringify({ ...row, pred: row.pred.slice(1) }) + "\n");
    const ragged = run(["import", "qwen", bad, "--out", join(dir, "o.jsonl")]);
    assert.equal(ragged.code, 1);
    assert.match(ragged.err, /q\.jsonl:1: field pred: has 3 entries but code has 4/);

    writeFileSync(bad, JSON.stringify({ ...row, pred_score: row.pred_score.map((s: number[]) => [0.1, ...s]) }) + "\n");
    const nested = run(["import", "qwen", bad, "--out", join(dir, "o.jsonl")]);
    assert.equal(nested.code, 1);
    assert.match(nested.err, /field pred_score\[0\]: 2 numbers for one solution\nhint: .*--score-reduce/);
    const last = run(["import", "qwen", bad, "--out", join(dir, "o.jsonl"), "--score-reduce", "min"]);
    assert.equal(last.code, 0, last.err);
    assert.equal(JSON.parse(readFileSync(join(dir, "o.jsonl"), "utf8").split("\n")[0]).score, 0.1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("runEval is the library behind `mathtune eval`: the same results from typed options", async () => {
  const { runEval } = await import("../../src/index.js");
  const dir = mkdtempSync(join(tmpdir(), "mathtune-runeval-"));
  try {
    const samples = join(dir, "s.jsonl");
    assert.equal(run(["import", "qwen", FIXTURE, "--out", samples, "--problems-out", join(dir, "p.jsonl")]).code, 0);
    const ev = run(["eval", "--samples", samples, "--cluster", "exact", "--correct-from-file", "--top-k", "2", "--json"]);
    assert.equal(ev.code, 0, ev.err);
    const lib = runEval({ samples, cluster: "exact", correctFromFile: true, topK: 2, topN: 16, subsets: 100, bootstrap: 1000, seed: 0, scoreTransform: "none", pairwiseLimit: 64 });
    const cli = JSON.parse(ev.out) as { results: Record<string, unknown> };
    assert.deepEqual(JSON.parse(JSON.stringify(lib.results)).results, cli.results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
