/**
 * Reverse-mode autograd as a tape over ggml operations.
 *
 * Each differentiable method emits the forward ggml node and, when an input needs a gradient,
 * records how to emit the backward nodes. {@link Tape.backward} walks the tape once and adds the
 * gradient nodes to the same context, so forward, backward and optimizer update end up in one
 * static graph, built once per batch shape.
 *
 * The tape, rather than ggml's own `ggml_build_backward_expand`, decides how each gradient is
 * computed. For a weight gradient it can use OUT_PROD (no copies) or MUL_MAT on contiguous
 * transposes (shared when several products read the same activation): on this build's CPU
 * kernels a transposed copy costs several ns per element, so OUT_PROD wins for the weight matrices
 * and MUL_MAT for the small batched products of attention. Everything else uses ggml's backward
 * kernels (rms_norm_back, soft_max_ext_back, rope_ext_back, silu_back, get_rows_back).
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import { GgmlType, ROPE_TYPE_NEOX, ROPE_TYPE_NORMAL, tensorType, type GgmlApi, type GgmlTypeId, type TensorPtr } from "./ffi.js";
import { Tensor, sameShape, type Context } from "./tensor.js";

type Backward = (gy: Tensor) => Array<Tensor | null>;

interface TapeEntry {
  out: Tensor;
  inputs: Array<Tensor | null>;
  back: Backward;
}

/** How the gradient of a matrix product with respect to its first operand is computed. */
export type MatmulGradMode = "mul_mat" | "out_prod";

/**
 * Number format of the operands of weight matrix products. "f32": exact F32 products (the
 * reference). "bf16": mixed precision. The F32 master weights, activations and gradients are
 * rounded to BF16 as they enter a product of a 2-D F32 weight (forward, input gradient and weight
 * gradient), the products accumulate in F32, and everything else (norms, attention, softmax, loss,
 * optimizer) stays F32. On CPUs with AVX512-BF16 ggml's tiled BF16 kernel runs about twice as fast
 * as its F32 kernel.
 */
export type MatmulPrecision = "f32" | "bf16";

/** ggml's RoPE modes used by the models here. */
export const RopeMode = { normal: ROPE_TYPE_NORMAL, neox: ROPE_TYPE_NEOX } as const;

/** RoPE settings, as ggml_rope_ext takes them (no YaRN: extrapolation 0, attention factor 1). */
export interface RopeParams {
  /** Rotated dimensions (the head size for llama and qwen2). */
  nDims: number;
  /** ggml rope mode: 0 normal (adjacent pairs, llama), 2 NeoX (the two halves of a head, qwen2). */
  mode: number;
  /** Base frequency. */
  freqBase: number;
  /** Linear position scaling (1 = none). */
  freqScale: number;
  /** Training context length (only used by YaRN, which is off here; passed as llama.cpp does). */
  nCtxOrig: number;
  /** F32 [nDims/2] divisors of the rotation frequencies (Llama 3 scaling), or null. */
  factors: Tensor | null;
}

/**
 * Whether the input gradient of matmul(a, ·) goes through OUT_PROD on `a` as stored: true for the
 * Q8_0 matrices of a frozen LoRA base, which ggml cannot copy transposed. F16 and BF16 take the
 * transposed-copy path like F32: ggml's F16 OUT_PROD kernel converts the whole matrix once per
 * token and ran 9x slower than the copy plus a tiled MUL_MAT on the reference model.
 */
function frozenOutProd(a: Tensor): boolean {
  return a.shape.length <= 2 && a.type === GgmlType.Q8_0;
}

/** Records differentiable ggml operations into a context. */
export class Tape {
  private readonly api: GgmlApi;
  private readonly entries: TapeEntry[] = [];
  private readonly needsGrad = new Set<bigint>();
  /** Copies of tensors made for products (transposed and/or BF16), shared between every product that needs one. */
  private readonly copies = new Map<string, Tensor>();

  constructor(
    readonly ctx: Context,
    /** Weight-gradient strategy of F32 matrix products. Defaults to "out_prod". */
    readonly matmulGrad: MatmulGradMode = "out_prod",
    /** Operand format of weight matrix products. Defaults to "f32". */
    readonly precision: MatmulPrecision = "f32",
  ) {
    this.api = ctx.api;
  }

  /** Marks a leaf tensor (a parameter) as needing a gradient. */
  param(t: Tensor): Tensor {
    this.needsGrad.add(t.ptr);
    return t;
  }

  /** Whether gradients flow into `t`. */
  requiresGrad(t: Tensor): boolean {
    return this.needsGrad.has(t.ptr);
  }

  private wrap(p: TensorPtr): Tensor {
    if (p === null || p === undefined) throw new MathtuneError(ErrorCode.native, "ggml returned NULL (compute context too small?)");
    return new Tensor(p, tensorType(p) as GgmlTypeId);
  }

  private record(out: Tensor, inputs: Array<Tensor | null>, back: Backward): Tensor {
    if (inputs.some((x) => x !== null && this.needsGrad.has(x.ptr))) {
      this.needsGrad.add(out.ptr);
      this.entries.push({ out, inputs, back });
    }
    return out;
  }

  private needs(t: Tensor | null): boolean {
    return t !== null && this.needsGrad.has(t.ptr);
  }

  /** A contiguous copy when `t` is a strided view, else `t`. */
  contiguous(t: Tensor): Tensor {
    return this.api.is_contiguous(t.ptr) ? t : this.wrap(this.api.cont(this.ctx.ptr, t.ptr));
  }

  /** The shared copy of `t` named `kind`, made by `make` the first time it is asked for. */
  private sharedCopy(t: Tensor, kind: string, make: () => TensorPtr): Tensor {
    const key = `${t.ptr}:${kind}`;
    const hit = this.copies.get(key);
    if (hit) return hit;
    const r = this.wrap(make());
    this.copies.set(key, r);
    return r;
  }

  /** Contiguous transpose of the first two dims, shared between every product that needs it. */
  private transposeCopy(t: Tensor): Tensor {
    const c = this.ctx.ptr;
    return this.sharedCopy(t, "T", () => this.api.cont(c, this.api.transpose(c, t.ptr)));
  }

  /** A BF16 copy of `t` (transposed first when `transposed`), shared between every product that needs it. */
  private bf16(t: Tensor, transposed: boolean): Tensor {
    const c = this.ctx.ptr;
    return this.sharedCopy(t, transposed ? "bf16 T" : "bf16", () => this.api.cast(c, transposed ? this.api.transpose(c, t.ptr) : t.ptr, GgmlType.BF16));
  }

  /** matmul(a, b) of a 2-D F32 weight in BF16 (see {@link MatmulPrecision}). */
  private matmulBf16(a: Tensor, b: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.mul_mat(c, this.bf16(a, false).ptr, b.ptr));
    return this.record(y, [a, b], (gy) => {
      const g = this.contiguous(gy);
      // ga[k, m] = sum_n b[k, n] g[m, n]: both transposed to [n, ·] so that n, the long token
      // dimension, is the dot products' length.
      const ga = this.needs(a) ? this.wrap(this.api.mul_mat(c, this.bf16(b, true).ptr, this.bf16(g, true).ptr)) : null;
      // gb[k, n] = sum_m a[k, m] g[m, n]
      const gb = this.needs(b) ? this.wrap(this.api.mul_mat(c, this.bf16(a, true).ptr, g.ptr)) : null;
      return [ga, gb];
    });
  }

  // ---- differentiable operations -------------------------------------------------------------

  /** Rows of `table` picked by I32 `idx` (embedding lookup). */
  getRows(table: Tensor, idx: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.get_rows(c, table.ptr, idx.ptr));
    return this.record(y, [table, null], (gy) => [this.wrap(this.api.get_rows_back(c, this.contiguous(gy).ptr, idx.ptr, table.ptr)), null]);
  }

  /** RMS normalisation over the first dim. */
  rmsNorm(x: Tensor, eps: number): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.rms_norm(c, x.ptr, eps));
    return this.record(y, [x], (gy) => [this.wrap(this.api.rms_norm_back(c, this.contiguous(gy).ptr, x.ptr, eps))]);
  }

  /** Element-wise product; `b` may broadcast over `a` (e.g. a norm weight over rows). */
  mul(a: Tensor, b: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.mul(c, a.ptr, b.ptr));
    return this.record(y, [a, b], (gy) => {
      const ga = this.needs(a) ? this.wrap(this.api.mul(c, gy.ptr, b.ptr)) : null;
      let gb: Tensor | null = null;
      if (this.needs(b)) {
        gb = this.wrap(this.api.mul(c, gy.ptr, a.ptr));
        if (!sameShape(a, b)) gb = this.wrap(this.api.repeat_back(c, gb.ptr, b.ptr));
      }
      return [ga, gb];
    });
  }

  /** Element-wise sum; `b` may broadcast over `a`. */
  add(a: Tensor, b: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.add(c, a.ptr, b.ptr));
    return this.record(y, [a, b], (gy) => [
      this.needs(a) ? gy : null,
      this.needs(b) ? (sameShape(a, b) ? gy : this.wrap(this.api.repeat_back(c, gy.ptr, b.ptr))) : null,
    ]);
  }

  /**
   * ggml's matrix product: for a [K, M, ...] and b [K, N, ...], result [M, N, ...] with
   * r[m, n] = sum_k a[k, m] b[k, n] (batched over dims 2 and 3). A linear layer is matmul(W, x).
   */
  matmul(a: Tensor, b: Tensor): Tensor {
    if (this.precision === "bf16" && a.type === GgmlType.F32 && a.shape.length <= 2 && b.shape.length <= 2) return this.matmulBf16(a, b);
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.mul_mat(c, a.ptr, b.ptr));
    return this.record(y, [a, b], (gy) => {
      const g = this.contiguous(gy);
      let ga: Tensor | null = null;
      if (this.needs(a)) {
        // ga[k, m] = sum_n b[k, n] g[m, n]
        // OUT_PROD needs no transposed copies (for the batched products of attention too: in F32
        // the step takes the same time as a tiled MUL_MAT on two transposed copies, and with
        // bf16 products it saves the copies' time).
        ga =
          this.matmulGrad === "out_prod"
            ? this.wrap(this.api.out_prod(c, this.contiguous(b).ptr, g.ptr))
            : this.wrap(this.api.mul_mat(c, this.transposeCopy(b).ptr, this.transposeCopy(g).ptr));
        const [k, m, a2, a3] = a.ne;
        const [, , b2, b3] = b.ne;
        if (a2 !== b2 || a3 !== b3) {
          // `a` was broadcast over b's batch dims (grouped-query attention: query heads
          // j·r .. j·r+r-1 read key head j). Sum the r gradients of each shared block.
          if (a3 !== b3) throw new MathtuneError(ErrorCode.native, "matmul broadcast over dim 3 has no gradient here");
          const r = b2 / a2;
          const grouped = this.api.reshape_4d(c, ga.ptr, k * m, r, a2, a3);
          const shape = this.ctx.newTensor(ga.type, [k * m, 1, a2, a3]);
          ga = this.wrap(this.api.reshape(c, this.wrap(this.api.repeat_back(c, grouped, shape.ptr)).ptr, a.ptr));
        }
      }
      // gb[k, n] = sum_m a[k, m] g[m, n]
      let gb: Tensor | null = null;
      if (this.needs(b)) {
        // A frozen quantized weight (LoRA) cannot be transposed into a copy (ggml has no strided
        // copy of quantized blocks): OUT_PROD reads it row by row, dequantizing, against the
        // transposed gradient view.
        gb = frozenOutProd(a)
          ? this.wrap(this.api.out_prod(c, a.ptr, this.api.transpose(c, g.ptr)))
          : this.wrap(this.api.mul_mat(c, this.transposeCopy(a).ptr, g.ptr));
      }
      return [ga, gb];
    });
  }

  /** Same data, new shape (1 to 4 dims). */
  reshape(x: Tensor, shape: readonly number[]): Tensor {
    const c = this.ctx.ptr;
    const src = this.contiguous(x);
    const [n0, n1, n2, n3] = shape;
    const a = this.api;
    const p =
      shape.length === 1
        ? a.reshape_1d(c, src.ptr, n0)
        : shape.length === 2
          ? a.reshape_2d(c, src.ptr, n0, n1)
          : shape.length === 3
            ? a.reshape_3d(c, src.ptr, n0, n1, n2)
            : a.reshape_4d(c, src.ptr, n0, n1, n2, n3);
    const y = this.wrap(p);
    return this.record(y, [x], (gy) => [this.wrap(a.reshape(c, this.contiguous(gy).ptr, x.ptr))]);
  }

  /** Permutes dims: dim i of `x` becomes dim axes[i] of the result (a strided view). */
  permute(x: Tensor, axes: readonly [number, number, number, number]): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.permute(c, x.ptr, axes[0], axes[1], axes[2], axes[3]));
    const inv = [0, 0, 0, 0];
    axes.forEach((ax, i) => (inv[ax] = i));
    return this.record(y, [x], (gy) => [this.wrap(this.api.permute(c, gy.ptr, inv[0], inv[1], inv[2], inv[3]))]);
  }

  /** A contiguous copy. */
  cont(x: Tensor): Tensor {
    const y = this.wrap(this.api.cont(this.ctx.ptr, x.ptr));
    return this.record(y, [x], (gy) => [gy]);
  }

  /** Rotary position embedding of x [headDim, heads, n, ...] at positions pos I32 [n]. */
  rope(x: Tensor, pos: Tensor, p: RopeParams): Tensor {
    const c = this.ctx.ptr;
    const f = p.factors === null ? null : p.factors.ptr;
    // ext_factor 0, attn_factor 1, beta_fast 32, beta_slow 1: llama.cpp's values when YaRN is off.
    const y = this.wrap(this.api.rope_ext(c, x.ptr, pos.ptr, f, p.nDims, p.mode, p.nCtxOrig, p.freqBase, p.freqScale, 0, 1, 32, 1));
    return this.record(y, [x, null], (gy) => [
      this.wrap(this.api.rope_ext_back(c, this.contiguous(gy).ptr, pos.ptr, f, p.nDims, p.mode, p.nCtxOrig, p.freqBase, p.freqScale, 0, 1, 32, 1)),
      null,
    ]);
  }

  /** Causal mask: entries above the diagonal (key after query) become -inf. */
  causalMask(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.diag_mask_inf(c, x.ptr, 0));
    return this.record(y, [x], (gy) => [this.wrap(this.api.diag_mask_zero(c, gy.ptr, 0))]);
  }

  /**
   * softmax(scale · x + mask) over the first dim. `mask` (a constant input: 0 to keep, -inf to
   * drop) has x's first two dims and broadcasts over dims 2 and 3 when its own are 1. Dropped
   * entries have probability 0, so the backward needs no mask.
   */
  softmax(x: Tensor, scale = 1, mask: Tensor | null = null): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.soft_max_ext(c, x.ptr, mask ? mask.ptr : null, scale, 0));
    return this.record(y, [x], (gy) => [this.wrap(this.api.soft_max_ext_back(c, this.contiguous(gy).ptr, y.ptr, scale, 0))]);
  }

  /** silu(a) * b (the SwiGLU gate), with ggml's split kernel. */
  swiglu(a: Tensor, b: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.swiglu_split(c, a.ptr, b.ptr));
    return this.record(y, [a, b], (gy) => [
      this.needs(a) ? this.wrap(this.api.silu_back(c, this.wrap(this.api.mul(c, gy.ptr, b.ptr)).ptr, a.ptr)) : null,
      this.needs(b) ? this.wrap(this.api.mul(c, this.wrap(this.api.silu(c, a.ptr)).ptr, gy.ptr)) : null,
    ]);
  }

  /** Natural logarithm. */
  log(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.log(c, x.ptr));
    return this.record(y, [x], (gy) => [this.wrap(this.api.div(c, gy.ptr, x.ptr))]);
  }

  /** s * x + b. */
  scaleBias(x: Tensor, s: number, b: number): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(b === 0 ? this.api.scale(c, x.ptr, s) : this.api.scale_bias(c, x.ptr, s, b));
    return this.record(y, [x], (gy) => [s === 1 ? gy : this.wrap(this.api.scale(c, gy.ptr, s))]);
  }

  /** Sum of all elements (a 1-element tensor). */
  sum(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.sum(c, x.ptr));
    return this.record(y, [x], (gy) => [this.wrap(this.api.repeat(c, gy.ptr, x.ptr))]);
  }

  /** Sums over the first dim. */
  sumRows(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.sum_rows(c, x.ptr));
    return this.record(y, [x], (gy) => [this.wrap(this.api.repeat(c, gy.ptr, x.ptr))]);
  }

  /** max(x, 0). */
  relu(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.relu(c, x.ptr));
    return this.record(y, [x], (gy) => [this.wrap(this.api.mul(c, this.wrap(this.api.step(c, x.ptr)).ptr, gy.ptr))]);
  }

  /** log(1 + exp(x)). */
  softplus(x: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.softplus(c, x.ptr));
    return this.record(y, [x], (gy) => [this.wrap(this.api.mul(c, gy.ptr, this.wrap(this.api.sigmoid(c, x.ptr)).ptr))]);
  }

  /** a - b (same shapes). */
  sub(a: Tensor, b: Tensor): Tensor {
    const c = this.ctx.ptr;
    const y = this.wrap(this.api.sub(c, a.ptr, b.ptr));
    return this.record(y, [a, b], (gy) => [this.needs(a) ? gy : null, this.needs(b) ? this.wrap(this.api.scale(c, gy.ptr, -1)) : null]);
  }

  // ---- backward ------------------------------------------------------------------------------

  /**
   * Emits the gradient nodes of scalar `loss` with respect to `wanted` leaves. `seed` is a
   * 1-element tensor holding dLoss (1 for plain training). Returns a contiguous gradient per leaf,
   * or null for a leaf the loss does not depend on.
   */
  backward(loss: Tensor, seed: Tensor, wanted: readonly Tensor[]): Array<Tensor | null> {
    if (loss.size !== 1) throw new MathtuneError(ErrorCode.native, "backward() needs a scalar loss");
    const c = this.ctx.ptr;
    const grads = new Map<bigint, Tensor>([[loss.ptr, seed]]);
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const { out, inputs, back } = this.entries[i];
      const gy = grads.get(out.ptr);
      if (!gy) continue;
      grads.delete(out.ptr);
      const gin = back(gy);
      inputs.forEach((x, j) => {
        const g = gin[j];
        if (x === null || g === null || !this.needsGrad.has(x.ptr)) return;
        const prev = grads.get(x.ptr);
        grads.set(x.ptr, prev ? this.wrap(this.api.add(c, this.contiguous(prev).ptr, this.contiguous(g).ptr)) : g);
      });
    }
    return wanted.map((w) => {
      const g = grads.get(w.ptr);
      return g ? this.contiguous(g) : null;
    });
  }
}
