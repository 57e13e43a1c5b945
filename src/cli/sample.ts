/** `mathtune sample`: N candidate solutions per problem, from a local GGUF model or a server. */
import type { Command } from "commander";
import { MathtuneError, ErrorCode } from "../errors.js";
import { ProblemSchema } from "../data/records.js";
import { readJsonl } from "../util/jsonl.js";
import { runSampling } from "../sample/run.js";
import type { Sampler } from "../sample/types.js";
import { contextsOption, kvCacheOption, promptFormatOption, systemPromptOption } from "./options.js";

/** Parses a numeric option or fails with a usage error naming it. */
export function num(name: string, opts: { int?: boolean; min?: number; max?: number } = {}): (v: string) => number {
  return (v: string) => {
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || (opts.int && !Number.isInteger(x)) || (opts.min !== undefined && x < opts.min) || (opts.max !== undefined && x > opts.max)) {
      const range = [opts.min !== undefined ? `>= ${opts.min}` : "", opts.max !== undefined ? `<= ${opts.max}` : ""].filter(Boolean).join(" and ");
      throw new MathtuneError(ErrorCode.usage, `--${name} must be ${opts.int ? "an integer" : "a number"}${range ? ` ${range}` : ""} (got ${JSON.stringify(v)})`);
    }
    return x;
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface SampleCliOptions {
  data: string;
  out: string;
  model?: string;
  server?: string;
  modelName?: string;
  chat?: boolean;
  n: number;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  stop: string[];
  seed: number;
  greedy?: boolean;
  threads?: number;
  parallel?: number;
  kvCache?: "f32" | "f16";
  contexts?: number;
  lora?: string;
  concurrency: number;
  timeout: number;
  retries: number;
  template?: string;
  promptFormat: "plain" | "chat";
  systemPrompt?: string;
  quiet?: boolean;
}

/** Opens the sampler the options name (local model or server). */
export async function openSampler(o: {
  model?: string;
  server?: string;
  modelName?: string;
  chat?: boolean;
  threads?: number;
  parallel?: number;
  kvCache?: "f32" | "f16";
  contexts?: number;
  lora?: string;
  concurrency?: number;
  timeout?: number;
  retries?: number;
  /** Tokenize a local model's prompts with special-token parsing (the chat prompt format). */
  specialTokens?: boolean;
}): Promise<Sampler> {
  if ((o.model === undefined) === (o.server === undefined)) {
    throw new MathtuneError(ErrorCode.usage, "give exactly one of --model MODEL.gguf or --server URL");
  }
  if (o.lora !== undefined && o.model === undefined) {
    throw new MathtuneError(ErrorCode.usage, "--lora applies to a local --model", { hint: "a server applies its own adapters (llama.cpp server: --lora)" });
  }
  if (o.server !== undefined) {
    const { HttpSampler } = await import("../sample/http.js");
    return HttpSampler.connect({
      url: o.server,
      model: o.modelName,
      api: o.chat ? "chat" : "completions",
      concurrency: o.concurrency,
      timeoutMs: o.timeout === undefined ? undefined : o.timeout * 1000,
      retries: o.retries,
    });
  }
  const { LocalModel } = await import("../sample/local.js");
  return LocalModel.open(o.model!, {
    threads: o.threads,
    parallel: o.parallel,
    contexts: o.contexts,
    kvCache: o.kvCache,
    ...(o.lora !== undefined ? { lora: o.lora } : {}),
    ...(o.specialTokens === true ? { specialTokens: true } : {}),
  });
}

export function register(program: Command): void {
  program
    .command("sample")
    .description("sample candidate solutions for each problem (appends to --out; a rerun resumes)")
    .requiredOption("--data <file>", "problems JSONL (id, problem, answer)")
    .requiredOption("--out <file>", "samples JSONL to append to")
    .option("--model <gguf>", "local GGUF model")
    .option("--lora <adapter>", "LoRA adapter GGUF applied to the local model (e.g. adapter.gguf of train --lora-rank)")
    .option("--server <url>", "OpenAI-compatible server (vLLM, llama.cpp server, SGLang, mathtune serve)")
    .option("--model-name <name>", "model name on the server (default: its first model)")
    .option("--chat", "use /v1/chat/completions instead of /v1/completions")
    .option("--n <n>", "samples per problem", num("n", { int: true, min: 1 }), 64)
    .option("--temperature <t>", "sampling temperature", num("temperature", { min: 0 }), 0.9)
    .option("--top-p <p>", "nucleus sampling mass", num("top-p", { min: 0, max: 1 }), 0.95)
    .option("--top-k <k>", "top-k sampling (0: off)", num("top-k", { int: true, min: 0 }), 0)
    .option("--max-tokens <m>", "most new tokens per sample", num("max-tokens", { int: true, min: 1 }), 512)
    .option("--stop <s>", "stop string (repeatable)", collect, [])
    .option("--seed <s>", "base seed (per-sample seeds derive from it)", num("seed", { int: true }), 0)
    .option("--greedy", "greedy decoding, one sample per problem (Pass@1)")
    .option("--threads <t>", "llama.cpp threads (default: cores - 1)", num("threads", { int: true, min: 1 }))
    .option("--parallel <p>", "sequences decoded in parallel (local)", num("parallel", { int: true, min: 1 }), 4)
    .addOption(kvCacheOption())
    .addOption(contextsOption())
    .option("--concurrency <c>", "requests in flight (server)", num("concurrency", { int: true, min: 1 }), 8)
    .option("--timeout <s>", "per-request timeout in seconds (server)", num("timeout", { min: 1 }), 300)
    .option("--retries <r>", "retries per request (server)", num("retries", { int: true, min: 0 }), 4)
    .option("--template <t>", "generator prompt template with {problem} (plain prompt format)")
    .addOption(promptFormatOption())
    .addOption(systemPromptOption())
    .option("--quiet", "no progress display")
    .action(async (o: SampleCliOptions) => {
      const problems = readJsonl(o.data, ProblemSchema);
      if (o.promptFormat === "chat" && o.model === undefined) {
        throw new MathtuneError(ErrorCode.usage, "--prompt-format chat applies the chat template of a local --model", {
          hint: "with --server, use --chat (the server applies its model's template)",
        });
      }
      const { resolveGeneratorFormat } = await import("../data/chat-prompt.js");
      const format = await resolveGeneratorFormat(o.promptFormat, o.model, {
        ...(o.template !== undefined ? { template: o.template } : {}),
        ...(o.systemPrompt !== undefined ? { systemPrompt: o.systemPrompt } : {}),
      });
      if (format.format === "chat") process.stderr.write(`sample: prompt format chat (${format.wrapper} chat template of ${o.model})\n`);
      const sampler = await openSampler({ ...o, specialTokens: format.specialTokens });
      try {
        const r = await runSampling({
          problems,
          sampler,
          out: o.out,
          prompt: (p) => format.prompt(p.problem),
          n: o.n,
          greedy: o.greedy,
          temperature: o.temperature,
          topP: o.topP,
          topK: o.topK,
          maxTokens: o.maxTokens,
          stop: o.stop,
          seed: o.seed,
          quiet: o.quiet,
        });
        process.stderr.write(
          `sample: wrote ${r.written} samples (${r.skipped} already done) to ${o.out}; ${r.tokens} tokens in ${r.seconds.toFixed(1)} s (${(r.tokens / Math.max(r.seconds, 1e-9)).toFixed(0)} tok/s)\n`,
        );
      } finally {
        await sampler.close();
      }
    });
}
