/**
 * Headless Chromium, to check that a report renders in a real browser: a screenshot and the
 * parsed DOM. Used by the report test and by scripts/check-report-html.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { MathtuneError, ErrorCode } from "../errors.js";

/** The Chromium binary: $CHROMIUM, else Debian's /usr/bin/chromium; null when absent. */
export function findChromium(): string | null {
  const env = process.env.CHROMIUM;
  if (env && existsSync(env)) return env;
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null;
}

/** Flags for a quiet, offline, throw-away headless run. */
function flags(profile: string): string[] {
  return [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    `--user-data-dir=${profile}`,
  ];
}

function runChromium(args: string[], timeoutMs: number): string {
  const bin = findChromium();
  if (!bin) {
    throw new MathtuneError(ErrorCode.io, "chromium not found", {
      hint: "apt-get install -y chromium, or set CHROMIUM to the browser binary",
    });
  }
  const profile = mkdtempSync(join(tmpdir(), "mathtune-chromium-"));
  try {
    const res = spawnSync(bin, [...flags(profile), ...args], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 });
    if (res.error) throw new MathtuneError(ErrorCode.io, `chromium failed: ${res.error.message}`);
    if (res.status !== 0) {
      throw new MathtuneError(ErrorCode.io, `chromium exited with ${res.status}: ${res.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    }
    return res.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Renders `htmlFile` and writes a PNG screenshot of the given window size. */
export function screenshot(htmlFile: string, pngFile: string, size = { width: 1000, height: 2600 }, timeoutMs = 90_000): void {
  runChromium(
    [`--window-size=${size.width},${size.height}`, `--screenshot=${resolve(pngFile)}`, pathToFileURL(resolve(htmlFile)).href],
    timeoutMs,
  );
  if (!existsSync(pngFile)) throw new MathtuneError(ErrorCode.io, `chromium wrote no screenshot at ${pngFile}`);
}

/** The DOM of `htmlFile` as the browser parsed it (serialised). */
export function dumpDom(htmlFile: string, timeoutMs = 90_000): string {
  return runChromium(["--dump-dom", pathToFileURL(resolve(htmlFile)).href], timeoutMs);
}
