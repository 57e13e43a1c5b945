// The sample stages: N solutions per test problem from a generator (local GGUF or server).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { ErrorCode, MathtuneError } from "../../errors.js";
import type { Problem, Sample } from "../../data/records.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import type { Stage } from "../framework.js";
import { paths, readProblemList, promptFormatConfig, recipeGeneratorFormat, type Arm } from "./shared.js";

/** The sampling settings that shape the samples (threads and parallelism do not); `problems`: the N-sampled test problems of the arm. */
export function samplingConfig(r: Recipe, problems: number = r.sampling.problems): Record<string, unknown> {
  const s = r.sampling;
  return {
    n: s.n,
    greedy: s.greedy,
    ...(problems > 0 ? { problems } : {}),
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    maxTokens: s.maxTokens,
    stop: s.stop,
    contextSize: s.contextSize ?? r.sft.seqLen,
    server: s.server === null ? null : { url: s.server.url, modelName: s.server.modelName, chat: s.server.chat },
    seed: seedOf(r, "sampling"),
    template: r.promptTemplate,
    ...promptFormatConfig(r),
  };
}

export function sampleStage(r: Recipe, gen: Arm): Stage {
  const m = gen.model;
  const s = r.sampling;
  const nProblems = gen.sampledProblems ?? s.problems;
  return {
    id: `sample/${gen.name}`,
    title: `sample ${s.greedy ? "1 greedy + " : ""}${s.n} solutions per test problem${nProblems > 0 ? ` (the N on the first ${nProblems})` : ""} from ${gen.name}`,
    version: 1,
    config: samplingConfig(r, nProblems),
    inputs: [paths.test, ...(m.rel ? [m.rel] : [])],
    externalInputs: m.abs ? [m.abs] : [],
    outputs: [paths.samples(gen.name)],
    async run(ctx) {
      const { runSampling } = await import("../../sample/run.js");
      const problems = readProblemList(ctx.path(paths.test));
      const out = ctx.path(paths.samples(gen.name));
      mkdirSync(dirname(out), { recursive: true });
      const format = await recipeGeneratorFormat(r);
      const sampler = await openSampler(r, m.rel ? ctx.path(m.rel) : m.abs);
      const prompt = (p: Problem): string => format.prompt(p.problem);
      const common = {
        problems,
        sampler,
        out,
        prompt,
        temperature: s.temperature,
        topP: s.topP,
        topK: s.topK,
        maxTokens: s.maxTokens,
        stop: s.stop,
        seed: seedOf(r, "sampling"),
      };
      let tokens = 0;
      let seconds = 0;
      try {
        if (s.greedy) {
          const g = await runSampling({ ...common, greedy: true });
          tokens += g.tokens;
          seconds += g.seconds;
        }
        const sampled = nProblems > 0 ? problems.slice(0, nProblems) : problems;
        const res = await runSampling({ ...common, problems: sampled, n: s.n });
        tokens += res.tokens;
        seconds += res.seconds;
      } finally {
        await sampler.close();
      }
      const tps = tokens / Math.max(seconds, 1e-9);
      ctx.say(`  ${tokens} tokens in ${seconds.toFixed(1)} s (${tps.toFixed(0)} tok/s)`);
      return { tokens, tokens_per_sec: Math.round(tps) };
    },
  };
}

export async function openSampler(r: Recipe, modelPath: string | undefined) {
  const s = r.sampling;
  if (s.server !== null) {
    const { HttpSampler } = await import("../../sample/http.js");
    return HttpSampler.connect({
      url: s.server.url,
      ...(s.server.modelName !== null ? { model: s.server.modelName } : {}),
      api: s.server.chat ? "chat" : "completions",
      concurrency: s.server.concurrency,
      timeoutMs: s.server.timeoutSeconds * 1000,
      retries: s.server.retries,
    });
  }
  if (modelPath === undefined) throw new MathtuneError(ErrorCode.usage, "no model to sample", { hint: "set model.base or sampling.server" });
  const { LocalModel } = await import("../../sample/local.js");
  const contextSize = s.contextSize ?? r.sft.seqLen;
  return LocalModel.open(modelPath, {
    ...(s.threads !== null ? { threads: s.threads } : {}),
    parallel: s.parallel,
    ...(s.contexts !== null ? { contexts: s.contexts } : {}),
    ...(contextSize !== null ? { contextSize } : {}),
    // The chat format's prompts hold special tokens as text.
    ...(r.promptFormat === "chat" ? { specialTokens: true } : {}),
  });
}

/** Samples in a canonical order: problems as in the test file, greedy first, then by index. */
export function canonicalOrder(samples: Sample[], problems: readonly Problem[]): Sample[] {
  const rank = new Map(problems.map((p, i) => [p.id, i]));
  return [...samples].sort(
    (a, b) =>
      (rank.get(a.problem_id) ?? Infinity) - (rank.get(b.problem_id) ?? Infinity) ||
      a.problem_id.localeCompare(b.problem_id) ||
      Number(b.greedy === true) - Number(a.greedy === true) ||
      a.sample - b.sample,
  );
}
