/**
 * Runs a training job in a child process. A GGML_ASSERT in native code aborts the whole process
 * it runs in; here that is the child, and the parent turns its death into a MathtuneError naming
 * the signal or exit code, the last step, the last native message and a hint.
 */
import { fork, type Serializable } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ErrorCode, MathtuneError } from "../errors.js";

/** What a training child sends for an error it caught: code, message, hint and stack reach the parent. */
export interface ChildErrorMessage {
  type: "error";
  code: string;
  message: string;
  hint?: string;
  stack?: string;
}

/** The error message of a training child for `err` (E_INTERNAL for anything but a MathtuneError). */
export function childErrorMessage(err: unknown): ChildErrorMessage {
  const e = err instanceof MathtuneError ? err : undefined;
  return {
    type: "error",
    code: e?.code ?? "E_INTERNAL",
    message: err instanceof Error ? err.message : String(err),
    ...(e?.hint ? { hint: e.hint } : {}),
    ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

/** What a child's message meant to the parent. */
export type ChildOutcome<R> = { done: R } | { failed: MathtuneError } | undefined;

/** Options of {@link runInChild}. */
export interface RunInChildOptions<M, R> {
  /** The worker module's path. */
  worker: string;
  /** The first message sent to the worker. */
  start: Serializable;
  /** What runs, for the error message, e.g. "training". */
  what: string;
  /** Handles one message; returns the outcome when the message is the child's last word. */
  onMessage: (message: M) => ChildOutcome<R>;
  /** The last step the child reported. */
  lastStep: () => number;
  /** The hint of the error raised when the child dies. */
  hint: () => string;
  /** Extra environment for the child (merged over process.env). */
  env?: Record<string, string>;
  /** Forward a SIGINT that the parent alone receives (a terminal's Ctrl-C signals both). Defaults to false. */
  forwardSigint?: boolean;
}

/** The worker module that sits next to `moduleUrl` (.ts from sources through tsx, .js when built). */
export function siblingModule(moduleUrl: string, from: string, to: string): string {
  return fileURLToPath(moduleUrl).replace(new RegExp(`${from}\\.(ts|js)$`), (_m, ext: string) => `${to}.${ext}`);
}

/** Runs a worker to completion; see the file comment. */
export function runInChild<M, R>(o: RunInChildOptions<M, R>): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(o.worker, [], {
      stdio: ["ignore", "inherit", "pipe", "ipc"],
      env: { ...process.env, ...(o.env ?? {}) },
    });
    let stderrTail = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      process.stderr.write(text);
      stderrTail = (stderrTail + text).slice(-4000);
    });
    let outcome: ChildOutcome<R>;
    child.on("message", (m: M) => {
      outcome = o.onMessage(m) ?? outcome;
    });
    const onSigint = (): void => {
      child.kill("SIGINT");
    };
    if (o.forwardSigint) process.on("SIGINT", onSigint);
    child.on("error", (err) => {
      process.off("SIGINT", onSigint);
      reject(new MathtuneError(ErrorCode.native, `cannot start the ${o.what} process: ${err.message}`, { cause: err }));
    });
    child.on("exit", (code, signal) => {
      process.off("SIGINT", onSigint);
      if (outcome && "failed" in outcome) return reject(outcome.failed);
      if (outcome && "done" in outcome && code === 0) return resolve(outcome.done);
      const native = /GGML_ASSERT[^\n]*|ggml[^\n]*(error|abort)[^\n]*/i.exec(stderrTail)?.[0];
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(
        new MathtuneError(ErrorCode.native, `the ${o.what} process ${how} after step ${o.lastStep()}${native ? `: ${native.trim()}` : ""}`, {
          hint: o.hint(),
        }),
      );
    });
    child.send(o.start);
  });
}
