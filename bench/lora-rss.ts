/**
 * `npm run bench:lora`: peak RSS and step time of a full fine-tune against LoRA on the reference
 * model (4 layers, d_model 256, 4 heads, FFN 768, context 128, vocabulary 100, batch 16), with the
 * base stored as F32, F16 and Q8_0. Each configuration loads its base from a GGUF file as the
 * trainers do (F32 weights for the full fine-tune; stored bytes for LoRA) and runs a few AdamW
 * steps in its own process, so each peak RSS is that configuration's alone.
 *
 * Options: --rank 16  --steps 3  --threads 1
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Backend } from "../src/engine/backend.js";
import { initWeights, loadFrozenModelGguf, loadModelGguf, parameterCount, saveModelGguf } from "../src/model/checkpoint.js";
import { presetConfig } from "../src/model/config.js";
import { GgmlType } from "../src/model/gguf.js";
import { initLora, loraShapes, loraSpec } from "../src/model/lora.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { TrainSession, type Batch } from "../src/train/session.js";
import { Rng } from "../src/util/rng.js";

const BATCH = 16;
const tok = CharTokenizer.fromCorpus(["0123456789+-=*/()abcdefghijklmnopqrstuvwxyz .,"]);
const config = presetConfig("reference", tok.vocabSize);
const T = config.contextLength;

interface Result {
  label: string;
  trained: number;
  buffer_mib: number;
  ms_per_step: number;
  peak_rss_mib: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function randomBatch(rng: Rng): Batch {
  const V = config.vocabSize;
  const N = T * BATCH;
  const tokens = Int32Array.from({ length: N }, () => rng.int(0, V - 1));
  const targetIndex = Int32Array.from({ length: N }, (_, i) => i * V + rng.int(0, V - 1));
  return { tokens, targetIndex, weight: new Float32Array(N).fill(1 / N), supervised: N };
}

/** One configuration, in this process: `lora` 0 is the full fine-tune. */
function worker(path: string, label: string, rank: number, steps: number, threads: number): Result {
  const backend = Backend.create({ threads });
  let s: TrainSession;
  if (rank === 0) {
    const m = loadModelGguf(path);
    s = new TrainSession({ config: m.config, weights: m.weights, batch: BATCH, seqLen: T, backend });
  } else {
    const m = loadFrozenModelGguf(path);
    const spec = loraSpec({ rank });
    s = new TrainSession({ config: m.config, weights: initLora(m.config, spec, 1), batch: BATCH, seqLen: T, backend, lora: { spec, base: m.weights } });
  }
  const trained = [...s.getWeights().values()].reduce((a, w) => a + w.length, 0);
  const batch = randomBatch(new Rng(2));
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    s.microStep(batch);
    s.step(1e-3);
    times.push(performance.now() - t0);
  }
  const buffer = s.bufferBytes;
  s.dispose();
  backend.dispose();
  times.sort((a, b) => a - b);
  return { label, trained, buffer_mib: buffer / 2 ** 20, ms_per_step: times[Math.floor(times.length / 2)], peak_rss_mib: process.resourceUsage().maxRSS / 1024 };
}

async function main(): Promise<void> {
  const rank = Number(arg("rank", "16"));
  const steps = Number(arg("steps", "3"));
  const threads = Number(arg("threads", "1"));
  if (process.argv.includes("--worker")) {
    process.stdout.write(JSON.stringify(worker(arg("path", ""), arg("label", ""), Number(arg("lora", "0")), steps, threads)) + "\n");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "mathtune-bench-lora-"));
  try {
    const weights = initWeights(config, 1);
    const files = { F32: join(dir, "f32.gguf"), F16: join(dir, "f16.gguf"), Q8_0: join(dir, "q8_0.gguf") };
    await saveModelGguf(files.F32, { config, tokenizer: tok, weights });
    await saveModelGguf(files.F16, { config, tokenizer: tok, weights, matrixType: GgmlType.F16 });
    await saveModelGguf(files.Q8_0, { config, tokenizer: tok, weights, matrixType: GgmlType.Q8_0 });
    const runs: Array<[string, string, number]> = [
      ["full fine-tune, F32", files.F32, 0],
      [`LoRA r${rank}, F32 base`, files.F32, rank],
      [`LoRA r${rank}, F16 base`, files.F16, rank],
      [`LoRA r${rank}, Q8_0 base`, files.Q8_0, rank],
    ];
    process.stdout.write(
      `reference model: ${parameterCount(config).toLocaleString("en-US")} parameters, vocab ${config.vocabSize}; batch ${BATCH} x ${T} tokens; ` +
        `LoRA rank ${rank} on q,k,v,o,gate,up,down (${loraShapes(config, loraSpec({ rank })).reduce((a, t) => a + t.shape[0] * t.shape[1], 0).toLocaleString("en-US")} parameters); ` +
        `${steps} steps, ${threads} thread(s); CPU ${cpus()[0]?.model ?? "unknown"}\n\n`,
    );
    const here = fileURLToPath(import.meta.url);
    const rows: string[][] = [];
    for (const [label, path, lora] of runs) {
      const r = spawnSync(process.execPath, [...process.execArgv, here, "--worker", "--path", path, "--label", label, "--lora", String(lora), "--steps", String(steps), "--threads", String(threads)], { encoding: "utf8" });
      if (r.status !== 0) {
        process.stdout.write(`${label} failed: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}\n`);
        continue;
      }
      const x = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Result;
      rows.push([x.label, x.trained.toLocaleString("en-US"), x.buffer_mib.toFixed(1), x.ms_per_step.toFixed(0), x.peak_rss_mib.toFixed(0)]);
    }
    const head = ["configuration", "trained parameters", "ggml buffers MiB", "ms/step", "peak RSS MiB"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const fmt = (row: string[]): string => "| " + row.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |\n";
    process.stdout.write(fmt(head) + "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|\n" + rows.map(fmt).join(""));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
