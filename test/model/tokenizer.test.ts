import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import type { LlamaModel } from "node-llama-cpp";
import { CharTokenizer, LlamaVocabTokenizer, tokenizerForGguf } from "../../src/model/tokenizer.js";
import { readGguf } from "../../src/model/gguf.js";
import { getLlamaCpu } from "../../src/sample/llama.js";
import { saveTinyModel, tempDir, testTokenizer } from "./fixtures.js";

const AWKWARD = [
  "",
  "Hello, world!",
  "  two leading spaces and trailing  ",
  " x",
  "\ttabs\tand\nnewlines\n\n",
  "CRLF\r\nline",
  "$\\frac{1}{2} + \\sqrt{x^2} = \\boxed{\\pi}$",
  "unicode: é ü ß 中文 Ω ∫",
  "emoji 😀 👍🏽 👨‍👩‍👧 🇫🇷",
  "math symbols in vocab: √2 ≤ π ∑",
  "U+2581 in text: ▁ and ▁▁x",
  "look-alike specials: <s> </s> <unk> <0x41>",
  "lone surrogate \ud800 here",
  "zero width\u200bjoiner\u200d and BOM \ufeff",
];

test("CharTokenizer round-trips any text (byte fallback) except U+2581, which is a space", () => {
  const tok = testTokenizer();
  for (const s of AWKWARD) {
    const expected = s.replace(/\u2581/g, " ").replace(/[\ud800-\udfff]/g, (c, i: number, str: string) => {
      // a well-formed pair stays, a lone surrogate becomes U+FFFD
      const code = c.charCodeAt(0);
      if (code < 0xdc00 && i + 1 < str.length && /[\udc00-\udfff]/.test(str[i + 1])) return c;
      if (code >= 0xdc00 && i > 0 && /[\ud800-\udbff]/.test(str[i - 1])) return c;
      return "\ufffd";
    });
    assert.equal(tok.decode(tok.encode(s)), expected, JSON.stringify(s));
  }
  fc.assert(fc.property(fc.string({ unit: "grapheme" }), (s) => tok.decode(tok.encode(s)) === s.replace(/\u2581/g, " ")));
});

test("CharTokenizer vocabulary layout: specials, 256 bytes, then sorted characters with space and newline", () => {
  const tok = CharTokenizer.fromCorpus(["ba", "ab"]);
  assert.deepEqual(tok.chars, ["\n", " ", "a", "b"]);
  assert.equal(tok.vocabSize, 3 + 256 + 4);
  assert.deepEqual(tok.encode("ab \n"), [261, 262, 260, 259]);
  assert.deepEqual(tok.encode("c"), [3 + 0x63], "byte fallback");
  assert.deepEqual(tok.encode("é"), [3 + 0xc3, 3 + 0xa9]);
  const meta = tok.toGgufMetadata();
  const again = CharTokenizer.fromGgufMetadata(meta);
  assert.ok(again);
  assert.deepEqual(again.chars, tok.chars);
  const frequent = CharTokenizer.fromCorpus(["aaab", "c"], { minCount: 2 });
  assert.deepEqual(frequent.chars, ["\n", " ", "a"]);
});

test("llama.cpp tokenizes and detokenizes our GGUF vocabulary exactly like CharTokenizer", async (t) => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, "tok.gguf");
  const { tokenizer } = await saveTinyModel(path);
  const llama = await getLlamaCpu();
  const m: LlamaModel = await llama.loadModel({ modelPath: path, vocabOnly: true });
  t.after(async () => {
    await m.dispose();
    cleanup();
  });
  for (const s of AWKWARD) {
    const ids = tokenizer.encode(s);
    assert.deepEqual(m.tokenize(s, false), ids, `tokenize ${JSON.stringify(s)}`);
    assert.equal(m.detokenize(m.tokenize(s, false)), tokenizer.decode(ids), `detokenize ${JSON.stringify(s)}`);
  }
  assert.equal(m.tokens.bos, tokenizer.bosId);
  assert.equal(m.tokens.eos, tokenizer.eosId);
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
      const clean = s.replace(/\0/g, ""); // C strings end at NUL
      assert.deepEqual(m.tokenize(clean, false), tokenizer.encode(clean), JSON.stringify(clean));
    }),
    { numRuns: 300 },
  );
  // With special tokens parsed (a chat-format record), <s>, </s> and <unk> are the tokens, as in llama.cpp.
  for (const s of ["a</s>b", "<s>x y</s>", "1<unk>2", "</s", "<s><s>"]) {
    assert.deepEqual(m.tokenize(s, true), tokenizer.encode(s, true), `specials ${JSON.stringify(s)}`);
  }
  // tokenizerForGguf picks our tokenizer for our vocabulary without native code
  const picked = await tokenizerForGguf(path, readGguf(path).metadata);
  assert.ok(picked instanceof CharTokenizer);
  // and the node-llama-cpp-backed tokenizer (used for external vocabularies) agrees with llama.cpp
  const ext = await LlamaVocabTokenizer.open(path);
  try {
    assert.equal(ext.vocabSize, tokenizer.vocabSize);
    assert.deepEqual(ext.encode("a √ b"), tokenizer.encode("a √ b"));
    assert.equal(ext.decode(ext.encode("a √ b")), "a √ b");
  } finally {
    await ext.dispose();
  }
});
