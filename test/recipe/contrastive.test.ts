// The sequence-contrastive re-ranker (contrastive.enabled; not the paper's evaluator) end to end
// through the real CLI on a miniature digits-search world: it trains from the generator on the
// evaluator's graded samples, its tuned likelihood scores every sampled test candidate (not the
// greedy ones), and the eval stage's `contrastive.*` rows and AUC are those of its scores.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { withinProblemAuc } from "../../src/metrics/estimators.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = join(root, "test/recipe/cli-entry.ts");

interface Row { problem_id: string; sample: number; correct: boolean; greedy?: boolean; score?: number }
const rows = (file: string): Row[] => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Row);

test("sequence-contrastive re-ranker: trained on the evaluator's samples, its likelihood scores the test candidates, its rows in the results and table (2)", { timeout: 300_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), "mathtune-contrastive-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const recipe = join(work, "contrastive.json");
  writeFileSync(
    recipe,
    JSON.stringify({
      name: "contrastive",
      seed: 3,
      data: { source: "synth", train: 40, test: 6, levels: [2], skills: ["digits-search"], maxChars: 224 },
      model: { base: join(root, "models/search-base.gguf") },
      generators: [{ name: "detailed", style: "detailed" }],
      sft: { steps: 2, batch: 4, seqLen: 336, lr: 0.0003 },
      sampling: { n: 4, temperature: 0.9, topP: 0.95, maxTokens: 160, parallel: 2 },
      grade: { workers: 1 },
      evaluator: { enabled: true, n: 4, problems: 16, perProblem: 4, loss: "ce", steps: 2, batch: 2, seqLen: 352, lr: 0.0003, baseBaseline: false },
      contrastive: { enabled: true, steps: 3, batch: 2, lr: 0.0003 },
      eval: { topK: 2, subsets: 10, bootstrap: 50 },
    }),
  );
  const out = join(work, "run");
  const r = spawnSync(process.execPath, ["--import", "tsx", entry, "recipe", recipe, "--out", out], { cwd: root, encoding: "utf8", timeout: 290_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(existsSync(join(out, "contrastive/train/model.gguf")));

  const scored = rows(join(out, "score/detailed/contrastive.jsonl"));
  assert.equal(scored.length, rows(join(out, "grade/detailed/samples.jsonl")).length);
  for (const s of scored) assert.ok(s.greedy === true ? s.score === undefined : typeof s.score === "number" && s.score > 0 && s.score <= 1, JSON.stringify(s));
  // A trained model: its likelihood of the samples is not the generator's own.
  const lik = rows(join(out, "score/detailed/likelihood.jsonl"));
  assert.ok(scored.some((s, i) => s.greedy !== true && Math.abs((s.score as number) - (lik[i].score as number)) > 1e-9));

  const results = JSON.parse(readFileSync(join(out, "eval/detailed/results.json"), "utf8")) as { results: Record<string, number> };
  for (const k of ["contrastive.rr.all@4", "contrastive.wrr.top2@4"]) assert.equal(typeof results.results[k], "number", k);
  const byProblem = new Map<string, { correct: boolean[]; scores: number[] }>();
  for (const s of scored.filter((x) => x.greedy !== true)) {
    const g = byProblem.get(s.problem_id) ?? { correct: [], scores: [] };
    g.correct.push(s.correct);
    g.scores.push(s.score as number);
    byProblem.set(s.problem_id, g);
  }
  const auc = withinProblemAuc([...byProblem.values()]);
  t.diagnostic(`contrastive AUC ${auc?.auc ?? "none"} on ${auc?.pairs ?? 0} pairs`);
  if (auc === null) assert.equal(results.results["contrastive.auc"], undefined);
  else assert.ok(Math.abs(results.results["contrastive.auc"] - auc.auc) < 1e-6);
  assert.match(readFileSync(join(out, "report.md"), "utf8"), /RR\.All \(sequence-contrastive re-ranker, not the paper's evaluator\)/);
  // Its per-problem values, beside Maj1's, give table (2)'s paired difference against Maj1.
  const pp = JSON.parse(readFileSync(join(out, "eval/detailed/per-problem.json"), "utf8")) as { ids: string[]; values: Record<string, Array<number | null>> };
  const rr = pp.values["contrastive.rr.all@4"];
  const maj1 = pp.values["maj1@4"];
  assert.equal(rr.length, pp.ids.length);
  const both = rr.map((v, i) => [v, maj1[i]]).filter((x): x is [number, number] => x[0] !== null && x[1] !== null);
  assert.ok(Math.abs(both.reduce((a, [v]) => a + v, 0) / both.length - results.results["contrastive.rr.all@4"]) < 1e-6, `the per-problem values ${JSON.stringify(rr)} average to the reported accuracy ${results.results["contrastive.rr.all@4"]}`);
  const top = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { paired: Record<string, { diff: number; problems: number }> };
  const d = top.paired["detailed/contrastive.rr.all@4-maj1@4"];
  assert.equal(d.problems, both.length);
  assert.ok(Math.abs(d.diff - both.reduce((a, [v, m]) => a + v - m, 0) / both.length) < 1e-12);
});
