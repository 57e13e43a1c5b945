// The evaluator commands end to end through the CLI: evaluator-data, score (with --top-k),
// train evaluator, and train mtsf (generator → evaluator → generator, plus the control) on a tiny
// model, with resume.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { initWeights, saveModelGguf } from "../../src/model/checkpoint.js";
import { presetConfig } from "../../src/model/config.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import type { Problem, Sample } from "../../src/data/records.js";
import { generatorPrompt } from "../../src/data/prompts.js";
import { TEST_DEVICE, deviceSkip } from "../device.js";

const entry = fileURLToPath(new URL("../model/cli-entry.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "mathtune-evaluator-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

const tok = CharTokenizer.ascii();
const cfg = presetConfig("tiny", tok.vocabSize, { contextLength: 160 });

// 12 problems, 4 samples each: problems 0..7 mixed, 8..9 all correct, 10..11 all wrong.
const problems: Problem[] = [];
const samples: Sample[] = [];
for (let p = 0; p < 12; p++) {
  const id = `p${String(p).padStart(2, "0")}`;
  problems.push({ id, problem: `${p}+1?`, answer: String(p + 1) });
  for (let i = 0; i < 4; i++) {
    const correct = p >= 10 ? false : p >= 8 ? true : i % 2 === 0;
    const a = correct ? p + 1 : p + 2 + (i % 2);
    samples.push({ problem_id: id, sample: i, text: `${a} ${correct ? "ok" : "no!"} #${i}`, extracted: String(a), correct });
  }
}
const probFile = join(dir, "problems.jsonl");
const sampFile = join(dir, "samples.jsonl");
writeFileSync(probFile, problems.map((x) => JSON.stringify(x)).join("\n") + "\n");
writeFileSync(sampFile, samples.map((x) => JSON.stringify(x)).join("\n") + "\n");

test("evaluator-data writes TRL-shape pairwise and balanced pointwise records and prints the counts", async () => {
  const pairs = join(dir, "pairs.jsonl");
  const points = join(dir, "points.jsonl");
  const r = await cli(["evaluator-data", "--samples", sampFile, "--problems", probFile, "--pairwise", pairs, "--pointwise", points, "--per-problem", "3"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /problems 12: mixed 8, all correct 2, all wrong 2/);
  // Mixed problems have 2 correct and 2 incorrect distinct texts: min(3, 4) pairs, min(1, 2, 2) of each class.
  assert.match(r.out, /pairwise 24/);
  assert.match(r.out, /pointwise 16 \(correct 8, incorrect 8\)/);
  const first = JSON.parse(readFileSync(pairs, "utf8").split("\n")[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(first).sort(), ["chosen", "problem_id", "prompt", "rejected"]);
  const p = JSON.parse(readFileSync(points, "utf8").split("\n")[0]) as Record<string, unknown>;
  assert.deepEqual(Object.keys(p).sort(), ["completion", "label", "problem_id", "prompt"]);
  const bad = await cli(["evaluator-data", "--samples", sampFile, "--problems", probFile]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /nothing to write/);
});

test("score --top-k scores only the largest clusters and reports the calls saved; score --likelihood min; train evaluator refuses an unknown loss", async () => {
  const model = join(dir, "m.gguf");
  await saveModelGguf(model, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 3) });
  const out = join(dir, "scored.jsonl");
  const r = await cli(["score", "--model", model, "--samples", sampFile, "--problems", probFile, "--out", out, "--top-k", "1", "--threads", "1", "--parallel", "4"]);
  assert.equal(r.code, 0, r.err);
  // Mixed problems: clusters {correct x2} and two singletons -> 2 scored of 4; one-answer problems: 4 of 4
  // for the all-correct ones; all-wrong problems have answers p+2, p+3 in two clusters of 2 -> 2 of 4.
  assert.match(r.out, /scored 12 problems \(0 already done\): 28 evaluator calls of 48 candidates, 20 saved by --top-k 1/);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample);
  assert.equal(lines.length, 48);
  assert.equal(lines.filter((s) => typeof s.score === "number" && s.score > 0 && s.score < 1).length, 28);
  const again = await cli(["score", "--model", model, "--samples", sampFile, "--problems", probFile, "--out", out, "--top-k", "1", "--threads", "1"]);
  assert.match(again.out, /scored 0 problems \(12 already done\)/);
  const labels = await cli(["score", "--model", model, "--samples", sampFile, "--problems", probFile, "--out", join(dir, "x.jsonl"), "--labels", "correct,correctly"]);
  assert.notEqual(labels.code, 0);
  assert.match(labels.err, /no position where their tokens differ/);
  assert.match(labels.err, /hint:/);
  // --likelihood min: every candidate scored by the probability of its least likely token; an unknown measure is refused.
  const minOut = join(dir, "min.jsonl");
  const m = await cli(["score", "--model", model, "--samples", sampFile, "--problems", probFile, "--out", minOut, "--likelihood", "min", "--threads", "1"]);
  assert.equal(m.code, 0, m.err);
  const mins = readFileSync(minOut, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as Sample).score as number);
  assert.equal(mins.length, 48);
  assert.ok(mins.every((v) => v > 0 && v <= 1));
  const unknown = await cli(["score", "--model", model, "--samples", sampFile, "--problems", probFile, "--out", join(dir, "y.jsonl"), "--likelihood", "max"]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.err, /--likelihood must be sequence, token or min/);
  const bad = await cli(["train", "evaluator", "--base", model, "--samples", sampFile, "--problems", probFile, "--out", join(dir, "m-run"), "--loss", "hinge"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--loss must be one of margin, softplus, ce, mix, seq-contrastive/);
});

test(`train mtsf (${TEST_DEVICE}): sft -> evaluator (ce) -> sft plus the control, each stage resumable; a rerun skips finished stages`, { skip: deviceSkip() }, async () => {
  const base = join(dir, "base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 4) });
  const sft = join(dir, "sft.jsonl");
  writeFileSync(sft, problems.map((p) => JSON.stringify({ prompt: generatorPrompt(p.problem), completion: `${p.answer} ok` })).join("\n") + "\n");
  const out = join(dir, "mtsf");
  const args = ["train", "mtsf", "--base", base, "--sft-data", sft, "--samples", sampFile, "--problems", probFile, "--out", out,
    "--steps", "3,4,2", "--loss", "ce", "--batch", "2", "--seq-len", "128", "--lr", "1e-3", "--sft-batch", "2", "--threads", "1", "--val-fraction", "0.25", "--device", TEST_DEVICE];
  const r = await cli(args);
  assert.equal(r.code, 0, r.err);
  for (const f of ["stage-1-sft", "stage-2-evaluator", "stage-3-sft", "control-sft"]) assert.ok(existsSync(join(out, f, "model.gguf")), f);
  assert.match(r.out, /stage-2-evaluator: 4 steps .*held-out AUC/);
  assert.match(r.out, /control-sft: 2 steps/);
  const summary = JSON.parse(readFileSync(join(out, "mtsf.json"), "utf8")) as { model: string; control: { steps: number } };
  assert.equal(summary.model, join(out, "stage-3-sft", "model.gguf"));
  assert.equal(summary.control.steps, 2);
  const again = await cli(args);
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /stage-1-sft: skip[\s\S]*stage-2-evaluator: skip[\s\S]*stage-3-sft: skip[\s\S]*control-sft: skip/);
});

test("train mtsf --lora-rank: every stage trains an adapter and merges it into the stage model the next stage starts from", async () => {
  const base = join(dir, "lora-base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 5) });
  const sft = join(dir, "lora-sft.jsonl");
  writeFileSync(sft, problems.map((p) => JSON.stringify({ prompt: generatorPrompt(p.problem), completion: `${p.answer} ok` })).join("\n") + "\n");
  const out = join(dir, "mtsf-lora");
  const r = await cli(["train", "mtsf", "--base", base, "--sft-data", sft, "--samples", sampFile, "--problems", probFile, "--out", out,
    "--steps", "2,2,1", "--loss", "ce", "--batch", "2", "--seq-len", "128", "--sft-batch", "2", "--threads", "1", "--val-fraction", "0.25",
    "--lora-rank", "2", "--lora-targets", "q,v", "--no-control"]);
  assert.equal(r.code, 0, r.err);
  let previous = readFileSync(base);
  for (const f of ["stage-1-sft", "stage-2-evaluator", "stage-3-sft"]) {
    assert.ok(existsSync(join(out, f, "adapter.gguf")), `${f}/adapter.gguf`);
    const model = readFileSync(join(out, f, "model.gguf"));
    assert.notDeepEqual(model, previous, `${f} changed the model`);
    previous = model;
  }
});

test("train evaluator --lora-rank writes an adapter with its template and labels; score --lora uses them", async () => {
  const base = join(dir, "lora-eval-base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 6) });
  const run = join(dir, "lora-eval");
  const template = "Q: {problem}\nA: {solution}\nVerdict:";
  const t = await cli(["train", "evaluator", "--base", base, "--samples", sampFile, "--problems", probFile, "--out", run, "--loss", "ce", "--steps", "3",
    "--batch", "2", "--seq-len", "128", "--threads", "1", "--template", template, "--labels", "good,bad", "--lora-rank", "2"]);
  assert.equal(t.code, 0, t.err);
  const adapter = join(run, "adapter.gguf");
  assert.match(t.out, /adapter: .*adapter\.gguf \(base /);
  assert.ok(existsSync(adapter) && !existsSync(join(run, "model.gguf")));
  const scores = async (name: string, extra: string[]): Promise<number[]> => {
    const out = join(dir, `${name}.jsonl`);
    const r = await cli(["score", "--model", base, "--samples", sampFile, "--problems", probFile, "--out", out, "--threads", "1", ...extra]);
    assert.equal(r.code, 0, r.err);
    return readFileSync(out, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as Sample).score as number);
  };
  // With --lora alone, score takes the template and label words from the adapter: the same scores as
  // when they are given, and others than the paper's template and words.
  const recorded = await scores("lora-recorded", ["--lora", adapter]);
  assert.deepEqual(recorded, await scores("lora-given", ["--lora", adapter, "--template", template, "--labels", "good,bad"]));
  assert.notDeepEqual(recorded, await scores("lora-paper", ["--lora", adapter, "--template", "paper", "--labels", "correct,incorrect"]));
});

test("train evaluator --device cuda trains on a GPU, and without one refuses with the reason and writes no model", async () => {
  const base = join(dir, "cuda-base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 6) });
  const out = join(dir, "cuda-run");
  const r = await cli(["train", "evaluator", "--base", base, "--samples", sampFile, "--problems", probFile, "--out", out, "--loss", "ce", "--steps", "2", "--batch", "2", "--seq-len", "128", "--device", "cuda"]);
  if (r.code === 0) {
    // A machine with a GPU: the run trained there and wrote its evaluator.
    assert.ok(existsSync(join(out, "model.gguf")), r.err);
    return;
  }
  assert.match(r.err, /no CUDA device found|CUDA/);
  assert.match(r.err, /hint:/);
  assert.ok(!existsSync(join(out, "model.gguf")));
});
