/** Parsers of command-line options shared by the commands. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { resolveEvaluatorTemplate } from "../data/prompts.js";
import { LORA_TARGETS, parseLoraTargets } from "../model/lora.js";

/** A commander argument parser that accepts integers only (commander prints the error). */
export function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
    return n;
  };
}

/** A commander argument parser that accepts finite numbers only. */
export function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number`);
    return n;
  };
}

/** Parses `--name v` as an integer >= min, or fails with a usage error naming the option. */
export function intOption(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new MathtuneError(ErrorCode.usage, `--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** The --template option of the evaluator commands resolved ("paper", "generator" or a template), or E_USAGE. */
export function evaluatorTemplateOption(spec: string): string {
  try {
    return resolveEvaluatorTemplate(spec);
  } catch (err) {
    throw new MathtuneError(ErrorCode.usage, `--template: ${(err as Error).message}`, { hint: "paper, generator, or a template with {problem} and {solution}" });
  }
}

/** `--kv-cache f32|f16`: the element type of a local model's KV cache (LocalModelOptions.kvCache). */
export function kvCacheOption(): Option {
  return new Option("--kv-cache <type>", "KV cache type of the local model: f32 (scores and samples independent of --parallel) or f16 (half the memory)")
    .choices(["f32", "f16"])
    .default("f32");
}

/** The LoRA flags of the training commands. */
export interface LoraFlags {
  loraRank?: number;
  loraAlpha?: number;
  loraTargets?: string;
}

/** Adds --lora-rank, --lora-alpha and --lora-targets to a training command; `writes` says what the run writes then. */
export function addLoraOptions(cmd: Command, writes: string): Command {
  return cmd
    .option("--lora-rank <r>", `train a LoRA adapter of rank r on the frozen --base (F32/F16/BF16/Q8_0) and write ${writes}`, int("--lora-rank"))
    .option("--lora-alpha <x>", "LoRA alpha: the update is scaled by alpha / rank (default: the rank, scale 1)", num("--lora-alpha"))
    .option("--lora-targets <list>", `projections that get an adapter (default ${LORA_TARGETS.join(",")})`);
}

/** The LoRA options of parsed flags (only those given). */
export function loraFlags(f: LoraFlags): { loraRank?: number; loraAlpha?: number; loraTargets?: string[] } {
  return {
    ...(f.loraRank !== undefined ? { loraRank: f.loraRank } : {}),
    ...(f.loraAlpha !== undefined ? { loraAlpha: f.loraAlpha } : {}),
    ...(f.loraTargets !== undefined ? { loraTargets: parseLoraTargets(f.loraTargets) } : {}),
  };
}

/** `--precision P`: operand format of the training's weight matrix products. */
export function precisionOption(): Option {
  return new Option("--precision <p>", "weight matrix products in f32, or bf16 (mixed precision: F32 master weights, BF16 operands, F32 sums; about 2x faster on CPUs with AVX512-BF16)")
    .choices(["f32", "bf16"])
    .default(undefined, "f32");
}

/** `--contexts C`: llama.cpp contexts sharing the local model's parallel sequences (LocalModelOptions.contexts). */
export function contextsOption(): Option {
  return new Option("--contexts <c>", "llama.cpp contexts sharing the --parallel sequences side by side, each with --threads threads")
    .argParser(int("--contexts"))
    .default(undefined, "2 when 2 x threads fit the cores, else 1");
}
