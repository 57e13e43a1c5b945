/**
 * One shared node-llama-cpp instance for the process. Loading the native bindings takes time and
 * memory, and llama.cpp's backends are process-wide anyway.
 */
import { availableParallelism } from "node:os";
import type { Llama } from "node-llama-cpp";
import { MathtuneError, ErrorCode } from "../errors.js";

let shared: Promise<Llama> | undefined;

/**
 * The default thread count for llama.cpp work: one core left to Node, because the ggml CPU pool
 * spin-waits and a busy event loop on the same core slows every decode step several-fold.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * The default number of llama.cpp contexts of a local model: two when two contexts of `threads`
 * threads each fit the cores and there are at least two sequences to share, else one. A small
 * model's decode keeps one thread busy and the pipeline around it is serial, so a second context
 * of one thread uses the second core of a small machine (docs/sampling.md), without the spinning
 * pool that two threads in one context bring.
 */
export function defaultContexts(threads: number, parallel: number): number {
  return 2 * threads <= availableParallelism() && parallel >= 2 ? 2 : 1;
}

/** A CPU-only Llama (prebuilt binaries, never a local build), created once per process. */
export function getLlamaCpu(): Promise<Llama> {
  shared ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    try {
      return await getLlama({
        gpu: false,
        build: "never",
        logLevel: LlamaLogLevel.error,
        progressLogs: false,
        // 0: every context uses exactly the thread count it asks for (no shared cap to split).
        maxThreads: 0,
      });
    } catch (err) {
      shared = undefined;
      throw new MathtuneError(ErrorCode.native, `cannot load llama.cpp through node-llama-cpp (${(err as Error).message})`, {
        hint: "reinstall dependencies (npm ci); prebuilt binaries for this platform are required",
        cause: err,
      });
    }
  })();
  return shared;
}
