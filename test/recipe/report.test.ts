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
function arm(name: string, good: (i: number) => number, scored: boolean, count = 8): ArmResult {
  const problems: ProblemSamples[] = Array.from({ length: count }, (_, i) => {
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
  assert.doesNotMatch(t3.note ?? "", /first/);
  // Arms sampled on fewer problems (sampledProblems): the notes say so, and paired rows use the shared problems.
  const few = paperTables(recipe, [arm("terse", (i) => (i < 4 ? 1 : 0), false, 4), detailed], { mtsf: arm("mtsf", () => 4, false, 5), control: arm("control", () => 4, false, 5) });
  assert.match(few.tables[0].note ?? "", /terse's Maj1 and Pass@N on the first 4/);
  assert.equal(few.paired["detailed-terse/maj1@4"].problems, 4);
  assert.match(few.tables[2].note ?? "", /mtsf's Maj1 and Pass@N on the first 5, control's Maj1 and Pass@N on the first 5/);
  assert.equal(few.paired["mtsf-detailed/maj1@4"].problems, 5);

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

test("table (2): RR.All and W.RR.Top2 rows for each likelihood baseline, named by its measure, and every baseline's AUC beside the evaluator's", () => {
  const recipe = resolveRecipeObject({ generators: [{ name: "terse", style: "terse" }, { name: "detailed", style: "detailed" }], eval: { topK: 2, topN: 2 } }, "r.json", "/");
  const terse = arm("terse", (i) => (i < 4 ? 1 : 0), false);
  const detailed = arm("detailed", (i) => (i < 6 ? 3 : 1), true);
  // No baseline in the results: no baseline row, no baseline AUC.
  const plain = paperTables(recipe, [terse, detailed]).tables[1];
  assert.equal(plain.rows.length, 6);
  assert.doesNotMatch(plain.note ?? "", /baseline/i);
  // The keys the eval stage writes: `likelihood.*` (sequence), `likelihood-token.*`, `likelihood-min.*`.
  const t = detailed.results.results;
  const values: Record<string, [number, number, number]> = { likelihood: [0.5, 0.625, 0.718], "likelihood-token": [0.375, 0.5, 0.701], "likelihood-min": [0.25, 0.375, 0.6504] };
  for (const [prefix, [rr, wrr, auc]] of Object.entries(values)) {
    t[`${prefix}.rr.all@4`] = rr;
    t[`${prefix}.rr.all@4_stderr`] = 0.05;
    t[`${prefix}.wrr.top2@4`] = wrr;
    t[`${prefix}.auc`] = auc;
  }
  const table = paperTables(recipe, [terse, detailed]).tables[1];
  assert.deepEqual(table.rows.slice(0, 6), plain.rows, "the evaluator's rows are unchanged");
  assert.deepEqual(table.rows.slice(6), [
    ["RR.All (sequence likelihood)", "50.0 ± 5.0", "–", "–"],
    ["W.RR.Top2 (sequence likelihood)", "62.5", "–", "–"],
    ["RR.All (per-token likelihood)", "37.5 ± 5.0", "–", "–"],
    ["W.RR.Top2 (per-token likelihood)", "50.0", "–", "–"],
    ["RR.All (min token probability)", "25.0 ± 5.0", "–", "–"],
    ["W.RR.Top2 (min token probability)", "37.5", "–", "–"],
  ]);
  assert.equal(t["evaluator.auc"], 1);
  assert.match(table.note ?? "", /problems\): 1\.000; the baselines' AUCs: sequence likelihood 0\.718, per-token likelihood 0\.701, min token probability 0\.650\./);
  assert.match(table.note ?? "", /"\(min token probability\)" the probability of its least likely token/);
  assert.doesNotMatch(table.note ?? "", /unscored/);
  // An evaluator that left candidates unscored: the baselines' AUCs on its pairs, and its own over all pairs.
  Object.assign(t, { "evaluator.auc.all": 0.727, "evaluator.auc.all:pairs": 1585, "likelihood.auc.evaluator-scored": 0.631, "likelihood-token.auc.evaluator-scored": 0.656, "base-evaluator.auc.all": 0.717 });
  const partial = paperTables(recipe, [terse, detailed]).tables[1].note ?? "";
  assert.match(partial, /On the \d+ pairs it scored, the baselines' AUCs are: sequence likelihood 0\.631, per-token likelihood 0\.656\./);
  assert.match(partial, /Over all 1585 pairs, with the unscored candidates ranked last \(as re-ranking ranks them\), the evaluator's AUC is 0\.727 \(the base model as evaluator: 0\.717\)\./);
  for (const k of ["evaluator.auc.all", "evaluator.auc.all:pairs", "likelihood.auc.evaluator-scored", "likelihood-token.auc.evaluator-scored", "base-evaluator.auc.all"]) delete t[k];
  // The sequence-contrastive re-ranker's rows, marked as not the paper's evaluator, and its AUC.
  Object.assign(t, { "contrastive.rr.all@4": 0.875, "contrastive.rr.all@4_stderr": 0.05, "contrastive.rr.all@4:calls": 32, "contrastive.wrr.top2@4": 0.75, "contrastive.auc": 0.914 });
  const ct = paperTables(recipe, [terse, detailed]).tables[1];
  assert.deepEqual(ct.rows.filter((r) => r[0].includes("contrastive")), [
    ["RR.All (sequence-contrastive re-ranker, not the paper's evaluator)", "87.5 ± 5.0", "4.0", "–"],
    ["W.RR.Top2 (sequence-contrastive re-ranker, not the paper's evaluator)", "75.0", "0.0", "–"],
  ]);
  // With the per-problem values the eval stage writes for it, each row is paired with Maj1 on the
  // same problems: differences 1, 0, 0, 0, 0, 0, 0, -1 against Maj1 here.
  const maj1 = detailed.perProblem.values["maj1@4"];
  const pp = detailed.perProblem.values;
  pp["contrastive.rr.all@4"] = maj1.map((v, i) => (i === 0 ? v + 1 : i === 7 ? v - 1 : v));
  const withPaired = paperTables(recipe, [terse, detailed]);
  const row = withPaired.tables[1].rows.find((r) => r[0].startsWith("RR.All (sequence-contrastive"));
  // mean 0; sample variance 2/7; standard error sqrt(2/7/8) = 0.189
  assert.equal(row?.[3], "+0.0 ± 18.9");
  assert.ok(Math.abs(withPaired.paired["detailed/contrastive.rr.all@4-maj1@4"].stderr - Math.sqrt(2 / 7 / 8)) < 1e-12);
  assert.equal(withPaired.paired["detailed/contrastive.rr.all@4-maj1@4"].problems, 8);
  // The evaluator's own rows against Maj1, from the arm's per-problem values (equal here: 0 ± 0).
  const rrAll = withPaired.tables[1].rows.find((r) => r[0] === "RR.All");
  const d = pp["rr.all@4"].map((v, i) => v - maj1[i]);
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  const se = Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1) / d.length);
  assert.equal(rrAll?.[3], `+${(100 * m).toFixed(1)} ± ${(100 * se).toFixed(1)}`);
  assert.equal(withPaired.tables[1].rows[0][3], "–", "Maj1 is not paired with itself");
  delete pp["contrastive.rr.all@4"];
  assert.match(withPaired.tables[1].note ?? "", /− Maj1 \(paired\): the strategy's accuracy minus Maj1@4's, problem by problem/);
  assert.match(ct.note ?? "", /not the paper's evaluator; its AUC 0\.914\./);
  for (const k of Object.keys(t)) if (k.startsWith("contrastive.")) delete t[k];

  const dir = mkdtempSync(join(tmpdir(), "mathtune-recipe-report-"));
  const written = writeRecipeReport(dir, recipe, [terse, detailed]);
  for (const k of ["likelihood.auc", "likelihood-token.auc", "likelihood-min.auc", "likelihood-min.rr.all@4"]) assert.equal(written.results[k], t[k], k);
  const md = readFileSync(join(dir, "report.md"), "utf8");
  assert.match(md, /\| RR\.All \(min token probability\) \| 25\.0 ± 5\.0 \| – \| – \|/);
  assert.match(md, /\| W\.RR\.Top2 \(per-token likelihood\) \| 50\.0 \| – \| – \|/);
  const html = readFileSync(join(dir, "report.html"), "utf8");
  assert.match(html, /<td>RR\.All \(sequence likelihood\)<\/td>/);
  assert.match(html, /min token probability 0\.650/);
  rmSync(dir, { recursive: true });
});

test("table (2): the base model as evaluator (no evaluator training) gets RR.All and W.RR.Top2 rows with its calls, and its AUC beside the evaluator's", () => {
  const recipe = resolveRecipeObject({ generators: [{ name: "terse", style: "terse" }, { name: "detailed", style: "detailed" }], eval: { topK: 2, topN: 2 } }, "r.json", "/");
  const terse = arm("terse", (i) => (i < 4 ? 1 : 0), false);
  const detailed = arm("detailed", (i) => (i < 6 ? 3 : 1), true);
  const plain = paperTables(recipe, [terse, detailed]).tables[1];
  assert.doesNotMatch(plain.note ?? "", /base model/);
  // The keys the eval stage writes from score/<main>/base-evaluator.jsonl, beside a likelihood baseline.
  const t = detailed.results.results;
  Object.assign(t, {
    "base-evaluator.rr.all@4": 0.625,
    "base-evaluator.rr.all@4_stderr": 0.04,
    "base-evaluator.rr.all@4:calls": 32,
    "base-evaluator.wrr.top2@4": 0.75,
    "base-evaluator.wrr.top2@4:calls": 32,
    "base-evaluator.auc": 0.6123,
    "base-evaluator.auc:pairs": t["evaluator.auc:pairs"],
    "base-evaluator.auc:problems": t["evaluator.auc:problems"],
    "likelihood.rr.all@4": 0.5,
    "likelihood.wrr.top2@4": 0.625,
    "likelihood.auc": 0.718,
  });
  const table = paperTables(recipe, [terse, detailed]).tables[1];
  assert.deepEqual(table.rows.slice(0, 6), plain.rows, "the evaluator's rows are unchanged");
  assert.deepEqual(table.rows.slice(6), [
    ["RR.All (base model as evaluator, no evaluator training)", "62.5 ± 4.0", "4.0", "–"],
    ["W.RR.Top2 (base model as evaluator, no evaluator training)", "75.0", "4.0", "–"],
    ["RR.All (sequence likelihood)", "50.0", "–", "–"],
    ["W.RR.Top2 (sequence likelihood)", "62.5", "–", "–"],
  ]);
  assert.match(table.note ?? "", /problems\): 1\.000; the base model as evaluator before evaluator training: 0\.612; the baselines' AUCs: sequence likelihood 0\.718\./);
  assert.match(table.note ?? "", /"\(base model as evaluator, no evaluator training\)" rows: .*model\.base/);
  // When the base model's AUC rests on other pairs (samples too long for its context), it says on which.
  t["base-evaluator.auc:pairs"] = 5;
  t["base-evaluator.auc:problems"] = 2;
  assert.match(paperTables(recipe, [terse, detailed]).tables[1].note ?? "", /before evaluator training: 0\.612 \(5 pairs from 2 problems\);/);

  const dir = mkdtempSync(join(tmpdir(), "mathtune-recipe-report-"));
  const written = writeRecipeReport(dir, recipe, [terse, detailed]);
  for (const k of ["base-evaluator.auc", "base-evaluator.rr.all@4", "base-evaluator.wrr.top2@4"]) assert.equal(written.results[k], t[k], k);
  const md = readFileSync(join(dir, "report.md"), "utf8");
  assert.match(md, /\| RR\.All \(base model as evaluator, no evaluator training\) \| 62\.5 ± 4\.0 \| 4\.0 \|/);
  assert.match(md, /\| W\.RR\.Top2 \(base model as evaluator, no evaluator training\) \| 75\.0 \| 4\.0 \|/);
  rmSync(dir, { recursive: true });
});
