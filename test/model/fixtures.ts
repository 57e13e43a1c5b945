// Small random-weight models for tests: saved by our checkpoint code, run by llama.cpp.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presetConfig, type LlamaConfig } from "../../src/model/config.js";
import { initWeights, saveModelGguf } from "../../src/model/checkpoint.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";

/** A fresh temp folder and its cleanup. */
export function tempDir(prefix = "mathtune-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The corpus of the test vocabulary: ASCII plus a few math symbols. */
export function testTokenizer(): CharTokenizer {
  const chars: string[] = [];
  for (let c = 32; c < 127; c++) chars.push(String.fromCharCode(c));
  return new CharTokenizer([...chars, "√", "π", "≤", "∑"]);
}

/**
 * Writes a tiny random llama model to `path`; returns its config and tokenizer. `spread` multiplies
 * the embedding and output weights: with the default init the next-token distribution is nearly
 * uniform, which would make probability comparisons weak tests; spread 30 gives peaked ones.
 */
export async function saveTinyModel(
  path: string,
  options: { overrides?: Partial<LlamaConfig>; seed?: number; spread?: number } = {},
): Promise<{ config: LlamaConfig; tokenizer: CharTokenizer }> {
  const tokenizer = testTokenizer();
  const config = presetConfig("tiny", tokenizer.vocabSize, options.overrides ?? {});
  const weights = initWeights(config, options.seed ?? 1);
  const spread = options.spread ?? 1;
  for (const name of ["token_embd.weight", "output.weight"]) {
    const w = weights.get(name);
    if (w) for (let i = 0; i < w.length; i++) w[i] *= spread;
  }
  await saveModelGguf(path, { config, tokenizer, weights });
  return { config, tokenizer };
}
