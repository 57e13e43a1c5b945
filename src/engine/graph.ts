/**
 * Static compute graphs: built once from output tensors, their intermediate tensors allocated once
 * by a ggml graph allocator, then computed as many times as needed (one per training step).
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import type { Backend } from "./backend.js";
import { loadGgml, type GallocPtr, type GraphPtr } from "./ffi.js";
import type { Context, Tensor } from "./tensor.js";

/** Default node capacity of a graph. The reference model's training graph has about 1,500 nodes. */
export const DEFAULT_GRAPH_SIZE = 16384;

/** A graph over tensors of a compute context, allocated for one backend. */
export class StaticGraph {
  readonly ptr: GraphPtr;
  private readonly galloc: GallocPtr;
  private disposed = false;
  /** Bytes of the compute buffer holding intermediate tensors. */
  readonly computeBytes: number;
  /** Number of operation nodes. */
  readonly nodes: number;

  /**
   * Builds the graph computing `outputs` (in that order) and allocates its intermediates.
   * `ctx` must have room for the graph object (see {@link graphBytes}).
   */
  constructor(
    private readonly ctx: Context,
    private readonly backend: Backend,
    outputs: readonly Tensor[],
    graphSize = DEFAULT_GRAPH_SIZE,
  ) {
    const api = ctx.api;
    const g = api.new_graph_custom(ctx.ptr, graphSize, false);
    if (!g) throw new MathtuneError(ErrorCode.native, "cannot create a graph (compute context too small)");
    this.ptr = g;
    for (const t of outputs) {
      api.set_output(t.ptr);
      api.build_forward_expand(g, t.ptr);
    }
    this.nodes = api.graph_n_nodes(g);
    const galloc = api.gallocr_new(backend.bufferType());
    if (!galloc) throw new MathtuneError(ErrorCode.native, "cannot create a graph allocator");
    this.galloc = galloc;
    if (!api.gallocr_alloc_graph(galloc, g)) {
      api.gallocr_free(galloc);
      throw new MathtuneError(ErrorCode.native, "cannot allocate the compute buffer of a graph", { hint: "not enough memory for this batch size" });
    }
    this.computeBytes = api.gallocr_get_buffer_size(galloc, 0);
  }

  /** Runs the whole graph. */
  compute(): void {
    if (this.disposed) throw new MathtuneError(ErrorCode.native, "graph used after dispose()");
    this.backend.compute(this.ptr);
  }

  /** Frees the compute buffer (the graph object itself lives in the context). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.ctx.api.gallocr_free(this.galloc);
  }
}

/** Bytes a context needs for one graph of `graphSize` nodes. */
export function graphBytes(graphSize = DEFAULT_GRAPH_SIZE): number {
  return loadGgml().api.graph_overhead_custom(graphSize, false);
}
