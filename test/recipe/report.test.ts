// The recipe report on hand-made evaluations: the three tables, the paired differences, the files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluate, type ProblemSamples } from "../../src/metrics/compute.js";
import { buildResults } from "../../src/report/results.js";
import type { Strategy } from "../../src/select/strategies.js";
import { pairedDifference, paperTables, writeRecipeReport, type ArmResult } from "../../src/recipe/report.js";
import { resolveRecipeObject } from "../../src/recipe/schema.js";

const strategies: Strategy[] = [{ kind: "maj1" }, { kind: "rr.all" }, { kind: "rr.top", k: 2 }, { kind: "wrr" }, { kind: "wrr.top", k: 2 }, { kind: "maj1.top", n: 2 }];

/** An arm whose problem i is answered correctly by `good(i)` of its 4 samples; scores favour correct ones when `scored`. */
function arm(name: string, good: (i: number) => number, scored: boolean): ArmResult {
  const problems: ProblemSamples[] = Array.from({ length: 8 }, (_, i) => {
    const g = good(i);
    const correct = [0, 1, 2, 3].map((k) => k < g);
    return {
      id: `p${i}`,
      answers: correct.map((c, k) => (c ? "1" : `w${k}`)),
      correct,
      ...(scored ? { scores: correct.map((c) => (c ? 0.9 : 0.2)) } : {}),
      greedyCorrect: g >= 2,
    };
  });
  const ev = evaluate(problems, { strategies: scored ? strategies : [{ kind: "maj1" }], majK: 2, subsets: 10, bootstrap: 50 });
  return { name, style: null, results: buildResults(ev, {}), perProblem: ev.perProblem };
}

test("paired differences: mean and standard error of per-problem differences on shared problems", () => {
  const a = arm("a", () => 4, false);
  const b = arm("b", (i) => (i % 2 === 0 ? 4 : 0), false);
  const d = pairedDifference(a, b, "pass@1");
  assert.ok(d);
  assert.equal(d.problems, 8);
  assert.equal(d.diff, 0.5);
  // differences 0,1,0,1,...: sample sd = sqrt(8/7 * 0.25), stderr = sd / sqrt(8)
  assert.ok(Math.abs(d.stderr - Math.sqrt((8 / 7) * 0.25) / Math.sqrt(8)) < 1e-12);
  assert.equal(pairedDifference(a, b, "no-such-key"), undefined);
});

test("tables: SSFT by style with paired rows; re-ranking with calls when scored, an honest note when not; MTSF with its control, or a note", () => {
  const recipe = resolveRecipeObject({ generators: [{ name: "terse", style: "terse" }, { name: "detailed", style: "detailed" }], eval: { topK: 2, topN: 2 } }, "r.json", "/");
  const terse = arm("terse", (i) => (i < 4 ? 1 : 0), false);
  const detailed = arm("detailed", (i) => (i < 6 ? 3 : 1), true);
  const { tables, paired } = paperTables(recipe, [terse, detailed]);
  assert.equal(tables.length, 3);
  assert.deepEqual(tables[0].rows.map((r) => r[0]), ["terse", "detailed", "detailed − terse (paired)"]);
  assert.ok(paired["detailed-terse/maj1@4"]);
  const names = tables[1].rows.map((r) => r[0]);
  assert.deepEqual(names, ["Maj1", "RR.All", "RR.Top2", "W.RR", "W.RR.Top2", "Maj1.Top2"]);
  // RR.All scores every candidate: 4 calls per problem; Maj1 none.
  assert.equal(tables[1].rows[0][2], "0");
  assert.equal(tables[1].rows[1][2], "4.0");
  // Scores that favour correct answers: RR.All finds the correct one whenever one exists.
  assert.equal(tables[1].rows[1][1].split(" ")[0], "100.0");
  assert.match(tables[2].title, /not in this run/);
  assert.deepEqual(tables[2].rows.slice(1).map((r) => r.slice(1)), [["–", "–"], ["–", "–"]]);

  // With MTSF: its row, the control's, and paired differences against both.
  const withMtsf = paperTables(recipe, [terse, detailed], { mtsf: arm("mtsf", () => 4, false), control: arm("control", (i) => (i < 6 ? 3 : 1), false) });
  const t3 = withMtsf.tables[2];
  assert.doesNotMatch(t3.title, /not/);
  assert.deepEqual(t3.rows.map((r) => r[0].split(" (")[0]), ["SSFT", "MTSF", "control", "MTSF − SSFT", "MTSF − control"]);
  assert.equal(t3.rows[1][1], "100.0 ± 0.0");
  assert.equal(withMtsf.paired["mtsf-control/pass@1"].diff, 0.25);

  const unscored = paperTables(recipe, [terse, arm("detailed", () => 2, false)]).tables[1];
  assert.match(unscored.title, /not available/);
  assert.match(unscored.note ?? "", /evaluator\.enabled is false/);

  const dir = mkdtempSync(join(tmpdir(), "mathtune-recipe-report-"));
  const written = writeRecipeReport(dir, recipe, [terse, detailed]);
  const onDisk = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as typeof written;
  assert.deepEqual(onDisk.paired, JSON.parse(JSON.stringify(written.paired)));
  assert.equal(onDisk.main, "detailed");
  assert.deepEqual(Object.keys(onDisk.arms), ["terse", "detailed"]);
  assert.equal(onDisk.results["rr.all@4"], 1);
  assert.deepEqual(onDisk.not_available, []);
  const md = readFileSync(join(dir, "report.md"), "utf8");
  assert.match(md, /\| RR\.Top2 \|/);
  const html = readFileSync(join(dir, "report.html"), "utf8");
  assert.match(html, /<svg/);
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/);
  rmSync(dir, { recursive: true });
});
