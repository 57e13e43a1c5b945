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

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the embedded demo recipe on the synthetic world (about 15 minutes on 2 CPU cores); prints the paper's tables")
    .option("--out <dir>", "run folder (a rerun continues it)", join("runs", "demo"))
    .option("--set <key=value>", "override a field of recipes/demo-search.json (repeatable)", (v: string, p: string[]) => [...p, v], [])
    .action(async (o: { out: string; set: string[] }) => {
      const recipe = loadRecipe(DEMO_RECIPE, o.set);
      await runAndPrint(recipe, o.out);
    });
}
