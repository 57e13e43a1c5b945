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
