/**
 * The scaffold every trainer shares (SFT in sft.ts, the evaluator in evaluator.ts, and MTSF's
 * stages in mtsf.ts): whether a run folder starts, resumes or is already done; the resume guard
 * and the check of the settings a resumed run must keep; putting a checkpoint's optimizer state
 * and stream position back; the thread count chosen step by step;
 * cutting metrics.jsonl back to the checkpoint; and the divergence checks of each step.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { ErrorCode, MathtuneError } from "../errors.js";
import { autoThreadGovernor, type ThreadGovernor } from "../engine/threads.js";
import type { Backend } from "../engine/backend.js";
import { writeFileAtomic } from "../util/fs.js";
import { repairJsonlTail } from "../util/jsonl.js";
import { latestCheckpoint, type CheckpointState, type OptimizerState } from "./checkpoints.js";
import type { StreamState } from "./data.js";

/**
 * The resume guard: the newest checkpoint in `out` when `resume` asks for one, undefined for a
 * fresh start; a usage error for a folder that holds a run without `resume`, or `resume` without a
 * checkpoint.
 */
export function checkpointToResume(out: string, resume: boolean): { dir: string; step: number } | undefined {
  const latest = latestCheckpoint(out);
  if (latest && !resume) {
    throw new MathtuneError(ErrorCode.usage, `${out} already holds a run (checkpoint at step ${latest.step})`, { hint: "pass --resume to continue it, or choose another --out folder" });
  }
  if (!latest && resume) throw new MathtuneError(ErrorCode.usage, `${out}: no checkpoint to resume from`, { hint: "run without --resume to start" });
  return latest;
}

/**
 * Where a trainer's run folder stands, for a caller that runs it as one step of several (MTSF's
 * stages): "skip" when `model` (its result) exists, "resume" when a checkpoint does, else "start".
 */
export function runFolderState(dir: string, model: string): "skip" | "resume" | "start" {
  if (existsSync(model)) return "skip";
  return latestCheckpoint(dir) !== undefined ? "resume" : "start";
}

/**
 * The frozen-key check of a resumed run: each of `keys` (settings that shape the data stream or the
 * model) must hold the same value in the checkpoint's run record `prev` as in the run `now`; else a
 * usage error. `before` gives the value a key had in runs recorded before it existed.
 */
export function checkFrozenSettings(prev: Record<string, unknown>, now: Record<string, unknown>, keys: readonly string[], hint: string, before: Record<string, unknown> = {}): void {
  for (const k of keys) {
    const was = prev[k] ?? before[k];
    if (JSON.stringify(was ?? null) !== JSON.stringify(now[k] ?? null)) {
      throw new MathtuneError(ErrorCode.usage, `--resume: ${k} was ${JSON.stringify(prev[k])} in the run, now ${JSON.stringify(now[k])}`, { hint });
    }
  }
}

/**
 * Puts a resumed run's checkpoint back: its AdamW state into `session` and its position into the
 * batch `stream`. Returns the checkpoint's step, where the run continues.
 */
export function restoreCheckpoint(resumed: { optimizer: OptimizerState; state: CheckpointState }, session: { setOptimizerState(state: OptimizerState): void }, stream: { state: StreamState }): number {
  session.setOptimizerState(resumed.optimizer);
  stream.state = { ...resumed.state.stream };
  return resumed.state.step;
}

/**
 * The thread governor of a CPU run without a thread count (src/engine/threads.ts), or null when the
 * count is fixed; `threads` is that count, or null.
 */
export function threadGovernor(threads: number | null, device: "cpu" | "cuda" = "cpu"): ThreadGovernor | null {
  return threads === null && device === "cpu" ? autoThreadGovernor(availableParallelism()) : null;
}

/** Records a step's duration with the governor and applies the thread count it chooses next. */
export function governStep(governor: ThreadGovernor | null, backend: Backend, stepStart: number): void {
  if (!governor) return;
  const next = governor.record(performance.now() - stepStart);
  if (next !== backend.threads) backend.setThreads(next);
}

/**
 * Cuts a run's metrics.jsonl back to the records of steps up to `step` (on resume the later steps
 * run again). A line cut off by a crash, and any line that does not parse, is dropped.
 */
export function trimMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  repairJsonlTail(path);
  const kept = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => {
      if (l.trim() === "") return false;
      try {
        return (JSON.parse(l) as { step?: number }).step! <= step;
      } catch {
        return false;
      }
    });
  writeFileAtomic(path, kept.map((l) => l + "\n").join(""));
}

/**
 * The divergence check of a training step: a loss or gradient norm that is not finite ends the run
 * with E_DIVERGED, naming the step (1-based) and the run's learning rate; `hint` adds where to go
 * back to (the last good checkpoint).
 */
export function checkFinite(what: "loss" | "gradient norm", value: number, step: number, lr: number, hint = ""): void {
  if (Number.isFinite(value)) return;
  const advice = what === "loss" ? `lower --lr (was ${lr}) or keep --clip on` : `lower --lr (was ${lr})`;
  throw new MathtuneError(ErrorCode.diverged, `training diverged: ${what} is ${value} at step ${step}`, { hint: hint === "" ? advice : `${advice}; ${hint}` });
}
