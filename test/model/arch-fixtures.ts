// Tiny models of the real architectures users bring (random weights, real metadata keys and tensor
// names, a byte-level BPE vocabulary trained here): Qwen2.5-style `qwen2`, Llama 3.x-style
// `llama` with "llama3" RoPE factors, and a SmolLM-style tied `llama`.
import { Rng } from "../../src/util/rng.js";
import { initWeights, saveModelGguf, type SaveModelOptions, type Weights } from "../../src/model/checkpoint.js";
import { LlamaVocabTokenizer } from "../../src/model/tokenizer.js";
import { encodeExamples } from "../../src/train/data.js";
import { llama3RopeFactors, type LlamaConfig } from "../../src/model/config.js";
import { gv } from "../../src/model/gguf.js";
import { bpeGgufMetadata, trainByteBpe, type ByteBpe, type BpeOptions } from "./bpe.js";

/** Deterministic math-flavoured text: numbers, LaTeX, spaces, tabs, newlines, accents, CJK. */
export function mathCorpus(seed = 1, lines = 400): string {
  const rng = new Rng(seed);
  const words = ["the", "answer", "is", "we", "add", "so", "then", "Let", "Since", "value", "of", "and", "find", "sum", "product", "Therefore", "root", "square"];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const a = rng.int(0, 999);
    const b = rng.int(0, 99);
    const w = (): string => rng.pick(words);
    out.push(
      rng.pick([
        `Problem: What is ${a}+${b}? Solution: We add $${a} + ${b} = ${a + b}$. The answer is \\boxed{${a + b}}.`,
        `Let $x^2 - ${b}x + ${a} = 0$. ${w()} ${w()} $\\frac{${a}}{${b + 1}}$ and $\\sqrt{${a}}$.`,
        `  ${w()} ${w()}, ${w()}'s ${w()} (${a}.${b}) — naïve café, π ≈ 3.14159; 数学 ${b}.`,
        `\t${w()} ${w()}:\n\n   ${a * b} ${w()} ${w()}'re ${w()}!`,
      ]),
    );
  }
  return out.join("\n");
}

/** An architecture case: the tokenizer it is built with and its config (vocabSize filled in). */
export interface ArchCase {
  label: string;
  tokenizer: Omit<BpeOptions, "merges">;
  config: Omit<LlamaConfig, "vocabSize">;
}

const dims = { contextLength: 128, dModel: 64, nLayers: 2, nHeads: 4, nKvHeads: 2, ffnDim: 128 } as const;

/** The three cases, small enough for a golden test in about a second each. */
export const ARCH_CASES = {
  /** Qwen2.5 / Qwen2.5-Math: qwen2 (q/k/v biases, NeoX RoPE), GQA, tied output as in the 0.5B/1.5B. */
  qwen2: {
    label: "qwen2 (q/k/v biases, NeoX RoPE, GQA, tied output; qwen2 BPE pre-tokenizer)",
    tokenizer: { pre: "qwen2", specials: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], bos: 0, eos: 0, addBos: false },
    config: { arch: "qwen2", ...dims, rmsEps: 1e-6, ropeFreqBase: 1000000, tiedOutput: true, qkvBias: true },
  },
  /** Llama 3.1/3.2: llama with "llama3" RoPE scaling (rope_freqs.weight), GQA, untied output. */
  llama3: {
    label: "llama 3 (llama3 RoPE factors, GQA, untied output; llama-bpe pre-tokenizer)",
    tokenizer: { pre: "llama-bpe", specials: ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], bos: 0, eos: 1, addBos: true },
    config: {
      arch: "llama",
      ...dims,
      rmsEps: 1e-5,
      ropeFreqBase: 500000,
      tiedOutput: false,
      // originalContext 256 puts the tiny head's frequencies in all three bands (kept, interpolated, slowed).
      ropeFactors: llama3RopeFactors({ headDim: dims.dModel / dims.nHeads, freqBase: 500000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 256 }),
    },
  },
  /** SmolLM / TinyLlama-style: llama with the output tied to the embedding; linear RoPE scaling 2 as well. */
  tiedLlama: {
    label: "tied llama (no output.weight, linear RoPE scaling 2; smollm pre-tokenizer, specials first)",
    tokenizer: { pre: "smollm", specials: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], specialsFirst: true, bos: 0, eos: 0, addBos: false },
    config: { arch: "llama", ...dims, nKvHeads: 4, rmsEps: 1e-5, ropeFreqBase: 10000, tiedOutput: true, ropeFreqScale: 0.5 },
  },
} as const satisfies Record<string, ArchCase>;

export type ArchName = keyof typeof ARCH_CASES;

const trained = new Map<string, ByteBpe>();

/** The case's BPE vocabulary, trained once per process on {@link mathCorpus}. */
export function archTokenizer(name: ArchName, merges = 300): ByteBpe {
  const key = `${name}/${merges}`;
  let bpe = trained.get(key);
  if (!bpe) {
    bpe = trainByteBpe(mathCorpus(), { ...ARCH_CASES[name].tokenizer, merges });
    trained.set(key, bpe);
  }
  return bpe;
}

/**
 * Random weights for a case: the training init with matrices scaled by `spread` (peaked, position-
 * dependent distributions make a stronger comparison than near-uniform ones) and biases
 * normal(0, 0.5), so that every part of the graph moves the output.
 */
export function archWeights(config: LlamaConfig, seed: number, spread = 5): Weights {
  const w = initWeights(config, seed);
  const rng = new Rng(seed + 1000);
  for (const [k, v] of w) {
    if (k.endsWith(".bias")) for (let i = 0; i < v.length; i++) v[i] = rng.normal() * 0.5;
    else if (!k.endsWith("norm.weight")) for (let i = 0; i < v.length; i++) v[i] *= spread;
  }
  return w;
}

/**
 * Qwen2.5's ChatML chat template (system turn only when given), as `tokenizer.chat_template`
 * holds it; node-llama-cpp resolves it to its ChatML wrapper.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Writes the case's model to `path` (F32, or matrices in F16 / `matrixType`; `chatTemplate` as `tokenizer.chat_template`); returns what the tests need. */
export async function saveArchModel(
  path: string,
  name: ArchName,
  options: { seed?: number; spread?: number; f16?: boolean; matrixType?: SaveModelOptions["matrixType"]; chatTemplate?: string } = {},
): Promise<{ config: LlamaConfig; bpe: ByteBpe; weights: Weights }> {
  const bpe = archTokenizer(name);
  const config: LlamaConfig = { ...ARCH_CASES[name].config, vocabSize: bpe.tokens.length };
  if (config.ropeFactors) config.ropeFactors = [...config.ropeFactors];
  const weights = archWeights(config, options.seed ?? 1, options.spread);
  const tokenizer = bpeGgufMetadata(bpe);
  if (options.chatTemplate !== undefined) tokenizer.set("tokenizer.chat_template", gv.str(options.chatTemplate));
  await saveModelGguf(path, { config, tokenizer, weights, name: `tiny-${name}`, f16: options.f16, matrixType: options.matrixType });
  return { config, bpe, weights };
}

/** Token ids of `text` as the training data path makes them (llama.cpp's tokenizer), BOS when the model wants one. */
export async function promptIds(path: string, text: string): Promise<number[]> {
  const tok = await LlamaVocabTokenizer.open(path);
  try {
    return encodeExamples([{ prompt: text, completion: "" }], tok)[0].prompt;
  } finally {
    await tok.dispose();
  }
}
