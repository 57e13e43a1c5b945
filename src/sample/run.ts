/**
 * Sampling N candidate solutions per problem into an append-only JSONL file that a restart
 * resumes: each finished sample is appended at once, and a rerun skips the (problem_id, sample)
 * pairs already in the file, so a crash or a killed server loses only the samples in flight.
 */
import { existsSync } from "node:fs";
import { MathtuneError, ErrorCode } from "../errors.js";
import { SampleSchema, type Problem, type Sample } from "../data/records.js";
import { appendJsonl, readJsonl, repairJsonlTail } from "../util/jsonl.js";
import { hashString } from "../util/rng.js";
import { createProgress } from "../util/progress.js";
import type { Completion, Sampler } from "./types.js";

/** Options of {@link runSampling}. */
export interface SamplingRunOptions {
  problems: Problem[];
  sampler: Sampler;
  /** The samples file (appended to; created when missing). */
  out: string;
  /** Builds the generator prompt of a problem. */
  prompt: (problem: Problem) => string;
  /** Samples per problem. Defaults to 64. */
  n?: number;
  /** Greedy decoding: one sample per problem (sample 0, `greedy: true`), temperature 0. Defaults to false. */
  greedy?: boolean;
  /** Defaults to 1. */
  temperature?: number;
  /** Defaults to 1. */
  topP?: number;
  /** Defaults to 0 (off). */
  topK?: number;
  /** Defaults to 512. */
  maxTokens?: number;
  /** Defaults to none. */
  stop?: string[];
  /** Base seed; each sample's seed is derived from it, the problem id and the sample index. Defaults to 0. */
  seed?: number;
  /** Print no progress. Defaults to false. */
  quiet?: boolean;
  /** Where warnings go (one line each, no newline). Defaults to stderr, even when quiet. */
  warn?: (message: string) => void;
}

/** What a run did. */
export interface SamplingRunResult {
  /** Samples written by this run. */
  written: number;
  /** Samples found already done in the file. */
  skipped: number;
  /** Generated tokens in this run. */
  tokens: number;
  seconds: number;
}

/** The seed of sample `index` of `problemId`: stable across runs, so a resumed run matches a fresh one. */
export function sampleSeed(baseSeed: number, problemId: string, index: number): number {
  return hashString(`${baseSeed}\u0000${problemId}\u0000${index}`);
}

const key = (problemId: string, index: number, greedy: boolean): string => `${greedy ? "g" : "s"}\u0000${index}\u0000${problemId}`;

/**
 * Warns when the model's context leaves some prompts less room than `maxTokens`: their samples end
 * with finish "length" after fewer tokens than asked for, which otherwise reads like a bug in the
 * samples file (a short text marked "length").
 */
function warnContextRoom(options: SamplingRunOptions, problems: readonly Problem[]): void {
  const room = options.sampler.contextRoom?.bind(options.sampler);
  if (room === undefined) return;
  const maxTokens = options.maxTokens ?? 512;
  const seen = new Set<string>();
  let capped = 0;
  let least = Infinity;
  for (const p of problems) {
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    const r = room(options.prompt(p));
    if (r < maxTokens) {
      capped++;
      least = Math.min(least, r);
    }
  }
  if (capped === 0) return;
  const warn = options.warn ?? ((m: string) => process.stderr.write(`${m}\n`));
  warn(
    `warning: for ${capped} of ${seen.size} problems the model's context leaves room for fewer than the ${maxTokens} tokens asked for ` +
      `(as few as ${Math.max(least, 0)}); their samples stop there with finish "length"` +
      (least <= 0 ? ", and a prompt that fills the context is an error" : ""),
  );
}

/** Runs (or resumes) sampling; see the module comment. */
export async function runSampling(options: SamplingRunOptions): Promise<SamplingRunResult> {
  const greedy = options.greedy ?? false;
  const n = greedy ? 1 : (options.n ?? 64);
  if (!Number.isInteger(n) || n < 1) throw new MathtuneError(ErrorCode.usage, `n must be a positive integer (got ${n})`);
  const ids = new Set<string>();
  for (const p of options.problems) {
    if (ids.has(p.id)) throw new MathtuneError(ErrorCode.input, `problem id ${JSON.stringify(p.id)} appears twice`, { hint: "ids must be unique" });
    ids.add(p.id);
  }

  // Resume: drop a line cut off by a crash, then skip what is done.
  const done = new Set<string>();
  if (existsSync(options.out)) {
    repairJsonlTail(options.out);
    for (const s of readJsonl(options.out, SampleSchema)) done.add(key(s.problem_id, s.sample, s.greedy === true));
  }

  interface Job {
    problem: Problem;
    indices: number[];
  }
  const jobs: Job[] = [];
  let skipped = 0;
  for (const problem of options.problems) {
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      if (done.has(key(problem.id, i, greedy))) skipped++;
      else missing.push(i);
    }
    if (missing.length === 0) continue;
    // A backend with a native `n` gets one call for a fresh problem; otherwise one call per
    // sample, so each is appended the moment it finishes.
    if (options.sampler.capabilities.nativeN && missing.length === n && n > 1) jobs.push({ problem, indices: missing });
    else for (const i of missing) jobs.push({ problem, indices: [i] });
  }

  warnContextRoom(options, jobs.map((j) => j.problem));

  const total = options.problems.length * n;
  const progress = createProgress({ label: greedy ? "greedy" : "sample", total, silent: options.quiet });
  const perProblemLeft = new Map<string, number>();
  for (const j of jobs) perProblemLeft.set(j.problem.id, (perProblemLeft.get(j.problem.id) ?? 0) + j.indices.length);
  const problemsTotal = options.problems.length;
  let problemsDone = problemsTotal - perProblemLeft.size;
  let written = 0;
  let tokens = 0;
  const t0 = performance.now();
  const report = (): void => {
    const sec = (performance.now() - t0) / 1000;
    progress.update(skipped + written, {
      problems: `${problemsDone}/${problemsTotal}`,
      "samples/s": (written / Math.max(sec, 1e-9)).toFixed(1),
      "tok/s": (tokens / Math.max(sec, 1e-9)).toFixed(0),
    });
  };
  report();

  const temperature = greedy ? 0 : (options.temperature ?? 1);
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < jobs.length) {
      const job = jobs[next++];
      const seeds = job.indices.map((i) => sampleSeed(options.seed ?? 0, job.problem.id, i));
      let completions: Completion[];
      try {
        completions = await options.sampler.generate(options.prompt(job.problem), {
          n: job.indices.length,
          temperature,
          topP: greedy ? 1 : (options.topP ?? 1),
          topK: greedy ? 0 : (options.topK ?? 0),
          maxTokens: options.maxTokens ?? 512,
          stop: options.stop,
          seeds,
        });
      } catch (err) {
        failure ??= err;
        return;
      }
      const records: Sample[] = completions.map((c, k) => ({
        problem_id: job.problem.id,
        sample: job.indices[k],
        text: c.text,
        ...(c.tokens !== undefined ? { tokens: c.tokens } : {}),
        finish: c.finish,
        ...(c.seed !== undefined ? { seed: c.seed } : {}),
        ...(greedy ? { greedy: true } : {}),
      }));
      appendJsonl(options.out, records);
      written += records.length;
      tokens += completions.reduce((a, c) => a + (c.tokens ?? 0), 0);
      const left = (perProblemLeft.get(job.problem.id) ?? 0) - records.length;
      perProblemLeft.set(job.problem.id, left);
      if (left === 0) problemsDone++;
      report();
    }
  };
  const workers = Math.max(1, Math.min(options.sampler.capabilities.maxConcurrency, jobs.length));
  await Promise.all(Array.from({ length: workers }, () => worker()));
  progress.stop();
  if (failure !== undefined) throw failure;
  return { written, skipped, tokens, seconds: (performance.now() - t0) / 1000 };
}
