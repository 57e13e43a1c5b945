/**
 * `npm run bench:train`: training throughput of the reference model (4 layers, d_model 256,
 * 4 heads, FFN 768, context 128, batch 16, vocabulary 100) at 1 and 2 threads: tokens/s,
 * effective GFLOP/s (matrix-product FLOPs of forward + backward) and peak RSS; then the same model
 * and batch in PyTorch when `python3 -c "import torch"` works, and the ratio.
 *
 * Every configuration runs in its own process (clean peak RSS, one thread pool at a time): ggml at
 * each thread count and precision (f32, bf16), PyTorch at each thread count and precision (f32,
 * bf16 autocast), with the OpenBLAS variables of this environment and, where some are set,
 * without them (removed from PyTorch's environment only). It then prints our best against
 * PyTorch's best, and the same-thread ratios.
 * Options: --threads 1,2  --precision f32,bf16  --torch-precision f32,bf16  --steps 6  --warmup 2
 *          --rounds 1  --no-torch  --matmul-grad out_prod|mul_mat
 *          --profile (one step timed node by node, at the first --threads and --precision)
 */
import { spawnSync } from "node:child_process";
import { availableParallelism, cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Backend, cpuVariant } from "../src/engine/backend.js";
import type { MatmulGradMode, MatmulPrecision } from "../src/engine/autograd.js";
import { initWeights, parameterCount } from "../src/model/checkpoint.js";
import { presetConfig } from "../src/model/config.js";
import { trainFlopsPerToken } from "../src/model/llama.js";
import { TrainSession, type Batch, type StepProfile } from "../src/train/session.js";
import { Rng } from "../src/util/rng.js";

const VOCAB = 100;
const BATCH = 16;
const config = presetConfig("reference", VOCAB);
const T = config.contextLength;

interface Result {
  engine: string;
  threads: number;
  ms_per_step: number;
  tokens_per_sec: number;
  peak_rss_mib: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function randomBatch(rng: Rng): Batch {
  const N = T * BATCH;
  const tokens = Int32Array.from({ length: N }, () => rng.int(0, VOCAB - 1));
  const targetIndex = Int32Array.from({ length: N }, (_, i) => i * VOCAB + rng.int(0, VOCAB - 1));
  const weight = new Float32Array(N);
  let n = 0;
  for (let i = 0; i < N; i++) {
    if (rng.next() < 0.3) {
      weight[i] = 1;
      n++;
    }
  }
  for (let i = 0; i < N; i++) weight[i] /= n;
  return { tokens, targetIndex, weight, supervised: n };
}

/** One configuration, in this process. */
function worker(threads: number, steps: number, warmup: number, mode: MatmulGradMode, precision: MatmulPrecision): Result {
  const backend = Backend.create({ threads });
  const s = new TrainSession({ config, weights: initWeights(config, 1), batch: BATCH, seqLen: T, backend, matmulGrad: mode, precision });
  const batch = randomBatch(new Rng(2));
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    s.microStep(batch);
    s.step(1e-3);
    if (i >= warmup) times.push(performance.now() - t0);
  }
  s.dispose();
  backend.dispose();
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  return {
    engine: `ggml ${cpuVariant()} (${precision}, ${mode})`,
    threads,
    ms_per_step: ms,
    tokens_per_sec: (T * BATCH * 1000) / ms,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
}

/** The kind of work a node of the step does, for the profile's summary. */
function nodeGroup(n: StepProfile): string {
  const [, ne1, ne2, ne3] = n.shape;
  const batched = ne2 * ne3 > 1;
  switch (n.op) {
    case "MUL_MAT":
      if (batched) return `attention products (${n.phase === "forward" ? "forward" : "backward"})`;
      if (n.phase === "forward") return "matrix products, forward";
      return ne1 === T * BATCH ? "matrix products, input gradients" : "matrix products, weight gradients";
    case "OUT_PROD":
      return batched ? "attention products (backward)" : "matrix products, weight gradients";
    case "CPY":
    case "CONT":
    case "DUP":
      return "copies (transposes, casts)";
    case "SOFT_MAX":
    case "SOFT_MAX_BACK":
      return "attention softmax";
    case "OPT_STEP_ADAMW":
      return "optimizer (AdamW)";
    case "NONE":
    case "VIEW":
    case "RESHAPE":
    case "PERMUTE":
    case "TRANSPOSE":
      return "views (no work)";
    default:
      return n.phase === "accumulate" ? "gradient accumulation" : n.phase === "norm" ? "gradient norm" : n.phase === "optimizer" ? "optimizer (AdamW)" : "other (norms, RoPE, SwiGLU, loss, ...)";
  }
}

/** `--profile`: one step of the reference model timed node by node, summarised. */
function profile(threads: number, mode: MatmulGradMode, precision: MatmulPrecision): void {
  const backend = Backend.create({ threads });
  const s = new TrainSession({ config, weights: initWeights(config, 1), batch: BATCH, seqLen: T, backend, matmulGrad: mode, precision });
  const batch = randomBatch(new Rng(2));
  for (let i = 0; i < 2; i++) {
    s.microStep(batch);
    s.step(1e-3);
  }
  const t0 = performance.now();
  s.microStep(batch);
  s.step(1e-3);
  const whole = performance.now() - t0;
  const nodes = s.profileStep(batch, 1e-3, 5);
  s.dispose();
  backend.dispose();
  const total = nodes.reduce((a, n) => a + n.ms, 0);
  const groups = new Map<string, { ms: number; count: number }>();
  const ops = new Map<string, { ms: number; count: number }>();
  for (const n of nodes) {
    for (const [map, key] of [[groups, nodeGroup(n)], [ops, `${n.phase} ${n.op}`]] as const) {
      const e = map.get(key) ?? { ms: 0, count: 0 };
      e.ms += n.ms;
      e.count++;
      map.set(key, e);
    }
  }
  const flops = trainFlopsPerToken(config, T) * T * BATCH;
  process.stdout.write(
    `profile of one step, ${threads} thread${threads > 1 ? "s" : ""}, ggml ${cpuVariant()} (${precision}, ${mode}): ${nodes.length} nodes, ` +
      `sum of nodes ${total.toFixed(1)} ms (each node run alone, fastest of 5), whole step ${whole.toFixed(1)} ms\n\n`,
  );
  const print = (title: string, map: Map<string, { ms: number; count: number }>, limit: number): void => {
    const rows = [...map.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, limit);
    const w = Math.max(title.length, ...rows.map(([k]) => k.length));
    process.stdout.write(`| ${title.padEnd(w)} | nodes | ms | share |\n|${"-".repeat(w + 2)}|-------|----|-------|\n`);
    for (const [k, v] of rows) process.stdout.write(`| ${k.padEnd(w)} | ${v.count} | ${v.ms.toFixed(1)} | ${((100 * v.ms) / total).toFixed(1)}% |\n`);
    process.stdout.write("\n");
  };
  print("group", groups, 20);
  print("phase and operation", ops, 15);
  const products = nodes.filter((n) => n.op === "MUL_MAT" || n.op === "OUT_PROD").reduce((a, n) => a + n.ms, 0);
  process.stdout.write(`matrix products: ${products.toFixed(1)} ms, ${(flops / products / 1e6).toFixed(1)} GFLOP/s on the model's ${(flops / 1e9).toFixed(1)} GFLOP per step\n`);
}

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result | string {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env });
  if (r.status !== 0) return (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ");
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Result;
  } catch {
    return `unparsable output: ${line}`;
  }
}

/** The OpenBLAS variables PyTorch's child may inherit from this environment (they pin a kernel). */
const OPENBLAS_VARS = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

function main(): void {
  const threadsList = arg("threads", "1,2").split(",").map(Number);
  const steps = Number(arg("steps", "6"));
  const warmup = Number(arg("warmup", "2"));
  const mode = arg("matmul-grad", "out_prod") as MatmulGradMode;
  const precisions = arg("precision", process.argv.includes("--worker") || process.argv.includes("--profile") ? "f32" : "f32,bf16").split(",") as MatmulPrecision[];
  if (process.argv.includes("--profile")) return profile(threadsList[0], mode, precisions[0]);
  if (process.argv.includes("--worker")) {
    process.stdout.write(JSON.stringify(worker(threadsList[0], steps, warmup, mode, precisions[0])) + "\n");
    return;
  }
  const torchPrecisions = arg("torch-precision", "f32,bf16").split(",");
  const flops = trainFlopsPerToken(config, T);
  const here = fileURLToPath(import.meta.url);
  const inherited = OPENBLAS_VARS.filter((k) => process.env[k] !== undefined);
  process.stdout.write(
    `reference model: ${config.nLayers} layers, d_model ${config.dModel}, ${config.nHeads} heads, FFN ${config.ffnDim}, context ${T}, vocab ${VOCAB}, ` +
      `${parameterCount(config).toLocaleString("en-US")} parameters; batch ${BATCH} (${T * BATCH} tokens/step); ${(flops / 1e6).toFixed(1)} MFLOP/token\n` +
      `machine: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} at start; median of ${steps} steps after ${warmup} warm-up` +
      `${Number(arg("rounds", "1")) > 1 ? `, fastest of ${arg("rounds", "1")} interleaved rounds` : ""}\n` +
      `OpenBLAS variables in this environment: ${inherited.length ? inherited.map((k) => `${k}=${process.env[k]}`).join(" ") : "none"}\n\n`,
  );
  // Debian's python3-torch installs for /usr/bin/python3, which a pyenv or venv python3 on PATH hides.
  const candidates = [process.env.MATHTUNE_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  const python = process.argv.includes("--no-torch") ? undefined : candidates.find((c) => spawnSync(c, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
  const py = fileURLToPath(new URL("./torch_ref.py", import.meta.url));
  // PyTorch runs with the environment as inherited and, where OpenBLAS variables are set, once
  // more with them removed from its own environment only (they pin an older kernel here).
  const torchEnvs: Array<{ label: string; env: NodeJS.ProcessEnv }> = [{ label: inherited.length ? "OpenBLAS vars inherited" : "", env: process.env }];
  if (inherited.length) {
    const env = { ...process.env };
    for (const k of inherited) delete env[k];
    torchEnvs.push({ label: "OpenBLAS vars unset", env });
  }
  // With --rounds N the configurations run N times, interleaved, and each keeps its fastest round:
  // on a shared machine that is the figure least disturbed by other work.
  const rounds = Number(arg("rounds", "1"));
  const best = new Map<string, Result>();
  const keep = (key: string, r: Result | string, label: string): void => {
    if (typeof r === "string") return void process.stdout.write(`${label} failed: ${r}\n`);
    const prev = best.get(key);
    if (!prev || r.ms_per_step < prev.ms_per_step) best.set(key, r);
  };
  const order: string[] = [];
  const key = (k: string): string => {
    if (!order.includes(k)) order.push(k);
    return k;
  };
  for (let round = 0; round < rounds; round++) {
    for (const th of threadsList) {
      for (const p of precisions) {
        const k = key(`ggml ${p} ${th}`);
        keep(k, runChild(process.execPath, [...process.execArgv, here, "--worker", "--threads", String(th), "--steps", String(steps), "--warmup", String(warmup), "--matmul-grad", mode, "--precision", p]), k);
      }
      if (!python) continue;
      for (const p of torchPrecisions) {
        for (const e of torchEnvs) {
          const k = key(`torch ${p} ${th} ${e.label}`);
          const r = runChild(python, [py, "--threads", String(th), "--vocab", String(VOCAB), "--batch", String(BATCH), "--steps", String(steps), "--warmup", String(warmup), "--precision", p], e.env);
          keep(k, typeof r === "string" ? r : { ...r, engine: e.label ? `${r.engine}, ${e.label}` : r.engine }, k);
        }
      }
    }
  }
  const rows = order.map((k) => best.get(k)).filter((r): r is Result => r !== undefined);
  rows.sort((a, b) => (a.engine.startsWith("ggml") === b.engine.startsWith("ggml") ? 0 : a.engine.startsWith("ggml") ? -1 : 1));
  const head = ["engine", "threads", "ms/step", "tokens/s", "GFLOP/s", "peak RSS MiB"];
  const table = rows.map((r) => [r.engine, String(r.threads), r.ms_per_step.toFixed(0), r.tokens_per_sec.toFixed(0), ((r.tokens_per_sec * flops) / 1e9).toFixed(1), r.peak_rss_mib.toFixed(0)]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]): string => "| " + row.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |\n";
  process.stdout.write(fmt(head) + "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|\n" + table.map(fmt).join(""));
  if (!python) {
    process.stdout.write("\nPyTorch not found (no python3 imports torch; set MATHTUNE_PYTHON to choose one): on Debian, apt-get install python3-torch libopenblas0-pthread\n");
    return;
  }
  const fastest = (pred: (r: Result) => boolean): Result | undefined => rows.filter(pred).sort((a, b) => b.tokens_per_sec - a.tokens_per_sec)[0];
  const isGgml = (r: Result): boolean => r.engine.startsWith("ggml");
  const describe = (r: Result | undefined): string => (r ? `${r.tokens_per_sec.toFixed(0)} tok/s (${r.engine}, ${r.threads} thread${r.threads > 1 ? "s" : ""})` : "-");
  const ratio = (a: Result | undefined, b: Result | undefined): string => (a && b ? `${(a.tokens_per_sec / b.tokens_per_sec).toFixed(2)}x` : "-");
  const ours = fastest(isGgml);
  const torchF32 = fastest((r) => !isGgml(r) && r.engine.includes("(f32)"));
  const torchAll = fastest((r) => !isGgml(r));
  process.stdout.write(
    `\nbest ggml:               ${describe(ours)}\n` +
      `best PyTorch F32:        ${describe(torchF32)}\n` +
      `best PyTorch (any):      ${describe(torchAll)}\n` +
      `best vs best:            ${ratio(ours, torchF32)} against PyTorch F32, ${ratio(ours, torchAll)} against PyTorch's best of all configurations\n`,
  );
  for (const th of threadsList) {
    const g = fastest((r) => isGgml(r) && r.threads === th);
    process.stdout.write(
      `${`at ${th} thread${th > 1 ? "s" : ""}:`.padEnd(25)}${ratio(g, fastest((r) => !isGgml(r) && r.threads === th && r.engine.includes("(f32)")))} against PyTorch F32, ${ratio(g, fastest((r) => !isGgml(r) && r.threads === th))} against any PyTorch (ggml's best at ${th}: ${g ? g.engine : "-"})\n`,
    );
  }
  process.stdout.write(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
}

main();
