/**
 * `mathtune demo` (`npm start`): the embedded default recipe (recipes/demo-search.json) on the
 * synthetic world with a small model, end to end on a laptop CPU. The world is `digits-search`,
 * the one built so that checking a solution is easier than finding it (docs/data.md).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { loadRecipe } from "../recipe/schema.js";
import { runAndPrint } from "./recipe.js";

/** The demo recipe file shipped with the package (recipes/ is in the package's files). */
export const DEMO_RECIPE = fileURLToPath(new URL("../../recipes/demo-search.json", import.meta.url));

/**
 * The full demo (`mathtune demo --full`): the same recipe with the evaluator's samples drawn on 600
 * training problems instead of 120, the evaluator trained 300 steps instead of 50, and the
 * sequence-contrastive re-ranker (the `contrastive` option) beside the paper's evaluator. About
 * twice the time of the demo.
 */
export const DEMO_FULL_RECIPE = fileURLToPath(new URL("../../recipes/demo-search-full.json", import.meta.url));

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the embedded demo recipe on the synthetic world (about 15 minutes on 2 CPU cores); prints the paper's tables")
    .option("--full", "the full demo, recipes/demo-search-full.json: the evaluator on 5x the training problems and the sequence-contrastive re-ranker beside it (about 30 minutes on 2 CPU cores)")
    .option("--out <dir>", "run folder (a rerun continues it; default runs/demo, or runs/demo-full with --full)")
    .option("--set <key=value>", "override a field of the demo's recipe (repeatable)", (v: string, p: string[]) => [...p, v], [])
    .action(async (o: { out?: string; set: string[]; full?: boolean }) => {
      const recipe = loadRecipe(o.full === true ? DEMO_FULL_RECIPE : DEMO_RECIPE, o.set);
      await runAndPrint(recipe, o.out ?? join("runs", o.full === true ? "demo-full" : "demo"));
    });
}
