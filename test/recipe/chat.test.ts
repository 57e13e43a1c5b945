// A recipe with promptFormat "chat" on a small qwen2-shaped base model with a ChatML
// `tokenizer.chat_template`: the SFT records and the test samples go through the template, and the printed settings, results.json meta and report say so;
// a base without a template fails before anything is written.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHATML_TEMPLATE, saveArchModel } from "../model/arch-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-recipe-chat-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = fileURLToPath(new URL("./cli-entry.ts", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", entry, ...args], { encoding: "utf8", timeout: 300_000 });

const chatBase = join(dir, "qwen2-chat.gguf");
const plainBase = join(dir, "qwen2-plain.gguf");
const ready = Promise.all([saveArchModel(chatBase, "qwen2", { seed: 5, chatTemplate: CHATML_TEMPLATE }), saveArchModel(plainBase, "qwen2", { seed: 5 })]);

function writeRecipe(name: string, base: string, extra: Record<string, unknown> = {}): string {
  const recipe = {
    name,
    seed: 2,
    data: { source: "synth", train: 16, test: 3, levels: [1], skills: ["arithmetic", "linear", "modular"], maxChars: 64 },
    model: { base },
    promptFormat: "chat",
    systemPrompt: "Be brief.",
    generators: [{ name: "detailed", style: "detailed" }],
    sft: { steps: 2, batch: 2, seqLen: 100, lr: 0.001, evalEvery: 2, saveEvery: 2 },
    sampling: { n: 2, temperature: 0.9, topP: 0.95, maxTokens: 6, parallel: 1, contextSize: 128 },
    grade: { workers: 1 },
    // The evaluator needs correct and incorrect samples, which a model of random weights does not
    // give; the chat prompts of its sampling and of the likelihood baselines are the same
    // resolveGeneratorFormat path (the likelihood scoring is tested through `score --likelihood`).
    evaluator: { enabled: false },
    mtsf: { enabled: false },
    eval: { topK: 1, subsets: 5, bootstrap: 20 },
    ...extra,
  };
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(recipe, null, 2));
  return file;
}

test("a chat-format recipe renders every generator prompt through the base model's template and says so", async () => {
  await ready;
  const out = join(dir, "run");
  const r = cli("recipe", writeRecipe("chat", chatBase), "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /promptFormat\s+\| chat/);
  assert.match(r.stderr, /prompt format: chat \(the ChatML chat template of model\.base, with a system turn\)/);

  const sft = readFileSync(join(out, "data/sft-detailed.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; completion: string; special_tokens?: boolean });
  assert.ok(sft.length > 0);
  for (const e of sft) {
    assert.ok(e.prompt.startsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"), e.prompt);
    assert.ok(e.prompt.endsWith("<|im_end|>\n<|im_start|>assistant\n"), e.prompt);
    assert.ok(e.completion.endsWith("<|im_end|>"), e.completion);
    assert.equal(e.special_tokens, true);
  }
  assert.equal(readFileSync(join(out, "sample/detailed/samples.jsonl"), "utf8").trim().split("\n").length, 9); // 3 greedy + 3 x 2
  const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { meta: { promptFormat?: string; chatWrapper?: string } };
  assert.equal(results.meta.promptFormat, "chat");
  assert.equal(results.meta.chatWrapper, "ChatML");
  assert.match(readFileSync(join(out, "report.md"), "utf8"), /prompt format: chat \(the ChatML chat template of model\.base/);
  assert.match(readFileSync(join(out, "report.html"), "utf8"), /prompt format: chat \(the ChatML chat template/);
});

test("a chat-format recipe on a base without a chat template fails before writing anything; chat with promptTemplate is refused", async () => {
  await ready;
  const out = join(dir, "none");
  const r = cli("recipe", writeRecipe("none", plainBase), "--out", out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /has no chat template \(tokenizer\.chat_template\)/);
  assert.match(r.stderr, /hint: use the plain prompt format/);
  assert.ok(!existsSync(out), "nothing is written");
  const t = cli("recipe", writeRecipe("tmpl", chatBase, { promptTemplate: "Q: {problem}\nA:" }), "--out", join(dir, "tmpl"));
  assert.equal(t.status, 1);
  assert.match(t.stderr, /field promptTemplate: applies to promptFormat "plain" only/);
  const s = cli("recipe", writeRecipe("sys", chatBase, { promptFormat: "plain" }), "--out", join(dir, "sys"));
  assert.equal(s.status, 1);
  assert.match(s.stderr, /field systemPrompt: needs promptFormat "chat"/);
});
