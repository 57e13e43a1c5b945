import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { register } from "../../src/cli/data.js";
import { MathtuneError } from "../../src/errors.js";
import { readJsonl } from "../../src/util/jsonl.js";
import { ProblemSchema, SftExampleSchema } from "../../src/data/records.js";
import { lastBoxedContent } from "../../src/data/boxed.js";
import { parseRationalLatex } from "../../src/data/rational.js";
import { FIXTURES, sharedData, SKIP_SHARED } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-cli-data-"));

/**
 * Runs `mathtune data ...` in-process on a program holding only this command, collecting what it
 * prints (console.log) and the error it fails with. Errors are what the CLI's main prints.
 */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  register(program);
  let out = "";
  const log = console.log;
  console.log = (...xs: unknown[]) => {
    out += xs.map(String).join(" ") + "\n";
  };
  try {
    await program.parseAsync(["node", "mathtune", ...args]);
    return { code: 0, out, err: "" };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, out, err: e.message };
    if (e instanceof MathtuneError) return { code: 1, out, err: `error: ${e.message}` };
    throw e;
  } finally {
    console.log = log;
  }
}

test("data prepare: gsm8k, prm800k (solution records) and prm800k-split on fixtures", async () => {
  const g = join(dir, "gsm.jsonl");
  let r = await run("data", "prepare", "--source", "gsm8k", "--input", join(FIXTURES, "gsm8k_small.jsonl"), "--out", g);
  assert.equal(r.code, 0, r.err);
  assert.equal(readJsonl(g, ProblemSchema).length, 3);

  const p = join(dir, "prm.jsonl");
  r = await run("data", "prepare", "--source", "prm800k", "--input", join(FIXTURES, "prm800k_small.jsonl"), "--out", p);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /wrote 3 problems .*skipped 1 unfinished/);

  const out = join(dir, "split");
  r = await run("data", "prepare", "--source", "prm800k-split", "--input", join(FIXTURES, "prm800k-split"), "--out", out);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(readdirSync(out).sort(), ["test.jsonl", "train.jsonl"]);
  assert.equal(readJsonl(join(out, "train.jsonl"), ProblemSchema).length, 5);
  assert.equal(readJsonl(join(out, "test.jsonl"), ProblemSchema).length, 2);
});

test("data prepare: a malformed line fails with file:line and writes nothing", async () => {
  const bad = join(dir, "bad-gsm.jsonl");
  writeFileSync(bad, '{"question":"q","answer":"a\\n#### 1"}\n{"question":"q2"}\n');
  const out = join(dir, "never.jsonl");
  let r = await run("data", "prepare", "--source", "gsm8k", "--input", bad, "--out", out);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad-gsm\.jsonl:2: field answer/);
  assert.equal(existsSync(out), false);

  const cut = join(dir, "cut.jsonl");
  writeFileSync(cut, '{"problem":"p","solution":"\\\\boxed{1}","type":"Algebra"}\n{"problem":"p2","solu');
  r = await run("data", "prepare", "--source", "math", "--input", cut, "--out", out);
  assert.equal(r.code, 1);
  assert.match(r.err, /cut\.jsonl:2: invalid JSON/);
  assert.equal(existsSync(out), false);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
  );

  r = await run("data", "prepare", "--source", "nope", "--input", cut, "--out", out);
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown --source "nope"/);
});

test("data prepare prm800k-split: a broken MATH file leaves no train or test file", async () => {
  const src = join(dir, "split-src");
  const out = join(dir, "split-out");
  await run("data", "prepare", "--source", "prm800k-split", "--input", join(FIXTURES, "prm800k-split"), "--out", join(dir, "ok"));
  const { mkdirSync, copyFileSync } = await import("node:fs");
  mkdirSync(src);
  for (const f of readdirSync(join(FIXTURES, "prm800k-split"))) copyFileSync(join(FIXTURES, "prm800k-split", f), join(src, f));
  writeFileSync(join(src, "math_test5000_hendrycks.jsonl"), readFileSync(join(src, "math_test5000_hendrycks.jsonl"), "utf8") + '{"problem":"x","type":"Algebra","unique_id":"test/x/1.json"}\n');
  const r = await run("data", "prepare", "--source", "prm800k-split", "--input", src, "--out", out);
  assert.equal(r.code, 1);
  assert.match(r.err, /math_test5000_hendrycks\.jsonl:5: field solution/);
  assert.equal(existsSync(out), false);
});

test("data stats prints counts and percentiles; --json gives the figures", async () => {
  const f = join(dir, "split", "train.jsonl");
  let r = await run("data", "stats", f);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /problems: 5 \(with solution: 5\)/);
  assert.match(r.out, /Prealgebra\s+3\s+60\.0%/);
  assert.match(r.out, /p50/);
  r = await run("data", "stats", f, "--json");
  const st = JSON.parse(r.out);
  assert.equal(st.count, 5);
  assert.deepEqual(st.byLevel, { 1: 2, 2: 1, 3: 1, "(none)": 1 });
  assert.equal(st.answerTypes.fraction, 2);
  assert.equal(st.answerTypes.integer, 2);

  const bad = join(dir, "bad-problems.jsonl");
  writeFileSync(bad, '{"id":"a","problem":"p","answer":"1"}\n{"id":"b","answer":"1"}\n');
  r = await run("data", "stats", bad);
  assert.equal(r.code, 1);
  assert.match(r.err, /bad-problems\.jsonl:2: field problem/);
});

test("data sft: prompt + completion ending in a boxed answer; problems without solution left out", async () => {
  const probs = join(dir, "sft-in.jsonl");
  writeFileSync(
    probs,
    [
      { id: "a", problem: "Compute 2+3.", answer: "5", solution: "2+3=5\n\\boxed{5}" },
      { id: "b", problem: "Compute 1+1.", answer: "2", solution: "One and one make two.  " },
      { id: "c", problem: "Compute 4+4.", answer: "8" },
    ]
      .map((x) => JSON.stringify(x))
      .join("\n") + "\n",
  );
  const out = join(dir, "sft.jsonl");
  let r = await run("data", "sft", "--problems", probs, "--out", out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /left out 1 problems without a solution \(first: c\)/);
  const ex = readJsonl(out, SftExampleSchema);
  assert.deepEqual(ex, [
    { prompt: "Problem: Compute 2+3.\nSolution:\n", completion: "2+3=5\n\\boxed{5}", id: "a" },
    { prompt: "Problem: Compute 1+1.\nSolution:\n", completion: "One and one make two.\n\\boxed{2}", id: "b" },
  ]);
  const out2 = join(dir, "sft-strict.jsonl");
  r = await run("data", "sft", "--problems", probs, "--out", out2, "--require-solution");
  assert.equal(r.code, 1);
  assert.match(r.err, /sft-in\.jsonl:3: field solution: missing/);
  assert.equal(existsSync(out2), false);
});

test("data synth writes the three splits and world.json; same seed, same bytes; styles share problems", async () => {
  const a = join(dir, "w-detailed");
  const b = join(dir, "w-terse");
  const c = join(dir, "w-again");
  let r = await run("data", "synth", "--n", "140", "--style", "detailed", "--seed", "3", "--out", a);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /L5 detailed/);
  r = await run("data", "synth", "--n", "140", "--style", "terse", "--seed", "3", "--out", b, "--quiet");
  assert.equal(r.code, 0, r.err);
  r = await run("data", "synth", "--n", "140", "--style", "detailed", "--seed", "3", "--out", c, "--quiet");
  assert.deepEqual(readdirSync(a).sort(), ["test.jsonl", "train.jsonl", "validation.jsonl", "world.json"]);
  for (const f of ["train.jsonl", "validation.jsonl", "test.jsonl"]) assert.equal(readFileSync(join(a, f), "utf8"), readFileSync(join(c, f), "utf8"));
  const da = readJsonl(join(a, "train.jsonl"), ProblemSchema);
  const tb = readJsonl(join(b, "train.jsonl"), ProblemSchema);
  assert.equal(da.length, 140);
  assert.equal(readJsonl(join(a, "test.jsonl"), ProblemSchema).length, 14);
  assert.deepEqual(
    da.map((p) => p.problem),
    tb.map((p) => p.problem),
  );
  for (const p of [...da, ...tb]) assert.ok(parseRationalLatex(lastBoxedContent(p.solution ?? "") ?? "")?.equals(parseRationalLatex(p.answer)!));
  const manifest = JSON.parse(readFileSync(join(a, "world.json"), "utf8"));
  assert.equal(manifest.seed, 3);
  assert.equal(manifest.style, "detailed");
  assert.deepEqual(manifest.sizes, { train: 140, validation: 14, test: 14 });

  r = await run("data", "synth", "--n", "10", "--style", "fancy", "--out", join(dir, "w-bad"));
  assert.equal(r.code, 1);
  assert.match(r.err, /unknown --style "fancy"/);
  r = await run("data", "synth", "--n", "10", "--levels", "1,9", "--out", join(dir, "w-bad"));
  assert.equal(r.code, 1);
  assert.match(r.err, /--levels: unknown value "9"/);
  assert.equal(existsSync(join(dir, "w-bad")), false);

  // The SFT command accepts the world's files as they are.
  r = await run("data", "sft", "--problems", join(a, "train.jsonl"), "--out", join(dir, "w-sft.jsonl"));
  assert.equal(r.code, 0, r.err);
  assert.doesNotMatch(r.out, /warning|appended/);
});

test("shared data through the CLI: the PRM800K split is 12,000 / 500", async (t) => {
  const d = sharedData();
  if (!d) return t.skip(SKIP_SHARED);
  const out = join(dir, "real-split");
  const r = await run("data", "prepare", "--source", "prm800k-split", "--input", d, "--out", out);
  assert.equal(r.code, 0, r.err);
  assert.equal(readJsonl(join(out, "train.jsonl"), ProblemSchema).length, 12000);
  assert.equal(readJsonl(join(out, "test.jsonl"), ProblemSchema).length, 500);
});
