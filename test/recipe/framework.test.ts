// The run-folder framework on small stages: hashing, caching, resume after a crash mid-stage, and
// the recipe schema's defaults and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalJson, sha256File, sha256Json } from "../../src/recipe/hash.js";
import { readMarker, runStages, type Stage } from "../../src/recipe/framework.js";
import { applyOverrides, loadRecipe, resolveRecipeObject } from "../../src/recipe/schema.js";
import { MathtuneError } from "../../src/errors.js";

const quiet = { say: () => {}, handleSigint: false };

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "mathtune-recipe-"));
}

test("canonical JSON and hashes do not depend on key order; file hashes are sha256 of the bytes", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"y":1,"z":0}]},"b":1}');
  assert.equal(sha256Json({ a: 1, b: 2 }), sha256Json({ b: 2, a: 1 }));
  assert.notEqual(sha256Json({ a: 1 }), sha256Json({ a: 2 }));
  const dir = tmp();
  const f = join(dir, "x.bin");
  const bytes = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => i % 251));
  writeFileSync(f, bytes);
  assert.equal(sha256File(f), createHash("sha256").update(bytes).digest("hex"));
  rmSync(dir, { recursive: true });
});

/** Two stages: `make` writes a.txt from its config; `count` reads it and writes b.txt. Counts runs. */
function pipeline(config: { text: string }, runs: Record<string, number>): Stage[] {
  return [
    {
      id: "make",
      title: "write a.txt",
      config,
      inputs: [],
      outputs: ["a.txt"],
      async run(ctx) {
        runs.make = (runs.make ?? 0) + 1;
        writeFileSync(ctx.path("a.txt"), config.text.trim() + "\n");
      },
    },
    {
      id: "sub/count",
      title: "count characters of a.txt",
      config: null,
      inputs: ["a.txt"],
      outputs: ["b.txt"],
      async run(ctx) {
        runs.count = (runs.count ?? 0) + 1;
        writeFileSync(ctx.path("b.txt"), String(readFileSync(ctx.path("a.txt"), "utf8").length));
        return { chars: readFileSync(ctx.path("a.txt"), "utf8").length };
      },
    },
  ];
}

test("a rerun redoes nothing; a changed config reruns its stage, and downstream only if the bytes changed", async () => {
  const dir = tmp();
  const runs: Record<string, number> = {};
  let out = await runStages(dir, pipeline({ text: "hello" }, runs), quiet);
  assert.deepEqual(out.map((o) => o.status), ["ran", "ran"]);
  assert.equal(readFileSync(join(dir, "b.txt"), "utf8"), "6");
  assert.equal(readMarker(dir, "sub/count")?.status, "done");
  assert.deepEqual(readMarker(dir, "sub/count")?.summary, { chars: 6 });

  out = await runStages(dir, pipeline({ text: "hello" }, runs), quiet);
  assert.deepEqual(out.map((o) => o.status), ["cached", "cached"]);
  assert.deepEqual(runs, { make: 1, count: 1 });

  // A different config that writes the same bytes: `make` reruns, `count` stays cached.
  out = await runStages(dir, pipeline({ text: "hello  " }, runs), quiet);
  assert.deepEqual(out.map((o) => o.status), ["ran", "cached"]);
  // Different bytes: both rerun.
  out = await runStages(dir, pipeline({ text: "hello world" }, runs), quiet);
  assert.deepEqual(out.map((o) => o.status), ["ran", "ran"]);
  assert.equal(readFileSync(join(dir, "b.txt"), "utf8"), "12");

  // An output edited by hand is redone; metrics.jsonl logged every event.
  writeFileSync(join(dir, "b.txt"), "tampered");
  out = await runStages(dir, pipeline({ text: "hello world" }, runs), quiet);
  assert.deepEqual(out.map((o) => o.status), ["cached", "ran"]);
  assert.equal(readFileSync(join(dir, "b.txt"), "utf8"), "12");
  const events = readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { stage: string; event: string });
  assert.ok(events.filter((e) => e.event === "cached").length >= 4);
  assert.ok(events.every((e) => typeof e.stage === "string"));
  rmSync(dir, { recursive: true });
});

/**
 * An append-and-skip stage (the shape of sampling): writes units 0..9, one line each, skipping
 * units already in its file. `crashAfter` throws after that many new units (a simulated crash).
 */
function appendStage(config: { units: number; tag: string }, crashAfter: number | null, seen: { resuming: boolean[] }): Stage {
  return {
    id: "append",
    title: "append units",
    config,
    inputs: [],
    outputs: ["units.jsonl"],
    async run(ctx) {
      seen.resuming.push(ctx.resuming);
      const file = ctx.path("units.jsonl");
      const done = new Set(existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { u: number }).u) : []);
      let fresh = 0;
      for (let u = 0; u < config.units; u++) {
        if (done.has(u)) continue;
        if (crashAfter !== null && fresh === crashAfter) throw new Error("simulated crash");
        appendFileSync(file, JSON.stringify({ u, v: `${config.tag}${u * u}` }) + "\n");
        fresh++;
      }
    },
  };
}

test("a stage that crashed in the middle resumes with its partial work; the result equals an uninterrupted run", async () => {
  const ref = tmp();
  const seenRef = { resuming: [] as boolean[] };
  await runStages(ref, [appendStage({ units: 10, tag: "x" }, null, seenRef)], quiet);

  const dir = tmp();
  const seen = { resuming: [] as boolean[] };
  await assert.rejects(runStages(dir, [appendStage({ units: 10, tag: "x" }, 4, seen)], quiet), /simulated crash/);
  assert.equal(readMarker(dir, "append")?.status, "started");
  assert.equal(readFileSync(join(dir, "units.jsonl"), "utf8").trim().split("\n").length, 4);

  const out = await runStages(dir, [appendStage({ units: 10, tag: "x" }, null, seen)], quiet);
  assert.deepEqual(out.map((o) => o.status), ["resumed"]);
  assert.deepEqual(seen.resuming, [false, true]);
  assert.equal(readFileSync(join(dir, "units.jsonl"), "utf8"), readFileSync(join(ref, "units.jsonl"), "utf8"));

  // Finished: the next rerun is a no-op.
  assert.deepEqual((await runStages(dir, [appendStage({ units: 10, tag: "x" }, null, seen)], quiet)).map((o) => o.status), ["cached"]);
  assert.equal(seen.resuming.length, 2);
  rmSync(ref, { recursive: true });
  rmSync(dir, { recursive: true });
});

test("a crashed stage whose settings changed starts over instead of mixing old and new work", async () => {
  const dir = tmp();
  const seen = { resuming: [] as boolean[] };
  await assert.rejects(runStages(dir, [appendStage({ units: 6, tag: "old" }, 3, seen)], quiet), /simulated crash/);
  const out = await runStages(dir, [appendStage({ units: 6, tag: "new" }, null, seen)], quiet);
  assert.deepEqual(out.map((o) => o.status), ["ran"]);
  const lines = readFileSync(join(dir, "units.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, 6);
  assert.ok(lines.every((l) => l.includes('"new')), "no line of the old settings survives");
  rmSync(dir, { recursive: true });
});

test("a stage that does not write its declared output fails and is not marked done", async () => {
  const dir = tmp();
  const lazy: Stage = { id: "lazy", title: "writes nothing", config: null, inputs: [], outputs: ["missing.txt"], async run() {} };
  await assert.rejects(runStages(dir, [lazy], quiet), /without writing missing\.txt/);
  assert.equal(readMarker(dir, "lazy")?.status, "started");
  rmSync(dir, { recursive: true });
});

test("recipe: defaults, overrides, and errors that name the file, line and field", () => {
  const r = resolveRecipeObject({ generators: [{ name: "a", style: "terse" }] }, "x.json", "/base");
  assert.equal(r.sampling.n, 64);
  assert.equal(r.sampling.temperature, 0.9);
  assert.equal(r.sampling.topP, 0.95);
  assert.equal(r.data.source, "synth");
  assert.equal(r.sft.steps, 200);

  const o = applyOverrides({ sft: { steps: 5 } }, ["sft.steps=50", "model.base=m.gguf", "name=x"]);
  assert.deepEqual(o, { sft: { steps: 50 }, model: { base: "m.gguf" }, name: "x" });

  const dir = tmp();
  const f = join(dir, "r.json");
  writeFileSync(f, '{\n  "name": "t",\n  "sampling": {\n    "n": 0\n  }\n}\n');
  assert.throws(() => loadRecipe(f), (e: MathtuneError) => e.code === "E_INPUT" && e.message.startsWith(`${f}:4: field sampling.n:`));
  writeFileSync(f, '{\n  "name": "t",\n  "sampl": {}\n}\n');
  assert.throws(() => loadRecipe(f), (e: MathtuneError) => e.code === "E_INPUT" && /field \(recipe\)|sampl/.test(e.message));
  writeFileSync(f, '{ "name": "t", }');
  assert.throws(() => loadRecipe(f), (e: MathtuneError) => e.code === "E_INPUT" && /invalid JSON/.test(e.message));
  writeFileSync(f, JSON.stringify({ generators: [{ name: "g" }] }));
  assert.throws(() => loadRecipe(f), (e: MathtuneError) => /field generators\[0\]\.style: required with the synthetic world/.test(e.message));
  writeFileSync(f, JSON.stringify({ data: { source: "problems", train: "tr.jsonl", test: "te.jsonl" }, generators: [{ name: "g" }] }));
  const real = loadRecipe(f, ["model.base=" + join(dir, "base.gguf")]);
  assert.equal(real.model.base, join(dir, "base.gguf"), "paths resolve against the recipe's folder");
  assert.equal(real.data.source === "problems" && real.data.train, join(dir, "tr.jsonl"));
  assert.throws(() => loadRecipe(f, ["sampling.server={\"url\":\"http://127.0.0.1:1\"}"]), /a server's model cannot be fine-tuned here/);
  rmSync(dir, { recursive: true });
});

test("the shipped presets resolve (paper-math once given its data folder, which it does not point to itself)", () => {
  for (const name of ["demo", "mini", "demo-checkable", "demo-digits", "demo-search", "demo-search-full"]) {
    const file = new URL(`../../recipes/${name}.json`, import.meta.url).pathname;
    const r = loadRecipe(file);
    assert.ok(r.generators.length >= 1, name);
  }
  // The full demo is the demo with the evaluator on more problems and steps and the contrastive
  // re-ranker on, nothing else.
  const preset = (name: string) => loadRecipe(new URL(`../../recipes/${name}.json`, import.meta.url).pathname);
  const [demo, full] = [preset("demo-search"), preset("demo-search-full")];
  assert.deepEqual(
    { ...full, name: demo.name, evaluator: { ...full.evaluator, problems: demo.evaluator.problems, steps: demo.evaluator.steps }, contrastive: demo.contrastive },
    demo,
  );
  assert.deepEqual([full.evaluator.problems, full.evaluator.steps, full.contrastive.enabled, demo.contrastive.enabled], [600, 300, true, false]);
  const paperFile = new URL("../../recipes/paper-math.json", import.meta.url).pathname;
  assert.throws(() => loadRecipe(paperFile), /data\.dir.*required.*--set data\.dir=FOLDER/s);
  const paper = loadRecipe(paperFile, ["data.dir=/data/math"]);
  assert.equal(paper.data.source === "prm800k-split" && paper.data.dir, "/data/math");
  assert.equal(paper.sampling.n, 64);
  assert.equal(paper.eval.topK, 8);
  assert.equal(paper.sampling.temperature, 0.9);
  assert.equal(paper.sampling.topP, 0.95);
  assert.equal(paper.data.source, "prm800k-split");
  // The whole recipe, sized for a 1-2B model with LoRA on one GPU: SSFT, the evaluator and MTSF.
  assert.equal(paper.evaluator.enabled, true);
  assert.equal(paper.evaluator.loss, "margin");
  assert.equal(paper.mtsf.enabled, true);
  assert.equal(paper.lora.rank, 16);
  assert.equal(paper.sft.device, "cuda");
  assert.equal(paper.evaluator.device, "cuda");
});

test("the plan: the stages a recipe asks for, in order, with the inputs each reads", async () => {
  const { planStages } = await import("../../src/recipe/stages/index.js");
  const base = { generators: [{ name: "d", style: "detailed" }] };
  assert.equal(planStages(resolveRecipeObject(base, "r.json", "/")).map((s) => s.id).join(","), "data,sft/d,sample/d,grade/d,eval/d,report");
  const withEval = planStages(resolveRecipeObject({ ...base, evaluator: { enabled: true } }, "r.json", "/")).map((s) => s.id);
  assert.deepEqual(withEval, ["data", "sft/d", "sample/d", "grade/d", "evaluator/sample", "evaluator/grade", "evaluator/train", "score/d", "likelihood/d", "eval/d", "report"]);
  // The likelihood baseline is a switch; the eval stage reads its file only when it runs.
  const noBaseline = planStages(resolveRecipeObject({ ...base, evaluator: { enabled: true, likelihoodBaseline: false } }, "r.json", "/"));
  assert.ok(!noBaseline.some((s) => s.id === "likelihood/d"));
  assert.deepEqual(noBaseline.find((s) => s.id === "eval/d")?.inputs, ["data/test.jsonl", "score/d/samples.jsonl"]);
  // With a local base GGUF, the base model as the evaluator (no evaluator training) scores the same
  // samples in its own stage, after the likelihood one; its file is an input of the eval stage.
  const withBase = planStages(resolveRecipeObject({ ...base, model: { base: "/m/base.gguf" }, evaluator: { enabled: true } }, "r.json", "/"));
  assert.deepEqual(withBase.map((s) => s.id).slice(7), ["score/d", "likelihood/d", "score/d/base-evaluator", "eval/d", "report"]);
  const baseStage = withBase.find((s) => s.id === "score/d/base-evaluator");
  assert.deepEqual(baseStage?.outputs, ["score/d/base-evaluator.jsonl"]);
  assert.deepEqual(baseStage?.externalInputs, ["/m/base.gguf"]);
  assert.deepEqual(withBase.find((s) => s.id === "eval/d")?.inputs.slice(-1), ["score/d/base-evaluator.jsonl"]);
  // The switch, and no evaluator: no such stage.
  const baseOff = planStages(resolveRecipeObject({ ...base, model: { base: "/m/base.gguf" }, evaluator: { enabled: true, baseBaseline: false } }, "r.json", "/"));
  assert.ok(!baseOff.some((s) => s.id === "score/d/base-evaluator"));
  assert.ok(!(baseOff.find((s) => s.id === "eval/d")?.inputs ?? []).includes("score/d/base-evaluator.jsonl"));
  assert.ok(!planStages(resolveRecipeObject({ ...base, model: { base: "/m/base.gguf" } }, "r.json", "/")).some((s) => s.id.endsWith("base-evaluator")));
  // The option does not enter the keys of the other stages (evaluator/train, mtsf/train).
  for (const id of ["evaluator/train", "score/d", "likelihood/d"]) {
    assert.deepEqual(baseOff.find((s) => s.id === id)?.config, withBase.find((s) => s.id === id)?.config, id);
  }
  const withMtsf = planStages(resolveRecipeObject({ ...base, mtsf: { enabled: true } }, "r.json", "/")).map((s) => s.id);
  assert.deepEqual(withMtsf, ["data", "sft/d", "sample/d", "grade/d", "evaluator/sample", "evaluator/grade", "eval/d", "mtsf/train", "mtsf/control", "sample/mtsf", "grade/mtsf", "eval/mtsf", "sample/control", "grade/control", "eval/control", "report"]);
  assert.throws(() => resolveRecipeObject({ generators: [{ name: "control", style: "terse" }], mtsf: { enabled: true } }, "r.json", "/"), /MTSF arm/);
  assert.throws(() => resolveRecipeObject({ ...base, evaluator: { enabled: true, template: "no placeholders" } }, "r.json", "/"), /evaluator\.template.*paper.*generator/);
  // With the evaluator on and the same evaluator steps, MTSF continues from the re-ranking
  // evaluator instead of training the same evaluator twice; other step counts train their own.
  const both = (mtsf: object) => planStages(resolveRecipeObject({ ...base, evaluator: { enabled: true, steps: 50 }, mtsf: { enabled: true, ...mtsf } }, "r.json", "/"));
  const reused = both({ evaluatorSteps: 50 }).find((s) => s.id === "mtsf/train");
  assert.deepEqual(reused?.inputs, ["evaluator/train/model.gguf", "data/sft-d.jsonl", "sft/d/model.gguf"]);
  assert.match(reused?.title ?? "", /the evaluator \(its SSFT model trained 50 evaluator steps\)/);
  const own = both({ evaluatorSteps: 60 }).find((s) => s.id === "mtsf/train");
  const ownNoBase = planStages(resolveRecipeObject({ ...base, evaluator: { enabled: true, steps: 50, baseBaseline: false }, mtsf: { enabled: true, evaluatorSteps: 60 } }, "r.json", "/")).find((s) => s.id === "mtsf/train");
  assert.deepEqual(ownNoBase?.config, own?.config, "mtsf/train's config does not depend on evaluator.baseBaseline");
  assert.ok(!("baseBaseline" in ((own?.config as { evaluator: object }).evaluator)));
  assert.ok(own?.inputs.includes("sft/d/model.gguf") && !own.inputs.includes("evaluator/train/model.gguf"));
});

test("the plan with the sequence-contrastive re-ranker: its train and score stages before the eval stage, which reads its scores; it needs the evaluator", async () => {
  const { planStages } = await import("../../src/recipe/stages/index.js");
  const base = { generators: [{ name: "d", style: "detailed" }], evaluator: { enabled: true, seqLen: 320 } };
  const without = planStages(resolveRecipeObject(base, "r.json", "/"));
  const withIt = planStages(resolveRecipeObject({ ...base, contrastive: { enabled: true, steps: 30, lr: 0.0003 } }, "r.json", "/"));
  const ids = withIt.map((s) => s.id);
  assert.deepEqual(ids.slice(ids.indexOf("likelihood/d") + 1, ids.indexOf("eval/d")), ["contrastive/train", "score/d/contrastive"]);
  const train = withIt.find((s) => s.id === "contrastive/train");
  assert.deepEqual(train?.inputs, ["evaluator/problems.jsonl", "evaluator/graded.jsonl", "sft/d/model.gguf"]);
  assert.deepEqual(train?.outputs, ["contrastive/train/model.gguf"]);
  assert.equal((train?.config as { seqLen: number }).seqLen, 320, "seqLen null: the evaluator's");
  assert.deepEqual(withIt.find((s) => s.id === "score/d/contrastive")?.outputs, ["score/d/contrastive.jsonl"]);
  assert.deepEqual(withIt.find((s) => s.id === "eval/d")?.inputs.slice(-1), ["score/d/contrastive.jsonl"]);
  // Turning it on changes no other stage's key.
  for (const s of without) assert.deepEqual(withIt.find((x) => x.id === s.id)?.config, s.config, s.id);
  assert.throws(() => planStages(resolveRecipeObject({ generators: base.generators, contrastive: { enabled: true } }, "r.json", "/")), /contrastive\.enabled needs evaluator\.enabled/);
});

test("the plan: sampledProblems gives a generator, or the MTSF model and its control, its own N-sampled test problems; the other arms keep their stage keys", async () => {
  const { planStages } = await import("../../src/recipe/stages/index.js");
  const gens = [{ name: "t", style: "terse" }, { name: "d", style: "detailed" }];
  const plain = planStages(resolveRecipeObject({ generators: gens, sampling: { problems: 150 }, mtsf: { enabled: true } }, "r.json", "/"));
  const fewer = planStages(resolveRecipeObject({ generators: [{ ...gens[0], sampledProblems: 40 }, gens[1]], sampling: { problems: 150 }, mtsf: { enabled: true, sampledProblems: 30 } }, "r.json", "/"));
  const cfg = (stages: typeof plain, id: string) => stages.find((s) => s.id === id)?.config as { problems?: number } | undefined;
  assert.deepEqual(["sample/t", "sample/d", "sample/mtsf", "sample/control"].map((id) => cfg(plain, id)?.problems), [150, 150, 150, 150]);
  assert.deepEqual(["sample/t", "sample/d", "sample/mtsf", "sample/control"].map((id) => cfg(fewer, id)?.problems), [40, 150, 30, 30]);
  assert.deepEqual(cfg(fewer, "sample/d"), cfg(plain, "sample/d"));
  assert.match(fewer.find((s) => s.id === "sample/t")?.title ?? "", /the N on the first 40/);
  // 0: every test problem gets the N samples, whatever sampling.problems says.
  const all = planStages(resolveRecipeObject({ generators: [{ ...gens[0], sampledProblems: 0 }, gens[1]], sampling: { problems: 150 } }, "r.json", "/"));
  assert.equal(cfg(all, "sample/t")?.problems, undefined);
  assert.throws(() => resolveRecipeObject({ generators: [{ ...gens[0], sampledProblems: -1 }] }, "r.json", "/"), /generators\[0\]\.sampledProblems/);
});

test("the plan with the line evaluator: its train and score stages after the baselines, its file read by the eval stage; it needs the synthetic world and the evaluator", async () => {
  const { planStages } = await import("../../src/recipe/stages/index.js");
  const base = {
    generators: [{ name: "d", style: "detailed" }],
    data: { source: "synth", skills: ["root", "remainder", "sum-product"], levels: [1, 2, 3] },
    model: { base: "/m/base.gguf" },
    evaluator: { enabled: true },
  };
  const off = planStages(resolveRecipeObject(base, "r.json", "/"));
  const on = planStages(resolveRecipeObject({ ...base, lineEvaluator: { enabled: true } }, "r.json", "/"));
  assert.deepEqual(on.map((s) => s.id).slice(7), ["score/d", "likelihood/d", "score/d/base-evaluator", "line-evaluator/train", "score/d/line-evaluator", "eval/d", "report"]);
  const train = on.find((s) => s.id === "line-evaluator/train")!;
  assert.deepEqual(train.inputs, ["evaluator/problems.jsonl", "evaluator/graded.jsonl", "sft/d/model.gguf"]);
  assert.deepEqual(train.outputs, ["line-evaluator/data.jsonl", "line-evaluator/train/model.gguf"]);
  assert.deepEqual(on.find((s) => s.id === "eval/d")?.inputs.slice(-1), ["score/d/line-evaluator.jsonl"]);
  // The option leaves every other stage's key alone, so turning it on reruns nothing else.
  for (const s of off) if (s.id !== "eval/d") assert.deepEqual(on.find((x) => x.id === s.id)?.config, s.config, s.id);
  assert.throws(() => planStages(resolveRecipeObject({ ...base, evaluator: { enabled: false }, lineEvaluator: { enabled: true } }, "r.json", "/")), /needs evaluator\.enabled/);
  assert.throws(() => planStages(resolveRecipeObject({ ...base, data: { source: "synth" }, lineEvaluator: { enabled: true } }, "r.json", "/")), /checkable skills' grammar only.*data\.skills has arithmetic/);
  assert.throws(
    () => planStages(resolveRecipeObject({ ...base, generators: [{ name: "d" }], data: { source: "gsm8k", train: "/t.jsonl", test: "/s.jsonl" }, lineEvaluator: { enabled: true } }, "r.json", "/")),
    /only the synthetic world gives/,
  );
});

test("recipe precision reaches the SSFT trainer's options (bf16), and f32 leaves them as before", async () => {
  const { sftOptions } = await import("../../src/recipe/stages/sft.js");
  const base = { generators: [{ name: "d", style: "detailed" }] };
  assert.equal(sftOptions(resolveRecipeObject({ ...base, precision: "bf16" }, "r.json", "/"), "x", "/", false).precision, "bf16");
  assert.equal(sftOptions(resolveRecipeObject(base, "r.json", "/"), "x", "/", false).precision, undefined);
  assert.throws(() => resolveRecipeObject({ ...base, precision: "f16" }, "r.json", "/"), /precision/);
});

test("recipe lora: reaches every trainer's options and every training stage's key; unset, the keys are as before; it needs a base model", async () => {
  const { planStages } = await import("../../src/recipe/stages/index.js");
  const { sftOptions } = await import("../../src/recipe/stages/sft.js");
  const base = { generators: [{ name: "d", style: "detailed" }], model: { base: "/m/base.gguf" }, evaluator: { enabled: true }, mtsf: { enabled: true, evaluatorSteps: 7 } };
  const full = resolveRecipeObject(base, "r.json", "/");
  const lora = resolveRecipeObject({ ...base, lora: { rank: 8, alpha: 16, targets: ["q", "v"] } }, "r.json", "/");
  assert.deepEqual(full.lora, { rank: null, alpha: null, targets: null });
  const o = sftOptions(lora, "d", "/run", false);
  assert.deepEqual([o.loraRank, o.loraAlpha, o.loraTargets], [8, 16, ["q", "v"]]);
  assert.equal(sftOptions(full, "d", "/run", false).loraRank, undefined);
  const training = ["sft/d", "evaluator/train", "mtsf/train", "mtsf/control"];
  const a = planStages(full);
  const b = planStages(lora);
  for (const id of a.map((s) => s.id)) {
    const ca = JSON.stringify(a.find((s) => s.id === id)?.config);
    const cb = JSON.stringify(b.find((s) => s.id === id)?.config);
    if (training.includes(id)) assert.notEqual(ca, cb, `${id} reruns under LoRA`);
    else assert.equal(ca, cb, id);
    if (training.includes(id)) assert.ok(!ca.includes("lora"), `${id}: no lora key without LoRA`);
  }
  assert.throws(() => planStages(resolveRecipeObject({ ...base, model: { base: null }, lora: { rank: 4 } }, "r.json", "/")), /lora\.rank needs a base model/);
  assert.throws(() => resolveRecipeObject({ ...base, lora: { rank: 4, targets: ["qkv"] } }, "r.json", "/"), /lora\.targets/);
});

test("sampling.problems: the N samples on the first test problems only, the greedy decode on all; the config hash moves only when it is set", async () => {
  const { samplingConfig, sampleStage } = await import("../../src/recipe/stages/sample.js");
  const base = { generators: [{ name: "d", style: "detailed" }] };
  const plain = resolveRecipeObject(base, "r.json", "/");
  assert.equal(plain.sampling.problems, 0);
  assert.equal("problems" in samplingConfig(plain), false);
  const some = resolveRecipeObject({ ...base, sampling: { problems: 150 } }, "r.json", "/");
  assert.equal(samplingConfig(some).problems, 150);
  const arm = { name: "d", model: { rel: "sft/d/model.gguf" } } as Parameters<typeof sampleStage>[1];
  assert.match(sampleStage(some, arm).title, /the N on the first 150/);
  assert.throws(() => resolveRecipeObject({ ...base, sampling: { problems: -1 } }, "r.json", "/"), /sampling\.problems/);
});
