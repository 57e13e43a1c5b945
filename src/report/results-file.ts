// The shape of `results.json` (docs/formats.md), apart from the code that builds and renders it,
// so that the renderers (markdown, html, tables) and results.ts do not import each other.
import type { Evaluation, MetricTable } from "../metrics/compute.js";

/** The content of results.json. */
export interface ResultsFile {
  results: MetricTable;
  config: Record<string, unknown>;
  versions: Record<string, string>;
  breakdowns: Evaluation["breakdowns"];
  meta: Evaluation["meta"];
}
