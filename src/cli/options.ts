/** Parsers of numeric command-line options shared by the commands. */
import { InvalidArgumentError, Option } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { resolveEvaluatorTemplate } from "../data/prompts.js";

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
