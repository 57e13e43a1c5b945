// The evaluator score S on a real GGUF model, three ways that must agree: the trainer's forward
// pass (TrainSession logits on packed evaluator batches), the sampler's scoring path
// (node-llama-cpp through LocalModel + evaluatorScore), and `runScoring` (the score command).
// Then a short cross-entropy evaluator training run that must learn a visible feature.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fork } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backend } from "../../src/engine/backend.js";
import { initWeights, saveModelGguf, type Weights } from "../../src/model/checkpoint.js";
import { presetConfig } from "../../src/model/config.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { EVALUATOR_LABELS_KEY, EVALUATOR_TEMPLATE, EVALUATOR_TEMPLATE_KEY, evaluatorPrompt, generatorEvaluatorTemplate, generatorPrompt } from "../../src/data/prompts.js";
import { GgufType, readGguf } from "../../src/model/gguf.js";
import type { Problem, Sample } from "../../src/data/records.js";
import { LocalModel } from "../../src/sample/local.js";
import { evaluatorScore } from "../../src/sample/scoring.js";
import { TrainSession } from "../../src/train/session.js";
import { encodeEvaluatorInput, labelTokens, packEvaluatorBatch, packScoredSequences, sequenceLogLikelihoods } from "../../src/train/evaluator-data.js";
import { logScoresFromLogits, runEvaluatorTraining, splitProblems } from "../../src/train/evaluator.js";
import { withinProblemAuc } from "../../src/metrics/estimators.js";
import { likelihoodScore, runScoring } from "../../src/sample/score-run.js";
import { exactEquivalence } from "../../src/select/cluster.js";
import { labelRoom } from "../../src/recipe/stages/score.js";
import type { LocatedSample } from "../../src/metrics/samples.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-evaluator-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const tok = CharTokenizer.ascii();
const cfg = presetConfig("tiny", tok.vocabSize, { contextLength: 256 });
const labels = labelTokens((t) => tok.encode(t), { positive: "correct", negative: "incorrect" });

function scaledWeights(seed: number, scale: number): Weights {
  const w = initWeights(cfg, seed);
  // Larger weights give S values spread over (0, 1) rather than all near 1/2.
  for (const [k, v] of w) if (!k.endsWith("norm.weight")) for (let i = 0; i < v.length; i++) v[i] *= scale;
  return w;
}

const CANDIDATES: Array<[string, string]> = [
  ["What is 2+3?", "2+3=5. The answer is 5."],
  ["What is 2+3?", "2+3=6. The answer is 6."],
  ["Solve x-4=1.", "x=5"],
  ["Solve x-4=1.", "Add 4: x = 5, so \\boxed{5}."],
  ["Is 7 prime?", "Yes: 7 has no divisor but 1 and 7."],
  ["Is 7 prime?", "No."],
  ["What is 10/4?", "10/4 = 5/2"],
];

let modelPath = "";
async function model(): Promise<string> {
  if (modelPath) return modelPath;
  modelPath = join(dir, "eval.gguf");
  await saveModelGguf(modelPath, { config: cfg, tokenizer: tok, weights: scaledWeights(5, 4) });
  return modelPath;
}

test("S from the trainer's forward pass equals S from the sampler's scoring path within 1e-3", async (t) => {
  const path = await model();
  const backend = Backend.create({ threads: 1 });
  const seqLen = 256;
  const session = new TrainSession({ config: cfg, weights: scaledWeights(5, 4), batch: 4, seqLen, backend });
  let trainer: number[];
  try {
    // Several candidates share a row, as in training: the mask keeps each one on its own.
    const items = CANDIDATES.map(([p, s], i) => {
      const ids = encodeEvaluatorInput(tok, labels, p, s);
      return i % 2 === 0 ? { positive: ids, negative: null } : { positive: null, negative: ids };
    });
    const b = packEvaluatorBatch(items, { seqLen, batch: 4, slots: 8, vocabSize: cfg.vocabSize }, labels);
    assert.equal(b.items, CANDIDATES.length);
    assert.ok(b.labelPositions.some((l) => l.position % seqLen > 150), "some candidate sits after another in its row");
    const ls = logScoresFromLogits(session.logits(b.tokens, { positions: b.positions, mask: b.mask }), b, cfg.vocabSize, labels);
    // labelPositions are in packing order: + and - sides alternate here as the items do.
    trainer = ls.map((x) => Math.exp(x));
  } finally {
    session.dispose();
    backend.dispose();
  }
  const local = await LocalModel.open(path, { threads: 1, parallel: 4 });
  try {
    let worst = 0;
    const sampler: number[] = [];
    for (const [i, [p, s]] of CANDIDATES.entries()) {
      const r = await evaluatorScore(local, evaluatorPrompt(p, s));
      sampler.push(r.score);
      worst = Math.max(worst, Math.abs(r.score - trainer[i]));
    }
    t.diagnostic(`S (trainer): ${trainer.map((x) => x.toFixed(4)).join(" ")}`);
    t.diagnostic(`S (sampler): ${sampler.map((x) => x.toFixed(4)).join(" ")}; max |diff| ${worst.toExponential(2)}`);
    assert.ok(Math.max(...sampler) - Math.min(...sampler) > 0.05, "S values are spread enough for the comparison to mean something");
    assert.ok(worst < 1e-3, `max |S difference| ${worst}`);
  } finally {
    await local.close();
  }
});

test("a solution's log-likelihood from the trainer's packed forward pass equals the sampler's within 1e-3 (seq-contrastive's held-out score)", async (t) => {
  const path = await model();
  const backend = Backend.create({ threads: 1 });
  const seqLen = 128;
  const session = new TrainSession({ config: cfg, weights: scaledWeights(5, 4), batch: 4, seqLen, backend });
  const items = CANDIDATES.map(([p, s]) => {
    const head = [...(tok.addBos ? [tok.bosId] : []), ...tok.encode(generatorPrompt(p))];
    return { ids: [...head, ...tok.encode(s)], from: head.length };
  });
  let trainer: number[];
  try {
    const b = packScoredSequences(items, { seqLen, batch: 4 });
    assert.equal(b.items, CANDIDATES.length);
    assert.ok(b.starts.some((s) => s % seqLen > 0), "some sequence sits after another in its row");
    trainer = sequenceLogLikelihoods(session.logits(b.tokens, { positions: b.positions, mask: b.mask }), b, items, cfg.vocabSize);
    // Packing stops at the first sequence no row has room for; the ones before it are scored alike.
    const small = packScoredSequences(items, { seqLen, batch: 1 });
    assert.ok(small.items >= 1 && small.items < items.length);
  } finally {
    session.dispose();
    backend.dispose();
  }
  const local = await LocalModel.open(path, { threads: 1, parallel: 2 });
  try {
    const sampler: number[] = [];
    for (const [p, s] of CANDIDATES) sampler.push((await local.continuationLogprobs(generatorPrompt(p), s)).total);
    const worst = Math.max(...sampler.map((x, i) => Math.abs(x - trainer[i])));
    t.diagnostic(`log p (trainer): ${trainer.map((x) => x.toFixed(3)).join(" ")}; max |diff| ${worst.toExponential(2)}`);
    assert.ok(Math.max(...sampler) - Math.min(...sampler) > 1, "log-likelihoods are spread enough for the comparison to mean something");
    assert.ok(worst < 1e-3, `max |log-likelihood difference| ${worst}`);
  } finally {
    await local.close();
  }
  assert.throws(() => packScoredSequences([{ ids: [1, 2, 3], from: 0 }], { seqLen: 8, batch: 1 }), /outside a sequence/);
  assert.throws(() => packScoredSequences([{ ids: new Array<number>(9).fill(1), from: 1 }], { seqLen: 8, batch: 1 }), /does not fit rows of 8/);
});

function located(samples: Sample[], file: string): LocatedSample[] {
  return samples.map((sample, i) => ({ sample, file, line: i + 1 }));
}

test("runScoring: every sample or only the top-K clusters, calls counted, resumable by problem", async () => {
  const path = await model();
  const problems = new Map<string, Problem>([
    ["p1", { id: "p1", problem: "What is 2+3?", answer: "5" }],
    ["p2", { id: "p2", problem: "Solve x-4=1.", answer: "5" }],
  ]);
  // p1: answers 5,5,5,6,6,7 -> clusters {0,1,2} {3,4} {5}; p2: 5,5,4 -> {0,1} {2}.
  const answers: Record<string, string[]> = { p1: ["5", "5", "5", "6", "6", "7"], p2: ["5", "5", "4"] };
  const samples: Sample[] = [];
  for (const [id, as] of Object.entries(answers)) as.forEach((a, i) => samples.push({ problem_id: id, sample: i, text: `so it is ${a} (${i})`, extracted: a, correct: a === "5" }));
  const local = await LocalModel.open(path, { threads: 1, parallel: 4 });
  try {
    const all = join(dir, "all.jsonl");
    const r = await runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out: all, quiet: true, equivalence: exactEquivalence });
    assert.deepEqual([r.problems, r.calls, r.candidates], [2, 9, 9]);
    const lines = readFileSync(all, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample);
    assert.equal(lines.length, 9);
    const direct = await evaluatorScore(local, evaluatorPrompt("What is 2+3?", samples[3].text));
    assert.ok(Math.abs((lines.find((s) => s.problem_id === "p1" && s.sample === 3)!.score as number) - direct.score) < 1e-6);

    const top = join(dir, "top1.jsonl");
    const r1 = await runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out: top, topK: 1, quiet: true, equivalence: exactEquivalence });
    assert.deepEqual([r1.calls, r1.candidates], [5, 9]);
    const scored = readFileSync(top, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample).filter((s) => s.score !== undefined);
    assert.deepEqual(scored.map((s) => `${s.problem_id}#${s.sample}`).sort(), ["p1#0", "p1#1", "p1#2", "p2#0", "p2#1"]);

    // Resume: a file holding p1 only gets p2 appended; a complete file is left alone.
    const part = join(dir, "part.jsonl");
    writeFileSync(part, readFileSync(all, "utf8").split("\n").filter((l) => l.includes('"p1"')).join("\n") + "\n");
    const r2 = await runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out: part, quiet: true, equivalence: exactEquivalence });
    assert.deepEqual([r2.problems, r2.skippedProblems, r2.calls], [1, 1, 3]);
    assert.equal(readFileSync(part, "utf8"), readFileSync(all, "utf8"));
    const r3 = await runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out: part, quiet: true, equivalence: exactEquivalence });
    assert.deepEqual([r3.problems, r3.calls], [0, 0]);

    // skipGreedy (what recipes use): a greedy sample is written back unscored, the others are scored as before.
    const withGreedy: Sample[] = [...samples, { problem_id: "p2", sample: 0, text: "so it is 5", extracted: "5", correct: true, greedy: true }];
    const sg = join(dir, "skip-greedy.jsonl");
    const rg = await runScoring({ scorer: local, problems, samples: located(withGreedy, "g.jsonl"), out: sg, quiet: true, equivalence: exactEquivalence, skipGreedy: true });
    assert.deepEqual([rg.calls, rg.candidates], [9, 10]);
    const sgLines = readFileSync(sg, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sample);
    assert.equal(sgLines.filter((s) => s.greedy === true && s.score === undefined).length, 1);
    assert.equal(sgLines.filter((s) => s.greedy !== true && typeof s.score === "number").length, 9);

    // The likelihood baseline: the score is the model's probability of the candidate after the
    // generator prompt, per sequence, per token or of its least likely token, equal to the
    // sampler's own log-probabilities.
    const lp = await local.continuationLogprobs(generatorPrompt("Solve x-4=1."), samples[7].text);
    assert.ok(lp.logprobs.length > 1);
    const wants = { sequence: Math.exp(lp.total), token: Math.exp(lp.total / lp.logprobs.length), min: Math.exp(Math.min(...lp.logprobs)) };
    const single: Record<string, string> = {};
    for (const per of ["sequence", "token", "min"] as const) {
      const out = join(dir, `lik-${per}.jsonl`);
      const rl = await runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out, quiet: true, equivalence: exactEquivalence, likelihood: { per } });
      assert.deepEqual([rl.calls, rl.candidates], [9, 9]);
      single[per] = readFileSync(out, "utf8");
      const got = single[per].trim().split("\n").map((l) => JSON.parse(l) as Sample);
      const s7 = got.find((s) => s.problem_id === "p2" && s.sample === 1)!.score as number;
      assert.ok(Math.abs(Math.log(s7) - Math.log(wants[per])) < 1e-9, `${per}: ${s7} vs ${wants[per]}`);
      assert.ok(got.every((s) => typeof s.score === "number" && s.score > 0 && s.score <= 1));
    }
    // The three measures order as they must: the product of the token probabilities is at most the
    // least one, which is at most their geometric mean.
    assert.ok(wants.sequence <= wants.min && wants.min <= wants.token);
    assert.ok(wants.min < wants.token);

    // One pass for all three: `more` writes the other measures from the same log-probabilities,
    // the same bytes as three separate runs, for the calls of one.
    const one = (per: string): string => join(dir, `one-${per}.jsonl`);
    const more = [
      { per: "token" as const, out: one("token") },
      { per: "min" as const, out: one("min") },
    ];
    const runOne = (): ReturnType<typeof runScoring> =>
      runScoring({ scorer: local, problems, samples: located(samples, "s.jsonl"), out: one("sequence"), quiet: true, equivalence: exactEquivalence, likelihood: { per: "sequence", more } });
    const ro = await runOne();
    assert.deepEqual([ro.problems, ro.calls, ro.candidates], [2, 9, 9]);
    for (const per of ["sequence", "token", "min"]) assert.equal(readFileSync(one(per), "utf8"), single[per], per);
    // Resume: each file on its own; a problem missing from one file is scored again and appended there only.
    writeFileSync(one("min"), single.min.split("\n").filter((l) => l.includes('"p1"')).join("\n") + "\n");
    const rr = await runOne();
    assert.deepEqual([rr.problems, rr.skippedProblems, rr.calls], [1, 1, 3]);
    for (const per of ["sequence", "token", "min"]) assert.equal(readFileSync(one(per), "utf8"), single[per], `${per} after the resume`);
    const rd = await runOne();
    assert.deepEqual([rd.problems, rd.calls], [0, 0]);
  } finally {
    await local.close();
  }
});

/** Problems whose correct solutions end in "ok" and incorrect ones in "no!" (a feature a tiny model learns fast), and a base model. */
async function visibleFeatureWorld(): Promise<{ probFile: string; sampFile: string; base: string }> {
  const probFile = join(dir, "train-problems.jsonl");
  const sampFile = join(dir, "train-samples.jsonl");
  const base = join(dir, "base.gguf");
  if (existsSync(base)) return { probFile, sampFile, base };
  const problems: Problem[] = [];
  const samples: Sample[] = [];
  for (let p = 0; p < 30; p++) {
    const id = `q${String(p).padStart(2, "0")}`;
    problems.push({ id, problem: `${p}+${p % 7}?`, answer: String(p + (p % 7)) });
    for (let i = 0; i < 6; i++) {
      const correct = (i + p) % 3 !== 0;
      samples.push({ problem_id: id, sample: i, text: `${p + (p % 7) + (correct ? 0 : 1 + i)} ${correct ? "ok" : "no!"}`, correct });
    }
  }
  writeFileSync(probFile, problems.map((x) => JSON.stringify(x)).join("\n") + "\n");
  writeFileSync(sampFile, samples.map((x) => JSON.stringify(x)).join("\n") + "\n");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: initWeights(cfg, 9) });
  return { probFile, sampFile, base };
}

test("a cross-entropy evaluator learns a visible feature: held-out AUC near 1 after 40 steps", async (t) => {
  const { probFile, sampFile, base } = await visibleFeatureWorld();
  const out = join(dir, "ce-run");
  const r = await runEvaluatorTraining({
    base,
    samples: sampFile,
    problems: probFile,
    out,
    loss: "ce",
    steps: 40,
    batch: 2,
    seqLen: 128,
    lr: 3e-3,
    warmup: 4,
    valFraction: 0.2,
    threads: 1,
  });
  t.diagnostic(`held-out AUC: base ${r.baseAuc?.toFixed(3)} -> trained ${r.valAuc?.toFixed(3)} (${r.stats.valCandidates} candidates, ${r.stats.trainItems} training items)`);
  assert.equal(r.step, 40);
  assert.ok(r.modelPath !== null && existsSync(r.modelPath));
  assert.ok(r.valAuc !== null && r.valAuc > 0.95, `held-out AUC ${r.valAuc}`);
  // Every held-out problem has both classes, so both figures are defined; the pooled one is
  // reported beside the within-problem one, not instead of it.
  assert.ok(r.valAucPooled !== null && r.valAucPooled > 0.95, `pooled held-out AUC ${r.valAucPooled}`);
  assert.ok(r.baseAuc !== null && r.baseAucPooled !== null);
  const evals = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>).filter((m) => "val_auc" in m);
  assert.ok(evals.length > 0 && evals.every((m) => typeof m.val_auc_pooled === "number"), "metrics.jsonl records both AUCs");
  assert.ok(r.stats.valProblems === 6 && r.stats.trainProblems === 24);
  // Per held-out problem: one distinct correct text and two distinct incorrect ones.
  assert.deepEqual([r.stats.valPairs, r.stats.valMixedProblems], [12, 6]);
  // The GGUF records the template and label words, for `mathtune score` to reuse.
  const meta = readGguf(r.modelPath).metadata;
  assert.deepEqual(meta.get(EVALUATOR_TEMPLATE_KEY), { type: GgufType.STRING, value: EVALUATOR_TEMPLATE });
  assert.deepEqual(meta.get(EVALUATOR_LABELS_KEY), { type: GgufType.STRING, value: "correct,incorrect" });
  // The trained GGUF scores through the sampler's path the same way.
  const local = await LocalModel.open(r.modelPath, { threads: 1, parallel: 2 });
  try {
    const good = await evaluatorScore(local, evaluatorPrompt("3+3?", "6 ok"));
    const bad = await evaluatorScore(local, evaluatorPrompt("3+3?", "8 no!"));
    assert.ok(good.score > bad.score, `S(good) ${good.score} vs S(bad) ${bad.score}`);
  } finally {
    await local.close();
  }
  // A finished run refuses to start over in the same folder; --resume continues it to more steps,
  // but not with a different data setting.
  const same = { base, samples: sampFile, problems: probFile, out, loss: "ce" as const, batch: 2, seqLen: 128, lr: 3e-3, warmup: 4, valFraction: 0.2, threads: 1 };
  await assert.rejects(runEvaluatorTraining({ ...same, steps: 40 }), /already holds a run/);
  await assert.rejects(runEvaluatorTraining({ ...same, steps: 44, batch: 3, resume: true }), /--resume: batch was 2/);
  // A record of a step after the checkpoint (as a crash would leave) is dropped on resume.
  appendFileSync(join(out, "metrics.jsonl"), '{"step":41,"loss":99}\n{"step":4');
  const more = await runEvaluatorTraining({ ...same, steps: 44, resume: true });
  assert.equal(more.step, 44);
  assert.equal(more.baseAuc, r.baseAuc, "the base AUC is carried over from the run");
  const steps = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { step: number }).step);
  assert.deepEqual(steps.slice(-5), [40, 41, 42, 43, 44]);
  assert.ok(!readFileSync(join(out, "metrics.jsonl"), "utf8").includes('"loss":99'));
});

test("the pairwise losses and the contrastive baseline train through the session's loss hook", async (t) => {
  const { probFile, sampFile, base } = await visibleFeatureWorld();
  for (const [loss, minAuc] of [["margin", 0.9], ["softplus", 0.9], ["mix", 0.9], ["seq-contrastive", null]] as const) {
    const losses: number[] = [];
    const r = await runEvaluatorTraining({
      base,
      samples: sampFile,
      problems: probFile,
      out: join(dir, `run-${loss}`),
      loss,
      steps: 30,
      batch: 2,
      seqLen: 128,
      lr: 3e-3,
      warmup: 3,
      valFraction: 0.2,
      threads: 1,
      onStep: (e) => losses.push(e.loss),
    });
    const first = losses.slice(0, 5).reduce((a, x) => a + x, 0) / 5;
    const last = losses.slice(-5).reduce((a, x) => a + x, 0) / 5;
    t.diagnostic(`${loss}: loss ${first.toFixed(3)} -> ${last.toFixed(3)}, held-out AUC ${r.baseAuc?.toFixed(3)} -> ${r.valAuc?.toFixed(3)}`);
    assert.equal(r.step, 30);
    assert.ok(last < first, `${loss}: loss did not go down (${first} -> ${last})`);
    if (minAuc !== null) assert.ok(r.valAuc !== null && r.valAuc > minAuc, `${loss}: held-out AUC ${r.valAuc}`);
  }
});

test("seq-contrastive's held-out AUC is that of the solutions' likelihoods, as the sampler's scoring path reads them, before and after training", async (t) => {
  // Correct and wrong solutions of equal length, told apart by their last word: a random model's
  // likelihoods do not separate them, a trained one's must.
  const probFile = join(dir, "seqc-problems.jsonl");
  const sampFile = join(dir, "seqc-samples.jsonl");
  const problems: Problem[] = [];
  const samples: Sample[] = [];
  const yes = ["ok", "ya", "si"];
  const no = ["no", "na", "ne"];
  for (let p = 0; p < 30; p++) {
    const id = `r${String(p).padStart(2, "0")}`;
    problems.push({ id, problem: `${p}*2?`, answer: String(2 * p) });
    for (let i = 0; i < 6; i++) {
      const correct = (i + p) % 2 === 0;
      samples.push({ problem_id: id, sample: i, text: `${2 * p} ${(correct ? yes : no)[(i + p) % 3]}`, correct });
    }
  }
  writeFileSync(probFile, problems.map((x) => JSON.stringify(x)).join("\n") + "\n");
  writeFileSync(sampFile, samples.map((x) => JSON.stringify(x)).join("\n") + "\n");
  const base = join(dir, "seqc-base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: scaledWeights(3, 2) });
  const r = await runEvaluatorTraining({ base, samples: sampFile, problems: probFile, out: join(dir, "seqc-run"), loss: "seq-contrastive", steps: 30, batch: 2, seqLen: 128, lr: 3e-3, warmup: 3, valFraction: 0.3, threads: 1 });
  assert.ok(r.modelPath !== null);
  const byId = new Map(problems.map((q) => [q.id, q]));
  const { val } = splitProblems([...byId.keys()], 0.3, 1);
  const samplerAuc = async (model: string): Promise<number> => {
    const local = await LocalModel.open(model, { threads: 1, parallel: 2 });
    try {
      const groups = new Map<string, { correct: boolean[]; scores: number[] }>();
      for (const x of samples.filter((y) => val.has(y.problem_id))) {
        const g = groups.get(x.problem_id) ?? { correct: [], scores: [] };
        g.correct.push(x.correct === true);
        g.scores.push((await local.continuationLogprobs(generatorPrompt(byId.get(x.problem_id)!.problem), x.text)).total);
        groups.set(x.problem_id, g);
      }
      return withinProblemAuc([...groups.values()])!.auc;
    } finally {
      await local.close();
    }
  };
  const [wantBase, wantTrained] = [await samplerAuc(base), await samplerAuc(r.modelPath)];
  t.diagnostic(`held-out AUC ${r.baseAuc} -> ${r.valAuc}; the sampler's likelihoods ${wantBase} -> ${wantTrained} (${r.stats.valPairs} pairs)`);
  assert.ok(r.baseAuc !== null && Math.abs(r.baseAuc - wantBase) < 1e-9, `base: ${r.baseAuc} vs ${wantBase}`);
  assert.ok(r.valAuc !== null && Math.abs(r.valAuc - wantTrained) < 1e-9, `trained: ${r.valAuc} vs ${wantTrained}`);
  assert.ok(wantBase < 0.8 && wantTrained > 0.95, `the likelihoods separate the classes only after training (${wantBase} -> ${wantTrained})`);
});

test("an evaluator-training child whose parent goes away saves a checkpoint and exits", async () => {
  const { probFile, sampFile, base } = await visibleFeatureWorld();
  const out = join(dir, "orphan-run");
  const worker = fileURLToPath(new URL("../../src/train/evaluator-worker.ts", import.meta.url));
  const child = fork(worker, [], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.on("message", (m: { type: string; step?: number }) => {
    // After the first step the parent disconnects, as a killed parent would.
    if (m.type === "step" && m.step === 1 && child.connected) child.disconnect();
  });
  const options = { base, samples: sampFile, problems: probFile, out, loss: "ce", template: generatorEvaluatorTemplate(), steps: 500, saveEvery: 1000, batch: 2, seqLen: 128, lr: 1e-3, valFraction: 0.2, threads: 1 };
  child.send({ type: "start", options });
  assert.equal(await exited, 0);
  const latest = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { step: number };
  assert.ok(latest.step >= 1 && latest.step < 500, `checkpoint at step ${latest.step}`);
  assert.ok(!existsSync(join(out, "model.gguf")), "a stopped run writes no final model");
  // The run continues from that checkpoint.
  const more = await runEvaluatorTraining({ ...options, loss: "ce", steps: latest.step + 2, resume: true });
  assert.deepEqual([more.step, more.stopped], [latest.step + 2, false]);
  assert.ok(more.modelPath !== null && existsSync(more.modelPath));
  assert.equal(readGguf(more.modelPath).metadata.get(EVALUATOR_TEMPLATE_KEY)?.value, "Problem: {problem}\nSolution:\n{solution}\nThe above candidate solution is");
  // A different template is a different run.
  await assert.rejects(runEvaluatorTraining({ ...options, loss: "ce", template: EVALUATOR_TEMPLATE, steps: latest.step + 4, resume: true }), /--resume: template was/);
});

test("a LoRA evaluator (base frozen) learns the visible feature; its adapter carries the template and scores through LocalModel", async (t) => {
  const { probFile, sampFile } = await visibleFeatureWorld();
  // A base with larger weights than the init: through a frozen init-scale output projection every
  // distribution stays near uniform, whatever the adapter does.
  const base = join(dir, "lora-base.gguf");
  await saveModelGguf(base, { config: cfg, tokenizer: tok, weights: scaledWeights(9, 4) });
  const out = join(dir, "lora-run");
  const settings = { loss: "ce", steps: 40, batch: 2, seqLen: 128, lr: 1e-2, warmup: 4, valFraction: 0.2, threads: 1 } as const;
  const r = await runEvaluatorTraining({ base, samples: sampFile, problems: probFile, out, ...settings, loraRank: 8, loraAlpha: 32 });
  const losses = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
  t.diagnostic(`loss ${losses[0].toFixed(3)} -> ${r.loss.toFixed(3)}; held-out AUC: base ${r.baseAuc?.toFixed(3)} -> LoRA ${r.valAuc?.toFixed(3)}`);
  assert.equal(r.modelPath, null);
  assert.ok(r.adapterPath !== null && existsSync(r.adapterPath) && !existsSync(join(out, "model.gguf")));
  assert.ok(r.loss < 0.5 * losses[0], `loss ${losses[0]} -> ${r.loss}`);
  assert.ok(r.valAuc !== null && r.baseAuc !== null && r.valAuc > 0.9 && r.valAuc > r.baseAuc, `held-out AUC ${r.baseAuc} -> ${r.valAuc}`);
  const meta = readGguf(r.adapterPath).metadata;
  assert.equal(meta.get("general.type")?.value, "adapter");
  assert.deepEqual(meta.get(EVALUATOR_TEMPLATE_KEY), { type: GgufType.STRING, value: EVALUATOR_TEMPLATE });
  // S(good) - S(bad) in llama.cpp: clearly wider with the adapter than from the base alone.
  const gap = async (lora?: string): Promise<number> => {
    const local = await LocalModel.open(base, { threads: 1, parallel: 2, ...(lora ? { lora } : {}) });
    try {
      return (await evaluatorScore(local, evaluatorPrompt("3+3?", "6 ok"))).score - (await evaluatorScore(local, evaluatorPrompt("3+3?", "8 no!"))).score;
    } finally {
      await local.close();
    }
  };
  const [withAdapter, without] = [await gap(r.adapterPath), await gap()];
  t.diagnostic(`S(good) - S(bad): ${without.toFixed(4)} base, ${withAdapter.toFixed(4)} with the adapter`);
  assert.ok(withAdapter > 0.1 && withAdapter > without + 0.05, `gap ${without} -> ${withAdapter}`);
});

test("likelihoodScore: sequence, per-token and min-token measures from token log-probabilities", () => {
  const lps = [-0.5, -2, -0.25];
  const total = -2.75;
  assert.equal(likelihoodScore("sequence", lps, total), Math.exp(-2.75));
  assert.equal(likelihoodScore("token", lps, total), Math.exp(-2.75 / 3));
  assert.equal(likelihoodScore("min", lps, total), Math.exp(-2));
  // An empty candidate: no token, probability 1 by every measure.
  for (const per of ["sequence", "token", "min"] as const) assert.equal(likelihoodScore(per, [], 0), 1);
});

test("the recipe's evaluator scoring keeps room in the context for the whole longer label text", async () => {
  const local = await LocalModel.open(await model(), { threads: 1, parallel: 1 });
  try {
    // The character vocabulary splits " incorrect" into 10 tokens; S scores the whole label text
    // after the prompt, so a prompt within 4 tokens of the context (the margin before) did not fit.
    assert.equal(labelRoom(local), " incorrect".length);
  } finally {
    await local.close();
  }
});
