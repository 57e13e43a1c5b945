/**
 * A small hand-written SVG line chart (markers, error bars, dashed reference lines) for the HTML report. Plain
 * strings, no DOM and no dependencies, so the report stays one self-contained file.
 */

/** One series of points. `err` (optional, same length as y) draws ± error bars. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  err?: number[];
  /** Draw as a dashed reference line without markers. Defaults to false. */
  dashed?: boolean;
  /** CSS colour. Defaults to the palette colour of the series' position. */
  color?: string;
}

/** Common chart options. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Width and height in CSS pixels. Default 640 x 360. */
  width?: number;
  height?: number;
  /** Log2 x axis (for k = 1, 2, 4, ...). Defaults to false. */
  logX?: boolean;
}

/** A colour-blind-safe palette (Okabe-Ito), cycled. */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#B8A600"];

/** Escapes text for XML content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 1 ? 2 : 1);
}

/** About five "nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  // The finest round step that gives at most count + 1 intervals.
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (hi - lo) / s <= count + 1) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

interface Frame {
  svg: string[];
  px: (x: number) => number;
  py: (y: number) => number;
  plotRight: number;
}

/** Axes, grid, ticks and titles; returns scale functions for the plot area. */
function frame(o: ChartOptions, xs: number[], ys: number[], xTicks: Array<{ v: number; label: string }> | null): Frame {
  const W = o.width ?? 860;
  const H = o.height ?? 360;
  const left = 56;
  const right = 200; // room for the legend
  const top = 34;
  const bottom = 46;
  const tx = (x: number): number => (o.logX ? Math.log2(x) : x);
  let xlo = Math.min(...xs.map(tx));
  let xhi = Math.max(...xs.map(tx));
  if (xlo === xhi) {
    xlo -= 1;
    xhi += 1;
  }
  let ylo = Math.min(...ys);
  let yhi = Math.max(...ys);
  const pad = Math.max((yhi - ylo) * 0.08, 0.01);
  ylo = Math.max(0, ylo - pad);
  yhi = yhi + pad;
  if (yhi <= 1.0 && yhi > 0.9) yhi = 1;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const px = (x: number): number => left + ((tx(x) - xlo) / (xhi - xlo)) * pw;
  const py = (y: number): number => top + (1 - (y - ylo) / (yhi - ylo)) * ph;
  const svg: string[] = [];
  svg.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="600">${esc(o.title)}</text>`,
  );
  for (const t of niceTicks(ylo, yhi)) {
    const y = py(t);
    svg.push(
      `<line x1="${left}" x2="${left + pw}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#444">${fmt(t)}</text>`,
    );
  }
  const ticks = xTicks ?? niceTicks(xlo, xhi).map((v) => ({ v, label: fmt(v) }));
  for (const t of ticks) {
    const x = xTicks ? px(t.v) : left + ((t.v - xlo) / (xhi - xlo)) * pw;
    svg.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + ph}" y2="${top + ph + 4}" stroke="#444"/>`,
      `<text x="${x.toFixed(1)}" y="${top + ph + 17}" text-anchor="middle" fill="#444">${esc(t.label)}</text>`,
    );
  }
  svg.push(
    `<line x1="${left}" x2="${left + pw}" y1="${top + ph}" y2="${top + ph}" stroke="#444"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#444"/>`,
    `<text x="${left + pw / 2}" y="${H - 8}" text-anchor="middle" fill="#222">${esc(o.xLabel)}</text>`,
    `<text transform="translate(14 ${top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#222">${esc(o.yLabel)}</text>`,
  );
  return { svg, px, py, plotRight: left + pw };
}

function legend(f: Frame, names: string[], colors?: string[], top = 40): void {
  names.forEach((n, i) => {
    const y = top + i * 18;
    const c = colors?.[i] ?? PALETTE[i % PALETTE.length];
    f.svg.push(
      `<rect x="${f.plotRight + 14}" y="${y - 9}" width="12" height="12" fill="${c}"/>`,
      `<text x="${f.plotRight + 32}" y="${y + 1}" fill="#222">${esc(n)}</text>`,
    );
  });
}

function errorBar(f: Frame, x: number, y: number, e: number, color: string): string {
  const X = f.px(x);
  return `<path d="M${X.toFixed(1)} ${f.py(y - e).toFixed(1)}V${f.py(y + e).toFixed(1)}M${(X - 3).toFixed(1)} ${f
    .py(y - e)
    .toFixed(1)}h6M${(X - 3).toFixed(1)} ${f.py(y + e).toFixed(1)}h6" stroke="${color}" fill="none" stroke-width="1"/>`;
}

/** A line chart with markers (and error bars where given). */
export function lineChart(series: Series[], o: ChartOptions & { xTicks?: "data" | "nice" }): string {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const ys = series.flatMap((s) => s.y.flatMap((y, i) => [y - (s.err?.[i] ?? 0), y + (s.err?.[i] ?? 0)]));
  const f = frame(o, xs, ys, o.xTicks === "nice" ? null : xs.map((v) => ({ v, label: fmt(v) })));
  series.forEach((s, si) => {
    const c = s.color ?? PALETTE[si % PALETTE.length];
    const d = s.x.map((x, i) => `${i === 0 ? "M" : "L"}${f.px(x).toFixed(1)} ${f.py(s.y[i]).toFixed(1)}`).join("");
    f.svg.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    if (s.dashed) return;
    s.x.forEach((x, i) => {
      if (s.err) f.svg.push(errorBar(f, x, s.y[i], s.err[i], c));
      f.svg.push(
        `<circle cx="${f.px(x).toFixed(1)}" cy="${f.py(s.y[i]).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(`${s.name} @ ${x}: ${s.y[i].toFixed(4)}`)}</title></circle>`,
      );
    });
  });
  legend(
    f,
    series.map((s) => s.name),
    series.map((s, si) => s.color ?? PALETTE[si % PALETTE.length]),
  );
  f.svg.push("</svg>");
  return f.svg.join("\n");
}
