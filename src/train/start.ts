/**
 * What a training run starts from: the model's config, tokenizer and trained weights (the model's,
 * or a LoRA adapter's with the base frozen in its stored types), from a GGUF file or a checkpoint.
 * Shared by the SFT and evaluator trainers.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { loadFrozenModelGguf, loadModelGguf, type LoadedModel, type StoredWeights, type Weights } from "../model/checkpoint.js";
import type { LlamaConfig } from "../model/config.js";
import type { GgufMetadata } from "../model/gguf.js";
import { initLora, type LoraSpec } from "../model/lora.js";
import { CharTokenizer, LlamaVocabTokenizer, type Tokenizer } from "../model/tokenizer.js";
import { ADAPTER_FILE, loadCheckpoint, loadLoraCheckpoint, type CheckpointState, type OptimizerState } from "./checkpoints.js";

/** A run's model, ready for a TrainSession. */
export interface ModelStart {
  config: LlamaConfig;
  /** The trained weights: the model's, or the adapter's for a LoRA run. */
  weights: Weights;
  tokenizer: Tokenizer;
  /** What saveModelGguf writes as tokenizer. */
  tokenizerOut: CharTokenizer | GgufMetadata;
  dispose: () => Promise<void>;
  /** A LoRA run: the adapter's spec and the frozen base. */
  lora?: { spec: LoraSpec; base: StoredWeights };
}

/** A loaded model with `weights` as the trained weights; `tokenizerFile` holds its vocabulary when it is not ours. */
async function withTokenizer(m: Omit<LoadedModel, "weights">, weights: Weights, tokenizerFile: string, lora?: ModelStart["lora"]): Promise<ModelStart> {
  const extra = lora ? { lora } : {};
  if (m.tokenizer) return { config: m.config, weights, tokenizer: m.tokenizer, tokenizerOut: m.tokenizer, dispose: async () => {}, ...extra };
  const tok = await LlamaVocabTokenizer.open(tokenizerFile);
  return { config: m.config, weights, tokenizer: tok, tokenizerOut: m.keptMetadata, dispose: () => tok.dispose(), ...extra };
}

/**
 * Opens `path` for training: the whole model (F32 weights), or with `lora` the model frozen in its
 * stored types and `adapter` (or a fresh adapter from `seed`) as the trained weights.
 */
export async function openTrainingModel(path: string, lora: { spec: LoraSpec; seed: number; adapter?: Weights } | null, weights?: Weights): Promise<ModelStart> {
  if (!lora) {
    const m = loadModelGguf(path);
    return withTokenizer(m, weights ?? m.weights, path);
  }
  const m = loadFrozenModelGguf(path);
  return withTokenizer(m, lora.adapter ?? initLora(m.config, lora.spec, lora.seed), path, { spec: lora.spec, base: m.weights });
}

/** A checkpoint's model (or adapter on `base`), AdamW state and state.json. */
export interface ResumedRun {
  start: ModelStart;
  optimizer: OptimizerState;
  state: CheckpointState;
}

/**
 * Reopens a run from its checkpoint `dir`. A full fine-tune's checkpoint holds the model; a LoRA
 * run's holds the adapter of `base`. A run resumed with the other kind is a usage error.
 */
export async function resumeTraining(dir: string, out: string, base: string | null, lora: LoraSpec | null, seed: number): Promise<ResumedRun> {
  const isLora = existsSync(join(dir, ADAPTER_FILE));
  if (isLora !== (lora !== null)) {
    throw new MathtuneError(ErrorCode.usage, `--resume: the run in ${out} ${isLora ? "trains a LoRA adapter, but --lora-rank is not given" : "is a full fine-tune, but --lora-rank is given"}`, {
      hint: "resume with the run's own settings (see its config.json)",
    });
  }
  if (lora && base) {
    const ck = loadLoraCheckpoint(dir, loadFrozenModelGguf(base).config);
    return { optimizer: ck.optimizer, state: ck.state, start: await openTrainingModel(base, { spec: lora, seed, adapter: ck.adapter.weights }) };
  }
  const ck = loadCheckpoint(dir);
  return { optimizer: ck.optimizer, state: ck.state, start: await withTokenizer(ck.model, ck.model.weights, join(dir, "model.gguf")) };
}
