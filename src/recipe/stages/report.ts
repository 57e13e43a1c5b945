// The report stage: the paper's tables over every arm (results.json, report.md, report.html).
import { readFileSync } from "node:fs";
import type { ResultsFile } from "../../report/results.js";
import type { Recipe } from "../schema.js";
import type { Stage } from "../framework.js";
import { writeRecipeReport, type ArmResult } from "../report.js";
import { paths, promptFormatConfig, recipeGeneratorFormat } from "./shared.js";

export function reportStage(r: Recipe): Stage {
  const gens = r.generators.map((g) => g.name);
  const extra = r.mtsf.enabled ? ["mtsf", "control"] : [];
  return {
    id: "report",
    title: "the paper's tables: results.json, report.md, report.html",
    version: 1,
    // `unavailable` is always empty (every stage has its component); it stays in the config so that
    // existing run folders keep their stage keys.
    config: { name: r.name, generators: gens, extra, unavailable: [], ...promptFormatConfig(r) },
    inputs: [...gens, ...extra].flatMap((g) => [paths.evalResults(g), paths.perProblem(g)]),
    outputs: [paths.results, paths.reportMd, paths.reportHtml],
    async run(ctx) {
      const read = (g: string): ArmResult => ({
        name: g,
        style: r.generators.find((x) => x.name === g)?.style ?? null,
        results: JSON.parse(readFileSync(ctx.path(paths.evalResults(g)), "utf8")) as ResultsFile,
        perProblem: JSON.parse(readFileSync(ctx.path(paths.perProblem(g)), "utf8")) as ArmResult["perProblem"],
      });
      const mtsf = r.mtsf.enabled ? { mtsf: read("mtsf"), control: read("control") } : undefined;
      const chatWrapper = r.promptFormat === "chat" ? (await recipeGeneratorFormat(r)).wrapper : undefined;
      writeRecipeReport(ctx.runDir, r, gens.map(read), mtsf, chatWrapper);
      return { arms: gens.length + extra.length };
    },
  };
}
