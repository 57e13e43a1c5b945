// The typed binding layer over ggml: library loading and CPU variant choice, struct layout,
// tensors and transfers, graphs and allocation, error paths. Anything that could abort the
// process (a GGML_ASSERT) runs in a child process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Backend, cpuVariant, defaultThreads, listDevices } from "../../src/engine/backend.js";
import { GGML_TENSOR_SIZE, GgmlType, loadGgml, tensorNb, tensorNe } from "../../src/engine/ffi.js";
import { StaticGraph, graphBytes } from "../../src/engine/graph.js";
import { Context, Tensor, getF32, setF32, setI32, zeroTensor } from "../../src/engine/tensor.js";
import { MathtuneError } from "../../src/errors.js";

const backend = Backend.create({ threads: 1 });

test("the registry loads a CPU backend and picks a CPU variant for this processor", () => {
  const devs = listDevices();
  assert.ok(devs.some((d) => d.type === "cpu"), JSON.stringify(devs));
  assert.equal(backend.kind, "cpu");
  assert.equal(backend.deviceName, "CPU");
  const v = cpuVariant();
  assert.match(v, /^(x64|sse42|sandybridge|ivybridge|piledriver|haswell|skylakex|cannonlake|cascadelake|cooperlake|icelake|alderlake|sapphirerapids|zen4)$/);
  assert.ok(defaultThreads() >= 1);
});

test("struct ggml_tensor layout matches this build (size and ne/nb offsets)", () => {
  const api = loadGgml().api;
  // ggml_tensor_overhead() = sizeof(struct ggml_object) (32) + sizeof(struct ggml_tensor).
  assert.equal(api.tensor_overhead(), 32 + GGML_TENSOR_SIZE);
  const ctx = new Context({ maxTensors: 4 });
  const t = ctx.newTensor(GgmlType.F32, [3, 5, 7], "probe");
  assert.deepEqual(tensorNe(t.ptr), [3, 5, 7, 1]);
  assert.deepEqual(tensorNb(t.ptr), [4, 12, 60, 420]);
  assert.equal(api.nelements(t.ptr), 105);
  assert.equal(api.nbytes(t.ptr), 420);
  assert.equal(api.get_name(t.ptr), "probe");
  assert.deepEqual(t.shape, [3, 5, 7]);
  ctx.dispose();
});

test("tensors round-trip data; wrong sizes, types and unallocated tensors are refused", () => {
  const ctx = new Context({ maxTensors: 4 });
  const a = ctx.newTensor(GgmlType.F32, [4, 3]);
  const i = ctx.newTensor(GgmlType.I32, [5]);
  assert.throws(() => setF32(a, new Float32Array(12)), (e: MathtuneError) => /not allocated/.test(e.message));
  ctx.allocate(backend);
  assert.ok(ctx.allocatedBytes >= 12 * 4 + 5 * 4);
  const data = Float32Array.from({ length: 12 }, (_, k) => k * 0.5 - 2);
  setF32(a, data);
  assert.deepEqual(getF32(a), data);
  setI32(i, Int32Array.of(1, 2, 3, 4, 5));
  assert.throws(() => setF32(a, new Float32Array(11)), (e: MathtuneError) => /size mismatch/.test(e.message));
  assert.throws(() => setF32(i, new Float32Array(5)), (e: MathtuneError) => /not F32/.test(e.message));
  assert.throws(() => ctx.newTensor(GgmlType.F32, [0]), (e: MathtuneError) => /invalid tensor shape/.test(e.message));
  assert.throws(() => ctx.newTensor(GgmlType.F32, [1, 2, 3, 4, 5]), (e: MathtuneError) => /invalid tensor shape/.test(e.message));
  zeroTensor(a);
  assert.ok(getF32(a).every((x) => x === 0));
  ctx.dispose();
  assert.throws(() => ctx.newTensor(GgmlType.F32, [1]), (e: MathtuneError) => /after dispose/.test(e.message));
});

test("a static graph computes a matrix product, reused with new inputs", () => {
  const params = new Context({ maxTensors: 4 });
  const w = params.newTensor(GgmlType.F32, [3, 2]); // maps 3 -> 2
  const x = params.newTensor(GgmlType.F32, [3, 4]); // 4 vectors
  params.allocate(backend);
  setF32(w, Float32Array.of(1, 2, 3, -1, 0, 1));
  const ctx = new Context({ maxTensors: 16, extraBytes: graphBytes(64) });
  const y = new Tensor(ctx.api.mul_mat(ctx.ptr, w.ptr, x.ptr), GgmlType.F32);
  assert.deepEqual(y.shape, [2, 4]);
  const g = new StaticGraph(ctx, backend, [y], 64);
  assert.equal(g.nodes, 1);
  for (const scale of [1, -2]) {
    const xs = Float32Array.from({ length: 12 }, (_, k) => (k + 1) * scale);
    setF32(x, xs);
    g.compute();
    const got = getF32(y);
    for (let n = 0; n < 4; n++) {
      const [a, b, c] = [xs[3 * n], xs[3 * n + 1], xs[3 * n + 2]];
      assert.deepEqual([got[2 * n], got[2 * n + 1]], [a + 2 * b + 3 * c, -a + c]);
    }
  }
  g.dispose();
  ctx.dispose();
  params.dispose();
});

test("thread count is settable and validated; the backend refuses use after dispose", () => {
  const b = Backend.create({ threads: 2 });
  assert.equal(b.threads, 2);
  b.setThreads(1);
  assert.equal(b.threads, 1);
  assert.throws(() => b.setThreads(0), (e: MathtuneError) => e.code === "E_USAGE");
  assert.throws(() => Backend.create({ threads: 1.5 }), (e: MathtuneError) => e.code === "E_USAGE");
  b.dispose();
  assert.throws(() => b.compute(0n as never), (e: MathtuneError) => /after dispose/.test(e.message));
});

test("a GGML_ASSERT aborts only the process it happens in (checked in a child)", () => {
  const mod = fileURLToPath(new URL("../../src/engine/tensor.ts", import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", `const m = await import(${JSON.stringify(mod)}); m.triggerNativeAbort();`], {
    encoding: "utf8",
  });
  assert.equal(r.signal, "SIGABRT");
  assert.match(r.stderr, /GGML_ASSERT/);
});

test("the CUDA check runs on a GPU, and without one says so and runs nothing (exit 2)", () => {
  const script = fileURLToPath(new URL("../../bench/cuda-check.ts", import.meta.url));
  const r = spawnSync(process.execPath, [...process.execArgv, script, "--steps", "3"], { encoding: "utf8" });
  if (r.status === 2) {
    assert.match(r.stderr, /cuda-check: (no CUDA device found|the CUDA build of ggml cannot be loaded)/);
    assert.match(r.stderr, /nothing was run/);
    assert.equal(r.stdout, "");
  } else {
    // A machine with a GPU: the check ran and printed its verdict.
    assert.match(r.stdout, /^(OK|NOT OK)/m, r.stderr);
  }
});
