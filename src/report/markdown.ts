/** `report.md`: the paper's tables in Markdown. */
import type { ResultsFile } from "./results-file.js";
import { buildTables, type Table } from "./tables.js";

/** Escapes a Markdown table cell. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** Renders one table as a Markdown section. */
export function markdownTable(t: Table): string {
  const lines = [`## ${t.title}`, ""];
  if (t.note) lines.push(t.note, "");
  lines.push(`| ${t.header.map(cell).join(" | ")} |`);
  lines.push(`|${t.header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const row of t.rows) lines.push(`| ${row.map(cell).join(" | ")} |`);
  lines.push("");
  return lines.join("\n");
}

/** The whole report.md. */
export function renderMarkdown(r: ResultsFile): string {
  const head = [
    "# Evaluation report",
    "",
    `Samples: \`${String(r.config.samples ?? "?")}\` · clustering: ${r.meta.cluster} · correctness: ${
      r.config.correct_from_file ? "from the samples file" : "re-graded"
    } · seed ${r.meta.seed} · ${r.meta.subsets} subsets per k · ${r.meta.bootstrap} bootstrap resamples · mathtune ${r.versions.mathtune}`,
    "",
  ];
  return head.join("\n") + buildTables(r).map(markdownTable).join("\n");
}
