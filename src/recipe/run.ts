/**
 * Runs a resolved recipe in a run folder: writes config.json (the resolved settings, seeds,
 * package versions, model hashes), prints the `Parameter | Value` table, runs the stages with the
 * cache of framework.ts, and prints the paper's tables at the end.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../util/fs.js";
import { VERSION } from "../version.js";
import type { ResultsFile } from "../report/results.js";
import { sha256File } from "./hash.js";
import { seedOf, type Recipe } from "./schema.js";
import { runStages, readMarker, type StageOutcome, type RunStagesOptions } from "./framework.js";
import { paths, planStages } from "./stages/index.js";
import { recipeGeneratorFormat } from "./stages/shared.js";
import { formatPaperTables, promptFormatLine, type ArmResult } from "./report.js";

/** Options of {@link runRecipe}. */
export interface RunRecipeOptions {
  /** The run folder. Created when missing; an existing one is continued. */
  out: string;
  /** Prints a line. Defaults to stderr. */
  say?: (line: string) => void;
  /** Passed to runStages (tests). */
  stages?: Pick<RunStagesOptions, "beforeRun" | "handleSigint">;
}

/** What a run did. */
export interface RunRecipeResult {
  runDir: string;
  outcomes: StageOutcome[];
  /** The paper's tables as text. */
  tables: string;
  seconds: number;
}

/** Versions of the packages whose behaviour shapes the results. */
export function packageVersions(): Record<string, string> {
  const out: Record<string, string> = { mathtune: VERSION, node: process.version };
  for (const name of ["node-llama-cpp", "koffi", "zod", "commander"]) {
    try {
      // Walk up from the package's entry point to its package.json (exports may hide the file).
      let dir = dirname(fileURLToPath(import.meta.resolve(name)));
      for (let i = 0; i < 8; i++) {
        const p = join(dir, "package.json");
        if (existsSync(p)) {
          const pkg = JSON.parse(readFileSync(p, "utf8")) as { name?: string; version?: string };
          if (pkg.name === name && pkg.version) {
            out[name] = pkg.version;
            break;
          }
        }
        dir = dirname(dir);
      }
    } catch {
      out[name] = "not installed";
    }
  }
  return out;
}

/** Flattens the recipe into `Parameter | Value` rows (nested keys joined with dots). */
export function parameterRows(value: unknown, prefix = ""): Array<[string, string]> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [[prefix, Array.isArray(value) ? value.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(", ") : String(value)]];
  }
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => parameterRows(v, prefix ? `${prefix}.${k}` : k));
}

/** Renders rows as the llm.c-style table. */
export function parameterTable(rows: Array<[string, string]>): string {
  const w = Math.max("Parameter".length, ...rows.map(([k]) => k.length));
  const lines = [`${"Parameter".padEnd(w)} | Value`, `${"-".repeat(w)}-+-${"-".repeat(40)}`];
  for (const [k, v] of rows) lines.push(`${k.padEnd(w)} | ${v}`);
  return lines.join("\n");
}

function writeConfig(runDir: string, recipe: Recipe, extra: Record<string, unknown>): void {
  const config = {
    recipe,
    seeds: { recipe: recipe.seed, data: seedOf(recipe, "data"), sft: seedOf(recipe, "sft"), sampling: seedOf(recipe, "sampling"), eval: seedOf(recipe, "eval") },
    versions: packageVersions(),
    ...extra,
  };
  writeFileAtomic(join(runDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
}

/** Reads one arm's evaluation of a finished run. */
function readArm(runDir: string, name: string, style: string | null): ArmResult {
  return {
    name,
    style,
    results: JSON.parse(readFileSync(join(runDir, paths.evalResults(name)), "utf8")) as ResultsFile,
    perProblem: JSON.parse(readFileSync(join(runDir, paths.perProblem(name)), "utf8")) as ArmResult["perProblem"],
  };
}

/** Reads the generators' evaluations of a finished run (for the tables). */
export function readArms(runDir: string, recipe: Recipe): ArmResult[] {
  return recipe.generators.map((g) => readArm(runDir, g.name, g.style ?? null));
}

/** Runs (or continues) `recipe` in `options.out`. */
export async function runRecipe(recipe: Recipe, options: RunRecipeOptions): Promise<RunRecipeResult> {
  const say = options.say ?? ((l: string) => process.stderr.write(l + "\n"));
  const runDir = resolve(options.out);
  const t0 = performance.now();
  // Plan first: a recipe that cannot be planned fails before anything is written.
  const stages = planStages(recipe);
  // So is the chat prompt format: a base model without a chat template fails here.
  const chatWrapper = recipe.promptFormat === "chat" ? (await recipeGeneratorFormat(recipe)).wrapper : undefined;
  mkdirSync(runDir, { recursive: true });
  const baseHash = recipe.model.base === null ? null : sha256File(recipe.model.base);
  const inputs = { base_model: recipe.model.base === null ? null : { path: recipe.model.base, sha256: baseHash } };
  writeConfig(runDir, recipe, { inputs });

  // A new model's size means nothing when a base model is fine-tuned.
  const rows = parameterRows(recipe).map(([k, v]): [string, string] => (k === "model.size" && recipe.model.base !== null ? [k, "– (model.base is fine-tuned)"] : [k, v]));
  say(parameterTable([["run folder", runDir], ...rows, ["stages", stages.map((s) => s.id).join(", ")]]));
  say(promptFormatLine(recipe, chatWrapper));
  if (!recipe.evaluator.enabled) say("not in this run: evaluator training and re-ranking (evaluator.enabled is false)");
  if (!recipe.mtsf.enabled) say("not in this run: MTSF and its control (mtsf.enabled is false)");

  const outcomes = await runStages(runDir, stages, { say, ...(options.stages ?? {}) });

  // The trained models' hashes, from the stage markers (hashed when each stage finished).
  const models: Record<string, string> = {};
  for (const g of recipe.generators) {
    if (!g.sft) continue;
    const m = readMarker(runDir, `sft/${g.name}`);
    const out = m?.outputs?.[paths.model(g.name)];
    if (out) models[paths.model(g.name)] = out.sha256;
  }
  for (const [id, rel] of [["evaluator/train", paths.evaluatorModel], ["mtsf/train", paths.mtsfModel], ["mtsf/control", paths.controlModel]]) {
    const out = readMarker(runDir, id)?.outputs?.[rel];
    if (out) models[rel] = out.sha256;
  }
  writeConfig(runDir, recipe, { inputs, models });

  const mtsf = recipe.mtsf.enabled ? { mtsf: readArm(runDir, "mtsf", null), control: readArm(runDir, "control", null) } : undefined;
  const tables = formatPaperTables(recipe, readArms(runDir, recipe), mtsf);
  return { runDir, outcomes, tables, seconds: (performance.now() - t0) / 1000 };
}
