// Accuracy on the shared labelled benchmarks (skips when ../shared/data is absent). Not timed:
// speed is measured by `npm run bench:grader`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gradeSolution } from "../../src/grade/index.js";

const dir = process.env.MATHTUNE_SHARED_DATA ?? fileURLToPath(new URL("../../../shared/data/", import.meta.url));
const PUBLIC = `${dir.replace(/\/?$/, "/")}grader_bench_public.jsonl`;
const MODEL = `${dir.replace(/\/?$/, "/")}grader_bench_model_outputs.jsonl`;
const skip = existsSync(PUBLIC) ? false : `shared data absent (${PUBLIC}); set MATHTUNE_SHARED_DATA to run`;

interface Row {
  gold: string;
  pred: string;
  equiv: boolean;
  core?: boolean;
}

function load(file: string): Row[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Row);
}

test("grader_bench_public: core >= 98.0%, all >= 95.5%, false positives <= 1.0%", { skip }, () => {
  const rows = load(PUBLIC);
  let ok = 0;
  let coreOk = 0;
  let core = 0;
  let fp = 0;
  for (const r of rows) {
    const got = gradeSolution(r.gold, r.pred).correct;
    if (got === r.equiv) ok++;
    if (got && !r.equiv) fp++;
    if (r.core) {
      core++;
      if (got === r.equiv) coreOk++;
    }
  }
  assert.ok((100 * coreOk) / core >= 98.0, `core ${((100 * coreOk) / core).toFixed(1)}%`);
  assert.ok((100 * ok) / rows.length >= 95.5, `all ${((100 * ok) / rows.length).toFixed(1)}%`);
  assert.ok((100 * fp) / rows.length <= 1.0, `false positives ${((100 * fp) / rows.length).toFixed(2)}%`);
});

test("grader_bench_model_outputs: agreement with the labels >= 97%", { skip: existsSync(MODEL) ? false : skip || "absent" }, () => {
  const rows = load(MODEL);
  const agree = rows.filter((r) => gradeSolution(r.gold, r.pred).correct === r.equiv).length;
  assert.ok((100 * agree) / rows.length >= 97, `agreement ${((100 * agree) / rows.length).toFixed(1)}%`);
});
