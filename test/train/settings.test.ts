// The settings schemas are the one place of each training default: the trainers, the recipe and
// the command-line options (and their --help) read them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { MathtuneError } from "../../src/errors.js";
import { EvaluatorSettingsSchema, SftSettingsSchema, defaultEvalEvery, defaultLr, defaultOf, defaultWarmup, flagOf, parseSettings } from "../../src/train/settings.js";
import { resolveSftOptions } from "../../src/train/sft.js";
import { resolveRecipeObject } from "../../src/recipe/schema.js";
import { settingOption } from "../../src/cli/options.js";
import { buildProgram } from "../../src/cli/main.js";

test("resolveSftOptions applies the schema's defaults and computes the rest in one place", () => {
  const r = resolveSftOptions({ data: "d", out: "o" });
  const S = SftSettingsSchema.shape;
  for (const k of ["steps", "batch", "accumulation", "minLrRatio", "weightDecay", "clipNorm", "valFraction", "device", "seed", "precision", "size"] as const) {
    assert.deepEqual(r[k], defaultOf(S[k]), k);
  }
  assert.equal(r.lr, defaultLr({ base: false, lora: false }));
  assert.equal(r.warmup, defaultWarmup(r.steps, Math.round));
  assert.equal(r.evalEvery, defaultEvalEvery(r.steps, 10, Math.round));
  assert.equal(r.saveEvery, r.evalEvery);
  assert.equal(r.threads, 0);
  const ft = resolveSftOptions({ data: "d", out: "o", base: "m.gguf", steps: 15 });
  assert.equal(ft.lr, defaultLr({ base: true, lora: false }));
  assert.equal(ft.size, null);
  assert.equal(ft.warmup, 2);
  // null (a computed default, as the command line passes it) is the same as leaving it out.
  assert.deepEqual(resolveSftOptions({ data: "d", out: "o", lr: null, warmup: null, evalEvery: null, saveEvery: null, seqLen: null, threads: null }), r);
});

test("a bad setting is a usage error that names its flag", () => {
  const usage = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_USAGE" && re.test(e.message);
  assert.throws(() => resolveSftOptions({ data: "d", out: "o", steps: 0 }), usage(/^--steps must be a positive integer \(got 0\)$/));
  assert.throws(() => resolveSftOptions({ data: "d", out: "o", clipNorm: -1 }), usage(/^--clip must be >= 0/));
  assert.throws(() => resolveSftOptions({ data: "d", out: "o", valFraction: 1 }), usage(/^--val-fraction must be < 1/));
  assert.throws(() => parseSettings(EvaluatorSettingsSchema, { loss: "hinge" }), usage(/^--loss must be one of margin, softplus, ce, mix, seq-contrastive/));
  assert.equal(flagOf("minLrRatio"), "--min-lr-ratio");
});

test("the recipe's training defaults are the trainers'", () => {
  const r = resolveRecipeObject({}, "test", "/");
  const S = SftSettingsSchema.shape;
  for (const k of ["steps", "batch", "accumulation", "seqLen", "lr", "warmup", "minLrRatio", "weightDecay", "clipNorm", "valFraction", "evalEvery", "saveEvery", "device"] as const) {
    assert.deepEqual(r.sft[k], defaultOf(S[k]), `sft.${k}`);
  }
  const E = EvaluatorSettingsSchema.shape;
  for (const k of ["perProblem", "loss", "steps", "batch", "seqLen", "lr", "valFraction"] as const) assert.deepEqual(r.evaluator[k], defaultOf(E[k]), `evaluator.${k}`);
  assert.equal(r.evaluator.margin, defaultOf(E.lambda));
  assert.equal(r.threads, defaultOf(S.threads));
  assert.equal(r.precision, defaultOf(S.precision));
  assert.equal(r.model.size, defaultOf(S.size));
  // The recipe offers every trainer loss but the sequence-level baseline.
  assert.throws(() => resolveRecipeObject({ evaluator: { loss: "seq-contrastive" } }, "test", "/"), /evaluator\.loss/);
});

test("--help of the training commands shows the schemas' defaults", async () => {
  const program = await buildProgram();
  const train = program.commands.find((c) => c.name() === "train") as Command;
  const help = (name: string): string => (train.commands.find((c) => c.name() === name) as Command).helpInformation().replace(/\s+/g, " ");
  const sft = help("sft");
  assert.match(sft, new RegExp(`--steps <n> optimizer steps \\(default: ${String(defaultOf(SftSettingsSchema.shape.steps))}\\)`));
  assert.match(sft, new RegExp(`--val-fraction <x> .*?\\(default: ${String(defaultOf(SftSettingsSchema.shape.valFraction))}\\)`));
  assert.match(sft, /--lr <x> peak learning rate \(default: 1e-3 for a new model or a LoRA adapter, 1e-4 for a full fine-tune\)/);
  assert.match(sft, /--warmup <n> warmup steps \(default: 10% of the steps, rounded, at most 100\)/);
  const ev = help("evaluator");
  assert.match(ev, new RegExp(`--val-fraction <x> .*?\\(default: ${String(defaultOf(EvaluatorSettingsSchema.shape.valFraction))}\\)`));
  assert.match(ev, /--eval-every <n> .*?\(default: steps \/ 5, rounded down, at least 1\)/);
  assert.match(ev, /--labels <pos,neg> .*?\(default: "correct,incorrect"\)/);
});

test("a setting option parses and checks its value with the schema", () => {
  const cmd = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  cmd.addOption(settingOption("--steps <n>", SftSettingsSchema.shape.steps)).addOption(settingOption("--lr <x>", SftSettingsSchema.shape.lr)).addOption(settingOption("--device <d>", SftSettingsSchema.shape.device));
  cmd.parse(["--steps", "7"], { from: "user" });
  assert.deepEqual(cmd.opts(), { steps: 7, lr: null, device: "cpu" });
  assert.throws(() => cmd.parse(["--steps", "0"], { from: "user" }), /--steps must be a positive integer \(got 0\)/);
  assert.throws(() => cmd.parse(["--lr", "x"], { from: "user" }), /--lr must be a number \(got x\)/);
  assert.throws(() => cmd.parse(["--device", "gpu"], { from: "user" }), /--device must be one of cpu, cuda \(got gpu\)/);
});
