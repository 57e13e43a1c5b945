import { Command, CommanderError } from "commander";
import { MathtuneError } from "../errors.js";
import { VERSION } from "../version.js";

/** A command module: adds its sub-command(s) to the program. One file per command under src/cli/. */
export type RegisterCommand = (program: Command) => void;

// Each command file exports `register`; add new commands here (one line each).
const commands: Array<() => Promise<{ register: RegisterCommand }>> = [
  () => import("./inspect.js"),
  () => import("./sample.js"),
  () => import("./serve.js"),
  () => import("./doctor.js"),
  () => import("./data.js"),
  () => import("./eval.js"),
  () => import("./import.js"),
  () => import("./train.js"),
  () => import("./grade.js"),
  () => import("./recipe.js"),
  () => import("./demo.js"),
  () => import("./score.js"),
  () => import("./evaluator-data.js"),
  () => import("./train-evaluator.js"),
  () => import("./merge.js"),
];

/** Builds the `mathtune` program with every command registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name("mathtune")
    .description("Fine-tune language models to solve math problems (arXiv 2310.10047) on ggml.")
    .version(VERSION)
    .option("--debug", "print stack traces on errors")
    .showHelpAfterError()
    .exitOverride();
  for (const load of commands) (await load()).register(program);
  return program;
}

/** Prints an error the project's way: one line, a hint, the stack with --debug. */
export function reportError(err: unknown, debug: boolean): void {
  if (err instanceof MathtuneError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (err.hint) process.stderr.write(`hint: ${err.hint}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/** Runs the CLI with `argv` (as process.argv); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    const program = await buildProgram();
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its own message (or help / version).
      return err.exitCode;
    }
    reportError(err, debug);
    return 1;
  }
}
