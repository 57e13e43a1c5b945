/**
 * Training checkpoints: `checkpoint-<step>/` holding `model.gguf` (loadable by llama.cpp) or, for
 * a LoRA run, `adapter.gguf` (a llama.cpp LoRA adapter of the run's base model), `optimizer.gguf`
 * (AdamW moments of the trained tensors) and `state.json` (step, data position, run settings).
 *
 * A checkpoint is written into a temp folder and renamed into place; `latest.json` is then
 * replaced atomically to point at it, and older checkpoints are removed. A crash at any moment
 * leaves the previous checkpoint intact and `latest.json` pointing at a complete one.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { loadModelGguf, saveModelGguf, type LoadedModel, type Weights } from "../model/checkpoint.js";
import type { LlamaConfig } from "../model/config.js";
import { loadLoraGguf, saveLoraGguf, type LoadedLora, type LoraSpec } from "../model/lora.js";
import { gv, metaNumber, readGguf, readTensorF32, writeGguf, type GgufMetadata, type GgufTensorToWrite } from "../model/gguf.js";
import type { CharTokenizer } from "../model/tokenizer.js";
import { writeFileAtomic } from "../util/fs.js";
import type { StreamState } from "./data.js";

/** What `state.json` records. */
export interface CheckpointState {
  /** Optimizer steps completed. */
  step: number;
  /** Position of the training batch stream. */
  stream: StreamState;
  /** The resolved run settings that produced the checkpoint. */
  run: Record<string, unknown>;
  /** Last validation loss, when one was computed. */
  valLoss?: number;
}

/** AdamW state. */
export interface OptimizerState {
  step: number;
  m: Weights;
  v: Weights;
}

/** Everything a checkpoint holds. */
export interface CheckpointData {
  config: LlamaConfig;
  tokenizer: CharTokenizer | GgufMetadata;
  weights: Weights;
  optimizer: OptimizerState;
  state: CheckpointState;
  /** A LoRA run: `weights` is the adapter, written as `adapter.gguf`. Defaults to none (a model). */
  lora?: LoraSpec;
}

const LATEST = "latest.json";

/** The adapter file of a LoRA run's checkpoints and of its result. */
export const ADAPTER_FILE = "adapter.gguf";

/** Writes a checkpoint of `step` into `outDir` (see the file comment). Returns its folder. */
export async function saveCheckpoint(outDir: string, data: CheckpointData): Promise<string> {
  const { step } = data.state;
  const name = `checkpoint-${step}`;
  const final = join(outDir, name);
  const tmp = join(outDir, `.${name}.${process.pid}.tmp`);
  mkdirSync(outDir, { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    if (data.lora) await saveLoraGguf(join(tmp, ADAPTER_FILE), { config: data.config, spec: data.lora, weights: data.weights });
    else await saveModelGguf(join(tmp, "model.gguf"), { config: data.config, tokenizer: data.tokenizer, weights: data.weights });
    const meta: GgufMetadata = new Map([
      ["general.architecture", gv.str("mathtune-adamw")],
      ["adamw.step", gv.u32(data.optimizer.step)],
    ]);
    const tensors: GgufTensorToWrite[] = [];
    for (const [n, m] of data.optimizer.m) {
      const v = data.optimizer.v.get(n);
      if (!v) throw new MathtuneError(ErrorCode.native, `optimizer state lacks ${n}.v`);
      tensors.push({ name: `${n}.m`, shape: [m.length], data: m }, { name: `${n}.v`, shape: [v.length], data: v });
    }
    await writeGguf(join(tmp, "optimizer.gguf"), meta, tensors);
    writeFileAtomic(join(tmp, "state.json"), JSON.stringify(data.state, null, 2) + "\n");
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  writeFileAtomic(join(outDir, LATEST), JSON.stringify({ checkpoint: name, step }) + "\n");
  for (const other of readdirSync(outDir)) {
    if (other !== name && /^checkpoint-\d+$/.test(other)) rmSync(join(outDir, other), { recursive: true, force: true });
    // A temp folder left by a process killed in the middle of a save (model-sized, never complete).
    const stale = /^\.checkpoint-\d+\.(\d+)\.tmp$/.exec(other);
    if (stale && !processAlive(Number(stale[1]))) rmSync(join(outDir, other), { recursive: true, force: true });
  }
  return final;
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The folder of the newest complete checkpoint in `outDir`, if any. */
export function latestCheckpoint(outDir: string): { dir: string; step: number } | undefined {
  const p = join(outDir, LATEST);
  if (!existsSync(p)) return undefined;
  let parsed: { checkpoint?: unknown; step?: unknown };
  try {
    parsed = JSON.parse(readFileSync(p, "utf8")) as typeof parsed;
  } catch (err) {
    throw new MathtuneError(ErrorCode.io, `${p}: unreadable (${(err as Error).message})`, { hint: "delete it to start over" });
  }
  if (typeof parsed.checkpoint !== "string" || typeof parsed.step !== "number") {
    throw new MathtuneError(ErrorCode.io, `${p}: field checkpoint/step missing`, { hint: "delete it to start over" });
  }
  const dir = join(outDir, parsed.checkpoint);
  if (!existsSync(join(dir, "state.json"))) throw new MathtuneError(ErrorCode.io, `${p} points at ${dir}, which is incomplete or missing`);
  return { dir, step: parsed.step };
}

/** Reads a checkpoint folder. */
export function loadCheckpoint(dir: string): { model: LoadedModel; optimizer: OptimizerState; state: CheckpointState } {
  const model = loadModelGguf(join(dir, "model.gguf"));
  return { model, ...readTrainingState(dir, model.weights.keys()) };
}

/** Reads the checkpoint folder of a LoRA run whose base model has `config`. */
export function loadLoraCheckpoint(dir: string, config: LlamaConfig): { adapter: LoadedLora; optimizer: OptimizerState; state: CheckpointState } {
  const adapter = loadLoraGguf(join(dir, ADAPTER_FILE), config);
  return { adapter, ...readTrainingState(dir, adapter.weights.keys()) };
}

/** AdamW moments of the trained tensors `names`, and state.json. */
function readTrainingState(dir: string, names: Iterable<string>): { optimizer: OptimizerState; state: CheckpointState } {
  const optPath = join(dir, "optimizer.gguf");
  const file = readGguf(optPath);
  const m: Weights = new Map();
  const v: Weights = new Map();
  for (const name of names) {
    m.set(name, readTensorF32(file, `${name}.m`));
    v.set(name, readTensorF32(file, `${name}.v`));
  }
  const step = metaNumber(file.metadata, "adamw.step", optPath);
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState;
  return { optimizer: { step, m, v }, state };
}
