/**
 * `mathtune demo` (`npm start`): the embedded default recipe (recipes/demo.json) on the synthetic
 * world with a small model, end to end on a laptop CPU.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { loadRecipe } from "../recipe/schema.js";
import { runAndPrint } from "./recipe.js";

/** The demo recipe file shipped with the package (recipes/ is in the package's files). */
export const DEMO_RECIPE = fileURLToPath(new URL("../../recipes/demo.json", import.meta.url));

/**
 * What `--full` changes: every test problem the demo base model was kept from (900) gets the
 * greedy decode and 300 get the N samples, so paired Pass@1 differences of about 2 points are
 * resolved (docs/recipe.md gives the measured standard errors and time).
 */
export const DEMO_FULL_OVERRIDES = ["data.test=900", "sampling.problems=300"] as const;

export function register(program: Command): void {
  program
    .command("demo")
    .description("run the embedded demo recipe on the synthetic world (about 15 minutes on 2 CPU cores); prints the paper's tables")
    .option("--out <dir>", "run folder (a rerun continues it) (default: runs/demo, with --full runs/demo-full)")
    .option("--full", `the larger measurement: ${DEMO_FULL_OVERRIDES.join(", ")} (about twice the time)`)
    .option("--set <key=value>", "override a field of recipes/demo.json (repeatable, applied after --full)", (v: string, p: string[]) => [...p, v], [])
    .action(async (o: { out?: string; set: string[]; full?: boolean }) => {
      const recipe = loadRecipe(DEMO_RECIPE, [...(o.full ? DEMO_FULL_OVERRIDES : []), ...o.set]);
      await runAndPrint(recipe, o.out ?? join("runs", o.full ? "demo-full" : "demo"));
    });
}
