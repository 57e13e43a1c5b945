/**
 * Raw, typed bindings over the ggml shared libraries shipped by node-llama-cpp (koffi, no compiler).
 *
 * koffi does not type-check pointers: every handle crossing this boundary is a BigInt, and a wrong
 * one is a segfault. The branded pointer types below make the TypeScript compiler catch a tensor
 * passed where a context is expected; the wrappers in `tensor.ts` / `backend.ts` add the checks C
 * does not do (null results, shapes). Nothing outside `src/engine/` should import this file.
 *
 * Signatures are those of the ggml headers in node-llama-cpp 3.21.1's bundled llama.cpp release
 * (ggml/include/{ggml,ggml-backend,ggml-alloc,ggml-cpu}.h). The package is pinned exactly because
 * struct layouts and symbols are tied to that build.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import koffi, { type LibraryHandle } from "koffi";
import { ErrorCode, MathtuneError } from "../errors.js";
import { GgmlType } from "../model/gguf-types.js";

declare const brand: unique symbol;
/** An opaque native pointer of C type `B`. */
export type Ptr<B extends string> = bigint & { readonly [brand]: B };
export type CtxPtr = Ptr<"ggml_context">;
export type TensorPtr = Ptr<"ggml_tensor">;
export type GraphPtr = Ptr<"ggml_cgraph">;
export type BackendPtr = Ptr<"ggml_backend">;
export type BufferPtr = Ptr<"ggml_backend_buffer">;
export type BufTypePtr = Ptr<"ggml_backend_buffer_type">;
export type GallocPtr = Ptr<"ggml_gallocr">;
export type DevPtr = Ptr<"ggml_backend_device">;
export type RegPtr = Ptr<"ggml_backend_reg">;
export type FnPtr = Ptr<"function">;

/** ggml tensor element types (enum ggml_type): one definition, in model/gguf-types.ts. */
export { GgmlType };
/** The element types the engine creates tensors of. */
export type GgmlTypeId = GgmlType.F32 | GgmlType.F16 | GgmlType.Q8_0 | GgmlType.I32 | GgmlType.BF16;

/** enum ggml_backend_dev_type. */
export const DevType = { CPU: 0, GPU: 1, IGPU: 2, ACCEL: 3 } as const;

/** enum ggml_rope_type: llama rotates adjacent pairs ("normal"), qwen2 the two halves of a head (NeoX). */
export const ROPE_TYPE_NORMAL = 0;
export const ROPE_TYPE_NEOX = 2;

/** The typed function table. Names drop the `ggml_` prefix. */
export interface GgmlApi {
  // contexts
  init(params: { mem_size: number; mem_buffer: null; no_alloc: boolean }): CtxPtr | null;
  free(ctx: CtxPtr): void;
  tensor_overhead(): number;
  graph_overhead_custom(size: number, grads: boolean): number;
  // tensors
  new_tensor_1d(ctx: CtxPtr, type: number, ne0: number): TensorPtr | null;
  new_tensor_2d(ctx: CtxPtr, type: number, ne0: number, ne1: number): TensorPtr | null;
  new_tensor_3d(ctx: CtxPtr, type: number, ne0: number, ne1: number, ne2: number): TensorPtr | null;
  new_tensor_4d(ctx: CtxPtr, type: number, ne0: number, ne1: number, ne2: number, ne3: number): TensorPtr | null;
  set_name(t: TensorPtr, name: string): TensorPtr;
  get_name(t: TensorPtr): string;
  nbytes(t: TensorPtr): number;
  nelements(t: TensorPtr): number;
  is_contiguous(t: TensorPtr): boolean;
  set_param(t: TensorPtr): void;
  set_input(t: TensorPtr): void;
  set_output(t: TensorPtr): void;
  // operations (all return a new tensor node)
  dup_tensor(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  get_rows(ctx: CtxPtr, a: TensorPtr, idx: TensorPtr): TensorPtr;
  get_rows_back(ctx: CtxPtr, grad: TensorPtr, idx: TensorPtr, shape: TensorPtr): TensorPtr;
  rms_norm(ctx: CtxPtr, a: TensorPtr, eps: number): TensorPtr;
  rms_norm_back(ctx: CtxPtr, grad: TensorPtr, x: TensorPtr, eps: number): TensorPtr;
  add(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  add_inplace(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  sub(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  mul(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  div(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  sqr(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  sqrt(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  log(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  sum(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  sum_rows(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  repeat(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  repeat_back(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  scale(ctx: CtxPtr, a: TensorPtr, s: number): TensorPtr;
  scale_bias(ctx: CtxPtr, a: TensorPtr, s: number, b: number): TensorPtr;
  mul_mat(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  out_prod(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  cont(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  cpy(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  cast(ctx: CtxPtr, a: TensorPtr, type: number): TensorPtr;
  reshape(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  reshape_1d(ctx: CtxPtr, a: TensorPtr, ne0: number): TensorPtr;
  reshape_2d(ctx: CtxPtr, a: TensorPtr, ne0: number, ne1: number): TensorPtr;
  reshape_3d(ctx: CtxPtr, a: TensorPtr, ne0: number, ne1: number, ne2: number): TensorPtr;
  reshape_4d(ctx: CtxPtr, a: TensorPtr, ne0: number, ne1: number, ne2: number, ne3: number): TensorPtr;
  view_1d(ctx: CtxPtr, a: TensorPtr, ne0: number, offset: number): TensorPtr;
  view_2d(ctx: CtxPtr, a: TensorPtr, ne0: number, ne1: number, nb1: number, offset: number): TensorPtr;
  permute(ctx: CtxPtr, a: TensorPtr, ax0: number, ax1: number, ax2: number, ax3: number): TensorPtr;
  transpose(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  soft_max_ext(ctx: CtxPtr, a: TensorPtr, mask: TensorPtr | null, scale: number, maxBias: number): TensorPtr;
  soft_max_ext_back(ctx: CtxPtr, grad: TensorPtr, y: TensorPtr, scale: number, maxBias: number): TensorPtr;
  diag_mask_inf(ctx: CtxPtr, a: TensorPtr, nPast: number): TensorPtr;
  diag_mask_zero(ctx: CtxPtr, a: TensorPtr, nPast: number): TensorPtr;
  silu(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  silu_back(ctx: CtxPtr, grad: TensorPtr, x: TensorPtr): TensorPtr;
  swiglu_split(ctx: CtxPtr, a: TensorPtr, b: TensorPtr): TensorPtr;
  relu(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  step(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  sigmoid(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  softplus(ctx: CtxPtr, a: TensorPtr): TensorPtr;
  rope_ext(
    ctx: CtxPtr, a: TensorPtr, pos: TensorPtr, freqFactors: TensorPtr | null, nDims: number, mode: number,
    nCtxOrig: number, freqBase: number, freqScale: number, extFactor: number, attnFactor: number, betaFast: number, betaSlow: number,
  ): TensorPtr;
  rope_ext_back(
    ctx: CtxPtr, a: TensorPtr, pos: TensorPtr, freqFactors: TensorPtr | null, nDims: number, mode: number,
    nCtxOrig: number, freqBase: number, freqScale: number, extFactor: number, attnFactor: number, betaFast: number, betaSlow: number,
  ): TensorPtr;
  opt_step_adamw(ctx: CtxPtr, a: TensorPtr, grad: TensorPtr, m: TensorPtr, v: TensorPtr, params: TensorPtr): TensorPtr;
  // graphs
  new_graph_custom(ctx: CtxPtr, size: number, grads: boolean): GraphPtr | null;
  build_forward_expand(g: GraphPtr, t: TensorPtr): void;
  build_backward_expand(ctx: CtxPtr, g: GraphPtr, gradAccs: null): void;
  graph_get_grad(g: GraphPtr, t: TensorPtr): TensorPtr | null;
  graph_n_nodes(g: GraphPtr): number;
  graph_reset(g: GraphPtr): void;
  graph_clear(g: GraphPtr): void;
  graph_node(g: GraphPtr, i: number): TensorPtr;
  graph_add_node(g: GraphPtr, t: TensorPtr): void;
  op_desc(t: TensorPtr): string;
  // allocation and backends (libggml-base)
  gallocr_new(buft: BufTypePtr): GallocPtr | null;
  gallocr_free(g: GallocPtr): void;
  gallocr_alloc_graph(g: GallocPtr, graph: GraphPtr): boolean;
  gallocr_get_buffer_size(g: GallocPtr, id: number): number;
  backend_alloc_ctx_tensors(ctx: CtxPtr, backend: BackendPtr): BufferPtr | null;
  backend_buffer_free(b: BufferPtr): void;
  backend_buffer_get_size(b: BufferPtr): number;
  backend_buffer_clear(b: BufferPtr, value: number): void;
  backend_tensor_set(t: TensorPtr, data: ArrayBufferView, offset: number, size: number): void;
  backend_tensor_get(t: TensorPtr, data: ArrayBufferView, offset: number, size: number): void;
  backend_tensor_memset(t: TensorPtr, value: number, offset: number, size: number): void;
  backend_graph_compute(backend: BackendPtr, g: GraphPtr): number;
  backend_synchronize(backend: BackendPtr): void;
  backend_free(backend: BackendPtr): void;
  backend_name(backend: BackendPtr): string;
  backend_get_default_buffer_type(backend: BackendPtr): BufTypePtr;
  backend_get_device(backend: BackendPtr): DevPtr | null;
  backend_dev_name(dev: DevPtr): string;
  backend_dev_description(dev: DevPtr): string;
  backend_dev_type(dev: DevPtr): number;
  backend_dev_backend_reg(dev: DevPtr): RegPtr | null;
  backend_dev_init(dev: DevPtr, params: string | null): BackendPtr | null;
  backend_dev_memory(dev: DevPtr, free: [number], total: [number]): void;
  backend_reg_name(reg: RegPtr): string;
  backend_reg_get_proc_address(reg: RegPtr, name: string): FnPtr | null;
  // registry (libggml)
  backend_load_all_from_path(dir: string): void;
  backend_load(path: string): RegPtr | null;
  backend_dev_count(): number;
  backend_dev_get(i: number): DevPtr | null;
  log_set(cb: FnPtr | null, userData: null): void;
}

/** Declarations: [api name, library, C signature]. `B` = libggml-base, `R` = libggml (registry). */
const DECLS: ReadonlyArray<readonly [keyof GgmlApi, "B" | "R", string]> = [
  ["init", "B", "void *ggml_init(ggml_init_params params)"],
  ["free", "B", "void ggml_free(void *ctx)"],
  ["tensor_overhead", "B", "size_t ggml_tensor_overhead()"],
  ["graph_overhead_custom", "B", "size_t ggml_graph_overhead_custom(size_t size, bool grads)"],
  ["new_tensor_1d", "B", "void *ggml_new_tensor_1d(void *ctx, int type, int64_t ne0)"],
  ["new_tensor_2d", "B", "void *ggml_new_tensor_2d(void *ctx, int type, int64_t ne0, int64_t ne1)"],
  ["new_tensor_3d", "B", "void *ggml_new_tensor_3d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2)"],
  ["new_tensor_4d", "B", "void *ggml_new_tensor_4d(void *ctx, int type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"],
  ["set_name", "B", "void *ggml_set_name(void *t, const char *name)"],
  ["get_name", "B", "const char *ggml_get_name(void *t)"],
  ["nbytes", "B", "size_t ggml_nbytes(void *t)"],
  ["nelements", "B", "int64_t ggml_nelements(void *t)"],
  ["is_contiguous", "B", "bool ggml_is_contiguous(void *t)"],
  ["set_param", "B", "void ggml_set_param(void *t)"],
  ["set_input", "B", "void ggml_set_input(void *t)"],
  ["set_output", "B", "void ggml_set_output(void *t)"],
  ["dup_tensor", "B", "void *ggml_dup_tensor(void *ctx, void *a)"],
  ["get_rows", "B", "void *ggml_get_rows(void *ctx, void *a, void *b)"],
  ["get_rows_back", "B", "void *ggml_get_rows_back(void *ctx, void *a, void *b, void *c)"],
  ["rms_norm", "B", "void *ggml_rms_norm(void *ctx, void *a, float eps)"],
  ["rms_norm_back", "B", "void *ggml_rms_norm_back(void *ctx, void *a, void *b, float eps)"],
  ["add", "B", "void *ggml_add(void *ctx, void *a, void *b)"],
  ["add_inplace", "B", "void *ggml_add_inplace(void *ctx, void *a, void *b)"],
  ["sub", "B", "void *ggml_sub(void *ctx, void *a, void *b)"],
  ["mul", "B", "void *ggml_mul(void *ctx, void *a, void *b)"],
  ["div", "B", "void *ggml_div(void *ctx, void *a, void *b)"],
  ["sqr", "B", "void *ggml_sqr(void *ctx, void *a)"],
  ["sqrt", "B", "void *ggml_sqrt(void *ctx, void *a)"],
  ["log", "B", "void *ggml_log(void *ctx, void *a)"],
  ["sum", "B", "void *ggml_sum(void *ctx, void *a)"],
  ["sum_rows", "B", "void *ggml_sum_rows(void *ctx, void *a)"],
  ["repeat", "B", "void *ggml_repeat(void *ctx, void *a, void *b)"],
  ["repeat_back", "B", "void *ggml_repeat_back(void *ctx, void *a, void *b)"],
  ["scale", "B", "void *ggml_scale(void *ctx, void *a, float s)"],
  ["scale_bias", "B", "void *ggml_scale_bias(void *ctx, void *a, float s, float b)"],
  ["mul_mat", "B", "void *ggml_mul_mat(void *ctx, void *a, void *b)"],
  ["out_prod", "B", "void *ggml_out_prod(void *ctx, void *a, void *b)"],
  ["cont", "B", "void *ggml_cont(void *ctx, void *a)"],
  ["cpy", "B", "void *ggml_cpy(void *ctx, void *a, void *b)"],
  ["cast", "B", "void *ggml_cast(void *ctx, void *a, int type)"],
  ["reshape", "B", "void *ggml_reshape(void *ctx, void *a, void *b)"],
  ["reshape_1d", "B", "void *ggml_reshape_1d(void *ctx, void *a, int64_t ne0)"],
  ["reshape_2d", "B", "void *ggml_reshape_2d(void *ctx, void *a, int64_t ne0, int64_t ne1)"],
  ["reshape_3d", "B", "void *ggml_reshape_3d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2)"],
  ["reshape_4d", "B", "void *ggml_reshape_4d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"],
  ["view_1d", "B", "void *ggml_view_1d(void *ctx, void *a, int64_t ne0, size_t offset)"],
  ["view_2d", "B", "void *ggml_view_2d(void *ctx, void *a, int64_t ne0, int64_t ne1, size_t nb1, size_t offset)"],
  ["permute", "B", "void *ggml_permute(void *ctx, void *a, int ax0, int ax1, int ax2, int ax3)"],
  ["transpose", "B", "void *ggml_transpose(void *ctx, void *a)"],
  ["soft_max_ext", "B", "void *ggml_soft_max_ext(void *ctx, void *a, void *mask, float scale, float max_bias)"],
  ["soft_max_ext_back", "B", "void *ggml_soft_max_ext_back(void *ctx, void *a, void *b, float scale, float max_bias)"],
  ["diag_mask_inf", "B", "void *ggml_diag_mask_inf(void *ctx, void *a, int n_past)"],
  ["diag_mask_zero", "B", "void *ggml_diag_mask_zero(void *ctx, void *a, int n_past)"],
  ["silu", "B", "void *ggml_silu(void *ctx, void *a)"],
  ["silu_back", "B", "void *ggml_silu_back(void *ctx, void *a, void *b)"],
  ["swiglu_split", "B", "void *ggml_swiglu_split(void *ctx, void *a, void *b)"],
  ["relu", "B", "void *ggml_relu(void *ctx, void *a)"],
  ["step", "B", "void *ggml_step(void *ctx, void *a)"],
  ["sigmoid", "B", "void *ggml_sigmoid(void *ctx, void *a)"],
  ["softplus", "B", "void *ggml_softplus(void *ctx, void *a)"],
  [
    "rope_ext",
    "B",
    "void *ggml_rope_ext(void *ctx, void *a, void *b, void *c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)",
  ],
  [
    "rope_ext_back",
    "B",
    "void *ggml_rope_ext_back(void *ctx, void *a, void *b, void *c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)",
  ],
  ["opt_step_adamw", "B", "void *ggml_opt_step_adamw(void *ctx, void *a, void *grad, void *m, void *v, void *params)"],
  ["new_graph_custom", "B", "void *ggml_new_graph_custom(void *ctx, size_t size, bool grads)"],
  ["build_forward_expand", "B", "void ggml_build_forward_expand(void *g, void *t)"],
  ["build_backward_expand", "B", "void ggml_build_backward_expand(void *ctx, void *g, void *grad_accs)"],
  ["graph_get_grad", "B", "void *ggml_graph_get_grad(void *g, void *t)"],
  ["graph_n_nodes", "B", "int ggml_graph_n_nodes(void *g)"],
  ["graph_reset", "B", "void ggml_graph_reset(void *g)"],
  ["graph_clear", "B", "void ggml_graph_clear(void *g)"],
  ["graph_node", "B", "void *ggml_graph_node(void *g, int i)"],
  ["graph_add_node", "B", "void ggml_graph_add_node(void *g, void *t)"],
  ["op_desc", "B", "const char *ggml_op_desc(void *t)"],
  ["gallocr_new", "B", "void *ggml_gallocr_new(void *buft)"],
  ["gallocr_free", "B", "void ggml_gallocr_free(void *g)"],
  ["gallocr_alloc_graph", "B", "bool ggml_gallocr_alloc_graph(void *g, void *graph)"],
  ["gallocr_get_buffer_size", "B", "size_t ggml_gallocr_get_buffer_size(void *g, int id)"],
  ["backend_alloc_ctx_tensors", "B", "void *ggml_backend_alloc_ctx_tensors(void *ctx, void *backend)"],
  ["backend_buffer_free", "B", "void ggml_backend_buffer_free(void *b)"],
  ["backend_buffer_get_size", "B", "size_t ggml_backend_buffer_get_size(void *b)"],
  ["backend_buffer_clear", "B", "void ggml_backend_buffer_clear(void *b, uint8_t value)"],
  ["backend_tensor_set", "B", "void ggml_backend_tensor_set(void *t, const void *data, size_t offset, size_t size)"],
  ["backend_tensor_get", "B", "void ggml_backend_tensor_get(void *t, void *data, size_t offset, size_t size)"],
  ["backend_tensor_memset", "B", "void ggml_backend_tensor_memset(void *t, uint8_t value, size_t offset, size_t size)"],
  ["backend_graph_compute", "B", "int ggml_backend_graph_compute(void *backend, void *g)"],
  ["backend_synchronize", "B", "void ggml_backend_synchronize(void *backend)"],
  ["backend_free", "B", "void ggml_backend_free(void *backend)"],
  ["backend_name", "B", "const char *ggml_backend_name(void *backend)"],
  ["backend_get_default_buffer_type", "B", "void *ggml_backend_get_default_buffer_type(void *backend)"],
  ["backend_get_device", "B", "void *ggml_backend_get_device(void *backend)"],
  ["backend_dev_name", "B", "const char *ggml_backend_dev_name(void *dev)"],
  ["backend_dev_description", "B", "const char *ggml_backend_dev_description(void *dev)"],
  ["backend_dev_type", "B", "int ggml_backend_dev_type(void *dev)"],
  ["backend_dev_backend_reg", "B", "void *ggml_backend_dev_backend_reg(void *dev)"],
  ["backend_dev_init", "B", "void *ggml_backend_dev_init(void *dev, const char *params)"],
  ["backend_dev_memory", "B", "void ggml_backend_dev_memory(void *dev, _Out_ size_t *free, _Out_ size_t *total)"],
  ["backend_reg_name", "B", "const char *ggml_backend_reg_name(void *reg)"],
  ["backend_reg_get_proc_address", "B", "void *ggml_backend_reg_get_proc_address(void *reg, const char *name)"],
  ["backend_load_all_from_path", "R", "void ggml_backend_load_all_from_path(const char *dir)"],
  ["backend_load", "R", "void *ggml_backend_load(const char *path)"],
  ["backend_dev_count", "R", "size_t ggml_backend_dev_count()"],
  ["backend_dev_get", "R", "void *ggml_backend_dev_get(size_t i)"],
  ["log_set", "B", "void ggml_log_set(void *cb, void *user_data)"],
];

/** A loaded set of ggml libraries (one per process: two copies of libggml-base cannot coexist). */
export interface GgmlLibrary {
  /** The typed function table. */
  api: GgmlApi;
  /** Folder the libraries were loaded from. */
  dir: string;
  /** Calls a backend-provided function pointer `void f(ggml_backend_t, int)` (e.g. set_n_threads). */
  callSetThreads(fn: FnPtr, backend: BackendPtr, n: number): void;
}

let loaded: GgmlLibrary | undefined;

/** Which prebuilt set of libraries to use. */
export type LibraryFlavor = "cpu" | "cuda";

/** Folder of the prebuilt ggml libraries of node-llama-cpp for this platform and flavor. */
export function ggmlLibraryDir(flavor: LibraryFlavor = "cpu"): string {
  const override = process.env.MATHTUNE_GGML_DIR;
  if (override && flavor === "cpu") return override;
  const pkg = flavor === "cpu" ? `@node-llama-cpp/${process.platform}-${process.arch}` : `@node-llama-cpp/${process.platform}-${process.arch}-cuda`;
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    // The package exports only its entry point (dist/index.js); its root is two folders up.
    root = dirname(dirname(require.resolve(pkg)));
  } catch (err) {
    throw new MathtuneError(ErrorCode.native, `the ggml libraries (${pkg}) are not installed`, {
      hint: flavor === "cpu" ? "run `npm install`; this platform may have no prebuilt binaries" : "the CUDA build ships only for linux-x64",
      cause: err,
    });
  }
  const dir = join(root, "bins", `${process.platform}-${process.arch}${flavor === "cuda" ? "-cuda" : ""}`);
  if (!existsSync(join(dir, libName("ggml-base")))) {
    throw new MathtuneError(ErrorCode.native, `no ${libName("ggml-base")} in ${dir}`, { hint: "reinstall node-llama-cpp" });
  }
  return dir;
}

function libName(stem: string): string {
  return process.platform === "win32" ? `${stem}.dll` : process.platform === "darwin" ? `lib${stem}.dylib` : `lib${stem}.so`;
}

/** The registry library has a versioned file name (libggml.v0.4.0.so, libggml.cuda.v0.4.0.so). */
function findRegistryLib(dir: string): string {
  const names = readdirSync(dir).filter((n) => /^libggml\.(cuda\.)?v[\d.]+\.(so|dylib)$/.test(n) || n === libName("ggml"));
  if (names.length === 0) throw new MathtuneError(ErrorCode.native, `no ggml backend registry library in ${dir}`, { hint: "reinstall node-llama-cpp" });
  return join(dir, names[0]);
}

/**
 * Loads the ggml libraries once per process. libggml-base goes first, by absolute path, so that
 * the registry and the CPU variants (which name it as a dependency without a usable rpath) bind
 * to that copy.
 */
export function loadGgml(flavor?: LibraryFlavor): GgmlLibrary {
  // Without a flavor, whatever is already loaded serves (tensors work the same on every backend).
  if (loaded && flavor === undefined) return loaded;
  const dir = ggmlLibraryDir(flavor ?? "cpu");
  if (loaded) {
    if (loaded.dir !== dir) {
      throw new MathtuneError(ErrorCode.native, `ggml is already loaded from ${loaded.dir}; cannot also load ${dir} in one process`, {
        hint: "run CPU-only and CUDA work in separate processes",
      });
    }
    return loaded;
  }
  let base: LibraryHandle;
  let reg: LibraryHandle;
  try {
    base = koffi.load(join(dir, libName("ggml-base")));
    reg = koffi.load(findRegistryLib(dir));
  } catch (err) {
    throw new MathtuneError(ErrorCode.native, `cannot load the ggml libraries from ${dir}: ${(err as Error).message}`, { cause: err });
  }
  // Struct passed by value to ggml_init; the name is used in the signature strings above.
  if (!structDeclared) {
    koffi.struct("ggml_init_params", { mem_size: "size_t", mem_buffer: "void *", no_alloc: "bool" });
    structDeclared = true;
  }
  const api = {} as Record<string, unknown>;
  for (const [name, lib, sig] of DECLS) api[name] = (lib === "B" ? base : reg).func(sig);
  const setThreadsProto = koffi.proto("void mathtune_set_n_threads_fn(void *backend, int n)");
  loaded = {
    api: api as unknown as GgmlApi,
    dir,
    callSetThreads(fn, backend, n) {
      koffi.call(fn, setThreadsProto, backend, n);
    },
  };
  installLogFilter(loaded.api);
  return loaded;
}
let structDeclared = false;

/** Level at or above which ggml's own log lines reach stderr (2 info, 3 warn, 4 error). */
let logLevel = Number(process.env.MATHTUNE_GGML_LOG ?? 3);
/** Sets which ggml log lines are printed: 1 debug, 2 info, 3 warnings (default), 4 errors only. */
export function setGgmlLogLevel(level: number): void {
  logLevel = level;
}

// ggml prints backend-loading chatter on every start; keep warnings and errors, drop the rest.
let logCallback: unknown;
function installLogFilter(api: GgmlApi): void {
  const proto = koffi.proto("void mathtune_ggml_log(int level, const char *text, void *ud)");
  let lastLevel = 0;
  logCallback = koffi.register((level: number, text: string) => {
    const eff = level === 5 ? lastLevel : level; // 5 = continuation of the previous line
    lastLevel = eff;
    if (eff >= logLevel) process.stderr.write(text);
  }, koffi.pointer(proto));
  api.log_set(logCallback as FnPtr, null);
}

/** Reads `ne[0..3]` of a tensor. Offsets follow `struct ggml_tensor` (type, buffer, ne[4], nb[4], ...). */
export function tensorNe(t: TensorPtr): [number, number, number, number] {
  const ne = koffi.decode(t, 16, "int64_t", 4) as ArrayLike<number | bigint>;
  return [Number(ne[0]), Number(ne[1]), Number(ne[2]), Number(ne[3])];
}

/** Reads `nb[0..3]` (byte strides) of a tensor. */
export function tensorNb(t: TensorPtr): [number, number, number, number] {
  const nb = koffi.decode(t, 48, "uint64_t", 4) as ArrayLike<number | bigint>;
  return [Number(nb[0]), Number(nb[1]), Number(nb[2]), Number(nb[3])];
}

/** Reads the element type of a tensor (first field of the struct). */
export function tensorType(t: TensorPtr): number {
  return koffi.decode(t, 0, "int") as number;
}

/** Reads the `data` pointer (null before allocation). Offset of `data` in `struct ggml_tensor`. */
export function tensorHasData(t: TensorPtr): boolean {
  const p = koffi.decode(t, TENSOR_DATA_OFFSET, "uint64_t") as number | bigint;
  return BigInt(p) !== 0n;
}
// type(4)+pad(4) buffer(8) ne(32) nb(32) op(4) op_params(64) flags(4) src(80) view_src(8) view_offs(8) -> data
const TENSOR_DATA_OFFSET = 8 + 8 + 32 + 32 + 4 + 64 + 4 + 80 + 8 + 8;
/** sizeof(struct ggml_tensor) for this build; checked against ggml_tensor_overhead() in the tests. */
export const GGML_TENSOR_SIZE = TENSOR_DATA_OFFSET + 8 + 64 + 8 + 8;
