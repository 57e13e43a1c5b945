// The chat prompt format end to end on a small qwen2-shaped GGUF with Qwen2.5's ChatML
// `tokenizer.chat_template`: the rendered prompt and its token ids (sampler and trainer against
// node-llama-cpp's own tokenization with special tokens), `sample --prompt-format chat`,
// `data sft --prompt-format chat` then a few SFT steps whose model keeps the template and loads in
// node-llama-cpp, and the clear error for a model without a template.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MathtuneError } from "../../src/errors.js";
import { resolveGeneratorFormat } from "../../src/data/chat-prompt.js";
import { metaString, readGguf } from "../../src/model/gguf.js";
import { LlamaVocabTokenizer } from "../../src/model/tokenizer.js";
import { encodeExamples } from "../../src/train/data.js";
import { LocalModel } from "../../src/sample/local.js";
import { getLlamaCpu } from "../../src/sample/llama.js";
import { CHATML_TEMPLATE, saveArchModel } from "../model/arch-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-chat-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const entry = fileURLToPath(new URL("../train/cli-entry.ts", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", entry, ...args], { encoding: "utf8" });

const chatModel = join(dir, "qwen2-chat.gguf");
const plainModel = join(dir, "qwen2-plain.gguf");
const problems = join(dir, "problems.jsonl");
const ready = (async () => {
  await saveArchModel(chatModel, "qwen2", { seed: 4, chatTemplate: CHATML_TEMPLATE });
  await saveArchModel(plainModel, "qwen2", { seed: 4 });
  const rows = [
    { id: "a", problem: "What is 2+3?", answer: "5", solution: "We add: 2+3=5. \\boxed{5}" },
    { id: "b", problem: "What is 4+4?", answer: "8", solution: "We add: 4+4=8. \\boxed{8}" },
    { id: "c", problem: "What is 7-2?", answer: "5", solution: "We subtract: 7-2=5. \\boxed{5}" },
  ];
  writeFileSync(problems, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
})();

const CHATML_PROMPT =
  "<|im_start|>user\nWhat is 2+3?\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n";

test("the chat format renders ChatML; sampler and trainer tokenize it as node-llama-cpp does with special tokens", async () => {
  await ready;
  const format = await resolveGeneratorFormat("chat", chatModel);
  assert.equal(format.wrapper, "ChatML");
  assert.equal(format.endOfTurn, "<|im_end|>");
  assert.equal(format.specialTokens, true);
  const prompt = format.prompt("What is 2+3?");
  assert.equal(prompt, CHATML_PROMPT);
  const withSystem = await resolveGeneratorFormat("chat", chatModel, { systemPrompt: "Be brief." });
  assert.ok(withSystem.prompt("What is 2+3?").startsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"));

  // node-llama-cpp's own tokenization of the same text, special tokens enabled.
  const llama = await getLlamaCpu();
  const vocab = await llama.loadModel({ modelPath: chatModel, vocabOnly: true });
  const sampler = await LocalModel.open(chatModel, { threads: 1, parallel: 1, specialTokens: true });
  const tok = await LlamaVocabTokenizer.open(chatModel);
  try {
    const reference = [...vocab.tokenize(prompt, true)];
    const imStart = vocab.tokenize("<|im_start|>", true);
    assert.equal(imStart.length, 1, "<|im_start|> is one special token");
    assert.equal(reference[0], imStart[0]);
    assert.ok(vocab.tokenize(prompt, false).length > reference.length, "without specials the markers are spelled out");
    // The sampler (qwen2 adds no BOS).
    assert.deepEqual(sampler.promptTokens(prompt), reference);
    // The trainer: a chat-format SFT record (special_tokens) encodes prompt and completion with specials.
    const [enc] = encodeExamples([{ prompt, completion: "5<|im_end|>", special_tokens: true }], tok);
    assert.deepEqual(enc.prompt, reference);
    assert.deepEqual(enc.completion, [...vocab.tokenize("5<|im_end|>", true), tok.eosId]);
    // A plain record keeps the old behaviour: the text of special tokens is text.
    const [plain] = encodeExamples([{ prompt, completion: "5" }], tok);
    assert.deepEqual(plain.prompt, [...vocab.tokenize(prompt, false)]);
  } finally {
    await sampler.close();
    await tok.dispose();
    await vocab.dispose();
  }
});

test("sample --prompt-format chat renders prompts through the local model's template and says so", async () => {
  await ready;
  const out = join(dir, "samples.jsonl");
  const r = cli("sample", "--data", problems, "--out", out, "--model", chatModel, "--prompt-format", "chat", "--n", "2", "--max-tokens", "6", "--threads", "1", "--parallel", "2", "--quiet");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /prompt format chat \(ChatML chat template of /);
  assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 6);
  // --template belongs to the plain format.
  const bad = cli("sample", "--data", problems, "--out", join(dir, "x.jsonl"), "--model", chatModel, "--prompt-format", "chat", "--template", "Q: {problem}\n", "--quiet");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /plain prompt format only/);
});

test("score --likelihood --prompt-format chat scores each candidate after the chat prompt, with special tokens", async () => {
  await ready;
  const samples = join(dir, "cands.jsonl");
  writeFileSync(samples, [{ problem_id: "a", sample: 0, text: "We add: 2+3=5. \\boxed{5}" }, { problem_id: "a", sample: 1, text: "It is \\boxed{6}" }].map((x) => JSON.stringify(x)).join("\n") + "\n");
  const out = join(dir, "lik.jsonl");
  const r = cli("score", "--model", chatModel, "--samples", samples, "--problems", problems, "--out", out, "--likelihood", "sequence", "--prompt-format", "chat", "--threads", "1", "--parallel", "1", "--quiet");
  assert.equal(r.status, 0, r.stderr);
  const scores = readFileSync(out, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { score: number }).score);
  const m = await LocalModel.open(chatModel, { threads: 1, parallel: 1, specialTokens: true });
  try {
    for (const [i, text] of ["We add: 2+3=5. \\boxed{5}", "It is \\boxed{6}"].entries()) {
      const lp = await m.continuationLogprobs(CHATML_PROMPT, text);
      assert.ok(Math.abs(Math.log(scores[i]) - lp.total) < 1e-3, `${Math.log(scores[i])} vs ${lp.total}`);
    }
  } finally {
    await m.close();
  }
  const bad = cli("score", "--model", chatModel, "--samples", samples, "--problems", problems, "--out", join(dir, "x.jsonl"), "--prompt-format", "chat");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /only apply with --likelihood/);
});

test("data sft --prompt-format chat, then train sft: special tokens trained, the model keeps its chat template and loads in node-llama-cpp", async () => {
  await ready;
  const records = join(dir, "sft-chat.jsonl");
  let r = cli("data", "sft", "--problems", problems, "--out", records, "--prompt-format", "chat", "--model", chatModel);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote 3 SFT examples .*prompt format chat: the ChatML chat template/);
  const rows = readFileSync(records, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; completion: string; special_tokens?: boolean });
  assert.equal(rows[0].prompt, CHATML_PROMPT);
  assert.equal(rows[0].completion, "We add: 2+3=5. \\boxed{5}<|im_end|>");
  assert.equal(rows[0].special_tokens, true);

  const run = join(dir, "sft");
  r = cli("train", "sft", "--data", records, "--out", run, "--base", chatModel, "--steps", "3", "--batch", "2", "--seq-len", "96", "--lr", "1e-3", "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  const tuned = join(run, "model.gguf");
  assert.equal(metaString(readGguf(tuned).metadata, "tokenizer.chat_template"), CHATML_TEMPLATE);
  // The fine-tuned model loads in node-llama-cpp, renders the same prompt and samples from it.
  const format = await resolveGeneratorFormat("chat", tuned);
  assert.equal(format.prompt("What is 2+3?"), CHATML_PROMPT);
  const m = await LocalModel.open(tuned, { threads: 1, parallel: 1, specialTokens: true });
  try {
    const [c] = await m.generate(format.prompt("What is 2+3?"), { n: 1, maxTokens: 4, seeds: [1] });
    assert.ok(c.tokens !== undefined && c.tokens <= 4);
    assert.ok(m.model.isEogToken(m.model.tokenize("<|im_end|>", true)[0]), "<|im_end|> ends the turn in llama.cpp");
  } finally {
    await m.close();
  }
});

test("the chat format on a model without a chat template fails with a clear error and a hint", async () => {
  await ready;
  await assert.rejects(resolveGeneratorFormat("chat", plainModel), (err: unknown) => {
    assert.ok(err instanceof MathtuneError);
    assert.equal(err.code, "E_INPUT");
    assert.match(err.message, /has no chat template \(tokenizer\.chat_template\)/);
    assert.match(err.hint ?? "", /--prompt-format plain/);
    return true;
  });
  const r = cli("data", "sft", "--problems", problems, "--out", join(dir, "none.jsonl"), "--prompt-format", "chat", "--model", plainModel);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error: .*has no chat template/);
  assert.match(r.stderr, /hint: use the plain prompt format/);
  const noModel = cli("data", "sft", "--problems", problems, "--out", join(dir, "none.jsonl"), "--prompt-format", "chat");
  assert.equal(noModel.status, 1);
  assert.match(noModel.stderr, /needs a local GGUF model/);
  const modelOnly = cli("data", "sft", "--problems", problems, "--out", join(dir, "none.jsonl"), "--model", chatModel);
  assert.equal(modelOnly.status, 1);
  assert.match(modelOnly.stderr, /--model applies to --prompt-format chat/);
});
