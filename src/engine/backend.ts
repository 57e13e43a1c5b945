/**
 * Compute backends: the CPU (best variant for this processor, picked by ggml's backend registry at
 * run time) and CUDA where its libraries and a GPU are present.
 */
import { availableParallelism } from "node:os";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { DevType, loadGgml, type BackendPtr, type BufTypePtr, type DevPtr, type GgmlLibrary, type GraphPtr, type LibraryFlavor } from "./ffi.js";

/** A device the registry can see. */
export interface DeviceInfo {
  name: string;
  description: string;
  type: "cpu" | "gpu" | "igpu" | "accel";
}

/** Options of {@link Backend.create}. */
export interface BackendOptions {
  /** "cpu" or "cuda". Defaults to "cpu". */
  kind?: "cpu" | "cuda";
  /** CPU threads for graph computation. Defaults to {@link defaultThreads}(). */
  threads?: number;
}

/**
 * Threads to use when none is given: all cores but one. ggml's CPU thread pool spin-waits, so a
 * thread count equal to the core count collapses (5-7x slower) as soon as anything else runs.
 */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

const registryLoaded = new Set<string>();

/** Loads the libraries of `flavor` and registers every backend module found next to them. */
function registry(flavor: LibraryFlavor | undefined): GgmlLibrary {
  const lib = loadGgml(flavor);
  if (!registryLoaded.has(lib.dir)) {
    // Loads every libggml-cpu-<variant> that runs here and keeps the best scoring one (and
    // libggml-cuda when its runtime loads).
    lib.api.backend_load_all_from_path(lib.dir);
    registryLoaded.add(lib.dir);
    if (flavor === "cuda" && !hasGpu(lib)) {
      // The main libggml-cuda needs the CUDA toolkit's cuBLAS; node-llama-cpp's -cuda-ext package
      // ships a fallback build that does not.
      const fallback = cudaFallbackLibrary();
      if (fallback) lib.api.backend_load(fallback);
    }
  }
  return lib;
}

function hasGpu(lib: GgmlLibrary): boolean {
  const n = lib.api.backend_dev_count();
  for (let i = 0; i < n; i++) {
    const d = lib.api.backend_dev_get(i);
    if (d && lib.api.backend_dev_type(d) === DevType.GPU) return true;
  }
  return false;
}

function cudaFallbackLibrary(): string | undefined {
  try {
    const root = dirname(dirname(createRequire(import.meta.url).resolve(`@node-llama-cpp/${process.platform}-${process.arch}-cuda-ext`)));
    const p = join(root, "bins", `${process.platform}-${process.arch}-cuda`, "fallback", "libggml-cuda.so");
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

function devTypeName(t: number): DeviceInfo["type"] {
  return t === DevType.GPU ? "gpu" : t === DevType.IGPU ? "igpu" : t === DevType.ACCEL ? "accel" : "cpu";
}

/** Devices visible with the given library flavor. */
export function listDevices(flavor?: LibraryFlavor): DeviceInfo[] {
  const { api } = registry(flavor);
  const out: DeviceInfo[] = [];
  const n = api.backend_dev_count();
  for (let i = 0; i < n; i++) {
    const d = api.backend_dev_get(i);
    if (!d) continue;
    out.push({ name: api.backend_dev_name(d), description: api.backend_dev_description(d), type: devTypeName(api.backend_dev_type(d)) });
  }
  return out;
}

/** The libggml-cpu-<variant> the registry picked (read from the process's mapped files; Linux only). */
export function cpuVariant(): string {
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const m = /libggml-cpu-([\w-]+)\.so/.exec(maps);
    return m ? m[1] : "unknown";
  } catch {
    return "unknown";
  }
}

/** A ggml backend with its thread setting. Dispose with {@link Backend.dispose}. */
export class Backend {
  private disposed = false;
  private constructor(
    readonly lib: GgmlLibrary,
    readonly ptr: BackendPtr,
    readonly kind: "cpu" | "cuda",
    /** Device name, e.g. "CPU" or "CUDA0". */
    readonly deviceName: string,
    /** Device description, e.g. the processor or GPU model. */
    readonly description: string,
    private threadCount: number,
  ) {}

  /** Creates a backend; see {@link BackendOptions}. Throws a MathtuneError when the device is missing. */
  static create(options: BackendOptions = {}): Backend {
    const kind = options.kind ?? "cpu";
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new MathtuneError(ErrorCode.usage, `threads must be a positive integer (got ${threads})`);
    }
    // The CPU backend comes from whichever library set is loaded (the CUDA set ships CPU variants too).
    const lib = registry(kind === "cuda" ? "cuda" : undefined);
    const { api } = lib;
    let dev: DevPtr | null = null;
    const n = api.backend_dev_count();
    for (let i = 0; i < n && !dev; i++) {
      const d = api.backend_dev_get(i);
      if (!d) continue;
      const t = api.backend_dev_type(d);
      if (kind === "cpu" ? t === DevType.CPU : t === DevType.GPU && api.backend_dev_name(d).startsWith("CUDA")) dev = d;
    }
    if (!dev) {
      throw new MathtuneError(ErrorCode.native, kind === "cpu" ? "no CPU backend could be loaded" : "no CUDA device found", {
        hint: kind === "cpu" ? "reinstall node-llama-cpp" : "the CUDA backend needs an NVIDIA GPU, its driver (libcuda) and @node-llama-cpp/linux-x64-cuda",
      });
    }
    const ptr = api.backend_dev_init(dev, null);
    if (!ptr) throw new MathtuneError(ErrorCode.native, `cannot initialise the ${kind} backend`);
    const b = new Backend(lib, ptr, kind, api.backend_dev_name(dev), api.backend_dev_description(dev), threads);
    b.setThreads(threads);
    return b;
  }

  /** CPU threads used by graph computation (CPU backend only). */
  get threads(): number {
    return this.threadCount;
  }

  /** Changes the thread count (no effect on GPU backends). */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new MathtuneError(ErrorCode.usage, `threads must be a positive integer (got ${n})`);
    this.threadCount = n;
    if (this.kind !== "cpu") return;
    const { api } = this.lib;
    const dev = api.backend_get_device(this.ptr);
    const reg = dev ? api.backend_dev_backend_reg(dev) : null;
    const fn = reg ? api.backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads") : null;
    if (!fn) throw new MathtuneError(ErrorCode.native, "the CPU backend does not export ggml_backend_set_n_threads");
    this.lib.callSetThreads(fn, this.ptr, n);
  }

  /** The buffer type tensors of this backend are allocated in. */
  bufferType(): BufTypePtr {
    return this.lib.api.backend_get_default_buffer_type(this.ptr);
  }

  /** Runs a graph to completion. */
  compute(graph: GraphPtr): void {
    this.assertLive();
    const status = this.lib.api.backend_graph_compute(this.ptr, graph);
    if (status !== 0) throw new MathtuneError(ErrorCode.native, `ggml graph computation failed (status ${status}) on ${this.deviceName}`);
  }

  /** Frees the native backend. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.lib.api.backend_free(this.ptr);
  }

  private assertLive(): void {
    if (this.disposed) throw new MathtuneError(ErrorCode.native, "backend used after dispose()");
  }
}
