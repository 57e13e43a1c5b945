/** Parsers of command-line options shared by the commands. */
import { InvalidArgumentError, Option, type Command } from "commander";
import { ErrorCode, MathtuneError } from "../errors.js";
import { resolveEvaluatorTemplate } from "../data/prompts.js";
import { LORA_TARGETS, parseLoraTargets } from "../model/lora.js";
import { defaultOf, settingProblem } from "../train/settings.js";
import { z } from "zod";

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

/** `--prompt-format plain|chat`: how generator prompts are written (resolveGeneratorFormat); default plain unless `withDefault` is false. */
export function promptFormatOption(withDefault = true): Option {
  const option = new Option(
    "--prompt-format <format>",
    "generator prompt format: plain (Problem: ...\\nSolution:\\n, or --template) or chat (the local model's chat template, tokenizer.chat_template)",
  ).choices(["plain", "chat"]);
  return withDefault ? option.default("plain") : option;
}

/** `--system-prompt <text>`: the system turn of the chat prompt format. */
export function systemPromptOption(): Option {
  return new Option("--system-prompt <text>", "with --prompt-format chat: a system turn put before the user turn (default: none)");
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

/** A schema field without its default, nullable and optional wrappers. */
function innerOf(field: z.ZodType): z.ZodType {
  let t = field;
  for (;;) {
    const def = (t as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    if ((def.type === "default" || def.type === "prefault" || def.type === "nullable" || def.type === "optional") && def.innerType) t = def.innerType;
    else return t;
  }
}

/** How {@link settingOption} words an option. */
export interface SettingOptionText {
  /** Replaces the schema's description where the command gives the setting another meaning. */
  description?: string;
  /**
   * The option holds no value unless given (the trainer's default then applies, as for `--size`,
   * whose default would clash with `--base`); --help still shows the schema's default.
   */
  unset?: string;
}

/**
 * A commander option for one field of a settings schema (src/train/settings.ts): --help shows the
 * schema's description and default, enums become `.choices`, and a number is parsed and checked by
 * the schema (`--steps must be a positive integer (got 0)`). The option's default is the schema's,
 * so --help shows the value the run uses; a default computed from other settings (null in the
 * schema, described there as "...; null: how") is null here, shown as that description, and
 * computed by the trainer.
 */
export function settingOption(flags: string, field: z.ZodType, text: SettingOptionText = {}): Option {
  const name = flags.split(/[ ,]/)[0];
  const [meaning, computed] = (field.description ?? "").split("; null: ");
  const fallback = defaultOf(field);
  const described = text.description ?? meaning;
  // Commander shows no default of an option without one, so an unset option's is in its description.
  const option = new Option(flags, text.unset !== undefined ? `${described} (default: ${String(fallback)} ${text.unset})` : described);
  if (text.unset !== undefined) option.default(undefined);
  else if (fallback === null || fallback === undefined) option.default(null, computed ?? "none");
  else option.default(fallback);
  const inner = innerOf(field);
  if (inner instanceof z.ZodEnum) {
    const choices = inner.options.map(String);
    // .choices lists them in --help; the parser after it names the flag in the error.
    return option.choices(choices).argParser((v: string) => {
      if (!choices.includes(v)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(", ")} (got ${v})`);
      return v;
    });
  }
  if (inner instanceof z.ZodNumber) {
    const isInt = inner.isInt;
    return option.argParser((v: string) => {
      const n = v.trim() === "" ? NaN : Number(v);
      if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a${isInt ? "n integer" : " number"} (got ${v})`);
      const res = field.safeParse(n);
      if (!res.success) throw new InvalidArgumentError(`${name} ${settingProblem(res.error.issues[0])} (got ${v})`);
      return n;
    });
  }
  return option;
}

/** `--contexts C`: llama.cpp contexts sharing the local model's parallel sequences (LocalModelOptions.contexts). */
export function contextsOption(): Option {
  return new Option("--contexts <c>", "llama.cpp contexts sharing the --parallel sequences side by side, each with --threads threads")
    .argParser(int("--contexts"))
    .default(undefined, "2 when 2 x threads fit the cores, else 1");
}
