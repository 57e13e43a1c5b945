/**
 * Deepens a model by appending layers that start as the identity: each new layer's attention and
 * FFN get fresh initial weights, but their output projections (attn_output, ffn_down) are zero, so
 * the grown model computes exactly what the original does until training moves them. An
 * experiment for the evaluator: layers after the original ones can read what the original's last
 * layer computed at earlier positions (docs/evaluator.md, "The paper's evaluator fine-tuned from
 * the contrastive re-ranker").
 *
 *   npx tsx scripts/grow-layers.ts IN.gguf OUT.gguf [--layers 2] [--seed 1]
 */
import { initWeights, loadModelGguf, saveModelGguf } from "../src/model/checkpoint.js";
import { flagOf } from "./script-args.js";

const args = process.argv.slice(2);
const [input, output] = args;
if (input === undefined || output === undefined) throw new Error("usage: grow-layers.ts IN.gguf OUT.gguf [--layers N] [--seed S]");
const extra = Number(flagOf(args, "layers", "2"));
const seed = Number(flagOf(args, "seed", "1"));
if (!Number.isInteger(extra) || extra < 1) throw new Error(`--layers must be a positive integer, not ${extra}`);

const model = loadModelGguf(input);
const n = model.config.nLayers;
const config = { ...model.config, nLayers: n + extra };
const fresh = initWeights(config, seed);
const weights = new Map(model.weights);
for (let l = n; l < n + extra; l++) {
  for (const [name, data] of fresh) {
    if (!name.startsWith(`blk.${l}.`)) continue;
    weights.set(name, name.endsWith("attn_output.weight") || name.endsWith("ffn_down.weight") ? new Float32Array(data.length) : data);
  }
}
await saveModelGguf(output, { config, tokenizer: model.tokenizer ?? model.keptMetadata, weights });
console.log(`${input}: ${n} layers -> ${output}: ${n + extra} layers (the new ones start as the identity)`);
