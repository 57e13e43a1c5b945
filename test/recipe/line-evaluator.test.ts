// The line evaluator (lineEvaluator, an ablation beside the paper's evaluator) end to end through
// the real CLI on a miniature checkable world: its SFT records carry a label after each line as
// the world judges it, the trained model scores every test sample, and the eval stage's
// `line-evaluator.*` rows and AUC are those of its scores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { worldLineLabels } from "../../src/data/synth/lines.js";

/** Within-problem AUC: a correct against an incorrect sample of the same problem; null with no such pair. */
function withinProblemAuc(rows: ReadonlyArray<{ problem_id: string; correct: boolean; score: number }>): number | null {
  let wins = 0;
  let pairs = 0;
  for (const id of new Set(rows.map((r) => r.problem_id))) {
    const rs = rows.filter((r) => r.problem_id === id);
    for (const a of rs.filter((r) => r.correct))
      for (const b of rs.filter((r) => !r.correct)) {
        pairs++;
        wins += a.score > b.score ? 1 : a.score === b.score ? 0.5 : 0;
      }
  }
  return pairs > 0 ? wins / pairs : null;
}

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = join(root, "test/recipe/cli-entry.ts");

test("line evaluator: labels from the world, a trained model, its scores in the results and table (2)", { timeout: 240_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), "mathtune-lines-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const recipe = join(work, "lines.json");
  writeFileSync(
    recipe,
    JSON.stringify({
      name: "lines",
      seed: 5,
      data: { source: "synth", train: 60, test: 6, levels: [1], skills: ["root", "remainder", "sum-product"], maxChars: 160 },
      model: { base: join(root, "models/checkable-base.gguf") },
      generators: [{ name: "detailed", style: "detailed" }],
      sft: { steps: 2, batch: 4, seqLen: 192, lr: 0.0003 },
      sampling: { n: 4, temperature: 0.9, topP: 0.95, maxTokens: 120, parallel: 1 },
      grade: { workers: 1 },
      evaluator: { enabled: true, n: 2, problems: 8, perProblem: 2, loss: "ce", steps: 2, batch: 2, seqLen: 256, lr: 0.0003, likelihoodBaseline: false, baseBaseline: false },
      lineEvaluator: { enabled: true, worldProblems: 20, steps: 3, batch: 4, lr: 0.0003 },
      eval: { topK: 2, subsets: 10, bootstrap: 50 },
    }),
  );
  const out = join(work, "run");
  const r = spawnSync(process.execPath, ["--import", "tsx", entry, "recipe", recipe, "--out", out], { cwd: root, encoding: "utf8", timeout: 230_000 });
  assert.equal(r.status, 0, r.stderr);

  // The records: the evaluator's graded samples (judged line by line) and the world's solutions.
  const data = readFileSync(join(out, "line-evaluator/data.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { completion: string; id: string; loss_spans: Array<[number, number]> });
  const graded = readFileSync(join(out, "evaluator/graded.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { problem_id: string; sample: number; text: string; correct: boolean; finish: string });
  const own = data.filter((e) => !e.id.includes("/lines/"));
  assert.equal(own.length, graded.filter((s) => s.finish !== "length").length);
  for (const s of graded.filter((x) => x.finish !== "length")) {
    const e = own.find((x) => x.id === `${s.problem_id}/${s.sample}`)!;
    const labels = worldLineLabels(s.text, s.correct);
    const first = labels.indexOf(false);
    const want = (first < 0 ? labels : labels.slice(0, first + 1)).map((b) => (b ? "y" : "n")).join("");
    assert.equal(e.loss_spans.map(([a, b]) => e.completion.slice(a, b)).join(""), want, e.completion);
  }
  assert.equal(data.filter((e) => e.id.endsWith("/lines/detailed")).length, 20);

  // Its scores: every sampled test candidate scored in (0, 1] (the greedy samples are not), and the results' AUC is theirs.
  const scored = readFileSync(join(out, "score/detailed/line-evaluator.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { problem_id: string; correct: boolean; score: number; greedy?: boolean });
  assert.equal(scored.length, readFileSync(join(out, "grade/detailed/samples.jsonl"), "utf8").trim().split("\n").length);
  for (const s of scored) assert.ok(s.greedy === true ? s.score === undefined : s.score > 0 && s.score <= 1, String(s.score));
  const results = JSON.parse(readFileSync(join(out, "eval/detailed/results.json"), "utf8")) as { results: Record<string, number> };
  for (const k of ["line-evaluator.rr.all@4", "line-evaluator.rr.top2@4", "line-evaluator.wrr.top2@4"]) assert.equal(typeof results.results[k], "number", k);
  const auc = withinProblemAuc(scored.filter((s) => s.greedy !== true));
  t.diagnostic(`line evaluator AUC ${auc}, ${scored.length} samples, ${data.length} records`);
  if (auc === null) assert.equal(results.results["line-evaluator.auc"], undefined);
  else assert.ok(Math.abs(results.results["line-evaluator.auc"] - auc) < 1e-6, `${results.results["line-evaluator.auc"]} vs ${auc}`);
  const report = readFileSync(join(out, "report.md"), "utf8");
  assert.match(report, /RR\.All \(line evaluator: per-line labels, an ablation\)/);
});
