/**
 * CUDA check: trains the reference model (4 layers, d_model 256, 4 heads, FFN 768, context 128,
 * batch 16) for a few steps on the CUDA backend and on the CPU from the same initial weights and
 * batches, and compares the two loss curves step by step.
 *
 * Needs an NVIDIA GPU with its driver (libcuda.so.1) and @node-llama-cpp/linux-x64-cuda
 * (+ -cuda-ext), which `npm install` brings on linux-x64. Without a usable GPU it says so and exits
 * with code 2 without running anything.
 *
 * Usage: node --import tsx bench/cuda-check.ts [--steps 20] [--threads N]
 */
import { Backend, defaultThreads, listDevices } from "../src/engine/backend.js";
import { loadGgml } from "../src/engine/ffi.js";
import { MathtuneError } from "../src/errors.js";
import { initWeights } from "../src/model/checkpoint.js";
import { presetConfig } from "../src/model/config.js";
import { TrainSession, type Batch } from "../src/train/session.js";
import { Rng } from "../src/util/rng.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const STEPS = arg("steps", 20);
const VOCAB = 100;
const BATCH = 16;
const config = presetConfig("reference", VOCAB);
const T = config.contextLength;

/** A learnable stream: sequences of a repeating random pattern, so the loss must fall. */
function batches(n: number): Batch[] {
  const rng = new Rng(5);
  const out: Batch[] = [];
  for (let s = 0; s < n; s++) {
    const N = T * BATCH;
    const tokens = new Int32Array(N);
    for (let b = 0; b < BATCH; b++) {
      const period = rng.int(3, 9);
      const pattern = Array.from({ length: period }, () => rng.int(0, VOCAB - 1));
      for (let t = 0; t < T; t++) tokens[b * T + t] = pattern[t % period];
    }
    const targetIndex = Int32Array.from({ length: N }, (_, i) => i * VOCAB + ((i + 1) % T === 0 ? tokens[i] : tokens[i + 1]));
    const weight = new Float32Array(N).fill(1 / N);
    out.push({ tokens, targetIndex, weight, supervised: N });
  }
  return out;
}

function curve(backend: Backend, data: Batch[]): { losses: number[]; msPerStep: number } {
  const s = new TrainSession({ config, weights: initWeights(config, 1), batch: BATCH, seqLen: T, backend });
  const losses: number[] = [];
  const t0 = performance.now();
  try {
    for (const b of data) {
      s.microStep(b);
      losses.push(s.step(1e-3).loss);
    }
  } finally {
    s.dispose();
  }
  return { losses, msPerStep: (performance.now() - t0) / data.length };
}

function main(): number {
  try {
    loadGgml("cuda");
  } catch (err) {
    process.stderr.write(`cuda-check: the CUDA build of ggml cannot be loaded: ${(err as Error).message}\nnothing was run.\n`);
    return 2;
  }
  const gpus = listDevices("cuda").filter((d) => d.type === "gpu");
  if (gpus.length === 0) {
    process.stderr.write(
      "cuda-check: no CUDA device found (no NVIDIA GPU, or its driver libcuda.so.1 is missing); nothing was run.\n" +
        "It needs an NVIDIA GPU with its driver and @node-llama-cpp/linux-x64-cuda (+ -cuda-ext), installed by npm on linux-x64.\n",
    );
    return 2;
  }
  process.stdout.write(`GPU: ${gpus.map((g) => `${g.name} (${g.description})`).join(", ")}\n`);
  const data = batches(STEPS);
  const cuda = Backend.create({ kind: "cuda" });
  const gpu = curve(cuda, data);
  cuda.dispose();
  const cpuBackend = Backend.create({ kind: "cpu", threads: arg("threads", defaultThreads()) });
  const cpu = curve(cpuBackend, data);
  cpuBackend.dispose();
  process.stdout.write("| step | CPU loss | CUDA loss | abs diff |\n|---|---|---|---|\n");
  let worst = 0;
  for (let i = 0; i < STEPS; i++) {
    const d = Math.abs(cpu.losses[i] - gpu.losses[i]);
    worst = Math.max(worst, d / Math.max(1, Math.abs(cpu.losses[i])));
    process.stdout.write(`| ${i + 1} | ${cpu.losses[i].toFixed(5)} | ${gpu.losses[i].toFixed(5)} | ${d.toExponential(2)} |\n`);
  }
  const fell = gpu.losses[STEPS - 1] < gpu.losses[0] - 0.5;
  process.stdout.write(`\nms/step: CPU ${cpu.msPerStep.toFixed(0)}, CUDA ${gpu.msPerStep.toFixed(0)}; worst relative loss difference ${worst.toExponential(2)}\n`);
  // F32 on both; the GPU's different summation orders drift a little as training proceeds.
  const ok = worst < 2e-2 && fell;
  process.stdout.write(ok ? "OK: the CUDA loss curve follows the CPU one and falls\n" : `NOT OK${fell ? "" : " (the CUDA loss did not fall)"}\n`);
  return ok ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`cuda-check: ${err instanceof MathtuneError ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
