/**
 * Runs SFT in a child process. A GGML_ASSERT in native code aborts the whole process it runs in;
 * here that is the child, and the parent turns it into a MathtuneError naming the signal, the
 * last native message and the last good checkpoint, which the atomic checkpoint writes keep intact.
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ErrorCode, MathtuneError } from "../errors.js";
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

/** The worker module next to this file (.ts when running from sources through tsx, .js when built). */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url);
  return here.replace(/runner\.(ts|js)$/, (_m, ext: string) => `worker.${ext}`);
}

/** Runs {@link runSft} in a child process; see the file comment. */
export function runSftInChild(options: SftOptions, run: ChildRunOptions = {}): Promise<SftResult> {
  return new Promise((resolve, reject) => {
    const child = fork(workerPath(), [], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      env: { ...process.env, ...(run.env ?? {}) },
    });
    let stderrTail = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      process.stderr.write(text);
      stderrTail = (stderrTail + text).slice(-4000);
    });
    let result: SftResult | undefined;
    let failure: MathtuneError | undefined;
    let lastCheckpoint: string | undefined;
    let lastStep = 0;
    child.on("message", (m: FromWorker) => {
      if (m.type === "event") {
        if (m.event.kind === "checkpoint") lastCheckpoint = m.event.dir;
        if (m.event.kind === "step") lastStep = m.event.step;
        run.onEvent?.(m.event);
      } else if (m.type === "done") {
        result = m.result;
      } else if (m.type === "error") {
        failure = new MathtuneError(m.code, m.message, m.hint ? { hint: m.hint } : {});
        if (m.stack && process.env.MATHTUNE_DEBUG) process.stderr.write(m.stack + "\n");
      }
    });
    // Ctrl-C in a terminal signals the child too; a SIGINT sent to the parent alone is forwarded.
    const onSigint = (): void => {
      child.kill("SIGINT");
    };
    process.on("SIGINT", onSigint);
    child.on("error", (err) => {
      process.off("SIGINT", onSigint);
      reject(new MathtuneError(ErrorCode.native, `cannot start the training process: ${err.message}`, { cause: err }));
    });
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onSigint);
      if (failure) return reject(failure);
      if (result && code === 0) return resolve(result);
      const native = /GGML_ASSERT[^\n]*|ggml[^\n]*(error|abort)[^\n]*/i.exec(stderrTail)?.[0];
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      // latest.json is the source of truth: the child may die between committing a checkpoint
      // and reporting it, or while pruning the one it reported before.
      try {
        lastCheckpoint = latestCheckpoint(options.out)?.dir ?? lastCheckpoint;
      } catch {
        // An unreadable latest.json: keep what the child last reported.
      }
      reject(
        new MathtuneError(ErrorCode.native, `the training process ${how} after step ${lastStep}${native ? `: ${native.trim()}` : ""}`, {
          hint: lastCheckpoint ? `the last good checkpoint is ${lastCheckpoint}; continue with --resume` : "no checkpoint was written",
        }),
      );
    });
    const start: ToWorker = { type: "start", options };
    child.send(start);
  });
}
