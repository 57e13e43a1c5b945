/**
 * `results.json` (docs/formats.md): the flat metric table plus the configuration and versions that
 * produced it, and the level / subject breakdowns.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.js";
import { VERSION } from "../version.js";
import type { Evaluation, MetricTable } from "../metrics/compute.js";
import { renderMarkdown } from "./markdown.js";
import { renderHtml } from "./html.js";
import type { ResultsFile } from "./results-file.js";

export type { ResultsFile };

/** Rounds every value to 6 decimals (stable diffs, no float noise like 0.9300000000000002). */
function rounded(t: MetricTable): MetricTable {
  const out: MetricTable = {};
  for (const [k, v] of Object.entries(t)) out[k] = Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : v;
  return out;
}

/** Builds results.json from an evaluation and the resolved configuration. */
export function buildResults(ev: Evaluation, config: Record<string, unknown>): ResultsFile {
  const breakdowns: Evaluation["breakdowns"] = { level: {}, subject: {} };
  for (const dim of ["level", "subject"] as const) {
    for (const [g, t] of Object.entries(ev.breakdowns[dim])) breakdowns[dim][g] = rounded(t);
  }
  return {
    results: rounded(ev.results),
    config,
    versions: { mathtune: VERSION, node: process.version },
    breakdowns,
    meta: ev.meta,
  };
}

/** Writes results.json, report.md and report.html into `dir` (each atomically). */
export function writeReport(dir: string, results: ResultsFile): string[] {
  const files = [join(dir, "results.json"), join(dir, "report.md"), join(dir, "report.html")];
  writeFileAtomic(files[0], JSON.stringify(results, null, 2) + "\n");
  writeFileAtomic(files[1], renderMarkdown(results));
  writeFileAtomic(files[2], renderHtml(results));
  return files;
}
