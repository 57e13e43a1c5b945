// The miniature recipe end to end (recipes/mini.json: the demo's base model fine-tuned 12 steps,
// N = 4, the evaluator, scoring, MTSF and its control for 4 steps each) through the real CLI: every file of the run folder, a rerun that redoes nothing, a run stopped in the middle
// of training (as Ctrl-C does) and one crashed in the middle of sampling, each finishing with
// results identical to the uninterrupted run. The recipe samples with parallel 1, which makes
// sampling bit-reproducible (docs/recipe.md, "Reproducibility").
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = join(root, "test/recipe/cli-entry.ts");
const recipe = join(root, "recipes/mini.json");

function cli(out: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", entry, "recipe", recipe, "--out", out], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 170_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const read = (dir: string, rel: string): string => readFileSync(join(dir, rel), "utf8");
const sha = (p: string): string => createHash("sha256").update(readFileSync(p)).digest("hex");
const gens = ["terse", "detailed"];
/** Every arm: the two generators, then MTSF and its control. */
const arms = [...gens, "mtsf", "control"];
/** The files whose content must not depend on interruptions (the results, and what they rest on). */
const resultFiles = [
  "data/train.jsonl",
  "data/test.jsonl",
  ...gens.map((g) => `sft/${g}/model.gguf`),
  "evaluator/graded.jsonl",
  "evaluator/train/model.gguf",
  "score/detailed/samples.jsonl",
  "score/detailed/likelihood.jsonl",
  "score/detailed/likelihood-token.jsonl",
  "score/detailed/likelihood-min.jsonl",
  "score/detailed/base-evaluator.jsonl",
  "mtsf/stage-2-sft/model.gguf",
  "mtsf-control/model.gguf",
  ...arms.flatMap((g) => [`grade/${g}/samples.jsonl`, `eval/${g}/results.json`, `eval/${g}/per-problem.json`]),
  "results.json",
  "report.md",
];
const STAGES = 24;

const work = mkdtempSync(join(tmpdir(), "mathtune-mini-"));
const ref = join(work, "ref");

test("the miniature recipe writes every file of the run folder, and a rerun redoes nothing", { timeout: 180_000 }, (t) => {
  const t0 = Date.now();
  const r = cli(ref);
  assert.equal(r.code, 0, r.stderr);
  const all = files(ref);
  const expected = [
    "config.json",
    "metrics.jsonl",
    "results.json",
    "report.md",
    "report.html",
    "data/train.jsonl",
    "data/test.jsonl",
    ...gens.flatMap((g) => [`data/sft-${g}.jsonl`, `sft/${g}/model.gguf`, `sft/${g}/metrics.jsonl`, `sft/${g}/config.json`, `stages/sft__${g}.json`]),
    ...arms.flatMap((g) => [
      `sample/${g}/samples.jsonl`,
      `grade/${g}/samples.jsonl`,
      `eval/${g}/results.json`,
      `eval/${g}/report.md`,
      `eval/${g}/report.html`,
      `eval/${g}/per-problem.json`,
      `stages/sample__${g}.json`,
      `stages/grade__${g}.json`,
      `stages/eval__${g}.json`,
    ]),
    "evaluator/problems.jsonl",
    "evaluator/samples.jsonl",
    "evaluator/graded.jsonl",
    "evaluator/train/model.gguf",
    "evaluator/train/metrics.jsonl",
    "score/detailed/samples.jsonl",
    "score/detailed/likelihood.jsonl",
    "score/detailed/likelihood-token.jsonl",
    "score/detailed/likelihood-min.jsonl",
    "score/detailed/base-evaluator.jsonl",
    "mtsf/stage-2-sft/model.gguf",
    "mtsf-control/model.gguf",
    "stages/data.json",
    "stages/evaluator__sample.json",
    "stages/evaluator__grade.json",
    "stages/evaluator__train.json",
    "stages/score__detailed.json",
    "stages/likelihood__detailed.json",
    "stages/score__detailed__base-evaluator.json",
    "stages/mtsf__train.json",
    "stages/mtsf__control.json",
    "stages/report.json",
  ];
  for (const f of expected) assert.ok(all.includes(f), `${f} is in the run folder`);
  assert.ok(!all.some((f) => f.endsWith(".tmp")), "no temp file is left behind");

  // config.json: resolved settings, seeds, versions, the trained models' sha256.
  const config = JSON.parse(read(ref, "config.json")) as { recipe: { sampling: { n: number } }; seeds: Record<string, number>; versions: Record<string, string>; models: Record<string, string> };
  assert.equal(config.recipe.sampling.n, 4);
  assert.equal(config.seeds.sampling, 3);
  assert.match(config.versions["node-llama-cpp"], /^\d+\.\d+\.\d+/);
  assert.match(config.versions.mathtune, /^\d+\.\d+\.\d+/);
  for (const m of [...gens.map((g) => `sft/${g}/model.gguf`), "evaluator/train/model.gguf", "mtsf/stage-2-sft/model.gguf", "mtsf-control/model.gguf"]) {
    assert.equal(config.models[m], sha(join(ref, m)), `sha256 of ${m} in config.json`);
  }

  // The data: 12 test problems; samples: 4 + 1 greedy each, graded.
  assert.equal(read(ref, "data/test.jsonl").trim().split("\n").length, 12);
  for (const g of arms) {
    const graded = read(ref, `grade/${g}/samples.jsonl`).trim().split("\n").map((l) => JSON.parse(l) as { greedy?: boolean; correct?: boolean; extracted?: unknown });
    assert.equal(graded.length, 12 * 5);
    assert.equal(graded.filter((s) => s.greedy).length, 12);
    assert.ok(graded.every((s) => typeof s.correct === "boolean" && "extracted" in s));
  }
  // metrics.jsonl: a start and a done line per stage, and training losses.
  const events = read(ref, "metrics.jsonl").trim().split("\n").map((l) => JSON.parse(l) as { stage: string; event?: string; loss?: number });
  const stages = [
    "data",
    ...gens.map((g) => `sft/${g}`),
    ...arms.flatMap((g) => [`sample/${g}`, `grade/${g}`, `eval/${g}`]),
    "evaluator/sample",
    "evaluator/grade",
    "evaluator/train",
    "score/detailed",
    "likelihood/detailed",
    "score/detailed/base-evaluator",
    "mtsf/train",
    "mtsf/control",
    "report",
  ];
  assert.equal(stages.length, STAGES);
  for (const s of stages) assert.ok(events.some((e) => e.stage === s && e.event === "done"), `${s} done in metrics.jsonl`);
  assert.ok(events.some((e) => e.stage === "sft/terse" && typeof e.loss === "number"));
  // Results and reports.
  const results = JSON.parse(read(ref, "results.json")) as { results: Record<string, number>; arms: Record<string, unknown>; main: string };
  assert.equal(results.main, "detailed");
  assert.deepEqual(Object.keys(results.arms), arms);
  for (const k of ["pass@1", "pass@4", "maj1@4", "maj1@4_stderr"]) assert.equal(typeof results.results[k], "number", k);
  // Every sampled candidate of the main generator carries the evaluator's score, and the re-ranking
  // rows exist; the greedy samples, which no strategy re-ranks, are left unscored.
  const scored = read(ref, "score/detailed/samples.jsonl").trim().split("\n").map((l) => JSON.parse(l) as { score?: number; greedy?: boolean });
  assert.equal(scored.length, 12 * 5);
  assert.ok(scored.filter((s) => s.greedy !== true).every((s) => typeof s.score === "number" && s.score >= 0 && s.score <= 1));
  assert.deepEqual(scored.filter((s) => s.greedy === true).map((s) => s.score), Array(12).fill(undefined));
  assert.equal(typeof results.results["rr.all@4"], "number");
  // The likelihood baselines: every sample scored by the generator's own probability of it (whole
  // sequence, per-token geometric mean, least likely token) in one pass, and re-ranking by each in
  // the results and in table (2).
  type Lik = { problem_id: string; sample: number; score?: number; greedy?: boolean; correct?: boolean };
  const likOf = (f: string): Lik[] => read(ref, `score/detailed/${f}`).trim().split("\n").map((l) => JSON.parse(l) as Lik);
  const [lik, likToken, likMin] = ["likelihood.jsonl", "likelihood-token.jsonl", "likelihood-min.jsonl"].map(likOf);
  for (const l of [lik, likToken, likMin]) {
    assert.equal(l.length, 12 * 5);
    assert.ok(l.filter((s) => s.greedy !== true).every((s) => typeof s.score === "number" && s.score > 0 && s.score <= 1));
    assert.ok(l.filter((s) => s.greedy === true).every((s) => s.score === undefined));
  }
  // The same samples in the same order; the product of the token probabilities is at most the least
  // one, which is at most their geometric mean.
  lik.forEach((s, i) => {
    if (s.greedy === true) return;
    assert.deepEqual([likToken[i].problem_id, likToken[i].sample, likMin[i].problem_id, likMin[i].sample], [s.problem_id, s.sample, s.problem_id, s.sample]);
    assert.ok(s.score! <= likMin[i].score! * (1 + 1e-12) && likMin[i].score! <= likToken[i].score! * (1 + 1e-12), `${s.problem_id}#${s.sample}`);
  });
  assert.ok(likMin.some((s, i) => s.score! < likToken[i].score!), "min token probability differs from the per-token likelihood");
  for (const p of ["likelihood", "likelihood-token", "likelihood-min"]) {
    for (const k of [`${p}.rr.all@4`, `${p}.wrr.top2@4`, `${p}.auc`]) assert.equal(typeof results.results[k], "number", k);
  }
  // Each baseline's AUC is the within-problem AUC of its file's scores (non-greedy samples; results.json
  // rounds to 6 decimals).
  const aucOf = (rows: Lik[]): number => {
    let wins = 0;
    let pairs = 0;
    for (const id of new Set(rows.map((r) => r.problem_id))) {
      const rs = rows.filter((r) => r.problem_id === id && r.greedy !== true);
      for (const a of rs.filter((r) => r.correct === true))
        for (const b of rs.filter((r) => r.correct === false)) {
          pairs++;
          wins += a.score! > b.score! ? 1 : a.score! === b.score! ? 0.5 : 0;
        }
    }
    return wins / pairs;
  };
  for (const [p, rows] of [["likelihood", lik], ["likelihood-token", likToken], ["likelihood-min", likMin]] as const) {
    assert.ok(Math.abs(results.results[`${p}.auc`] - aucOf(rows)) < 1e-6, `${p}.auc ${results.results[`${p}.auc`]} vs ${aucOf(rows)}`);
  }
  // The base model as the evaluator before evaluator training: every sampled candidate scored
  // (scoreTopK 0, as the evaluator; the greedy samples are not) through the same template, in the evaluator's order; re-ranking by it and its
  // AUC, recomputed from its own file, in the results and in table (2).
  const baseEval = likOf("base-evaluator.jsonl");
  assert.equal(baseEval.length, 12 * 5);
  assert.ok(baseEval.every((s) => (s.greedy === true ? s.score === undefined : typeof s.score === "number" && s.score >= 0 && s.score <= 1)));
  const scoredRows = read(ref, "score/detailed/samples.jsonl").trim().split("\n").map((l) => JSON.parse(l) as Lik);
  baseEval.forEach((s, i) => assert.deepEqual([s.problem_id, s.sample, s.correct], [scoredRows[i].problem_id, scoredRows[i].sample, scoredRows[i].correct]));
  assert.ok(baseEval.some((s, i) => s.score !== scoredRows[i].score), "the base model's scores are not the trained evaluator's");
  for (const k of ["base-evaluator.rr.all@4", "base-evaluator.rr.all@4_stderr", "base-evaluator.rr.all@4:calls", "base-evaluator.wrr.top2@4", "base-evaluator.auc", "base-evaluator.auc:pairs", "base-evaluator.auc:problems"]) {
    assert.equal(typeof results.results[k], "number", k);
  }
  assert.ok(Math.abs(results.results["base-evaluator.auc"] - aucOf(baseEval)) < 1e-6, `base-evaluator.auc ${results.results["base-evaluator.auc"]} vs ${aucOf(baseEval)}`);
  assert.ok(Math.abs(results.results["evaluator.auc"] - aucOf(scoredRows)) < 1e-6, `evaluator.auc ${results.results["evaluator.auc"]} vs ${aucOf(scoredRows)}`);
  assert.match(read(ref, "report.md"), /\| RR\.All \(base model as evaluator, no evaluator training\) \| [\d.]+ ± [\d.]+ \| [\d.]+ \|/);
  assert.match(read(ref, "report.md"), /\| W\.RR\.Top2 \(base model as evaluator, no evaluator training\) \|/);
  assert.match(read(ref, "report.md"), /problems\): \d\.\d{3}; the base model as evaluator before evaluator training: \d\.\d{3}[^;]*; the baselines' AUCs/);
  for (const label of ["sequence likelihood", "per-token likelihood", "min token probability"]) {
    assert.match(read(ref, "report.md"), new RegExp(`\\| RR\\.All \\(${label}\\) \\|`), label);
    assert.match(read(ref, "report.md"), new RegExp(`\\| W\\.RR\\.Top2 \\(${label}\\) \\|`), label);
    assert.match(read(ref, "report.html"), new RegExp(`RR\\.All \\(${label}\\)`), label);
  }
  assert.match(read(ref, "report.md"), /the baselines' AUCs: sequence likelihood \d\.\d{3}, per-token likelihood \d\.\d{3}, min token probability \d\.\d{3}/);
  assert.match(read(ref, "report.md"), /\(1\) SSFT by solution style/);
  assert.match(read(ref, "report.md"), /\(2\) /);
  assert.match(read(ref, "report.md"), /\(3\) /);
  assert.match(read(ref, "report.html"), /<svg/);
  assert.match(r.stdout, /\(1\) SSFT by solution style \(N = 4\)/);
  assert.match(r.stderr, /Parameter\s+\| Value/);
  const seconds = (Date.now() - t0) / 1000;

  // A rerun: every stage cached, no file rewritten.
  const before = new Map(files(ref).map((f) => [f, statSync(join(ref, f)).mtimeMs]));
  const again = cli(ref);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`0 of ${STAGES} stages ran \\(${STAGES} cached\\)`));
  for (const [f, m] of before) {
    if (f === "metrics.jsonl" || f === "config.json") continue;
    assert.equal(statSync(join(ref, f)).mtimeMs, m, `${f} untouched by the rerun`);
  }
  t.diagnostic(`mini recipe end to end: ${seconds.toFixed(1)} s`);
});

test("stopped in the middle of training (Ctrl-C) and rerun: results identical to the uninterrupted run", { timeout: 180_000 }, () => {
  assert.ok(existsSync(join(ref, "results.json")), "needs the reference run of the first test");
  const dir = join(work, "stopped");
  // The training child stops itself after step 6 exactly as on Ctrl-C (fault injection of the trainer).
  const first = cli(dir, { MATHTUNE_FAULT: "sigint@6" });
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /stopped during stage sft\/terse/);
  assert.ok(!existsSync(join(dir, "results.json")));
  assert.equal((JSON.parse(read(dir, "stages/sft__terse.json")) as { status: string }).status, "started");
  const second = cli(dir);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /sft\/terse: .*\(resuming\)/);
  assert.match(second.stderr, new RegExp(`\\[1/${STAGES}\\] data: cached`));
  for (const f of resultFiles) assert.equal(sha(join(dir, f)), sha(join(ref, f)), `${f} identical`);
});

test("crashed in the middle of sampling and rerun: sampling resumes, results identical", { timeout: 180_000 }, () => {
  const dir = join(work, "crashed");
  cpSync(ref, dir, { recursive: true });
  // The state a crash leaves: the stage marked started (same key), part of its append-only file
  // written, the last line cut off; later stages as they were.
  const marker = join(dir, "stages/sample__detailed.json");
  const m = JSON.parse(readFileSync(marker, "utf8")) as Record<string, unknown>;
  writeFileSync(marker, JSON.stringify({ id: m.id, key: m.key, status: "started", started: m.started }));
  const lines = read(dir, "sample/detailed/samples.jsonl").split("\n");
  writeFileSync(join(dir, "sample/detailed/samples.jsonl"), lines.slice(0, 25).join("\n") + "\n" + lines[25].slice(0, 20));
  const r = cli(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sample\/detailed: .*\(resuming\)/);
  // The 25 whole lines were kept (greedy ones among them), the cut one redone, nothing duplicated.
  const keys = read(dir, "sample/detailed/samples.jsonl").trim().split("\n").map((l) => {
    const s = JSON.parse(l) as { problem_id: string; sample: number; greedy?: boolean };
    return `${s.problem_id}/${s.sample}/${s.greedy === true}`;
  });
  assert.equal(keys.length, 60);
  assert.equal(new Set(keys).size, 60);
  for (const f of resultFiles) assert.equal(sha(join(dir, f)), sha(join(ref, f)), `${f} identical`);
});

test("killed (SIGKILL) in the middle of sampling and rerun: sampling resumes, results identical", { timeout: 180_000 }, async () => {
  const dir = join(work, "killed");
  cpSync(ref, dir, { recursive: true });
  // Sampling of the detailed generator and what follows it are to be redone: remove them.
  for (const id of ["sample__detailed", "grade__detailed", "eval__detailed", "report"]) rmSync(join(dir, `stages/${id}.json`));
  rmSync(join(dir, "sample/detailed"), { recursive: true });
  const samples = join(dir, "sample/detailed/samples.jsonl");
  const child = spawn(process.execPath, ["--import", "tsx", entry, "recipe", recipe, "--out", dir], { cwd: root, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let killedAt = -1;
  while (child.exitCode === null && killedAt < 0) {
    const n = existsSync(samples) ? readFileSync(samples, "utf8").split("\n").length - 1 : 0;
    if (n >= 10) {
      child.kill("SIGKILL");
      killedAt = n;
    } else await new Promise((r) => setTimeout(r, 10));
  }
  await exited;
  assert.ok(killedAt >= 10 && killedAt < 60, `killed after ${killedAt} of 60 samples`);
  assert.equal((JSON.parse(read(dir, "stages/sample__detailed.json")) as { status: string }).status, "started");
  const r = cli(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /sample\/detailed: .*\(resuming\)/);
  assert.match(r.stderr, /sft\/detailed: cached/);
  for (const f of resultFiles) assert.equal(sha(join(dir, f)), sha(join(ref, f)), `${f} identical`);
  rmSync(work, { recursive: true, force: true });
});
