import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  generatorPrompt,
  evaluatorPrompt,
  evaluatorLabelText,
  chatUserMessage,
  GENERATOR_TEMPLATE,
  EVALUATOR_LABELS,
  EVALUATOR_TEMPLATE,
  resolveEvaluatorTemplate,
} from "../../src/data/prompts.js";
import { chatGeneratorPrompt } from "../../src/data/chat-prompt.js";
import { writeMetadataOnlyGguf } from "./gguf-fixture.js";

test("plain generator prompt: fixed short text, problem verbatim", () => {
  assert.equal(GENERATOR_TEMPLATE, "Problem: {problem}\nSolution:\n");
  assert.equal(generatorPrompt("Compute 2+3."), "Problem: Compute 2+3.\nSolution:\n");
  // `$` sequences in a problem must not be taken as replacement patterns.
  assert.equal(generatorPrompt("Find $x$ if $$x=1$$ and $&."), "Problem: Find $x$ if $$x=1$$ and $&.\nSolution:\n");
  assert.equal(generatorPrompt("p", { template: "Q: {problem}\nA: " }), "Q: p\nA: ");
  assert.throws(() => generatorPrompt("p", { template: "no slot" }), /\{problem\}/);
});

test("few-shot exemplars come first, each a prompt plus its solution", () => {
  const got = generatorPrompt("Compute 1+1.", { examples: [{ problem: "Compute 2+2.", solution: "2+2=4\n\\boxed{4}\n" }] });
  assert.equal(got, "Problem: Compute 2+2.\nSolution:\n2+2=4\n\\boxed{4}\n\nProblem: Compute 1+1.\nSolution:\n");
});

test("evaluator prompt is the paper's template; the label follows after a space", () => {
  const p = evaluatorPrompt("What is 1+1?", "1+1=2\n\\boxed{2}");
  assert.equal(p, "Here is a math problem: What is 1+1?. Here is a candidate solution: 1+1=2\n\\boxed{2}. The above candidate solution is");
  assert.equal(evaluatorLabelText(true), " correct");
  assert.equal(evaluatorLabelText(false), " incorrect");
  assert.deepEqual(EVALUATOR_LABELS, { positive: "correct", negative: "incorrect" });
  // Placeholders inside the texts are not substituted a second time.
  assert.equal(evaluatorPrompt("{solution}", "$1"), "Here is a math problem: {solution}. Here is a candidate solution: $1. The above candidate solution is");
});

test("evaluator templates: the paper's, the generator's format, a custom one, a bad one", () => {
  assert.equal(resolveEvaluatorTemplate("paper"), EVALUATOR_TEMPLATE);
  const gen = resolveEvaluatorTemplate("generator");
  // The candidate reads exactly as the generator wrote it: its prompt, then the solution.
  const p = evaluatorPrompt("What is 1+1?", "1+1=2\n\\boxed{2}", { template: gen });
  assert.equal(p, generatorPrompt("What is 1+1?") + "1+1=2\n\\boxed{2}\nThe above candidate solution is");
  assert.equal(evaluatorPrompt("P", "X", { template: resolveEvaluatorTemplate("generator", "Q: {problem}\nA: ") }), "Q: P\nA: X\nThe above candidate solution is");
  assert.equal(resolveEvaluatorTemplate("Is {solution} right for {problem}?"), "Is {solution} right for {problem}?");
  assert.throws(() => resolveEvaluatorTemplate("no placeholders"), /paper.*generator/);
});

test("chat user message asks for a boxed answer", () => {
  assert.equal(chatUserMessage("Compute 2+3."), "Compute 2+3.\nPlease reason step by step, and put your final answer within \\boxed{}.");
});

const dir = mkdtempSync(join(tmpdir(), "mathtune-prompts-"));
const chatml =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const base = {
  "general.architecture": "llama",
  "tokenizer.ggml.model": "llama",
  "tokenizer.ggml.tokens": ["<s>", "</s>", "<|im_start|>", "<|im_end|>"],
  "tokenizer.ggml.bos_token_id": 0,
  "tokenizer.ggml.eos_token_id": 1,
};

test("chat prompt through a GGUF file's chat template (node-llama-cpp, metadata only)", async () => {
  const f = join(dir, "chatml.gguf");
  writeMetadataOnlyGguf(f, { ...base, "tokenizer.chat_template": chatml });
  const p = await chatGeneratorPrompt(f, "Compute 2+3.");
  assert.equal(p.hasTemplate, true);
  assert.equal(p.text, "<|im_start|>user\nCompute 2+3.\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>assistant\n");
  assert.ok(Array.isArray(p.llamaText), "LlamaText JSON keeps special tokens apart");
  const withSystem = await chatGeneratorPrompt(f, "Compute 2+3.", { systemPrompt: "Be brief.", userMessage: (q) => q });
  assert.equal(withSystem.text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCompute 2+3.<|im_end|>\n<|im_start|>assistant\n");
});

test("a template node-llama-cpp does not know is rendered as Jinja", async () => {
  const f = join(dir, "custom.gguf");
  const custom = "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}[end]{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}";
  writeMetadataOnlyGguf(f, { ...base, "tokenizer.chat_template": custom });
  const p = await chatGeneratorPrompt(f, "Q", { userMessage: (q) => q });
  assert.equal(p.hasTemplate, true);
  assert.match(p.text, /\[user\]Q\[end\]/);
  assert.ok(p.text.endsWith("[assistant]"), p.text);
});

test("a GGUF without a chat template gets the plain prompt; a non-GGUF file fails clearly", async () => {
  const f = join(dir, "plain.gguf");
  writeMetadataOnlyGguf(f, base);
  const p = await chatGeneratorPrompt(f, "Compute 2+3.");
  assert.deepEqual(p, { text: generatorPrompt("Compute 2+3."), llamaText: generatorPrompt("Compute 2+3."), wrapper: "plain", hasTemplate: false });
  await assert.rejects(chatGeneratorPrompt(join(dir, "missing.gguf"), "x"), /cannot read GGUF metadata/);
});
