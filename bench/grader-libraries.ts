// Measures candidate libraries for the grader's equivalence check on the answer-form rows of
// ../shared/data/grader_bench_public.jsonl (the numbers quoted in docs/grader.md).
// The libraries are not project dependencies; install them elsewhere and point LIBS_DIR at them:
//   npm install --prefix /tmp/gradelibs -E @cortex-js/compute-engine@0.27.0 mathjs@15.2.0
//   LIBS_DIR=/tmp/gradelibs npx tsx bench/grader-libraries.ts
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

interface Row {
  gold: string;
  pred: string;
  equiv: boolean;
  core?: boolean;
  input_kind?: string;
}

const libs = process.env.LIBS_DIR;
const dataDir = process.env.MATHTUNE_SHARED_DATA ?? fileURLToPath(new URL("../../shared/data/", import.meta.url));
const file = `${dataDir.replace(/\/?$/, "/")}grader_bench_public.jsonl`;
if (!libs || !existsSync(file)) {
  console.log("skipped: set LIBS_DIR to a folder with the libraries installed (see the header), and keep ../shared/data");
  process.exit(0);
}
const rows = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as Row)
  .filter((r) => r.input_kind === "answer");
const req = createRequire(pathToFileURL(`${libs}/package.json`));
const strip = (s: string): string => s.trim().replace(/^\$+|\$+$/g, "").replace(/^\\boxed\{([\s\S]*)\}$/, "$1");

function score(name: string, eq: (a: string, b: string) => boolean): void {
  let ok = 0;
  let core = 0;
  let coreOk = 0;
  let errors = 0;
  const t0 = performance.now();
  for (const r of rows) {
    let got = false;
    try {
      got = eq(strip(r.gold), strip(r.pred));
    } catch {
      errors++;
    }
    if (got === r.equiv) ok++;
    if (r.core) {
      core++;
      if (got === r.equiv) coreOk++;
    }
  }
  const s = (performance.now() - t0) / rows.length;
  console.log(`${name}: ${rows.length} rows, accuracy ${((100 * ok) / rows.length).toFixed(1)}%, core ${((100 * coreOk) / core).toFixed(1)}%, errors ${errors}, ${s.toFixed(2)} s per 1000`);
}

const { ComputeEngine } = req("@cortex-js/compute-engine") as { ComputeEngine: new () => { parse(s: string): { isEqual(o: unknown): boolean | undefined; simplify(): { isSame(o: unknown): boolean } } } };
const ce = new ComputeEngine();
score("@cortex-js/compute-engine", (a, b) => {
  const x = ce.parse(a);
  const y = ce.parse(b);
  return x.isEqual(y) === true || x.simplify().isSame(y.simplify());
});
const math = req("mathjs") as { evaluate(s: string): unknown; equal(a: unknown, b: unknown): unknown };
const frac = (s: string): string => s.replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, "($1)/($2)");
score("mathjs (\\frac rewritten)", (a, b) => math.equal(math.evaluate(frac(a)), math.evaluate(frac(b))) === true);
