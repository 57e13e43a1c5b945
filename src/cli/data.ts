/**
 * `mathtune data ...`: prepare datasets into problem files, summarise them, build SFT records,
 * and draw the synthetic world.
 */
import { join } from "node:path";
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { MathtuneError, ErrorCode, inputError } from "../errors.js";
import { readJsonlRaw, parseRecord, writeJsonlAtomic } from "../util/jsonl.js";
import { writeFileAtomic } from "../util/fs.js";
import { ProblemSchema, type Problem } from "../data/records.js";
import { readMath, readMath500, readGsm8k, readPrm800k, buildPrm800kSplit, PRM800K_SPLIT_FILES } from "../data/adapters.js";
import { computeStats, formatStats } from "../data/stats.js";
import { toSftExamples } from "../data/sft.js";
import { GENERATOR_TEMPLATE, evaluatorLabelText } from "../data/prompts.js";
import { verificationExamples } from "../data/synth/verification.js";
import { synthesizeWorld, synthToProblem, SKILLS, LEVELS, SYNTH_STYLES, ALPHABET, type Skill, type Level, type SynthStyle } from "../data/synth/world.js";
import { synthLengthReport } from "../data/synth/report.js";
import { VERSION } from "../version.js";
import type { GeneratorFormat } from "../data/chat-prompt.js";
import { promptFormatOption, systemPromptOption } from "./options.js";

const SOURCES = ["math", "math500", "prm800k-split", "gsm8k", "prm800k"] as const;
type Source = (typeof SOURCES)[number];

function usage(message: string, hint?: string): MathtuneError {
  return new MathtuneError(ErrorCode.usage, message, hint === undefined ? {} : { hint });
}

function intOption(name: string, raw: string | undefined, min = 0): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw usage(`--${name} must be an integer >= ${min}, got "${raw}"`);
  return v;
}

function listOption<T extends string | number>(name: string, raw: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (raw === undefined) return undefined;
  const out: T[] = [];
  for (const part of raw.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const v = allowed.find((a) => String(a) === part);
    if (v === undefined) throw usage(`--${name}: unknown value "${part}"`, `choose from ${allowed.join(", ")}`);
    out.push(v);
  }
  return out;
}

/** Reads a problem file, keeping each record's line for later messages. */
export function readProblemsWithLines(file: string): Array<{ line: number; problem: Problem }> {
  const rows = readJsonlRaw(file).map(({ line, value }) => ({ line, problem: parseRecord(ProblemSchema, value, file, line) }));
  const seen = new Map<string, number>();
  for (const { line, problem } of rows) {
    const prev = seen.get(problem.id);
    if (prev !== undefined) throw inputError(file, line, `field id: duplicate id "${problem.id}" (first on line ${prev})`);
    seen.set(problem.id, line);
  }
  return rows;
}

/** Command output (console.log, so that tests can collect it without touching the process streams). */
function say(s: string): void {
  console.log(s.replace(/\n$/, ""));
}

interface PrepareOptions {
  source: string;
  input: string;
  out: string;
  mathTrain?: string;
  mathTest?: string;
  math500?: string;
}

function prepare(o: PrepareOptions): void {
  const source = SOURCES.find((s) => s === o.source) as Source | undefined;
  if (!source) throw usage(`unknown --source "${o.source}"`, `choose from ${SOURCES.join(", ")}`);
  if (source === "prm800k-split") {
    if (!existsSync(o.input) || !statSync(o.input).isDirectory()) {
      throw usage(`--input must be a folder for prm800k-split, got "${o.input}"`, `a folder holding ${Object.values(PRM800K_SPLIT_FILES).join(", ")}`);
    }
    const split = buildPrm800kSplit({
      mathTrain: o.mathTrain ?? join(o.input, PRM800K_SPLIT_FILES.mathTrain),
      mathTest: o.mathTest ?? join(o.input, PRM800K_SPLIT_FILES.mathTest),
      math500: o.math500 ?? join(o.input, PRM800K_SPLIT_FILES.math500),
    });
    // Both files are built in memory first, so bad input leaves neither behind.
    writeJsonlAtomic(join(o.out, "train.jsonl"), split.train);
    writeJsonlAtomic(join(o.out, "test.jsonl"), split.test);
    say(`wrote ${split.train.length} problems to ${join(o.out, "train.jsonl")} and ${split.test.length} to ${join(o.out, "test.jsonl")}`);
    return;
  }
  let problems: Problem[];
  let note = "";
  if (source === "math") problems = readMath(o.input);
  else if (source === "math500") problems = readMath500(o.input);
  else if (source === "gsm8k") problems = readGsm8k(o.input);
  else {
    const r = readPrm800k(o.input);
    problems = r.problems;
    note = ` (skipped ${r.skippedUnfinished} unfinished and ${r.skippedIncomplete} incomplete records)`;
  }
  writeJsonlAtomic(o.out, problems);
  say(`wrote ${problems.length} problems to ${o.out}${note}`);
}

interface SftCliOptions {
  problems: string;
  out: string;
  template?: string;
  requireSolution?: boolean;
  promptFormat: "plain" | "chat";
  model?: string;
  systemPrompt?: string;
}

async function sft(o: SftCliOptions): Promise<void> {
  const rows = readProblemsWithLines(o.problems);
  if (o.requireSolution) {
    const bad = rows.find((r) => r.problem.solution === undefined || r.problem.solution.trim() === "");
    if (bad) throw inputError(o.problems, bad.line, "field solution: missing (--require-solution is set)");
  }
  const template = o.template?.replace(/\\n/g, "\n");
  if (o.model !== undefined && o.promptFormat !== "chat") {
    throw usage("--model applies to --prompt-format chat (the model whose chat template renders the prompts)", "add --prompt-format chat, or drop --model");
  }
  let format: GeneratorFormat | undefined;
  if (o.promptFormat === "chat" || o.systemPrompt !== undefined) {
    const { resolveGeneratorFormat } = await import("../data/chat-prompt.js");
    format = await resolveGeneratorFormat(o.promptFormat, o.model, {
      ...(template !== undefined ? { template } : {}),
      ...(o.systemPrompt !== undefined ? { systemPrompt: o.systemPrompt } : {}),
    });
  }
  const res = toSftExamples(
    rows.map((r) => r.problem),
    format !== undefined ? { format } : template === undefined ? {} : { prompt: { template } },
  );
  if (res.examples.length === 0) throw new MathtuneError(ErrorCode.input, `${o.problems}: no problem has a solution, so there is nothing to train on`);
  writeJsonlAtomic(o.out, res.examples);
  say(`wrote ${res.examples.length} SFT examples to ${o.out}${format?.format === "chat" ? ` (prompt format chat: the ${format.wrapper} chat template of ${o.model})` : ""}`);
  if (res.noSolution.length) say(`left out ${res.noSolution.length} problems without a solution (first: ${res.noSolution[0]})`);
  if (res.boxAppended.length) say(`appended a \\boxed{answer} line to ${res.boxAppended.length} solutions without one`);
  if (res.boxDiffers.length) say(`warning: ${res.boxDiffers.length} solutions box an answer that differs from the reference (first: ${res.boxDiffers[0]})`);
}

interface SynthCliOptions {
  n: string;
  style: string;
  seed: string;
  out: string;
  val?: string;
  test?: string;
  levels?: string;
  skills?: string;
  maxChars: string;
  quiet?: boolean;
  verification?: string;
}

function synth(o: SynthCliOptions): void {
  const style = SYNTH_STYLES.find((s) => s === o.style) as SynthStyle | undefined;
  if (!style) throw usage(`unknown --style "${o.style}"`, `choose from ${SYNTH_STYLES.join(", ")}`);
  const n = intOption("n", o.n) as number;
  const seed = intOption("seed", o.seed) as number;
  const validation = intOption("val", o.val);
  const test = intOption("test", o.test);
  const maxChars = intOption("max-chars", o.maxChars, 16) as number;
  const levels = listOption<Level>("levels", o.levels, LEVELS);
  const skills = listOption<Skill>("skills", o.skills, SKILLS);
  const world = synthesizeWorld({ n, seed, maxChars, ...(validation !== undefined && { validation }), ...(test !== undefined && { test }), ...(levels && { levels }), ...(skills && { skills }) });
  const files = { train: "train.jsonl", validation: "validation.jsonl", test: "test.jsonl" } as const;
  for (const split of ["train", "validation", "test"] as const) {
    writeJsonlAtomic(
      join(o.out, files[split]),
      world[split].map((it) => synthToProblem(it, style)),
    );
  }
  const manifest = {
    generator: "mathtune synthetic world",
    version: VERSION,
    style,
    seed,
    sizes: { train: world.train.length, validation: world.validation.length, test: world.test.length },
    levels: levels ?? LEVELS,
    skills: skills ?? SKILLS,
    maxChars,
    files,
    alphabet: ALPHABET,
    generatorTemplate: GENERATOR_TEMPLATE,
  };
  writeFileAtomic(join(o.out, "world.json"), JSON.stringify(manifest, null, 2) + "\n");
  if (o.verification !== undefined) {
    const records = verificationExamples(world.train);
    writeJsonlAtomic(o.verification, records);
    const wrong = records.filter((r) => r.completion === evaluatorLabelText(false)).length;
    say(`wrote ${records.length} verification records (${records.length - wrong} correct, ${wrong} incorrect) from the training split to ${o.verification}`);
  }
  say(`wrote ${world.train.length} train, ${world.validation.length} validation and ${world.test.length} test problems (${style} solutions) to ${o.out}`);
  if (!o.quiet) say(synthLengthReport([...world.train, ...world.validation, ...world.test]));
}

export function register(program: Command): void {
  const data = program.command("data").description("datasets: prepare, stats, SFT records, the synthetic world");

  data
    .command("prepare")
    .description("convert a dataset into problem records (JSONL)")
    .requiredOption("--source <name>", `one of ${SOURCES.join(", ")}`)
    .requiredOption("--input <path>", "the source file (for prm800k-split: the folder holding the three MATH files)")
    .requiredOption("--out <path>", "output JSONL file (for prm800k-split: a folder that receives train.jsonl and test.jsonl)")
    .option("--math-train <file>", `prm800k-split: MATH train file (default <input>/${PRM800K_SPLIT_FILES.mathTrain})`)
    .option("--math-test <file>", `prm800k-split: MATH test file (default <input>/${PRM800K_SPLIT_FILES.mathTest})`)
    .option("--math500 <file>", `prm800k-split: MATH500 file (default <input>/${PRM800K_SPLIT_FILES.math500})`)
    .action((opts: PrepareOptions) => prepare(opts));

  data
    .command("stats")
    .description("counts by level, subject, source and answer type, and length percentiles of a problem file")
    .argument("<file>", "problem JSONL file")
    .option("--json", "print the figures as JSON")
    .action((file: string, opts: { json?: boolean }) => {
      const st = computeStats(readProblemsWithLines(file).map((r) => r.problem));
      say(opts.json ? JSON.stringify(st, null, 2) : formatStats(st));
    });

  data
    .command("sft")
    .description("write {prompt, completion, id} SFT records from a problem file")
    .requiredOption("--problems <file>", "problem JSONL file")
    .requiredOption("--out <file>", "output JSONL file")
    .option("--template <text>", "generator prompt template with {problem} (\\n for newline); default: the plain generator prompt")
    .option("--require-solution", "fail on a problem without a solution instead of leaving it out")
    .addOption(promptFormatOption())
    .option("--model <gguf>", "with --prompt-format chat: the base model whose chat template renders the prompts")
    .addOption(systemPromptOption())
    .action((opts: SftCliOptions) => sft(opts));

  data
    .command("synth")
    .description("draw the synthetic math world into <out>/{train,validation,test}.jsonl and world.json")
    .requiredOption("--n <count>", "training problems")
    .option("--style <style>", "solution style in the records: terse or detailed", "detailed")
    .option("--seed <seed>", "seed", "0")
    .requiredOption("--out <dir>", "output folder")
    .option("--val <count>", "validation problems (default ceil(n/10))")
    .option("--test <count>", "test problems (default ceil(n/10))")
    .option("--levels <list>", "levels to draw, e.g. 1,2,3 (default all five)")
    .option("--skills <list>", `skills to draw (default all: ${SKILLS.join(",")})`)
    .option("--max-chars <count>", "longest problem + newline + detailed solution", "320")
    .option("--quiet", "do not print the length table")
    .option("--verification <file>", "also write the training split's verification corpus: SFT records in the evaluator template, labelled correct (both styles) or incorrect (the checkable skills' wrong solutions)")
    .action((opts: SynthCliOptions) => synth(opts));
}
