// The recipe with LoRA (`lora.rank`) end to end through the real CLI on a miniature world: every
// fine-tuning stage (SSFT, evaluator, MTSF's stages, the control) trains an adapter on the model it
// starts from and merges it into the stage's model.gguf, which the later stages sample and score.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readGguf, readTensorBytes } from "../../src/model/gguf.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = join(root, "test/recipe/cli-entry.ts");

test("recipe lora: adapters trained and merged at every training stage; untargeted tensors stay the base's bytes", { timeout: 240_000 }, (t) => {
  const work = mkdtempSync(join(tmpdir(), "mathtune-lora-recipe-"));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const base = join(root, "models/demo-base.gguf");
  const recipe = join(work, "lora.json");
  writeFileSync(
    recipe,
    JSON.stringify({
      name: "lora",
      seed: 3,
      data: { source: "synth", train: 40, test: 4, levels: [1], skills: ["arithmetic", "modular"], maxChars: 64 },
      model: { base },
      lora: { rank: 4, alpha: 8, targets: ["q", "v", "up"] },
      generators: [{ name: "detailed", style: "detailed" }],
      sft: { steps: 2, batch: 4, seqLen: 96, lr: 0.001 },
      sampling: { n: 2, temperature: 0.9, topP: 0.95, maxTokens: 48, parallel: 1 },
      grade: { workers: 1 },
      evaluator: { enabled: true, n: 2, problems: 6, perProblem: 2, loss: "ce", steps: 2, batch: 2, seqLen: 192, lr: 0.001, likelihoodBaseline: false, baseBaseline: false },
      mtsf: { enabled: true, evaluatorSteps: 3, generatorSteps: 2, lr: 0.001 },
      eval: { topK: 2, subsets: 10, bootstrap: 50 },
    }),
  );
  const out = join(work, "run");
  const r = spawnSync(process.execPath, ["--import", "tsx", entry, "recipe", recipe, "--out", out], { cwd: root, encoding: "utf8", timeout: 230_000 });
  assert.equal(r.status, 0, r.stderr);
  const baseFile = readGguf(base);
  for (const dir of ["sft/detailed", "evaluator/train", "mtsf-control"]) {
    assert.ok(existsSync(join(out, dir, "adapter.gguf")), `${dir}/adapter.gguf`);
    const merged = readGguf(join(out, dir, "model.gguf"));
    assert.equal(merged.tensors.length, baseFile.tensors.length, dir);
    let changed = 0;
    for (const tensor of baseFile.tensors) {
      const same = Buffer.compare(readTensorBytes(merged, tensor.name), readTensorBytes(baseFile, tensor.name)) === 0;
      const targeted = /\.(attn_q|attn_v|ffn_up)\.weight$/.test(tensor.name);
      // Every stage starts from a merge of the base, so what no adapter targets is still the base's bytes.
      if (!targeted) assert.ok(same, `${dir}: ${tensor.name} is not adapted and must keep the base's bytes`);
      if (targeted && !same) changed++;
    }
    assert.ok(changed > 0, `${dir}: the adapter changed the targeted matrices`);
  }
  assert.ok(existsSync(join(out, "mtsf/stage-2-sft/model.gguf")));
  // The later stages ran on the merged models.
  for (const arm of ["detailed", "mtsf", "control"]) assert.ok(existsSync(join(out, `eval/${arm}/results.json`)), arm);
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { recipe: { lora: { rank: number } } };
  assert.equal(config.recipe.lora.rank, 4);
});
