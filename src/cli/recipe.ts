/** `mathtune recipe RECIPE.json`: the whole recipe into a run folder, cached and resumable. */
import { join } from "node:path";
import type { Command } from "commander";
import { formatDuration } from "../util/progress.js";
import { loadRecipe, type Recipe } from "../recipe/schema.js";
import { runRecipe } from "../recipe/run.js";
import { RunInterrupted } from "../recipe/framework.js";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Runs a resolved recipe and prints the paper's tables and where the report is. */
export async function runAndPrint(recipe: Recipe, out: string): Promise<void> {
  let r;
  try {
    r = await runRecipe(recipe, { out });
  } catch (err) {
    if (!(err instanceof RunInterrupted)) throw err;
    // Ctrl-C: the run folder is consistent; say how to continue and exit as a shell expects.
    process.stderr.write(`${err.message}; the run folder ${out} is kept\nhint: ${err.hint}\n`);
    process.exitCode = 130;
    return;
  }
  process.stdout.write("\n" + r.tables + "\n");
  const ran = r.outcomes.filter((o) => o.status !== "cached").length;
  process.stdout.write(
    `${ran} of ${r.outcomes.length} stages ran (${r.outcomes.length - ran} cached) in ${formatDuration(r.seconds)}\n` +
      `report: ${join(r.runDir, "report.html")} (also report.md, results.json, metrics.jsonl, config.json)\n`,
  );
}

export function register(program: Command): void {
  program
    .command("recipe")
    .description("run a recipe (data -> SSFT -> sample -> grade -> eval -> report) into a run folder; a rerun continues and redoes nothing finished")
    .argument("<recipe>", "recipe JSON file (presets in recipes/; fields in docs/recipe.md)")
    .option("--out <dir>", "run folder (default: runs/<recipe name>)")
    .option("--set <key=value>", "override a recipe field, e.g. --set sft.steps=50 (repeatable; value parsed as JSON when it parses)", collect, [])
    .action(async (file: string, o: { out?: string; set: string[] }) => {
      const recipe = loadRecipe(file, o.set);
      await runAndPrint(recipe, o.out ?? join("runs", recipe.name));
    });
}
