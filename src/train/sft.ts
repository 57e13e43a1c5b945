/**
 * Supervised fine-tuning (SSFT: step-by-step solutions as completions) of a llama model on
 * prompt-completion JSONL, in this process. `runner.ts` runs it in a child process; tests and
 * benchmarks may call it directly.
 *
 * The loop is deliberately plain: resolve settings, load or create the model, build the session,
 * then per step: micro-batches → clip → AdamW → log; validation and checkpoints every so often.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { SftExampleSchema, type SftExample } from "../data/records.js";
import { Backend, cpuVariant } from "../engine/backend.js";
import type { ThreadGovernor } from "../engine/threads.js";
import { initWeights, parameterCount, saveModelGguf } from "../model/checkpoint.js";
import { loraShapes, loraSpec, saveLoraGguf, type LoraSpec } from "../model/lora.js";
import { presetConfig, type LlamaConfig, type SizePreset } from "../model/config.js";
import { CharTokenizer } from "../model/tokenizer.js";
import { appendJsonl, readJsonl } from "../util/jsonl.js";
import { writeFileAtomic } from "../util/fs.js";
import { BatchStream, encodeExamples, packRows, splitTrainVal, validationBatches, type EncodedExample, type LossWeighting } from "./data.js";
import { ADAPTER_FILE, saveCheckpoint, type CheckpointState } from "./checkpoints.js";
import { checkFinite, checkFrozenSettings, checkpointToResume, governStep, restoreCheckpoint, threadGovernor, trimMetrics } from "./scaffold.js";
import { openTrainingModel, resumeTraining, type ModelStart, type ResumedRun } from "./start.js";
import { lrAt, validateSchedule } from "./schedule.js";
import { SftSettingsSchema, defaultEvalEvery, defaultLr, defaultSftSeqLen, defaultWarmup, parseSettings, type SftSettings } from "./settings.js";
import { TrainSession, type Batch } from "./session.js";

/**
 * Settings of an SFT run: the files and the model to start from, then the settings of
 * {@link SftSettingsSchema} (src/train/settings.ts), whose defaults and descriptions
 * {@link resolveSftOptions} applies. Every setting may be left out.
 */
export interface SftOptions extends Partial<Omit<SftSettings, "size">> {
  /** Training data: JSONL of {prompt, completion}. */
  data: string;
  /** Run folder: checkpoints, final model.gguf, metrics.jsonl, config.json. */
  out: string;
  /** Start from this llama or qwen2 GGUF (fine-tuning). Exclusive with `size`. */
  base?: string;
  /** Train a new model of this size (char vocabulary built from the data); see SftSettingsSchema. */
  size?: SizePreset;
  /** Continue from the last checkpoint in `out`. */
  resume?: boolean;
  /**
   * Train a LoRA adapter of this rank instead of the whole model: the base (`base`, required) stays
   * frozen in its stored type and the run writes `adapter.gguf`. Unset: a full fine-tune.
   */
  loraRank?: number;
  /** LoRA alpha: the adapter's update is scaled by alpha / rank. Unset: the rank (scale 1). */
  loraAlpha?: number;
  /** Projections that get an adapter, from q, k, v, o, gate, up, down. Unset: all seven. */
  loraTargets?: string[];
}

/** {@link SftOptions} with every default applied. */
export type ResolvedSftOptions = Omit<SftSettings, "size" | "lr" | "warmup" | "evalEvery" | "saveEvery" | "threads"> & {
  data: string;
  out: string;
  base: string | null;
  size: SizePreset | null;
  lr: number;
  warmup: number;
  evalEvery: number;
  saveEvery: number;
  /** CPU threads; 0: chosen step by step. */
  threads: number;
  resume: boolean;
  /** The adapter trained, or null for a full fine-tune. */
  lora: LoraSpec | null;
};

/** Applies the defaults of {@link SftSettingsSchema} and checks ranges (usage errors before anything is loaded). */
export function resolveSftOptions(o: SftOptions): ResolvedSftOptions {
  if (o.base && o.size) throw new MathtuneError(ErrorCode.usage, "--base and --size are exclusive", { hint: "fine-tune a GGUF with --base, or train a new model with --size" });
  const lora = resolveLora(o);
  // threads 0 is the same as none: chosen step by step.
  const s = parseSettings(SftSettingsSchema, { ...o, threads: o.threads === 0 ? undefined : o.threads });
  const steps = s.steps;
  const evalEvery = s.evalEvery ?? defaultEvalEvery(steps, 10, Math.round);
  const r: ResolvedSftOptions = {
    data: o.data,
    out: o.out,
    base: o.base ?? null,
    size: o.base ? null : (s.size as SizePreset),
    steps,
    batch: s.batch,
    accumulation: s.accumulation,
    seqLen: s.seqLen,
    lr: s.lr ?? defaultLr({ base: Boolean(o.base), lora: lora !== null }),
    warmup: s.warmup ?? defaultWarmup(steps, Math.round),
    minLrRatio: s.minLrRatio,
    weightDecay: s.weightDecay,
    clipNorm: s.clipNorm,
    lossWeighting: s.lossWeighting,
    threads: s.threads ?? 0,
    seed: s.seed,
    resume: o.resume ?? false,
    valFraction: s.valFraction,
    evalEvery,
    saveEvery: s.saveEvery ?? evalEvery,
    device: s.device,
    precision: s.precision,
    lora,
  };
  validateSchedule({ lr: r.lr, steps: r.steps, warmup: r.warmup, minLrRatio: r.minLrRatio });
  return r;
}

/** The adapter of a run's LoRA options (usage errors for LoRA settings without a rank or a base), or null. */
export function resolveLora(o: { base?: string; loraRank?: number; loraAlpha?: number; loraTargets?: string[] }): LoraSpec | null {
  if (o.loraRank === undefined) {
    if (o.loraAlpha !== undefined || o.loraTargets !== undefined) {
      throw new MathtuneError(ErrorCode.usage, "--lora-alpha and --lora-targets need --lora-rank", { hint: "add --lora-rank R (e.g. 16) to train a LoRA adapter" });
    }
    return null;
  }
  if (!o.base) throw new MathtuneError(ErrorCode.usage, "--lora-rank needs --base", { hint: "LoRA adapts an existing model: pass its GGUF with --base" });
  return loraSpec({ rank: o.loraRank, alpha: o.loraAlpha, targets: o.loraTargets });
}

/** Reads and validates the data file (`file:line: field ...` on the first bad record). */
export function readSftData(path: string): SftExample[] {
  const rows = readJsonl(path, SftExampleSchema);
  if (rows.length === 0) throw new MathtuneError(ErrorCode.input, `${path}: no examples`, { hint: "one JSON object per line with prompt and completion" });
  return rows;
}

/** A progress event of a run. */
export type SftEvent =
  | { kind: "start"; table: Array<[string, string]>; startStep: number; steps: number }
  | { kind: "step"; step: number; steps: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; elapsedSec: number }
  | { kind: "eval"; step: number; valLoss: number }
  | { kind: "checkpoint"; step: number; dir: string }
  | { kind: "warning"; message: string };

/** Hooks of {@link runSft}. */
export interface SftHooks {
  /** Receives progress events. */
  onEvent?: (e: SftEvent) => void;
  /** Polled after every step; true stops the run after saving a checkpoint. */
  shouldStop?: () => boolean;
  /** Called after each optimizer step (and its checkpoint, if any). */
  afterStep?: (step: number) => void;
}

/** What a run returns. */
export interface SftResult {
  /** Optimizer steps completed in total. */
  step: number;
  /** True when stopped early by `shouldStop`. */
  stopped: boolean;
  /** Final model (written when a full fine-tune completes). */
  modelPath: string | null;
  /** Final LoRA adapter (written when a LoRA run completes), to use with its base model. */
  adapterPath: string | null;
  /** Last training loss and validation loss. */
  loss: number;
  valLoss: number | null;
  checkpoint: string;
}

async function startModel(o: ResolvedSftOptions, examples: SftExample[]): Promise<ModelStart> {
  if (o.base) return openTrainingModel(o.base, o.lora ? { spec: o.lora, seed: o.seed } : null);
  // Our own model: characters of the training data, with byte fallback for anything else.
  const tok = CharTokenizer.fromCorpus(examples.flatMap((e) => [e.prompt, e.completion]));
  // A new model trained on longer rows than its preset's context gets a context that covers them,
  // so the GGUF states the positions it was trained on.
  const preset = presetConfig(o.size as SizePreset, tok.vocabSize);
  const config = o.seqLen !== null && o.seqLen > preset.contextLength ? { ...preset, contextLength: o.seqLen } : preset;
  return { config, weights: initWeights(config, o.seed), tokenizer: tok, tokenizerOut: tok, dispose: async () => {} };
}

/** Settings that must not change when resuming (they shape the data stream or the model). */
const FROZEN = ["data", "base", "size", "batch", "accumulation", "seqLen", "seed", "valFraction", "lora", "lossWeighting"] as const;

/**
 * The model a run starts from: the checkpoint `latest` when there is one (its frozen settings
 * checked against `o`; the model is closed again when they differ), else the base or a new model.
 */
async function openSftRun(o: ResolvedSftOptions, examples: SftExample[], latest: { dir: string } | undefined): Promise<{ start: ModelStart; resumed: ResumedRun | undefined }> {
  if (!latest) return { start: await startModel(o, examples), resumed: undefined };
  const resumed = await resumeTraining(latest.dir, o.out, o.base, o.lora, o.seed);
  const start = resumed.start;
  const prev = resumed.state.run as Record<string, unknown>;
  const now: Record<string, unknown> = { ...o, seqLen: o.seqLen ?? defaultSftSeqLen(start.config.contextLength) };
  try {
    checkFrozenSettings(prev, now, FROZEN, "resume with the same data and batch settings (steps, lr and intervals may change)", { lossWeighting: "token" });
  } catch (err) {
    await start.dispose();
    throw err;
  }
  return { start, resumed };
}

/** An SFT run's encoded examples, split into training and validation. */
interface SftRunData {
  trainEx: EncodedExample[];
  valEx: EncodedExample[];
  /** Packed rows of one epoch of the training examples. */
  rows: number;
  valBatches: Batch[];
}

/**
 * Splits the examples into training and validation ones (by seed), encodes them and packs the
 * validation batches. An input error when no completion token fits a row; a warning for examples
 * that were cut.
 */
function prepareSftData(o: ResolvedSftOptions, examples: SftExample[], tokenizer: ModelStart["tokenizer"], seqLen: number, vocabSize: number, emit: (e: SftEvent) => void): SftRunData {
  const split = splitTrainVal(examples.length, o.valFraction, o.seed);
  const encoded = encodeExamples(examples, tokenizer);
  const trainEx: EncodedExample[] = split.train.map((i) => encoded[i]);
  const valEx: EncodedExample[] = split.val.map((i) => encoded[i]);
  const pad = tokenizer.eosId;
  const pack = packRows(trainEx, trainEx.map((_, i) => i), seqLen, pad).stats;
  if (pack.supervisedTokens === 0) {
    throw new MathtuneError(ErrorCode.input, `${o.data}: no completion token fits in ${seqLen}-token rows`, { hint: "raise --seq-len or shorten the prompts" });
  }
  if (pack.truncated > 0) emit({ kind: "warning", message: `${pack.truncated} training examples are longer than ${seqLen + 1} tokens and were cut` });
  const valBatches: Batch[] = validationBatches(valEx, seqLen, o.batch, vocabSize, pad, o.lossWeighting);
  return { trainEx, valEx, rows: pack.rows, valBatches };
}

/** The start-up table of a run (`resumedAt`: the step a resumed run continues from, else null). */
function sftStartTable(o: ResolvedSftOptions, config: LlamaConfig, data: SftRunData, seqLen: number, backend: Backend, governor: ThreadGovernor | null, resumedAt: number | null): Array<[string, string]> {
  return [
    ["model", o.base ? o.base : `${o.size} (new)`],
    ["parameters", parameterCount(config).toLocaleString("en-US")],
    ...(o.lora ? [["LoRA rank / alpha / targets (trained parameters)", loraSummary(config, o.lora)] as [string, string]] : []),
    ["layers / d_model / heads / kv heads / ffn", `${config.nLayers} / ${config.dModel} / ${config.nHeads} / ${config.nKvHeads} / ${config.ffnDim}`],
    ["vocabulary", String(config.vocabSize)],
    ["examples (train / validation)", `${data.trainEx.length} / ${data.valEx.length}`],
    ["rows per epoch", String(data.rows)],
    ["batch x seq_len x accumulation", `${o.batch} x ${seqLen} x ${o.accumulation}`],
    ["steps", resumedAt !== null ? `${o.steps} (resuming at ${resumedAt})` : String(o.steps)],
    ["lr / warmup / min ratio", `${o.lr} / ${o.warmup} / ${o.minLrRatio}`],
    ["weight decay / clip / loss weighting", `${o.weightDecay} / ${o.clipNorm} / ${o.lossWeighting}`],
    ["device / threads / precision", `${backend.deviceName}${backend.kind === "cpu" ? ` (${cpuVariant()})` : ""} / ${governor?.adaptive ? `auto (${governor.current} or ${governor.current + 1}, step by step)` : backend.threads} / ${o.precision}`],
    ["seed", String(o.seed)],
  ];
}

/**
 * The mean validation loss over `valBatches`, or null when they supervise none: per supervised
 * token, or per example under `example` loss weighting (the training loss's own average).
 */
function validationLoss(session: TrainSession, valBatches: readonly Batch[], weighting: LossWeighting): number | null {
  if (valBatches.length === 0) return null;
  let num = 0;
  let den = 0;
  for (const b of valBatches) {
    if (b.supervised === 0) continue;
    const n = weighting === "example" ? (b.examples ?? 0) : b.supervised;
    num += session.lossOf(b) * n;
    den += n;
  }
  return den > 0 ? num / den : null;
}

/** What the step loop needs of a run, beside its settings. */
interface SftLoop {
  session: TrainSession;
  backend: Backend;
  governor: ThreadGovernor | null;
  stream: BatchStream;
  /** The validation loss of the current weights, or null. */
  evaluate: () => number | null;
  /** Saves a checkpoint of `step` (with `valLoss`); returns its folder. */
  checkpoint: (step: number, valLoss: number | null) => Promise<string>;
  metricsPath: string;
  emit: (e: SftEvent) => void;
}

/**
 * The optimizer steps from `step` to `o.steps` (or until `shouldStop`): micro-batches, clip and
 * AdamW, the divergence checks, the step's event and metrics.jsonl record, the validation loss
 * every `evalEvery` steps and at the end, and a checkpoint every `saveEvery` steps, at the end and
 * on an early stop.
 */
async function sftStepLoop(
  o: ResolvedSftOptions,
  loop: SftLoop,
  from: { step: number; valLoss: number | null; lastCheckpoint: string },
  hooks: SftHooks,
): Promise<{ step: number; stopped: boolean; loss: number; valLoss: number | null; lastCheckpoint: string }> {
  const { session, backend, governor, stream, emit } = loop;
  let { step, valLoss, lastCheckpoint } = from;
  const tokensPerStep = session.tokensPerBatch * o.accumulation;
  const t0 = performance.now();
  let timedSteps = 0;
  let loss = NaN;
  let stopped = false;
  while (step < o.steps) {
    // Yield to the event loop once per step: signal handlers and IPC messages run only then.
    await new Promise((r) => setImmediate(r));
    if (hooks.shouldStop?.()) {
      stopped = true;
      break;
    }
    const stepStart = performance.now();
    const stepThreads = backend.threads;
    for (let k = 0; k < o.accumulation; k++) {
      checkFinite("loss", session.microStep(stream.next()), step + 1, o.lr, `the last good checkpoint is ${lastCheckpoint}`);
    }
    const lr = lrAt(step + 1, { lr: o.lr, steps: o.steps, warmup: o.warmup, minLrRatio: o.minLrRatio });
    const r = session.step(lr);
    governStep(governor, backend, stepStart);
    checkFinite("gradient norm", r.gradNorm, step + 1, o.lr, `the last good checkpoint is ${lastCheckpoint}`);
    step++;
    timedSteps++;
    loss = r.loss;
    const elapsed = (performance.now() - t0) / 1000;
    const tokensPerSec = (timedSteps * tokensPerStep) / elapsed;
    emit({ kind: "step", step, steps: o.steps, loss: r.loss, lr, gradNorm: r.gradNorm, tokensPerSec, elapsedSec: elapsed });
    const record: Record<string, number> = { step, loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_sec: Math.round(tokensPerSec), threads: stepThreads };
    if (step % o.evalEvery === 0 || step === o.steps) {
      const v = loop.evaluate();
      if (v !== null) {
        valLoss = v;
        record.val_loss = v;
        emit({ kind: "eval", step, valLoss: v });
      }
    }
    appendMetrics(loop.metricsPath, record);
    if (step % o.saveEvery === 0 || step === o.steps) lastCheckpoint = await loop.checkpoint(step, valLoss);
    hooks.afterStep?.(step);
  }
  if (stopped && lastCheckpointStep(lastCheckpoint) !== step) lastCheckpoint = await loop.checkpoint(step, valLoss);
  return { step, stopped, loss, valLoss, lastCheckpoint };
}

/** Writes the trained model (model.gguf) or, for a LoRA run, the adapter; nothing for a stopped run. */
async function writeSftModel(o: ResolvedSftOptions, start: ModelStart, session: TrainSession, stopped: boolean): Promise<{ modelPath: string | null; adapterPath: string | null }> {
  let modelPath: string | null = null;
  let adapterPath: string | null = null;
  if (!stopped && o.lora) {
    adapterPath = join(o.out, ADAPTER_FILE);
    await saveLoraGguf(adapterPath, { config: start.config, spec: o.lora, weights: session.getWeights() });
  } else if (!stopped) {
    modelPath = join(o.out, "model.gguf");
    await saveModelGguf(modelPath, { config: start.config, tokenizer: start.tokenizerOut, weights: session.getWeights() });
  }
  return { modelPath, adapterPath };
}

/** Runs SFT; see {@link SftOptions}. Throws MathtuneError on bad input, divergence or native failure. */
export async function runSft(options: SftOptions, hooks: SftHooks = {}): Promise<SftResult> {
  const o = resolveSftOptions(options);
  const emit = hooks.onEvent ?? (() => {});
  const examples = readSftData(o.data);
  const latest = checkpointToResume(o.out, o.resume);
  const { start, resumed } = await openSftRun(o, examples, latest);

  let backend: Backend;
  // Without --threads, a CPU run picks its thread count step by step (src/engine/threads.ts).
  const governor = threadGovernor(o.threads === 0 ? null : o.threads, o.device);
  try {
    backend = Backend.create({ kind: o.device, threads: governor ? governor.current : o.threads || undefined });
  } catch (err) {
    await start.dispose();
    throw err;
  }
  let session: TrainSession | undefined;
  try {
    mkdirSync(o.out, { recursive: true });
    const { config, tokenizer } = start;
    const seqLen = o.seqLen ?? defaultSftSeqLen(config.contextLength);
    const data = prepareSftData(o, examples, tokenizer, seqLen, config.vocabSize, emit);

    session = new TrainSession({
      config,
      weights: start.weights,
      batch: o.batch,
      seqLen,
      backend,
      accumulation: o.accumulation,
      clipNorm: o.clipNorm,
      adamw: { weightDecay: o.weightDecay },
      precision: o.precision,
      ...(start.lora ? { lora: start.lora } : {}),
    });
    const s = session;
    const stream = new BatchStream(data.trainEx, seqLen, o.batch, config.vocabSize, tokenizer.eosId, o.seed, o.lossWeighting);
    const step = resumed ? restoreCheckpoint(resumed, s, stream) : 0;
    const valLoss = resumed?.state.valLoss ?? null;
    const runRecord = { ...o, seqLen, threads: governor?.adaptive ? "auto" : backend.threads };
    writeFileAtomic(join(o.out, "config.json"), JSON.stringify({ run: runRecord, model: config }, null, 2) + "\n");
    const metricsPath = join(o.out, "metrics.jsonl");
    trimMetrics(metricsPath, step);
    emit({ kind: "start", table: sftStartTable(o, config, data, seqLen, backend, governor, resumed ? step : null), startStep: step, steps: o.steps });

    const checkpoint = async (at: number, atValLoss: number | null): Promise<string> => {
      const state: CheckpointState = { step: at, stream: { ...stream.state }, run: runRecord, ...(atValLoss !== null ? { valLoss: atValLoss } : {}) };
      const dir = await saveCheckpoint(o.out, {
        config,
        tokenizer: start.tokenizerOut,
        weights: s.getWeights(),
        optimizer: s.getOptimizerState(),
        state,
        ...(o.lora ? { lora: o.lora } : {}),
      });
      emit({ kind: "checkpoint", step: at, dir });
      return dir;
    };
    // A checkpoint at step 0 makes "the last good checkpoint" exist from the start.
    const lastCheckpoint = resumed ? (latest as { dir: string }).dir : await checkpoint(step, valLoss);
    const loop: SftLoop = { session: s, backend, governor, stream, evaluate: () => validationLoss(s, data.valBatches, o.lossWeighting), checkpoint, metricsPath, emit };
    const end = await sftStepLoop(o, loop, { step, valLoss, lastCheckpoint }, hooks);
    const { modelPath, adapterPath } = await writeSftModel(o, start, s, end.stopped);
    return { step: end.step, stopped: end.stopped, modelPath, adapterPath, loss: end.loss, valLoss: end.valLoss, checkpoint: end.lastCheckpoint };
  } finally {
    session?.dispose();
    backend.dispose();
    await start.dispose();
  }
}

function lastCheckpointStep(dir: string): number {
  const m = /checkpoint-(\d+)$/.exec(dir);
  return m ? Number(m[1]) : -1;
}

function appendMetrics(path: string, record: Record<string, number>): void {
  appendJsonl(path, [record]);
}

/** "rank / alpha / targets (n trained parameters)" for the start-up table. */
export function loraSummary(config: LlamaConfig, spec: LoraSpec): string {
  const n = loraShapes(config, spec).reduce((a, t) => a + t.shape[0] * t.shape[1], 0);
  return `${spec.rank} / ${spec.alpha} / ${spec.targets.join(",")} (${n.toLocaleString("en-US")})`;
}
