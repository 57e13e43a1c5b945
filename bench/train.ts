/**
 * `npm run bench:train`: training throughput of the reference model (4 layers, d_model 256,
 * 4 heads, FFN 768, context 128, batch 16, vocabulary 100) at 1 and 2 threads: tokens/s,
 * effective GFLOP/s (matrix-product FLOPs of forward + backward) and peak RSS; then the same model
 * and batch in PyTorch when `python3 -c "import torch"` works, and the ratio.
 *
 * Every configuration runs in its own process (clean peak RSS, one thread pool at a time).
 * Options: --threads 1,2  --steps 6  --warmup 2  --rounds 1  --no-torch  --matmul-grad out_prod|mul_mat
 */
import { spawnSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Backend, cpuVariant } from "../src/engine/backend.js";
import type { MatmulGradMode } from "../src/engine/autograd.js";
import { initWeights, parameterCount } from "../src/model/checkpoint.js";
import { presetConfig } from "../src/model/config.js";
import { trainFlopsPerToken } from "../src/model/llama.js";
import { TrainSession, type Batch } from "../src/train/session.js";
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
function worker(threads: number, steps: number, warmup: number, mode: MatmulGradMode): Result {
  const backend = Backend.create({ threads });
  const s = new TrainSession({ config, weights: initWeights(config, 1), batch: BATCH, seqLen: T, backend, matmulGrad: mode });
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
    engine: `ggml ${cpuVariant()} (${mode})`,
    threads,
    ms_per_step: ms,
    tokens_per_sec: (T * BATCH * 1000) / ms,
    peak_rss_mib: process.resourceUsage().maxRSS / 1024,
  };
}

function runChild(cmd: string, args: string[]): Result | string {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) return (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ");
  const line = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Result;
  } catch {
    return `unparsable output: ${line}`;
  }
}

function main(): void {
  const threadsList = arg("threads", "1,2").split(",").map(Number);
  const steps = Number(arg("steps", "6"));
  const warmup = Number(arg("warmup", "2"));
  const mode = arg("matmul-grad", "out_prod") as MatmulGradMode;
  if (process.argv.includes("--worker")) {
    process.stdout.write(JSON.stringify(worker(threadsList[0], steps, warmup, mode)) + "\n");
    return;
  }
  const flops = trainFlopsPerToken(config, T);
  const here = fileURLToPath(import.meta.url);
  process.stdout.write(
    `reference model: ${config.nLayers} layers, d_model ${config.dModel}, ${config.nHeads} heads, FFN ${config.ffnDim}, context ${T}, vocab ${VOCAB}, ` +
      `${parameterCount(config).toLocaleString("en-US")} parameters; batch ${BATCH} (${T * BATCH} tokens/step); ${(flops / 1e6).toFixed(1)} MFLOP/token\n` +
      `machine: ${availableParallelism()} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")} at start; median of ${steps} steps after ${warmup} warm-up` +
      `${Number(arg("rounds", "1")) > 1 ? `, fastest of ${arg("rounds", "1")} interleaved rounds` : ""}\n\n`,
  );
  // Debian's python3-torch installs for /usr/bin/python3, which a pyenv or venv python3 on PATH hides.
  const candidates = [process.env.MATHTUNE_PYTHON, "python3", "/usr/bin/python3"].filter((c): c is string => !!c);
  const python = process.argv.includes("--no-torch") ? undefined : candidates.find((c) => spawnSync(c, ["-c", "import torch"], { stdio: "ignore" }).status === 0);
  const torchAvailable = python !== undefined;
  const py = fileURLToPath(new URL("./torch_ref.py", import.meta.url));
  // With --rounds N the configurations run N times, interleaved, and each keeps its fastest round:
  // on a shared machine that is the figure least disturbed by other work.
  const rounds = Number(arg("rounds", "1"));
  const best = new Map<string, Result>();
  const keep = (key: string, r: Result | string, label: string): void => {
    if (typeof r === "string") return void process.stdout.write(`${label} failed: ${r}\n`);
    const prev = best.get(key);
    if (!prev || r.ms_per_step < prev.ms_per_step) best.set(key, r);
  };
  for (let round = 0; round < rounds; round++) {
    for (const th of threadsList) {
      keep(`ggml-${th}`, runChild(process.execPath, [...process.execArgv, here, "--worker", "--threads", String(th), "--steps", String(steps), "--warmup", String(warmup), "--matmul-grad", mode]), `ggml ${th} threads`);
      if (python) {
        keep(`torch-${th}`, runChild(python, [py, "--threads", String(th), "--vocab", String(VOCAB), "--batch", String(BATCH), "--steps", String(steps), "--warmup", String(warmup)]), `pytorch ${th} threads`);
      }
    }
  }
  const rows: Result[] = [
    ...threadsList.map((th) => best.get(`ggml-${th}`)),
    ...threadsList.map((th) => best.get(`torch-${th}`)),
  ].filter((r): r is Result => r !== undefined);
  const head = ["engine", "threads", "ms/step", "tokens/s", "GFLOP/s", "peak RSS MiB"];
  const table = rows.map((r) => [r.engine, String(r.threads), r.ms_per_step.toFixed(0), r.tokens_per_sec.toFixed(0), ((r.tokens_per_sec * flops) / 1e9).toFixed(1), r.peak_rss_mib.toFixed(0)]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const fmt = (row: string[]): string => "| " + row.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |\n";
  process.stdout.write(fmt(head) + "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|\n" + table.map(fmt).join(""));
  if (!torchAvailable) {
    process.stdout.write("\nPyTorch not found (no python3 imports torch; set MATHTUNE_PYTHON to choose one): on Debian, apt-get install python3-torch libopenblas0-pthread\n");
    return;
  }
  for (const th of threadsList) {
    const g = rows.find((r) => r.engine.startsWith("ggml") && r.threads === th);
    const p = rows.find((r) => r.engine.startsWith("pytorch") && r.threads === th);
    if (g && p) process.stdout.write(`\nratio ggml / PyTorch at ${th} thread${th > 1 ? "s" : ""}: ${(g.tokens_per_sec / p.tokens_per_sec).toFixed(2)}x`);
  }
  process.stdout.write(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}\n`);
}

main();
