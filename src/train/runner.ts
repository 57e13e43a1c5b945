/**
 * Runs SFT in a child process. A GGML_ASSERT in native code aborts the whole process it runs in;
 * here that is the child, and the parent turns it into a MathtuneError naming the signal, the
 * last native message and the last good checkpoint, which the atomic checkpoint writes keep intact.
 */
import { MathtuneError } from "../errors.js";
import { runInChild, siblingModule } from "./child.js";
import { latestCheckpoint } from "./checkpoints.js";
import type { SftEvent, SftOptions, SftResult } from "./sft.js";
import type { FromWorker, ToWorker } from "./worker.js";

/** Options of {@link runSftInChild}. */
export interface ChildRunOptions {
  /** Receives progress events from the child. */
  onEvent?: (e: SftEvent) => void;
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string>;
}

/** Runs {@link runSft} in a child process; see the file comment. */
export function runSftInChild(options: SftOptions, run: ChildRunOptions = {}): Promise<SftResult> {
  let lastCheckpoint: string | undefined;
  let lastStep = 0;
  const start: ToWorker = { type: "start", options };
  return runInChild<FromWorker, SftResult>({
    worker: siblingModule(import.meta.url, "runner", "worker"),
    start,
    what: "training",
    ...(run.env ? { env: run.env } : {}),
    forwardSigint: true,
    onMessage: (m) => {
      if (m.type === "event") {
        if (m.event.kind === "checkpoint") lastCheckpoint = m.event.dir;
        if (m.event.kind === "step") lastStep = m.event.step;
        run.onEvent?.(m.event);
        return undefined;
      }
      if (m.type === "done") return { done: m.result };
      if (m.stack && process.env.MATHTUNE_DEBUG) process.stderr.write(m.stack + "\n");
      return { failed: new MathtuneError(m.code, m.message, m.hint ? { hint: m.hint } : {}) };
    },
    lastStep: () => lastStep,
    hint: () => {
      // latest.json is the source of truth: the child may die between committing a checkpoint
      // and reporting it, or while pruning the one it reported before.
      try {
        lastCheckpoint = latestCheckpoint(options.out)?.dir ?? lastCheckpoint;
      } catch {
        // An unreadable latest.json: keep what the child last reported.
      }
      return lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}; continue with --resume` : "no checkpoint was written";
    },
  });
}
