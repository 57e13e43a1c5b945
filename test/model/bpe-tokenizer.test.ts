// Byte-level BPE vocabularies of the real architectures' kind (Qwen2, Llama 3, SmolLM): the
// training data path tokenizes an external model's text with llama.cpp (tokenizerForGguf →
// LlamaVocabTokenizer, node-llama-cpp); these tests check that what it produces for our
// generated vocabularies is the reference BPE encoding (pre-tokenizer + merges by rank), on
// varied and random text, and that SFT prompts are the tokens the sampler feeds.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readGguf } from "../../src/model/gguf.js";
import { LlamaVocabTokenizer, tokenizerForGguf } from "../../src/model/tokenizer.js";
import { Rng } from "../../src/util/rng.js";
import { LocalModel } from "../../src/sample/local.js";
import { encodeExamples } from "../../src/train/data.js";
import { ARCH_CASES, mathCorpus, saveArchModel, type ArchName } from "./arch-fixtures.js";
import { bpeEncode, bpeGgufMetadata, byteEncode, byteToChar, preTokenize, trainByteBpe, type ByteBpe } from "./bpe.js";
import { initWeights, saveModelGguf } from "../../src/model/checkpoint.js";
import { presetConfig } from "../../src/model/config.js";
import { tempDir } from "./fixtures.js";

const { dir, cleanup } = tempDir("mathtune-bpe-");
after(cleanup);

test("GPT-2 byte map: 256 distinct printable characters, space as Ġ and newline as Ċ", () => {
  const m = byteToChar();
  assert.equal(new Set(m).size, 256);
  assert.ok(m.every((c) => !/\s/u.test(c)));
  assert.equal(m[0x20], "Ġ");
  assert.equal(m[0x0a], "Ċ");
  assert.equal(m[0x41], "A");
  assert.equal(byteEncode(" é"), "ĠÃ©");
});

test("pre-tokenizers split as llama.cpp's qwen2, llama-bpe and smollm types do", () => {
  const rows: Array<[string, Parameters<typeof preTokenize>[1], string[]]> = [
    ["x = 12345", "qwen2", ["x", " =", " ", "1", "2", "3", "4", "5"]],
    ["x = 12345", "llama-bpe", ["x", " =", " ", "123", "45"]],
    ["x = 12345", "smollm", ["x", " =", " ", "1", "2", "3", "4", "5"]],
    ["it's  done\n\n  ok", "qwen2", ["it", "'s", " ", " done", "\n\n", " ", " ok"]],
    ["$\\frac{a}{b}$", "llama-bpe", ["$\\", "frac", "{a", "}{", "b", "}$"]],
    ["naïve 数学!", "qwen2", ["naïve", " 数学", "!"]],
  ];
  for (const [text, pre, want] of rows) assert.deepEqual(preTokenize(text, pre), want, `${pre}: ${JSON.stringify(text)}`);
});

test("the BPE trainer is deterministic and its merges shorten the text", () => {
  const corpus = mathCorpus(2, 100);
  const o = { pre: "qwen2", merges: 80, specials: ["<|endoftext|>"], bos: 0, eos: 0, addBos: false } as const;
  const a = trainByteBpe(corpus, o);
  assert.deepEqual(trainByteBpe(corpus, o), a);
  assert.equal(a.merges.length, 80);
  assert.equal(a.tokens.length, 256 + 80 + 1);
  assert.equal(a.tokens[a.eosId], "<|endoftext|>");
  const ids = bpeEncode(a, corpus);
  assert.ok(ids.length < 0.6 * new TextEncoder().encode(corpus).length, `${ids.length} tokens`);
});

/** Texts that exercise the pre-tokenizers: digits, LaTeX, runs of spaces, tabs, CR/LF, unicode, look-alike specials. */
const TEXTS = [
  "What is 12+35? Think step by step.\nAnswer: 47",
  "Let $x^2 - 5x + 6 = 0$. Then $x \\in \\{2, 3\\}$ and \\boxed{\\frac{1}{2}}.",
  "  leading spaces,   inner   runs, trailing   ",
  "\ttabs\tand\r\nCRLF\n\n\nnewlines  \n  \n",
  "1234567890 3.14159 -0.5e-10 1,000,000",
  "naïve café Straße ÅΩ π≈3.14 √2 ≤ ∑ 数学题 😀👍🏽 ٣ Ⅻ ²",
  "I'm sure it's they'll we've you'd THEY'RE",
  "<|endoftext|> <|im_start|>user<|im_end|> <|begin_of_text|>",
  "\u00a0non-breaking\u2003em space\u0085next line\ufeffbom",
  "",
];

/** Random strings: a pool of interesting characters and arbitrary code points of the BMP. */
function randomTexts(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const pool = [..."abcXYZ0123456789 \t\n\r'.,;:!?$\\{}^_()[]+-=*/<>|~`\"#%&@", "é", "π", "≈", "数", "😀", "\u00a0", "\u2003", "\u0085", "’", "٣", "Ⅻ", "\u0301"];
  return Array.from({ length: n }, () => {
    let t = "";
    for (let j = rng.int(1, 30); j > 0; j--) t += rng.next() < 0.8 ? rng.pick(pool) : String.fromCodePoint(rng.int(0x20, 0x2fff));
    return t;
  });
}

for (const name of Object.keys(ARCH_CASES) as ArchName[]) {
  const pre = ARCH_CASES[name].tokenizer.pre;
  test(`${pre} vocabulary (${name}): llama.cpp tokenizes the training data exactly like the reference BPE`, async (t) => {
    const path = join(dir, `${name}.gguf`);
    const { bpe } = await saveArchModel(path, name);
    const tok = await tokenizerForGguf(path, readGguf(path).metadata);
    assert.ok(tok instanceof LlamaVocabTokenizer, "an external vocabulary goes through llama.cpp");
    try {
      assert.equal(tok.vocabSize, bpe.tokens.length);
      assert.equal(tok.bosId, bpe.bosId);
      assert.equal(tok.eosId, bpe.eosId);
      const texts = [...TEXTS, mathCorpus(7, 30), ...randomTexts(300, 11)];
      let tokens = 0;
      for (const text of texts) {
        const ids = tok.encode(text);
        tokens += ids.length;
        assert.deepEqual(ids, bpeEncode(bpe, text), JSON.stringify(text));
        // Byte-level BPE is lossless. llama-bpe's decoder also removes a space before ? ! . , and
        // around a lone apostrophe, as llama.cpp and Hugging Face do for Llama 3 ("clean spaces").
        if (pre !== "llama-bpe" || !/ [?!.,']/.test(text)) assert.equal(tok.decode(ids), text, JSON.stringify(text));
      }
      t.diagnostic(`${texts.length} texts, ${tokens} tokens, vocabulary ${bpe.tokens.length} (${bpe.merges.length} merges)`);
      // An SFT prompt is what the sampler feeds for the same text: BOS only where the vocabulary adds it.
      const prompt = TEXTS[1];
      const [example] = encodeExamples([{ prompt, completion: " 2" }], tok);
      assert.equal(example.prompt[0] === bpe.bosId, bpe.addBos);
      const sampler = await LocalModel.open(path, { threads: 1, parallel: 1, contextSize: 128 });
      try {
        assert.deepEqual(example.prompt, sampler.promptTokens(prompt));
      } finally {
        await sampler.close();
      }
    } finally {
      await tok.dispose();
    }
  });
}

test("a word that is itself a token: llama-bpe takes it whole (ignore_merges), qwen2 applies the merges", async () => {
  // Merges reach "ab" and "bc" but never "abc", which is a token of its own.
  const bytes = byteToChar();
  const tokens = [...bytes, "ab", "bc", "abc", "<|endoftext|>"];
  const types = tokens.map((_, i) => (i === tokens.length - 1 ? 3 : 1));
  const eos = tokens.length - 1;
  const config = presetConfig("tiny", tokens.length, { contextLength: 16, nLayers: 1 });
  for (const [pre, want] of [["llama-bpe", ["abc"]], ["qwen2", ["ab", "c"]]] as const) {
    const bpe: ByteBpe = { pre, tokens, types, merges: ["a b", "b c"], bosId: eos, eosId: eos, addBos: false };
    assert.deepEqual(bpeEncode(bpe, "abc").map((i) => tokens[i]), want, `reference, ${pre}`);
    const path = join(dir, `ignore-merges-${pre}.gguf`);
    await saveModelGguf(path, { config, tokenizer: bpeGgufMetadata(bpe), weights: initWeights(config, 1) });
    const tok = await LlamaVocabTokenizer.open(path);
    try {
      assert.deepEqual(tok.encode("abc").map((i) => tokens[i]), want, `llama.cpp, ${pre}`);
    } finally {
      await tok.dispose();
    }
  }
});
