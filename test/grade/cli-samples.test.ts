// `mathtune grade --samples --problems --out` end to end in a child process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { SampleSchema } from "../../src/data/records.js";

const ENTRY = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));

function run(args: string[]): { code: number; out: string; err: string } {
  const res = spawnSync(process.execPath, ["--import", "tsx", ENTRY, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: res.status ?? -1, out: res.stdout, err: res.stderr };
}

const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

const PROBLEMS = [
  { id: "p1", problem: "What is 1/2 as a decimal?", answer: "0.5" },
  { id: "p2", problem: "What is 2+2?", answer: "4" },
  { id: "unused", problem: "What is 3+3?", answer: "6" },
];

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-samples-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("grade --samples: fills extracted and correct in input order, replaces stale grades, prints a summary", () => {
  withDir((dir) => {
    const problems = join(dir, "problems.jsonl");
    const samples = join(dir, "samples.jsonl");
    const out = join(dir, "graded.jsonl");
    writeFileSync(problems, jsonl(PROBLEMS));
    const rows = [
      { problem_id: "p2", sample: 0, text: "2+2=4\nThe answer is $\\boxed{4}$.", tokens: 30, finish: "stop", seed: 7 },
      // A stale grade from an earlier run must be replaced, not trusted.
      { problem_id: "p1", sample: 0, text: "So the answer is $\\boxed{\\frac{1}{2}}$.", extracted: "9", correct: false },
      { problem_id: "p1", sample: 1, text: "The answer is $\\boxed{0.25}$.", correct: true },
      { problem_id: "p2", sample: 1, text: "", greedy: true },
    ];
    writeFileSync(samples, jsonl(rows));
    const r = run(["grade", "--samples", samples, "--problems", problems, "--out", out, "--workers", "1"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /graded 4 samples of 2 problems in [\d.]+ s: accuracy 50\.0% \(2 correct\), unparsable 1, timeout 0; wrote /);
    const graded = readFileSync(out, "utf8").trim().split("\n").map((l) => SampleSchema.parse(JSON.parse(l)));
    assert.deepEqual(graded, [
      { ...rows[0], extracted: "4", correct: true },
      { ...rows[1], extracted: "\\frac{1}{2}", correct: true },
      { ...rows[2], extracted: "0.25", correct: false },
      { ...rows[3], extracted: null, correct: false },
    ]);
  });
});

test("grade --samples: a bad line fails with file:line: field and leaves the output untouched", () => {
  withDir((dir) => {
    const problems = join(dir, "problems.jsonl");
    const samples = join(dir, "samples.jsonl");
    const out = join(dir, "graded.jsonl");
    writeFileSync(problems, jsonl(PROBLEMS));
    writeFileSync(out, "previous\n");
    writeFileSync(samples, jsonl([{ problem_id: "p1", sample: 0, text: "0.5" }, { problem_id: "p1", sample: -1, text: "0.5" }]));
    const r = run(["grade", "--samples", samples, "--problems", problems, "--out", out]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /samples\.jsonl:2: field sample/);
    assert.equal(readFileSync(out, "utf8"), "previous\n");

    // A bad problems line is reported against the problems file.
    writeFileSync(samples, jsonl([{ problem_id: "p1", sample: 0, text: "0.5" }]));
    writeFileSync(problems, jsonl([PROBLEMS[0], { id: "p2", problem: "x" }]));
    const p = run(["grade", "--samples", samples, "--problems", problems, "--out", out]);
    assert.equal(p.code, 1, p.err);
    assert.match(p.err, /problems\.jsonl:2: field answer/);
    assert.equal(readFileSync(out, "utf8"), "previous\n");
  });
});

test("grade --samples: a problem_id missing from the problems file names the sample's line and both files", () => {
  withDir((dir) => {
    const problems = join(dir, "problems.jsonl");
    const samples = join(dir, "samples.jsonl");
    const out = join(dir, "graded.jsonl");
    writeFileSync(problems, jsonl(PROBLEMS));
    writeFileSync(samples, jsonl([{ problem_id: "p1", sample: 0, text: "0.5" }, { problem_id: "p9", sample: 0, text: "1" }]));
    const r = run(["grade", "--samples", samples, "--problems", problems, "--out", out]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /samples\.jsonl:2: field problem_id: "p9" is not in .*problems\.jsonl/);
    assert.throws(() => readFileSync(out));
  });
});

test("grade --samples: incomplete or mixed options are usage errors", () => {
  withDir((dir) => {
    const problems = join(dir, "problems.jsonl");
    const samples = join(dir, "samples.jsonl");
    writeFileSync(problems, jsonl(PROBLEMS));
    writeFileSync(samples, jsonl([{ problem_id: "p1", sample: 0, text: "0.5" }]));
    const a = run(["grade", "--samples", samples, "--problems", problems]);
    assert.notEqual(a.code, 0);
    assert.match(a.err, /needs all of --samples, --problems and --out/);
    const b = run(["grade", "--samples", samples, "--problems", problems, "--out", join(dir, "o.jsonl"), "--gold", "1"]);
    assert.notEqual(b.code, 0);
    assert.match(b.err, /cannot be combined/);
  });
});
