/**
 * Static compute graphs: built once from output tensors, their intermediate tensors allocated once
 * by a ggml graph allocator, then computed as many times as needed (one per training step).
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import type { Backend } from "./backend.js";
import { loadGgml, tensorNe, type GallocPtr, type GraphPtr, type TensorPtr } from "./ffi.js";
import { Context, type Tensor } from "./tensor.js";

/** The time one node of a graph took, from {@link StaticGraph.profile}. */
export interface NodeTiming {
  /** Position in the graph's execution order. */
  index: number;
  /** ggml's operation name (unary operations by their own name, e.g. "SILU"). */
  op: string;
  /** The node's shape (ggml order). */
  shape: [number, number, number, number];
  /** Fastest time over the rounds, in milliseconds (includes one compute call's overhead). */
  ms: number;
  /** The node itself (valid while the graph lives). */
  ptr: TensorPtr;
}

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

  /**
   * Runs the graph one node at a time, in its execution order, `rounds` times, and returns each
   * node's fastest time. The nodes compute exactly what {@link compute} computes (same order, same
   * buffers); each node pays one backend call, so the sum exceeds one whole-graph run by that
   * overhead (a few microseconds per node on the CPU). For profiling only.
   */
  profile(rounds = 3): NodeTiming[] {
    if (this.disposed) throw new MathtuneError(ErrorCode.native, "graph used after dispose()");
    const api = this.ctx.api;
    const scratch = new Context({ maxTensors: 0, extraBytes: graphBytes(1) });
    try {
      const one = api.new_graph_custom(scratch.ptr, 1, false);
      if (!one) throw new MathtuneError(ErrorCode.native, "cannot create a one-node graph");
      const nodes = Array.from({ length: this.nodes }, (_, i) => api.graph_node(this.ptr, i));
      const best = new Array<number>(nodes.length).fill(Infinity);
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < nodes.length; i++) {
          api.graph_clear(one);
          api.graph_add_node(one, nodes[i]);
          const t0 = performance.now();
          this.backend.compute(one);
          const dt = performance.now() - t0;
          if (dt < best[i]) best[i] = dt;
        }
      }
      return nodes.map((ptr, index) => ({ index, op: api.op_desc(ptr), shape: tensorNe(ptr), ms: best[index], ptr }));
    } finally {
      scratch.dispose();
    }
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
