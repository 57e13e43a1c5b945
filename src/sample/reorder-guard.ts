/**
 * Makes concurrent reads of one decode's outputs safe in node-llama-cpp 3.21.1 (docs/sampling.md,
 * "Why samples once differed with parallel sequences").
 *
 * After a decode, llama.cpp may owe the output rows a reordering: `llama_context::decode` records
 * the row swaps that bring the outputs back into batch order (`output_swaps`) and applies them
 * lazily, in `output_reorder()`, the first time any logits reader runs (`llama_get_logits`,
 * `llama_get_logits_ith`). That function takes no lock. node-llama-cpp starts the sampling of every
 * sequence of a decoded batch at once, each `sampleToken` on its own libuv worker thread, so several
 * threads can apply the same swaps together and a sampler reads another sequence's row, or a row
 * half swapped.
 *
 * The guard lets the first read after each decode run alone; it performs the pending swaps and
 * empties the list. The reads after it only read (an empty `output_swaps` is neither swapped nor
 * written), so they run concurrently as before. The cost is one read's latency per decode.
 */
import type { LlamaContext } from "node-llama-cpp";
import { ErrorCode, MathtuneError } from "../errors.js";

/** The two methods of node-llama-cpp's native context object that the guard wraps. */
interface NativeContext {
  decodeBatch(): Promise<void>;
  sampleToken(...args: unknown[]): Promise<unknown>;
}

const GUARDED = Symbol("mathtune.reorderGuard");

/** Counters of a guarded context (tests and benchmarks read them). */
export interface ReorderGuardStats {
  /** Decodes seen. */
  decodes: number;
  /** Reads that ran alone, the first after a decode. */
  firstReads: number;
  /** Reads that waited for the first read of their decode. */
  waitedReads: number;
}

function nativeOf(context: LlamaContext): NativeContext {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (native === undefined || typeof native.decodeBatch !== "function" || typeof native.sampleToken !== "function") {
    throw new MathtuneError(ErrorCode.native, "node-llama-cpp's context does not have the shape this version of mathtune expects (_ctx.decodeBatch, _ctx.sampleToken)", {
      hint: "install the pinned node-llama-cpp (npm ci): samples and scores of parallel sequences are only exact with the guard",
    });
  }
  return native as NativeContext;
}

/**
 * Installs the guard on `context` (once; a second call returns the same counters). Every later
 * decode and logits read of the context goes through it.
 */
export function guardOutputReorder(context: LlamaContext): ReorderGuardStats {
  const native = nativeOf(context) as NativeContext & { [GUARDED]?: ReorderGuardStats };
  const existing = native[GUARDED];
  if (existing !== undefined) return existing;
  const stats: ReorderGuardStats = { decodes: 0, firstReads: 0, waitedReads: 0 };
  const decode = native.decodeBatch.bind(native);
  const read = native.sampleToken.bind(native);
  // null: no decode since the last first read, reads are plain reads.
  // A promise: the first read after the latest decode (settled or not).
  let first: Promise<unknown> | null = null;
  let pendingReorder = false;
  // The native methods live on the addon's prototype as read-only properties: shadow them with own ones.
  const own = (name: keyof NativeContext, value: NativeContext[keyof NativeContext]): void => {
    Object.defineProperty(native, name, { value, configurable: true, writable: false, enumerable: false });
  };
  own("decodeBatch", async (): Promise<void> => {
    stats.decodes++;
    try {
      await decode();
    } finally {
      // Even a failed decode may have left swaps; the next read runs alone either way.
      pendingReorder = true;
      first = null;
    }
  });
  own("sampleToken", (...args: unknown[]): Promise<unknown> => {
    if (pendingReorder) {
      pendingReorder = false;
      stats.firstReads++;
      const p = read(...args);
      first = p.then(
        () => undefined,
        () => undefined,
      );
      return p;
    }
    if (first !== null) {
      stats.waitedReads++;
      return first.then(() => read(...args));
    }
    return read(...args);
  });
  Object.defineProperty(native, GUARDED, { value: stats });
  return stats;
}
