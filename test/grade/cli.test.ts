// `mathtune grade` end to end in a child process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";

const ENTRY = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));

function run(args: string[]): { code: number; out: string; err: string } {
  const res = spawnSync(process.execPath, ["--import", "tsx", ENTRY, ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: res.status ?? -1, out: res.stdout, err: res.stderr };
}

test("grade --input/--output: each line plus extracted, correct, reason; summary on stderr", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-"));
  try {
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    const rows = [
      { id: "a", gold: "\\frac{1}{2}", pred: "so the answer is $\\boxed{0.5}$" },
      { id: "b", gold: "3", pred: "The answer is 4." },
      { id: "c", gold: "x \\in [-2,7]", pred: "-2 \\le x \\le 7" },
    ];
    writeFileSync(input, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const r = run(["grade", "--input", input, "--output", output, "--workers", "1"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /graded 3 pairs .* correct 2 \(66\.7%\), not-equal 1, unparsable 0, timeout 0/);
    const out = readFileSync(output, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(out[0], { ...rows[0], extracted: "0.5", correct: true, reason: "equal" });
    assert.deepEqual(out[1], { ...rows[1], extracted: "4", correct: false, reason: "not-equal" });
    assert.equal(out[2].correct, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("grade --gold --pred prints one verdict and exits 0", () => {
  const r = run(["grade", "--gold", "\\frac{1}{2}", "--pred", "Final Answer: The final answer is $0.5$. I hope it is correct."]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(JSON.parse(r.out), { extracted: "0.5", correct: true, reason: "equal" });
});

test("grade reports file:line: field for a bad record and writes nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-"));
  try {
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    writeFileSync(input, '{"gold":"1","pred":"1"}\n{"gold":2,"pred":"2"}\n');
    const r = run(["grade", "--input", input, "--output", output]);
    assert.equal(r.code, 1);
    assert.match(r.err, /in\.jsonl:2: field gold: must be a string/);
    assert.equal(existsSync(output), false);
    const u = run(["grade", "--gold", "1"]);
    assert.notEqual(u.code, 0);
    assert.match(u.err, /give --input FILE.jsonl, or both --gold and --pred/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const KILL_HOOK = fileURLToPath(new URL("./kill-workers.ts", import.meta.url));

/** The CLI with worker threads killed during grading (see kill-workers.ts). */
function runKilling(mode: "first" | "all", args: string[]): { code: number; out: string; err: string } {
  const res = spawnSync(process.execPath, ["--import", "tsx", "--import", KILL_HOOK, ENTRY, ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, MATHTUNE_TEST_KILL_WORKERS: mode },
  });
  return { code: res.status ?? -1, out: res.stdout, err: res.stderr };
}

// Line 4 takes the whole 250 ms budget of a grading call (a 100-element set of expressions), so a
// worker killed 120 ms after it loaded dies while grading it.
const SLOW_PAIR = {
  gold: Array.from({ length: 100 }, (_, k) => `x^{${k}}+${k}y`).join(","),
  pred: Array.from({ length: 100 }, (_, k) => `x^{${99 - k}}+${99 - k}y`).join(","),
};
const PAIRS = [
  { gold: "1", pred: "The answer is $\\boxed{1}$." },
  { gold: "2", pred: "The answer is $\\boxed{3}$." },
  { gold: "\\frac12", pred: "so $0.5$" },
  SLOW_PAIR,
  { gold: "4", pred: "\\boxed{4}" },
  { gold: "5", pred: "\\boxed{6}" },
];

test("grade --input: a worker killed mid-file is replaced, and the file is graded as without the kill", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-"));
  try {
    const input = join(dir, "in.jsonl");
    writeFileSync(input, PAIRS.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const plain = run(["grade", "--input", input, "--output", join(dir, "plain.jsonl"), "--workers", "1"]);
    assert.equal(plain.code, 0, plain.err);
    const killed = runKilling("first", ["grade", "--input", input, "--output", join(dir, "killed.jsonl"), "--workers", "1"]);
    assert.equal(killed.code, 0, killed.err);
    assert.equal(readFileSync(join(dir, "killed.jsonl"), "utf8"), readFileSync(join(dir, "plain.jsonl"), "utf8"));
    assert.match(killed.err, /graded 6 pairs .* correct 3 \(50\.0%\), not-equal 2, unparsable 0, timeout 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("grade: a job whose worker is killed twice fails the command, names the line and writes nothing", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-grade-"));
  try {
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    writeFileSync(input, PAIRS.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const r = runKilling("all", ["grade", "--input", input, "--output", output, "--workers", "1"]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /error: the grading worker crashed twice on .*in\.jsonl:4 \(worker exited with code 1\); it has no grade/);
    assert.match(r.err, /hint: a crash is not a wrong answer/);
    assert.equal(existsSync(output), false);

    // The samples form: the earlier output stays as it was.
    const problems = join(dir, "problems.jsonl");
    const samples = join(dir, "samples.jsonl");
    writeFileSync(problems, PAIRS.map((p, k) => JSON.stringify({ id: `p${k}`, problem: "?", answer: p.gold })).join("\n") + "\n");
    writeFileSync(samples, PAIRS.map((p, k) => JSON.stringify({ problem_id: `p${k}`, sample: 0, text: p.pred })).join("\n") + "\n");
    writeFileSync(output, "previous\n");
    const s = runKilling("all", ["grade", "--samples", samples, "--problems", problems, "--out", output, "--workers", "1"]);
    assert.equal(s.code, 1, s.err);
    assert.match(s.err, /error: the grading worker crashed twice on sample 0 of problem "p3"/);
    assert.equal(readFileSync(output, "utf8"), "previous\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
