/**
 * Tensors, contexts and backend buffers: the typed layer over raw ggml handles.
 *
 * A {@link Context} holds tensor metadata only (`no_alloc`); data lives either in a backend buffer
 * that {@link Context.allocate} creates for every tensor of the context (parameters, optimizer
 * state, inputs) or in the compute buffer a graph allocator gives intermediate results.
 * Shapes use ggml's order: `ne[0]` is the fastest-varying (row length).
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import type { Backend } from "./backend.js";
import { GgmlType, loadGgml, tensorHasData, tensorNe, type BufferPtr, type CtxPtr, type GgmlApi, type GgmlTypeId, type TensorPtr } from "./ffi.js";

/** A tensor handle with its shape, read once from native memory when the handle is wrapped. */
export class Tensor {
  /** Shape in ggml order, trailing 1s dropped (at least one entry). */
  readonly shape: readonly number[];
  constructor(
    readonly ptr: TensorPtr,
    readonly type: GgmlTypeId,
  ) {
    const ne = tensorNe(ptr);
    let n = 4;
    while (n > 1 && ne[n - 1] === 1) n--;
    this.shape = ne.slice(0, n);
  }

  /** All four `ne` entries. */
  get ne(): [number, number, number, number] {
    return [this.shape[0], this.shape[1] ?? 1, this.shape[2] ?? 1, this.shape[3] ?? 1];
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes of data when contiguous. */
  get byteLength(): number {
    return this.size * (this.type === GgmlType.F32 || this.type === GgmlType.I32 ? 4 : 2);
  }
}

/** True when two tensors have the same shape. */
export function sameShape(a: Tensor, b: Tensor): boolean {
  const x = a.ne;
  const y = b.ne;
  return x[0] === y[0] && x[1] === y[1] && x[2] === y[2] && x[3] === y[3];
}

function checkPtr<T>(p: T | null, what: string): T {
  if (p === null || p === undefined || (typeof p === "bigint" && p === 0n)) {
    throw new MathtuneError(ErrorCode.native, `ggml returned NULL for ${what}`, { hint: "the context may be too small (raise its capacity)" });
  }
  return p;
}

/** Options of {@link Context}. */
export interface ContextOptions {
  /** Most tensors (including intermediate nodes) this context will hold. */
  maxTensors: number;
  /** Extra bytes for graph objects created in this context. Defaults to 0. */
  extraBytes?: number;
}

/** A ggml context holding tensor metadata (never data). */
export class Context {
  readonly api: GgmlApi;
  readonly ptr: CtxPtr;
  private buffer: BufferPtr | null = null;
  private freed = false;

  constructor(options: ContextOptions) {
    this.api = loadGgml().api;
    const mem = options.maxTensors * this.api.tensor_overhead() + (options.extraBytes ?? 0);
    this.ptr = checkPtr(this.api.init({ mem_size: mem, mem_buffer: null, no_alloc: true }), "ggml_init");
  }

  /** A new uninitialised tensor of `shape` (1 to 4 dims, ggml order). */
  newTensor(type: GgmlTypeId, shape: readonly number[], name?: string): Tensor {
    this.assertLive();
    if (shape.length < 1 || shape.length > 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new MathtuneError(ErrorCode.native, `invalid tensor shape [${shape.join(", ")}]`);
    }
    const a = this.api;
    const [n0, n1, n2, n3] = shape;
    const p =
      shape.length === 1
        ? a.new_tensor_1d(this.ptr, type, n0)
        : shape.length === 2
          ? a.new_tensor_2d(this.ptr, type, n0, n1)
          : shape.length === 3
            ? a.new_tensor_3d(this.ptr, type, n0, n1, n2)
            : a.new_tensor_4d(this.ptr, type, n0, n1, n2, n3);
    const t = new Tensor(checkPtr(p, "a new tensor"), type);
    if (name !== undefined) a.set_name(t.ptr, name.slice(0, 63));
    return t;
  }

  /** Allocates one backend buffer for every tensor of this context (done once, after creating them). */
  allocate(backend: Backend): void {
    this.assertLive();
    if (this.buffer) throw new MathtuneError(ErrorCode.native, "context tensors are already allocated");
    this.buffer = checkPtr(this.api.backend_alloc_ctx_tensors(this.ptr, backend.ptr), "ggml_backend_alloc_ctx_tensors");
    this.api.backend_buffer_clear(this.buffer, 0);
  }

  /** Bytes of the backend buffer (0 before allocation). */
  get allocatedBytes(): number {
    return this.buffer ? this.api.backend_buffer_get_size(this.buffer) : 0;
  }

  /** Frees the buffer and the context. Tensors of this context must not be used afterwards. */
  dispose(): void {
    if (this.freed) return;
    this.freed = true;
    if (this.buffer) this.api.backend_buffer_free(this.buffer);
    this.api.free(this.ptr);
  }

  private assertLive(): void {
    if (this.freed) throw new MathtuneError(ErrorCode.native, "ggml context used after dispose()");
  }
}

function checkTransfer(t: Tensor, arr: ArrayBufferView, kind: "F32" | "I32"): void {
  const want = kind === "F32" ? GgmlType.F32 : GgmlType.I32;
  if (t.type !== want) throw new MathtuneError(ErrorCode.native, `tensor is not ${kind}`);
  if (arr.byteLength !== t.byteLength) {
    throw new MathtuneError(ErrorCode.native, `size mismatch: tensor [${t.shape.join(", ")}] has ${t.size} elements, array has ${arr.byteLength / 4}`);
  }
  if (!tensorHasData(t.ptr)) throw new MathtuneError(ErrorCode.native, "tensor has no data (not allocated)");
}

/** Copies a Float32Array into an allocated F32 tensor (synchronous; C keeps no reference). */
export function setF32(t: Tensor, data: Float32Array): void {
  checkTransfer(t, data, "F32");
  loadGgml().api.backend_tensor_set(t.ptr, data, 0, data.byteLength);
}

/** Copies an Int32Array into an allocated I32 tensor. */
export function setI32(t: Tensor, data: Int32Array): void {
  checkTransfer(t, data, "I32");
  loadGgml().api.backend_tensor_set(t.ptr, data, 0, data.byteLength);
}

/** Copies stored bytes (any type, e.g. F16 or Q8_0 blocks as a GGUF file holds them) into an allocated tensor. */
export function setBytes(t: Tensor, data: Uint8Array): void {
  const api = loadGgml().api;
  const n = api.nbytes(t.ptr);
  if (data.byteLength !== n) throw new MathtuneError(ErrorCode.native, `size mismatch: tensor [${t.shape.join(", ")}] takes ${n} bytes, got ${data.byteLength}`);
  if (!tensorHasData(t.ptr)) throw new MathtuneError(ErrorCode.native, "tensor has no data (not allocated)");
  api.backend_tensor_set(t.ptr, data, 0, n);
}

/** Reads an allocated F32 tensor. */
export function getF32(t: Tensor, out?: Float32Array): Float32Array {
  const arr = out ?? new Float32Array(t.size);
  checkTransfer(t, arr, "F32");
  loadGgml().api.backend_tensor_get(t.ptr, arr, 0, arr.byteLength);
  return arr;
}

/** Sets every byte of an allocated tensor to zero. */
export function zeroTensor(t: Tensor): void {
  if (!tensorHasData(t.ptr)) throw new MathtuneError(ErrorCode.native, "tensor has no data (not allocated)");
  loadGgml().api.backend_tensor_memset(t.ptr, 0, 0, t.byteLength);
}

/**
 * Makes ggml abort the process through a failing GGML_ASSERT (a matrix product of incompatible
 * shapes). Only for tests of how a parent process reports a native abort in a child.
 */
export function triggerNativeAbort(): never {
  const ctx = new Context({ maxTensors: 4 });
  const a = ctx.newTensor(GgmlType.F32, [3, 2]);
  const b = ctx.newTensor(GgmlType.F32, [5, 2]);
  ctx.api.mul_mat(ctx.ptr, a.ptr, b.ptr);
  throw new MathtuneError(ErrorCode.native, "ggml did not abort on an invalid matrix product");
}
