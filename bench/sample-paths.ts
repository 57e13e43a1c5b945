/**
 * The same sampling work through each path a user runs it by, side by side in one run, on the
 * demo's model: standalone `mathtune sample`, the sampling stage of a recipe (`mathtune recipe`),
 * and `mathtune serve` driven over HTTP; then scoring the samples with `mathtune score` against the
 * same scoring in this process. Each path runs in its own process, as users run it, one at a time.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalModel } from "../src/sample/local.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "bin/mathtune.js");

/** Settings shared by every path (the demo recipe's sampling settings). */
export interface PathsOptions {
  dir: string;
  problems: number;
  n: number;
  parallel: number;
  threads: number | null;
  maxTokens: number;
}

export interface PathFigure {
  path: string;
  tokens: number;
  seconds: number;
  tokensPerSec: number;
}

function run(args: string[]): Promise<{ code: number; out: string; err: string; seconds: number }> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => res({ code: code ?? 1, out, err, seconds: (performance.now() - t0) / 1000 }));
  });
}

function must(r: { code: number; out: string; err: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.out}\n${r.err}`);
}

/** Figures from `tokens in S s (T tok/s)` lines (sample and recipe print them). */
function parseTokens(text: string, what: string): { tokens: number; seconds: number } {
  const m = /(\d+) tokens in ([\d.]+) s/.exec(text);
  if (m === null) throw new Error(`${what}: no "N tokens in S s" line in its output:\n${text}`);
  return { tokens: Number(m[1]), seconds: Number(m[2]) };
}

const figure = (path: string, tokens: number, seconds: number): PathFigure => ({ path, tokens, seconds, tokensPerSec: tokens / seconds });

export async function benchPaths(o: PathsOptions): Promise<PathFigure[]> {
  const model = resolve(root, "models/demo-base.gguf");
  const demo = JSON.parse(readFileSync(join(root, "recipes/demo.json"), "utf8")) as { data: Record<string, unknown>; sampling: { temperature: number; topP: number }; sft: { seqLen: number } };
  mkdirSync(o.dir, { recursive: true });
  const sampling = { ...demo.sampling, seed: 7, n: o.n, greedy: false, parallel: o.parallel, maxTokens: o.maxTokens, ...(o.threads !== null ? { threads: o.threads } : {}) };
  const recipe = {
    name: "bench-paths",
    seed: 1,
    data: { ...demo.data, train: 10, test: o.problems },
    model: { base: model },
    generators: [{ name: "base", sft: false }],
    sft: { seqLen: demo.sft.seqLen },
    sampling,
    evaluator: { enabled: false },
    mtsf: { enabled: false },
    eval: { subsets: 10, bootstrap: 10 },
  };
  const recipeFile = join(o.dir, "recipe.json");
  writeFileSync(recipeFile, JSON.stringify(recipe, null, 2));
  const runDir = join(o.dir, "run");
  const figures: PathFigure[] = [];

  // The recipe first: it draws the problems that every other path then reads.
  const rec = await run(["recipe", recipeFile, "--out", runDir]);
  must(rec, "mathtune recipe");
  const recTokens = parseTokens(rec.err + rec.out, "the recipe's sample stage");
  figures.push(figure("recipe stage (mathtune recipe)", recTokens.tokens, recTokens.seconds));
  const problems = join(runDir, "data/test.jsonl");

  const common = ["--n", String(o.n), "--temperature", String(sampling.temperature), "--top-p", String(sampling.topP), "--max-tokens", String(o.maxTokens), "--parallel", String(o.parallel), ...(o.threads !== null ? ["--threads", String(o.threads)] : [])];
  const samplesFile = join(o.dir, "standalone.jsonl");
  const sam = await run(["sample", "--data", problems, "--model", model, "--out", samplesFile, "--quiet", "--seed", "7", ...common]);
  must(sam, "mathtune sample");
  const samTokens = parseTokens(sam.err + sam.out, "mathtune sample");
  figures.push(figure("standalone mathtune sample", samTokens.tokens, samTokens.seconds));

  // serve: a server child, and `mathtune sample --server` as its client (one request per sample).
  const serve = spawn(process.execPath, [cli, "serve", "--model", model, "--port", "0", "--parallel", String(o.parallel), ...(o.threads !== null ? ["--threads", String(o.threads)] : [])], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((res, rej) => {
      let out = "";
      serve.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /on (http:\/\/\S+)/.exec(out);
        if (m) res(m[1]);
      });
      serve.on("exit", (code) => rej(new Error(`serve exited with ${code}`)));
    });
    const viaServer = ["--n", String(o.n), "--temperature", String(sampling.temperature), "--top-p", String(sampling.topP), "--max-tokens", String(o.maxTokens), "--concurrency", String(o.parallel)];
    const srv = await run(["sample", "--data", problems, "--server", url, "--out", join(o.dir, "served.jsonl"), "--quiet", "--seed", "7", ...viaServer]);
    must(srv, "mathtune sample --server (serve)");
    // A server reply with n choices gives one usage count for all of them: count the texts' tokens.
    const srvSeconds = parseTokens(srv.err + srv.out, "mathtune sample --server").seconds;
    const served = readFileSync(join(o.dir, "served.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { text: string }).text);
    const counter = await LocalModel.open(model, { threads: 1, parallel: 1 });
    const srvTokens = served.reduce((a, t) => a + counter.model.tokenize(t, false).length, 0);
    await counter.close();
    figures.push(figure("mathtune serve (over HTTP)", srvTokens, srvSeconds));
  } finally {
    serve.kill("SIGTERM");
  }

  // Scoring: the standalone samples' log-likelihood through `mathtune score`, and the same texts
  // scored in this process. Scored tokens per second (prompt and continuation evaluated, the
  // continuation's tokens counted).
  const scoredFile = join(o.dir, "scored.jsonl");
  const sc = await run(["score", "--model", model, "--samples", samplesFile, "--problems", problems, "--out", scoredFile, "--likelihood", "sequence", "--parallel", String(o.parallel), "--context-size", String(demo.sft.seqLen), "--quiet", ...(o.threads !== null ? ["--threads", String(o.threads)] : [])]);
  must(sc, "mathtune score");
  const scSeconds = /in ([\d.]+) s ->/.exec(sc.out);
  if (scSeconds === null) throw new Error(`mathtune score: no "in S s ->" in its output:\n${sc.out}`);

  const texts = readFileSync(samplesFile, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { problem_id: string; text: string });
  const byId = new Map(readFileSync(problems, "utf8").trim().split("\n").map((l) => { const p = JSON.parse(l) as { id: string; problem: string }; return [p.id, p.problem]; }));
  const local = await LocalModel.open(model, { parallel: o.parallel, contextSize: demo.sft.seqLen, ...(o.threads !== null ? { threads: o.threads } : {}) });
  try {
    const t0 = performance.now();
    const lps = await Promise.all(texts.map((s) => local.continuationLogprobs(`Problem: ${byId.get(s.problem_id)}\nSolution:\n`, s.text)));
    const seconds = (performance.now() - t0) / 1000;
    const scored = lps.reduce((a, l) => a + l.logprobs.length, 0);
    // The CLI scores the same texts (plus nothing else), so it scored the same tokens.
    figures.push(figure("mathtune score --likelihood", scored, Number(scSeconds[1])));
    figures.push(figure("the same scoring in this process", scored, seconds));
  } finally {
    await local.close();
  }
  return figures;
}
