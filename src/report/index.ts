// Reports: results.json, report.md, report.html.
export { buildResults, writeReport, type ResultsFile } from "./results.js";
export { renderMarkdown } from "./markdown.js";
export { renderHtml, renderPlots } from "./html.js";
export { buildTables, displayName, type Table } from "./tables.js";
export { lineChart, niceTicks, type Series, type ChartOptions } from "./svg.js";
