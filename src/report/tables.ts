/**
 * The report's tables, built once from results.json and rendered by both the Markdown and the
 * HTML report, so the two never disagree.
 */
import type { MetricTable } from "../metrics/compute.js";
import type { ResultsFile } from "./results-file.js";

/** A table of already formatted cells. */
export interface Table {
  title: string;
  /** One line under the title saying how to read it. */
  note?: string;
  header: string[];
  rows: string[][];
}

/** Display name of a metric / strategy key, in the paper's spelling. */
export function displayName(key: string, majK?: number): string {
  if (key === "pass") return "Pass";
  if (key === "majK") return majK === undefined ? "MajK" : `Maj${majK}`;
  if (key === "maj1") return "Maj1";
  if (key === "rr.all") return "RR.All";
  if (key === "wrr") return "W.RR";
  let m = /^rr\.top(\d+)$/.exec(key);
  if (m) return `RR.Top${m[1]}`;
  m = /^wrr\.top(\d+)$/.exec(key);
  if (m) return `W.RR.Top${m[1]}`;
  m = /^maj1\.top(\d+)$/.exec(key);
  if (m) return `Maj1.Top${m[1]}`;
  return key;
}

/** `93.0 ± 2.5` (percent) for key in t, or `–` when absent. */
export function pct(t: MetricTable, key: string, withErr = true): string {
  const v = t[key];
  if (v === undefined) return "–";
  const e = t[`${key}_stderr`];
  return withErr && e !== undefined ? `${(100 * v).toFixed(1)} ± ${(100 * e).toFixed(1)}` : (100 * v).toFixed(1);
}

/** The largest k reported (N for the headline tables). */
export function topK(r: ResultsFile): number {
  return r.meta.ks[r.meta.ks.length - 1];
}

/** Every table of the report, in order. */
export function buildTables(r: ResultsFile): Table[] {
  const t = r.results;
  const N = topK(r);
  const K = r.meta.majK;
  const strategies = r.meta.strategies;
  const tables: Table[] = [];

  const pass1Label = r.meta.pass1Source === "greedy" ? "Pass@1 (greedy)" : "Pass@1 (mean sample accuracy; no greedy samples)";
  const summary: string[][] = [[pass1Label, pct(t, "pass@1")]];
  if (r.meta.pass1Source === "greedy") summary.push(["Mean sample accuracy", pct(t, "mean@1")]);
  summary.push(
    ["First sample (index 0)", pct(t, "first@1")],
    [`Pass@${N} (oracle)`, pct(t, `pass@${N}`)],
    [`Maj1@${N}`, pct(t, `maj1@${N}`)],
    [`Maj${K}@${N} (oracle: one of the ${K} largest clusters correct)`, pct(t, `majK@${N}`)],
  );
  tables.push({
    title: `Accuracy at N = ${N}`,
    note: `${r.meta.problems} problems, ${N} samples each; accuracy in % ± bootstrap standard error; clustering: ${r.meta.cluster}.`,
    header: ["Metric", "Accuracy (%)"],
    rows: summary,
  });

  const rerank = strategies.map((s) => {
    const calls = t[`${s}@${N}:calls`] ?? 0;
    return [displayName(s), pct(t, `${s}@${N}`), String(Math.round(calls)), (calls / r.meta.problems).toFixed(1)];
  });
  tables.push({
    title: `Selection strategies at N = ${N}`,
    note: "Evaluator calls: candidate solutions the strategy has the evaluator score (total, and per problem).",
    header: ["Strategy", `Accuracy@${N} (%)`, "Evaluator calls", "Calls / problem"],
    rows: rerank,
  });

  const byK: string[][] = [];
  const metricKeys = ["pass", "maj1", "majK", ...strategies.filter((s) => s !== "maj1")];
  for (const m of metricKeys) {
    byK.push([displayName(m, K), ...r.meta.ks.map((k) => pct(t, m === "pass" && k === 1 ? "mean@1" : `${m}@${k}`))]);
  }
  tables.push({
    title: "Accuracy against k",
    note: "For k < N: mean over seeded random size-k subsets of each problem's samples (all subsets when there are few); Pass@k: unbiased estimator.",
    header: ["Metric", ...r.meta.ks.map((k) => `k = ${k}`)],
    rows: byK,
  });

  for (const dim of ["level", "subject"] as const) {
    const groups = r.breakdowns[dim];
    const names = Object.keys(groups);
    if (names.length === 0) continue;
    const cols = ["pass@1", `maj1@${N}`, `pass@${N}`, ...strategies.filter((s) => s !== "maj1").map((s) => `${s}@${N}`)];
    tables.push({
      title: dim === "level" ? "By level" : "By subject",
      note: "Accuracy in %.",
      header: [
        dim === "level" ? "Level" : "Subject",
        "Problems",
        ...cols.map((c) => {
          const [m, k] = c.split("@");
          return `${displayName(m, K)}@${k}`;
        }),
      ],
      rows: names.map((g) => [g, String(groups[g].problems), ...cols.map((c) => pct(groups[g], c, false))]),
    });
  }
  return tables;
}
