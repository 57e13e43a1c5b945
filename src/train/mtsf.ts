/**
 * Multi-task sequential fine-tuning (the paper's MTSF): one model through a sequence of stages,
 * by default generator (SSFT) → evaluator → generator, each stage starting from the previous
 * stage's model. Each stage is a full run in its own folder (`stage-<n>-<kind>/`), checkpointed
 * and resumable; a rerun skips finished stages (their model.gguf exists) and resumes an
 * unfinished one from its checkpoint. The optimizer starts fresh at each stage: the stages
 * optimise different losses, and the paper restarts training per task.
 *
 * The fair control (ours): SSFT continued from the first generator stage's model for as many
 * generator steps as the later generator stages add, in `control-sft/`, so "MTSF vs SSFT" is not
 * "more generator steps vs fewer".
 *
 * With LoRA (`sft.loraRank` / `evaluator.loraRank`), a stage trains an adapter on the previous
 * stage's model and merges it into the stage's model.gguf, which the next stage starts from.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { configFromGguf } from "../model/checkpoint.js";
import { readGguf } from "../model/gguf.js";
import { mergeLoraGguf } from "../model/lora.js";
import { writeFileAtomic } from "../util/fs.js";
import { runFolderState } from "./scaffold.js";
import { runEvaluatorInChild, type EvaluatorTrainOptions } from "./evaluator.js";
import { runSftInChild } from "./runner.js";
import { defaultSftSeqLen } from "./settings.js";
import type { SftEvent, SftOptions } from "./sft.js";

export type MtsfStageKind = "sft" | "evaluator";

/** Options of {@link runMtsf}. */
export interface MtsfOptions {
  /** The starting model (a generator GGUF, or a base model for the first SSFT stage). */
  base: string;
  /** SFT data of the generator stages. */
  sftData: string;
  /** Graded samples for the evaluator stage (usually the first generator's, on training problems). */
  samples: string;
  /** Problems of those samples. */
  problems: string;
  out: string;
  /** Stage kinds in order. Defaults to ["sft", "evaluator", "sft"]. */
  stages?: MtsfStageKind[];
  /** Optimizer steps of each stage (same length as stages). */
  steps: number[];
  /** Settings of the generator stages (data, out, base and steps are set per stage). */
  sft?: Omit<SftOptions, "data" | "out" | "base" | "steps" | "resume">;
  /** Settings of the evaluator stage (files, base, out and steps are set per stage). */
  evaluator?: Omit<EvaluatorTrainOptions, "base" | "samples" | "problems" | "out" | "steps" | "resume">;
  /** Also run the SSFT control. Defaults to true. */
  control?: boolean;
  /** Progress of the generator stages. */
  onSftEvent?: (stage: string, e: SftEvent) => void;
  /** Called as each stage starts ("skip" when already finished). */
  onStage?: (stage: string, what: "start" | "resume" | "skip") => void;
}

/** What each stage produced. */
export interface MtsfResult {
  stages: Array<{ name: string; kind: MtsfStageKind; steps: number; model: string; valAuc?: number | null }>;
  /** The MTSF model (the last stage's). */
  model: string;
  /** The control model, when run. */
  control: { name: string; steps: number; model: string } | null;
}

/** A LoRA stage's model: its adapter merged into the model it started from, written as `out`. */
async function mergedStageModel(from: string, adapter: string, out: string): Promise<string> {
  await mergeLoraGguf({ base: from, lora: adapter, out });
  return out;
}

/** Parses "sft,evaluator,sft". */
export function parseStages(spec: string): MtsfStageKind[] {
  const kinds = spec.split(",").map((s) => s.trim());
  for (const k of kinds) {
    if (k !== "sft" && k !== "evaluator") throw new MathtuneError(ErrorCode.usage, `--stages: unknown stage ${JSON.stringify(k)}`, { hint: "stages are sft or evaluator, e.g. sft,evaluator,sft" });
  }
  return kinds as MtsfStageKind[];
}

/** Runs MTSF; see the file comment. */
export async function runMtsf(o: MtsfOptions): Promise<MtsfResult> {
  const stages = o.stages ?? ["sft", "evaluator", "sft"];
  if (stages.length !== o.steps.length) {
    throw new MathtuneError(ErrorCode.usage, `${stages.length} stages but ${o.steps.length} step counts`, { hint: "give one step count per stage, e.g. --stages sft,evaluator,sft --steps 400,200,100" });
  }
  for (const n of o.steps) if (!Number.isInteger(n) || n < 1) throw new MathtuneError(ErrorCode.usage, `stage steps must be positive integers (got ${n})`);
  mkdirSync(o.out, { recursive: true });
  const result: MtsfResult = { stages: [], model: o.base, control: null };
  // One row length for every generator stage and the control: the evaluator stage writes a longer
  // context into its GGUF, which must not change the next generator stage's default.
  const sftSeqLen = o.sft?.seqLen ?? defaultSftSeqLen(configFromGguf(readGguf(o.base)).contextLength);
  let base = o.base;
  let firstSftModel: string | null = null;

  const runSftStage = async (name: string, from: string, steps: number): Promise<string> => {
    const dir = join(o.out, name);
    const model = join(dir, "model.gguf");
    const state = runFolderState(dir, model);
    o.onStage?.(name, state);
    if (state === "skip") return model;
    const resume = state === "resume";
    const r = await runSftInChild({ ...o.sft, seqLen: sftSeqLen, data: o.sftData, out: dir, base: from, steps, resume }, { onEvent: (e) => o.onSftEvent?.(name, e) });
    if (r.adapterPath !== null) return mergedStageModel(from, r.adapterPath, model);
    if (r.modelPath === null) throw new MathtuneError(ErrorCode.usage, `stage ${name} stopped at step ${r.step}`, { hint: "rerun the same command to resume" });
    return r.modelPath;
  };

  for (const [i, kind] of stages.entries()) {
    const name = `stage-${i + 1}-${kind}`;
    const steps = o.steps[i];
    if (kind === "sft") {
      base = await runSftStage(name, base, steps);
      firstSftModel ??= base;
      result.stages.push({ name, kind, steps, model: base });
    } else {
      const dir = join(o.out, name);
      const model = join(dir, "model.gguf");
      let valAuc: number | null | undefined;
      const state = runFolderState(dir, model);
      o.onStage?.(name, state);
      if (state !== "skip") {
        const resume = state === "resume";
        const r = await runEvaluatorInChild({ ...o.evaluator, base, samples: o.samples, problems: o.problems, out: dir, steps, resume });
        valAuc = r.valAuc;
        if (r.adapterPath !== null) await mergedStageModel(base, r.adapterPath, model);
      }
      base = model;
      result.stages.push({ name, kind, steps, model, valAuc });
    }
  }
  result.model = base;

  const extra = stages.reduce((a, k, i) => (k === "sft" && firstSftModel !== null && i > stages.indexOf("sft") ? a + o.steps[i] : a), 0);
  if ((o.control ?? true) && firstSftModel !== null && extra > 0) {
    const model = await runSftStage("control-sft", firstSftModel, extra);
    result.control = { name: "control-sft", steps: extra, model };
  }
  writeFileAtomic(join(o.out, "mtsf.json"), JSON.stringify({ stages: result.stages, model: result.model, control: result.control }, null, 2) + "\n");
  return result;
}
