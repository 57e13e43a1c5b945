import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { readMath, readMath500, readGsm8k, readPrm800k, buildPrm800kSplit, parseLevel, PRM800K_SPLIT_FILES } from "../../src/data/adapters.js";
import { lastBoxedContent } from "../../src/data/boxed.js";
import { ProblemSchema } from "../../src/data/records.js";
import { MathtuneError } from "../../src/errors.js";
import { FIXTURES, sharedData, SKIP_SHARED } from "./helpers.js";

const SPLIT = join(FIXTURES, "prm800k-split");
const splitFiles = (dir: string) => ({
  mathTrain: join(dir, PRM800K_SPLIT_FILES.mathTrain),
  mathTest: join(dir, PRM800K_SPLIT_FILES.mathTest),
  math500: join(dir, PRM800K_SPLIT_FILES.math500),
});
const tmp = mkdtempSync(join(tmpdir(), "mathtune-adapters-"));

test("parseLevel maps MATH levels to integers", () => {
  assert.equal(parseLevel("Level 3"), 3);
  assert.equal(parseLevel(5), 5);
  assert.equal(parseLevel("Level ?"), undefined);
  assert.equal(parseLevel(undefined), undefined);
});

test("MATH adapter: last box with nested braces, level, subject, id", () => {
  const ps = readMath(splitFiles(SPLIT).mathTrain);
  assert.equal(ps.length, 3);
  assert.deepEqual(
    ps.map((p) => p.answer),
    ["5", "\\{-1,1\\}", "\\frac{7}{3}"],
  );
  assert.equal(ps[0].level, 1);
  assert.equal(ps[0].subject, "Prealgebra");
  assert.equal(ps[0].id, "train/prealgebra/1.json");
  assert.equal(ps[2].level, undefined, "Level ? has no level");
  assert.equal(ps[0].source, "math");
  for (const p of ps) ProblemSchema.parse(p);
  const test4 = readMath(splitFiles(SPLIT).mathTest);
  assert.equal(test4[3].answer, "4", "brace-less \\boxed 4");
});

test("MATH adapter: a solution without a box fails with file:line", () => {
  const f = join(tmp, "nobox.jsonl");
  writeFileSync(f, JSON.stringify({ problem: "p", solution: "s \\boxed{1}", level: "Level 1", type: "Algebra" }) + "\n" + JSON.stringify({ problem: "p", solution: "no box", type: "Algebra" }) + "\n");
  assert.throws(
    () => readMath(f),
    (e: unknown) => e instanceof MathtuneError && /nobox\.jsonl:2: field solution: no \\boxed/.test(e.message),
  );
  const g = join(tmp, "noproblem.jsonl");
  writeFileSync(g, JSON.stringify({ solution: "\\boxed{1}" }) + "\n");
  assert.throws(() => readMath(g), /noproblem\.jsonl:1: field problem/);
});

test("MATH500 adapter keeps the given answer", () => {
  const ps = readMath500(splitFiles(SPLIT).math500);
  assert.deepEqual(
    ps.map((p) => [p.id, p.answer, p.level, p.subject, p.source]),
    [
      ["test/algebra/2.json", "\\frac{1}{2}", 2, "Algebra", "math500"],
      ["test/number_theory/4.json", "4", 2, "Number Theory", "math500"],
    ],
  );
});

test("PRM800K split on fixtures: train = MATH train + MATH test - MATH500, test = MATH500", () => {
  const s = buildPrm800kSplit(splitFiles(SPLIT));
  assert.deepEqual(
    s.train.map((p) => p.id),
    ["train/prealgebra/1.json", "train/algebra/2.json", "train/prealgebra/3.json", "test/algebra/1.json", "test/prealgebra/3.json"],
  );
  assert.deepEqual(
    s.test.map((p) => p.id),
    ["test/algebra/2.json", "test/number_theory/4.json"],
  );
});

test("PRM800K split fails when a MATH500 id is not in the MATH test file", () => {
  const f = join(tmp, "m500.jsonl");
  writeFileSync(f, JSON.stringify({ problem: "p", answer: "1", unique_id: "test/algebra/999.json" }) + "\n");
  assert.throws(() => buildPrm800kSplit({ ...splitFiles(SPLIT), math500: f }), /test\/algebra\/999\.json" is not in/);
});

test("GSM8K adapter: #### answer, commas, calculator annotations stripped, boxed last line", () => {
  const ps = readGsm8k(join(FIXTURES, "gsm8k_small.jsonl"));
  assert.deepEqual(
    ps.map((p) => p.answer),
    ["12", "1500", "20"],
  );
  assert.equal(ps[0].solution, "She has 3*4 = 12 apples.\n\\boxed{12}");
  assert.equal(ps[1].solution, "Both cost 1,200+300 = $1,500.\n\\boxed{1500}");
  assert.equal(ps[0].id, "gsm8k/gsm8k_small/0");
  for (const p of ps) {
    assert.ok(!p.solution?.includes("<<"));
    assert.equal(lastBoxedContent(p.solution ?? ""), p.answer);
  }
  const f = join(tmp, "gsm-bad.jsonl");
  writeFileSync(f, JSON.stringify({ question: "q", answer: "no final line" }) + "\n");
  assert.throws(() => readGsm8k(f), /gsm-bad\.jsonl:1: field answer: no final "#### N"/);
});

test("PRM800K-style records: chosen / human steps one per line, unfinished skipped", () => {
  const r = readPrm800k(join(FIXTURES, "prm800k_small.jsonl"));
  assert.equal(r.skippedUnfinished, 1);
  assert.equal(r.skippedIncomplete, 0);
  assert.equal(r.problems.length, 3);
  const [a, b, c] = r.problems;
  assert.equal(a.solution, "We add the two ones.\nThe sum is $1+1=2$.\n\\boxed{2}");
  assert.equal(b.solution, "Two ones make two.\n\\boxed{2}");
  assert.equal(c.solution, "Two threes make six.\n\\boxed{6}");
  assert.equal(a.answer, "2");
  assert.match(a.id, /^prm800k\/[0-9a-f]{8}#0$/);
  assert.equal(b.id, a.id.replace("#0", "#1"), "second solution of the same problem");
});

test("shared data: MATH 7,500 / 5,000, MATH500 500, split 12,000 / 500, GSM8K 7,473 / 1,319", (t) => {
  const dir = sharedData();
  if (!dir) return t.skip(SKIP_SHARED);
  const train = readMath(join(dir, "math_train7500_hendrycks.jsonl"));
  const mtest = readMath(join(dir, "math_test5000_hendrycks.jsonl"));
  const m500 = readMath500(join(dir, "math500_test.jsonl"));
  assert.equal(train.length, 7500);
  assert.equal(mtest.length, 5000);
  assert.equal(m500.length, 500);
  // MATH500's answers are the last box of its solutions: the extraction agrees on all 500.
  for (const p of m500) assert.equal(lastBoxedContent(p.solution ?? ""), p.answer, p.id);
  assert.deepEqual(new Set(train.map((p) => p.level)), new Set([1, 2, 3, 4, 5, undefined]));
  const split = buildPrm800kSplit(splitFiles(dir));
  assert.equal(split.train.length, 12000);
  assert.equal(split.test.length, 500);
  const testIds = new Set(split.test.map((p) => p.id));
  assert.ok(split.train.every((p) => !testIds.has(p.id)));
  assert.equal(readGsm8k(join(dir, "gsm8k_train.jsonl")).length, 7473);
  const gtest = readGsm8k(join(dir, "gsm8k_test.jsonl"));
  assert.equal(gtest.length, 1319);
  assert.equal(gtest[0].answer, "18");
  assert.ok(gtest.every((p) => !/<<|>>/.test(p.solution ?? "") && /^-?\d+(\.\d+)?$/.test(p.answer)), "numeric answers, no annotations");
});

test("PRM800K split needs unique_id on MATH records", () => {
  const f = join(tmp, "math-noid.jsonl");
  writeFileSync(f, JSON.stringify({ problem: "p", solution: "\\boxed{1}", level: "Level 1", type: "Algebra" }) + "\n");
  assert.throws(() => buildPrm800kSplit({ ...splitFiles(SPLIT), mathTrain: f }), /math-noid\.jsonl:1: field unique_id: required/);
  // Plain MATH conversion accepts it and numbers the record instead.
  assert.equal(readMath(f)[0].id, "math-noid/0");
});
