// Renders a report.html in headless Chromium, writes a screenshot and checks that the page shows
// its figures and tables. Without --report it renders a report of a built-in synthetic evaluation.
//
//   npm run check:report-html -- [--report RUN_DIR|report.html] [--out screenshot.png]
// The screenshot defaults to report.png beside the report.
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { dumpDom, findChromium, screenshot } from "../src/report/chromium.js";
import { decodePng, inkStats } from "../src/report/png.js";
import { writeReport } from "../src/report/results.js";
import { fixtureResults } from "../test/report/fixture.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (!findChromium()) {
  console.error("chromium not found: apt-get install -y chromium (or set CHROMIUM)");
  process.exit(2);
}
let html = arg("report");
if (html === undefined) {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-report-"));
  writeReport(dir, fixtureResults());
  html = join(dir, "report.html");
} else if (existsSync(html) && statSync(html).isDirectory()) {
  html = join(html, "report.html");
}
// By default the screenshot goes next to the report, never into the working tree.
const out = arg("out") ?? join(dirname(html), "report.png");

const t0 = Date.now();
screenshot(html, out, { width: 1280, height: 3000 });
const img = decodePng(readFileSync(out));
const ink = inkStats(img);
const dom = dumpDom(html);
const svgs = (dom.match(/<svg\b/g) ?? []).length;
const tables = (dom.match(/<table\b/g) ?? []).length;
const checks: Array<[string, boolean]> = [
  [`screenshot ${img.width}x${img.height}`, img.width === 1280 && img.height === 3000],
  [`ink on ${(100 * ink.inked).toFixed(1)}% of pixels (want 2..60%)`, ink.inked > 0.02 && ink.inked < 0.6],
  [`${ink.colored} distinct strong colours (want >= 4: the plot series)`, ink.colored >= 4],
  [`${svgs} SVG figures in the DOM (want >= 2)`, svgs >= 2],
  [`${tables} tables in the DOM (want >= 3)`, tables >= 3],
];
for (const [what, ok] of checks) console.log(`${ok ? "OK    " : "NOT OK"} ${what}`);
console.log(`rendered ${html} -> ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
