// Reports: results.json shape, report.md tables, a self-contained report.html, and (when Debian's
// chromium is installed) a real browser rendering of it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeReport } from "../../src/report/results.js";
import { renderMarkdown } from "../../src/report/markdown.js";
import { renderHtml, renderPlots } from "../../src/report/html.js";
import { niceTicks } from "../../src/report/svg.js";
import { decodePng, inkStats } from "../../src/report/png.js";
import { dumpDom, findChromium, screenshot } from "../../src/report/chromium.js";
import { fixtureResults } from "./fixture.js";

const results = fixtureResults();

test("results.json carries the formats.md keys, config, versions and breakdowns", () => {
  const r = results.results;
  for (const key of ["pass@1", "pass@16", "maj1@16", "majK@16", "rr.all@16", "rr.top2@16", "wrr@16", "wrr.top2@16", "maj1.top4@16"]) {
    assert.equal(typeof r[key], "number", key);
    assert.equal(typeof r[`${key}_stderr`], "number", `${key}_stderr`);
  }
  assert.equal(typeof r["rr.top2@16:calls"], "number");
  assert.equal(r["maj1@16:calls"], undefined); // majority voting needs no evaluator
  assert.ok(r["rr.top2@16:calls"] < r["rr.all@16:calls"]);
  assert.deepEqual(Object.keys(results.breakdowns.level), ["1", "2", "3", "4", "5"]);
  assert.deepEqual(Object.keys(results.breakdowns.subject), ["Algebra", "Geometry", "Number Theory"]);
  assert.equal(results.versions.node, process.version);
});

test("report.md has the paper's tables with values from results.json", () => {
  const md = renderMarkdown(results);
  for (const title of ["## Accuracy at N = 16", "## Selection strategies at N = 16", "## Accuracy against k", "## By level", "## By subject"]) {
    assert.ok(md.includes(title), title);
  }
  const maj = `| Maj1@16 | ${(100 * results.results["maj1@16"]).toFixed(1)} ± ${(100 * results.results["maj1@16_stderr"]).toFixed(1)} |`;
  assert.ok(md.includes(maj), maj);
  assert.ok(md.includes("Pass@1 (mean sample accuracy; no greedy samples)"));
  assert.ok(md.includes(`| RR.Top2 | ${(100 * results.results["rr.top2@16"]).toFixed(1)}`));
});

test("report.html is self-contained: inline SVG figures, no scripts, no external resources", () => {
  const html = renderHtml(results);
  assert.ok(html.startsWith("<!DOCTYPE html>"));
  assert.equal((html.match(/<svg\b/g) ?? []).length, 3);
  assert.equal((html.match(/<\/svg>/g) ?? []).length, 3);
  assert.ok(!/<script\b/i.test(html));
  assert.ok(!/\b(?:src|href)\s*=/i.test(html));
  const urls = html.match(/https?:\/\/[^\s"']+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ["http://www.w3.org/2000/svg"]);
  const plots = renderPlots(results);
  assert.ok(plots.byLevel?.includes("Accuracy by level"));
  assert.ok(plots.byCalls?.includes("evaluator calls"));
  // Every plotted coordinate is a finite number.
  assert.ok(!/NaN|Infinity/.test(html));
});

test("writeReport writes the three files and leaves no temp files", () => {
  const dir = mkdtempSync(join(tmpdir(), "mathtune-report-test-"));
  try {
    writeReport(dir, results);
    assert.deepEqual(readdirSync(dir).sort(), ["report.html", "report.md", "results.json"]);
    const back = JSON.parse(readFileSync(join(dir, "results.json"), "utf8"));
    assert.equal(back.results["maj1@16"], results.results["maj1@16"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("nice ticks cover the range with round steps", () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.42, 0.97), [0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

/** A PNG of the given rows (RGB), each row with its filter byte, built by hand. */
function handPng(width: number, rows: Array<{ filter: number; bytes: number[] }>): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type, "latin1"), data, Buffer.alloc(4)]); // CRC unchecked
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(rows.length, 4);
  ihdr[8] = 8;
  ihdr[9] = 2; // RGB
  const raw = Buffer.from(rows.flatMap((r) => [r.filter, ...r.bytes]));
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

test("PNG reader: unfilters None, Sub and Up rows and counts ink", () => {
  const png = handPng(2, [
    { filter: 0, bytes: [255, 255, 255, 255, 0, 0] }, // white, red
    { filter: 1, bytes: [0, 0, 255, 0, 0, 0] }, // Sub: blue, blue
    { filter: 2, bytes: [255, 255, 0, 0, 0, 0] }, // Up: blue+255 → (0,0,254)? no: (0+255,0+255,255+0)
  ]);
  const img = decodePng(png);
  assert.equal(img.width, 2);
  assert.equal(img.height, 3);
  assert.deepEqual([...img.rgba.subarray(0, 8)], [255, 255, 255, 255, 255, 0, 0, 255]);
  assert.deepEqual([...img.rgba.subarray(8, 16)], [0, 0, 255, 255, 0, 0, 255, 255]);
  assert.deepEqual([...img.rgba.subarray(16, 24)], [255, 255, 255, 255, 0, 0, 255, 255]);
  const ink = inkStats(img);
  assert.ok(Math.abs(ink.inked - 4 / 6) < 1e-12);
  assert.equal(ink.colored, 2);
  assert.throws(() => decodePng(Buffer.from("not a png")), /not a PNG/);
});

const chromium = findChromium();
test(
  "report.html renders in headless Chromium: figures and tables drawn",
  { skip: chromium ? false : "chromium not installed (apt-get install -y chromium, or set CHROMIUM); browser check skipped", timeout: 180_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), "mathtune-report-browser-"));
    try {
      writeReport(dir, results);
      const png = join(dir, "shot.png");
      screenshot(join(dir, "report.html"), png, { width: 1100, height: 2400 });
      assert.ok(existsSync(png));
      const img = decodePng(readFileSync(png));
      assert.equal(img.width, 1100);
      const ink = inkStats(img);
      assert.ok(ink.inked > 0.02 && ink.inked < 0.6, `ink ${ink.inked}`);
      assert.ok(ink.colored >= 4, `only ${ink.colored} strong colours: the plots did not draw`);
      const dom = dumpDom(join(dir, "report.html"));
      assert.equal((dom.match(/<svg\b/g) ?? []).length, 3);
      assert.ok((dom.match(/<circle\b/g) ?? []).length > 20);
      assert.equal((dom.match(/<table\b/g) ?? []).length, 5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
