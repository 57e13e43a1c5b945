/**
 * `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external requests)
 * with the report's tables and three plots: accuracy against k per strategy, accuracy by level,
 * and accuracy against evaluator calls.
 */
import type { ResultsFile } from "./results-file.js";
import { buildTables, displayName, topK, type Table } from "./tables.js";
import { esc, lineChart, PALETTE, type Series } from "./svg.js";

/** One colour per metric family across all figures (Pass, Maj1, MajK, then the strategies). */
function colorOf(metric: string, r: ResultsFile): string {
  const order = ["pass", "maj1", "majK", ...r.meta.strategies.filter((s) => s !== "maj1")];
  const i = order.indexOf(metric);
  return i < 0 ? "#777777" : PALETTE[i % PALETTE.length];
}

function htmlTable(t: Table): string {
  const head = `<tr>${t.header.map((h, i) => `<th${i === 0 ? "" : ' class="num"'}>${esc(h)}</th>`).join("")}</tr>`;
  const body = t.rows
    .map((r) => `<tr>${r.map((c, i) => `<td${i === 0 ? "" : ' class="num"'}>${esc(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<section><h2>${esc(t.title)}</h2>${t.note ? `<p class="note">${esc(t.note)}</p>` : ""}<div class="scroll"><table>${head}\n${body}</table></div></section>`;
}

/** The three figures as SVG strings (exported for tests). */
export function renderPlots(r: ResultsFile): { byK: string; byLevel: string | null; byCalls: string | null } {
  const t = r.results;
  const ks = r.meta.ks;
  const N = topK(r);
  const metricKeys = ["pass", "maj1", "majK", ...r.meta.strategies.filter((s) => s !== "maj1")];
  const series: Series[] = metricKeys.map((m) => {
    const keys = ks.map((k) => (m === "pass" && k === 1 ? "mean@1" : `${m}@${k}`));
    return {
      name: displayName(m, r.meta.majK),
      color: colorOf(m, r),
      x: ks,
      y: keys.map((k) => t[k]),
      err: keys.map((k) => t[`${k}_stderr`] ?? 0),
    };
  });
  const byK = lineChart(
    series.filter((s) => s.y.every((v) => v !== undefined)),
    { title: "Accuracy against k", xLabel: "k (samples per problem)", yLabel: "accuracy", logX: true },
  );

  let byLevel: string | null = null;
  const levels = Object.keys(r.breakdowns.level);
  if (levels.length > 0) {
    const keys = ["pass@1", `maj1@${N}`, ...r.meta.strategies.filter((s) => s !== "maj1").map((s) => `${s}@${N}`), `pass@${N}`];
    const withErr = new Set(["pass@1", `maj1@${N}`]);
    const lines: Series[] = keys.map((key) => {
      const [m, k] = key.split("@");
      const s: Series = {
        name: `${displayName(m, r.meta.majK)}@${k}`,
        // Pass@1 is drawn in grey to tell it from Pass@N.
        color: key === "pass@1" ? "#999999" : colorOf(m, r),
        x: levels.map(Number),
        y: levels.map((l) => r.breakdowns.level[l][key] ?? NaN),
      };
      if (withErr.has(key)) s.err = levels.map((l) => r.breakdowns.level[l][`${key}_stderr`] ?? 0);
      return s;
    });
    byLevel = lineChart(
      lines.filter((s) => s.y.every((v) => Number.isFinite(v))),
      { title: "Accuracy by level", xLabel: "difficulty level", yLabel: "accuracy" },
    );
  }

  let byCalls: string | null = null;
  const scored = r.meta.strategies.filter((s) => s !== "maj1");
  if (scored.length > 0) {
    const P = r.meta.problems;
    const curves: Series[] = scored.map((s) => ({
      name: displayName(s),
      color: colorOf(s, r),
      x: ks.map((k) => (t[`${s}@${k}:calls`] ?? 0) / P),
      y: ks.map((k) => t[`${s}@${k}`]),
    }));
    const maxCalls = Math.max(...curves.flatMap((c) => c.x));
    curves.push({
      name: `Maj1@${N}, no evaluator`,
      color: colorOf("maj1", r),
      x: [0, maxCalls],
      y: [t[`maj1@${N}`], t[`maj1@${N}`]],
      dashed: true,
    });
    byCalls = lineChart(curves, {
      title: "Accuracy against evaluator calls (one point per k)",
      xLabel: "evaluator calls per problem",
      yLabel: "accuracy",
      xTicks: "nice",
    });
  }
  return { byK, byLevel, byCalls };
}

const CSS = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
.scroll { overflow-x: auto; } figcaption { color: #555; font-size: 0.85rem; max-width: 860px; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note, .meta { color: #555; font-size: 0.9rem; } figure { margin: 1rem 0; }
`;

/** The whole report.html. */
export function renderHtml(r: ResultsFile): string {
  const plots = renderPlots(r);
  const captions = [
    "Accuracy at k samples per problem for each metric and strategy; bars: ± bootstrap standard error over problems.",
    `Accuracy by MATH level at k = ${topK(r)}; bars (Pass@1, Maj1 only): ± bootstrap standard error.`,
    "Each strategy's accuracy against the evaluator calls it needs, at each k; dashed: majority vote without an evaluator.",
  ];
  const figures = [plots.byK, plots.byLevel, plots.byCalls]
    .map((s, i) => (s === null ? "" : `<figure>${s}<figcaption>${esc(captions[i])}</figcaption></figure>`))
    .filter((s) => s !== "")
    .join("\n");
  const meta = `samples: ${String(r.config.samples ?? "?")} · clustering: ${r.meta.cluster} · correctness: ${
    r.config.correct_from_file ? "from the samples file" : "re-graded"
  } · seed ${r.meta.seed} · ${r.meta.subsets} subsets per k · ${r.meta.bootstrap} bootstrap resamples · mathtune ${r.versions.mathtune}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>mathtune evaluation report</title>
<style>${CSS}</style>
</head>
<body>
<h1>Evaluation report</h1>
<p class="meta">${esc(meta)}</p>
<section><h2>Figures</h2>
${figures}
</section>
${buildTables(r).map(htmlTable).join("\n")}
</body>
</html>
`;
}
