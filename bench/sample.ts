/**
 * `npm run bench:sample`: sampling and scoring throughput, in three parts (all by default; choose
 * with `--part raw,paths,parallel`):
 *
 * - raw: aggregate generated tokens/s for 32 parallel sequences x 64 new tokens on the reference
 *   model (4 layers, d_model 256, 4 heads, FFN 768, context 128; random weights), 1 thread,
 *   through our LocalModel sampler and through raw node-llama-cpp calls in the same run. Targets:
 *   our overhead at most 10% of raw, and at least 500 tokens/s.
 * - paths: the demo's model sampled through standalone `mathtune sample`, a recipe's sampling
 *   stage and `mathtune serve`, and scored through `mathtune score` and in-process, side by side
 *   (bench/sample-paths.ts). Target: every path within 10% of standalone sampling's tokens/s
 *   (scoring: of in-process scoring).
 * - parallel: the demo's model at each `--parallels` value (default 1,2,4,8,16,32,2x2,4x2,8x2,16x2;
 *   PxC: P sequences over C contexts), 1 thread per context: generated tokens/s, to choose the
 *   defaults of `parallel` and `contexts`.
 *
 *   npm run bench:sample -- [--part raw,paths,parallel] [--threads 1] [--seqs 32] [--tokens 64]
 *     [--rounds 5] [--problems 40] [--n 16] [--parallel 4] [--parallels 1,2,4,8,16,32,2x2,4x2,8x2,16x2]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { presetConfig } from "../src/model/config.js";
import { initWeights, parameterCount, saveModelGguf } from "../src/model/checkpoint.js";
import { CharTokenizer } from "../src/model/tokenizer.js";
import { LocalModel } from "../src/sample/local.js";
import { synthesizeWorld, type Level, type Skill } from "../src/data/synth/world.js";
import { benchPaths } from "./sample-paths.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
function list(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : fallback).split(",").filter((x) => x.length > 0);
}

const parts = new Set(list("part", "raw,paths,parallel"));
const threads = arg("threads", 1);
const seqs = arg("seqs", 32);
const newTokens = arg("tokens", 64);
const rounds = arg("rounds", 5);
const PROMPT = "Problem: What is 17 + 25?\nSolution:\n";
const sampling = { temperature: 0.9, topP: 0.95, topK: 0, minP: 0 };
const row = (k: string, v: string): void => console.log(`${k.padEnd(34)} ${v}`);

/**
 * Wall time and CPU time (all threads of this process: Node plus llama.cpp's). On a shared
 * machine the wall-clock figure swings with other jobs' load; CPU time per token is far steadier,
 * and any extra work of our wrapper shows up in it.
 */
interface Measure {
  tokens: number;
  seconds: number;
  cpuSeconds: number;
}
function measure(tokens: number, t0: number, c0: NodeJS.CpuUsage): Measure {
  const c = process.cpuUsage(c0);
  return { tokens, seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
}

console.log(`cpu: ${cpus()[0]?.model ?? "unknown"} x ${cpus().length}`);

async function benchRaw(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-bench-"));
  try {
    const tokenizer = CharTokenizer.ascii();
    const config = presetConfig("reference", tokenizer.vocabSize);
    const path = join(dir, "reference.gguf");
    await saveModelGguf(path, { config, tokenizer, weights: initWeights(config, 1) });
  
    // Ours: the sampler the CLI uses. Raw: a second context on the same loaded model (so both read
    // the same weights), `seqs` sequences each evaluating the prompt and then `newTokens` sampled
    // tokens; node-llama-cpp batches the sequences' decode steps together.
    const ours = await LocalModel.open(path, { threads, parallel: seqs, contextSize: config.contextLength });
    const rawModel = ours.model;
    const rawCtx = await rawModel.createContext({ sequences: seqs, contextSize: config.contextLength, threads, batchSize: 512, flashAttention: false });
    const rawSeqs = Array.from({ length: seqs }, () => rawCtx.getSequence());
    const promptTokens = [rawModel.tokens.bos!, ...rawModel.tokenize(PROMPT, false)];
    async function rawOne(seq: LlamaContextSequence, seed: number): Promise<number> {
      let n = 0;
      for await (const _ of seq.evaluate(promptTokens as Token[], { ...sampling, seed, yieldEogToken: true })) {
        if (++n >= newTokens) break;
      }
      await seq.clearHistory();
      return n;
    }
    async function rawRound(round: number): Promise<Measure> {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const counts = await Promise.all(rawSeqs.map((s, i) => rawOne(s, round * 1000 + i)));
      return measure(counts.reduce((a, b) => a + b, 0), t0, c0);
    }
  
    async function oursRound(round: number): Promise<Measure> {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const out = await ours.generate(PROMPT, {
        n: seqs,
        temperature: sampling.temperature,
        topP: sampling.topP,
        maxTokens: newTokens,
        seeds: Array.from({ length: seqs }, (_, i) => round * 1000 + i),
        ignoreEos: true,
      });
      return measure(out.reduce((a, c) => a + (c.tokens ?? 0), 0), t0, c0);
    }
  
    await rawRound(-1); // warm-up: first-use allocations in both paths
    await oursRound(-1);
    const raw: number[] = [];
    const mine: number[] = [];
    const rawCpu: number[] = [];
    const mineCpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Interleaved, and in alternating order, so drift in machine load hits both sides alike.
      let a: Measure;
      let b: Measure;
      if (r % 2 === 0) {
        a = await rawRound(r);
        b = await oursRound(r);
      } else {
        b = await oursRound(r);
        a = await rawRound(r);
      }
      if (a.tokens !== seqs * newTokens || b.tokens !== seqs * newTokens) throw new Error(`token counts ${a.tokens} / ${b.tokens}, expected ${seqs * newTokens}`);
      raw.push(a.tokens / a.seconds);
      mine.push(b.tokens / b.seconds);
      rawCpu.push(a.tokens / a.cpuSeconds);
      mineCpu.push(b.tokens / b.cpuSeconds);
    }
    const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const rawTps = median(raw);
    const oursTps = median(mine);
    const overhead = (rawTps - oursTps) / rawTps;
    const rawCpuTps = median(rawCpu);
    const oursCpuTps = median(mineCpu);
    const cpuOverhead = (rawCpuTps - oursCpuTps) / rawCpuTps;
      row("model", `reference (${config.nLayers} layers, d ${config.dModel}, ${config.nHeads} heads, FFN ${config.ffnDim}, ctx ${config.contextLength}, vocab ${config.vocabSize}, ${(parameterCount(config) / 1e6).toFixed(2)}M params)`);
    row("workload", `${seqs} sequences x ${newTokens} tokens, ${threads} thread(s), ${rounds} rounds (median)`);
    row("raw node-llama-cpp", `${rawTps.toFixed(0)} tok/s  (rounds: ${raw.map((x) => x.toFixed(0)).join(", ")})`);
    row("mathtune LocalModel", `${oursTps.toFixed(0)} tok/s  (rounds: ${mine.map((x) => x.toFixed(0)).join(", ")})`);
    row("overhead vs raw (wall)", `${(overhead * 100).toFixed(1)}%  (target <= 10%: ${overhead <= 0.1 ? "OK" : "NOT OK"})`);
    row("per CPU-second: raw / ours", `${rawCpuTps.toFixed(0)} / ${oursCpuTps.toFixed(0)} tok/CPU-s`);
    row("overhead vs raw (CPU time)", `${(cpuOverhead * 100).toFixed(1)}%  (target <= 10%: ${cpuOverhead <= 0.1 ? "OK" : "NOT OK"})`);
    row("throughput target", `>= 500 tok/s: ${oursTps >= 500 ? "OK" : "NOT OK"}`);
    console.log(JSON.stringify({ bench: "sample", threads, seqs, newTokens, rawTokensPerSec: +rawTps.toFixed(1), oursTokensPerSec: +oursTps.toFixed(1), overhead: +overhead.toFixed(4), rawTokensPerCpuSec: +rawCpuTps.toFixed(1), oursTokensPerCpuSec: +oursCpuTps.toFixed(1), cpuOverhead: +cpuOverhead.toFixed(4) }));
    await rawCtx.dispose();
    await ours.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchParallel(): Promise<void> {
  const problems = arg("problems", 40);
  const n = arg("n", 16);
  const maxTokens = arg("max-tokens", 144);
  const demo = JSON.parse(readFileSync(new URL("../recipes/demo.json", import.meta.url), "utf8")) as { data: { levels: number[]; skills: string[]; maxChars: number }; sft: { seqLen: number } };
  const world = synthesizeWorld({ seed: 1, n: 1, validation: 0, test: problems, levels: demo.data.levels as Level[], skills: demo.data.skills as Skill[], maxChars: demo.data.maxChars });
  const path = new URL("../models/demo-base.gguf", import.meta.url).pathname;
  row("parallel sweep", `demo-base.gguf, ${problems} synthetic test problems x ${n} samples, temperature 0.9, top-p 0.95, max ${maxTokens} tokens, ${threads} thread(s)`);
  // Each entry is `parallel` or `parallel x contexts` (e.g. 8x2: 8 sequences over 2 contexts).
  for (const spec of list("parallels", "1,2,4,8,16,32,2x2,4x2,8x2,16x2")) {
    const [p, contexts] = spec.split("x").map(Number) as [number, number | undefined];
    const m = await LocalModel.open(path, { threads, parallel: p, contexts: contexts ?? 1, contextSize: demo.sft.seqLen });
    try {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      let next = 0;
      let tokens = 0;
      // As runSampling does: `parallel` completions in flight, one per sample.
      const jobs = world.test.flatMap((q) => Array.from({ length: n }, (_, i) => ({ q, seed: 1000 + i })));
      await Promise.all(
        Array.from({ length: p }, async () => {
          while (next < jobs.length) {
            const j = jobs[next++];
            const [c] = await m.generate(`Problem: ${j.q.problem}\nSolution:\n`, { n: 1, temperature: 0.9, topP: 0.95, maxTokens, seeds: [j.seed] });
            tokens += c.tokens ?? 0;
          }
        }),
      );
      const r = measure(tokens, t0, c0);
      row(`  parallel ${p}${contexts !== undefined ? `, ${contexts} contexts` : ""}`, `${(r.tokens / r.seconds).toFixed(0)} tok/s wall, ${(r.tokens / r.cpuSeconds).toFixed(0)} tok/CPU-s (${r.tokens} tokens in ${r.seconds.toFixed(1)} s)`);
    } finally {
      await m.close();
    }
  }
}

async function benchPathsPart(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-bench-paths-"));
  try {
    const figures = await benchPaths({ dir, problems: arg("problems", 40), n: arg("n", 16), parallel: arg("parallel", 4), threads: process.argv.includes("--threads") ? threads : null, maxTokens: arg("max-tokens", 144) });
    const standalone = figures.find((f) => f.path.startsWith("standalone"))!;
    const inProcess = figures.find((f) => f.path.startsWith("the same scoring"))!;
    row("paths", "demo-base.gguf, the demo's sampling settings; each path in its own process");
    for (const f of figures) {
      const ref = f.path.includes("scor") ? inProcess : standalone;
      const ratio = f.tokensPerSec / ref.tokensPerSec;
      row(`  ${f.path}`, `${f.tokensPerSec.toFixed(0)} tok/s (${f.tokens} tokens in ${f.seconds.toFixed(1)} s)` + (f === ref ? "" : `, ${(100 * ratio).toFixed(0)}% of ${ref === standalone ? "standalone" : "in-process"} (target >= 90%: ${ratio >= 0.9 ? "OK" : "NOT OK"})`));
    }
    console.log(JSON.stringify({ bench: "sample-paths", figures }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (parts.has("raw")) await benchRaw();
if (parts.has("paths")) await benchPathsPart();
if (parts.has("parallel")) await benchParallel();
