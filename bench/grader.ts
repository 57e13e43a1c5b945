// Grader benchmark: accuracy, false-positive / false-negative rates, per-category table and speed
// on ../shared/data/grader_bench_public.jsonl, and agreement on grader_bench_model_outputs.jsonl.
// Usage: npm run bench:grader [-- --failures] [-- --category NAME] [-- --data DIR]
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gradeSolution } from "../src/grade/index.js";

interface Row {
  id: string;
  gold: string;
  pred: string;
  equiv: boolean;
  category?: string;
  core?: boolean;
  tags?: string[];
  input_kind?: string;
}

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const value = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dataDir =
  value("--data") ?? process.env.MATHTUNE_SHARED_DATA ?? fileURLToPath(new URL("../../shared/data/", import.meta.url));

function load(name: string): Row[] | null {
  const file = `${dataDir.replace(/\/?$/, "/")}${name}`;
  if (!existsSync(file)) return null;
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Row);
}

interface Tally {
  n: number;
  ok: number;
  fp: number;
  fn: number;
  neg: number;
  pos: number;
}
const empty = (): Tally => ({ n: 0, ok: 0, fp: 0, fn: 0, neg: 0, pos: 0 });
function add(t: Tally, label: boolean, got: boolean): void {
  t.n++;
  if (label) t.pos++;
  else t.neg++;
  if (label === got) t.ok++;
  else if (got) t.fp++;
  else t.fn++;
}
const pct = (a: number, b: number): string => (b === 0 ? "-" : ((100 * a) / b).toFixed(1));

function run(rows: Row[], repeat: number): { got: boolean[]; reasons: string[]; extracted: (string | null)[]; seconds: number } {
  let got: boolean[] = [];
  let reasons: string[] = [];
  let extracted: (string | null)[] = [];
  const t0 = performance.now();
  for (let r = 0; r < repeat; r++) {
    got = [];
    reasons = [];
    extracted = [];
    for (const row of rows) {
      const res = gradeSolution(row.gold, row.pred);
      got.push(res.correct);
      reasons.push(res.reason);
      extracted.push(res.extracted);
    }
  }
  return { got, reasons, extracted, seconds: (performance.now() - t0) / 1000 / repeat };
}

const pub = load("grader_bench_public.jsonl");
if (pub === null) {
  console.log(`skipped: ${dataDir}grader_bench_public.jsonl not found (set MATHTUNE_SHARED_DATA or --data)`);
  process.exit(0);
}
const only = value("--category");
const rows = only ? pub.filter((r) => r.category === only) : pub;
run(rows.slice(0, 50), 1); // warm-up (JIT)
const res = run(rows, Number(value("--repeat") ?? 3));

const all = empty();
const core = empty();
const byCat = new Map<string, Tally>();
const reasons = new Map<string, number>();
rows.forEach((row, i) => {
  add(all, row.equiv, res.got[i]);
  if (row.core) add(core, row.equiv, res.got[i]);
  const c = row.category ?? "?";
  if (!byCat.has(c)) byCat.set(c, empty());
  add(byCat.get(c) as Tally, row.equiv, res.got[i]);
  reasons.set(res.reasons[i], (reasons.get(res.reasons[i]) ?? 0) + 1);
});

console.log(`grader_bench_public.jsonl (${rows.length} cases)`);
console.log("| subset | n | accuracy % | false positives % of negatives | false negatives % of positives |");
console.log("|---|---:|---:|---:|---:|");
for (const [name, t] of [["all", all], ["core", core]] as const) {
  console.log(`| ${name} | ${t.n} | ${pct(t.ok, t.n)} | ${pct(t.fp, t.neg)} (${t.fp}) | ${pct(t.fn, t.pos)} (${t.fn}) |`);
}
console.log(`false positives as % of all cases: ${pct(all.fp, all.n)}; of core cases: ${pct(core.fp, core.n)}`);
console.log("\n| category | n | accuracy % | FP | FN |");
console.log("|---|---:|---:|---:|---:|");
for (const [c, t] of [...byCat.entries()].sort((a, b) => b[1].n - a[1].n)) {
  console.log(`| ${c} | ${t.n} | ${pct(t.ok, t.n)} | ${t.fp} | ${t.fn} |`);
}
console.log(`\nreasons: ${[...reasons.entries()].map(([k, v]) => `${k} ${v}`).join(", ")}`);
console.log(`speed: ${(res.seconds * (1000 / rows.length)).toFixed(3)} s per 1000 cases (one process, mean of ${value("--repeat") ?? 3} passes)`);

if (flag("--failures")) {
  console.log("\nfailures:");
  rows.forEach((row, i) => {
    if (row.equiv === res.got[i]) return;
    const ex = JSON.stringify(res.extracted[i]);
    console.log(
      `${row.id} ${row.category} ${row.core ? "core" : "non-core"} label=${row.equiv} got=${res.reasons[i]} ${JSON.stringify(row.tags ?? [])}\n  gold: ${JSON.stringify(row.gold.slice(-150))}\n  pred: ${JSON.stringify(row.pred.slice(-150))}\n  extracted: ${ex}`,
    );
  });
}

const mo = load("grader_bench_model_outputs.jsonl");
if (mo !== null && !only) {
  const r = run(mo, 1);
  const t = empty();
  mo.forEach((row, i) => add(t, row.equiv, r.got[i]));
  console.log(
    `\ngrader_bench_model_outputs.jsonl (${mo.length} solutions): agreement ${pct(t.ok, t.n)}% (disagreements: ${t.fp} we accept / label rejects, ${t.fn} we reject / label accepts); ${(r.seconds * (1000 / mo.length)).toFixed(3)} s per 1000`,
  );
  if (flag("--failures")) {
    mo.forEach((row, i) => {
      if (row.equiv === r.got[i]) return;
      console.log(`${row.id} label=${row.equiv} got=${r.reasons[i]} gold=${JSON.stringify(row.gold)} extracted=${JSON.stringify(r.extracted[i])}`);
    });
  }
}

// Held-out agreement on data the grader was not developed on: Qwen2.5-Math's own labels (its
// math_equal grader) on 100 MATH problems x 8 samples, and GSM8K's published model solutions.
if (!only) {
  const qwen = load("qwen25math_math_cot_100_rm_maj.jsonl") as unknown as Array<{ gt: string; code: string[]; score: boolean[] }> | null;
  if (qwen !== null) {
    let n = 0;
    let agree = 0;
    const t0 = performance.now();
    for (const q of qwen) {
      q.code.forEach((sol, k) => {
        n++;
        if (gradeSolution(q.gt, sol).correct === q.score[k]) agree++;
      });
    }
    console.log(`qwen25math_math_cot_100_rm_maj.jsonl (${n} solutions, labels from Qwen2.5-Math's grader): agreement ${pct(agree, n)}% (${((performance.now() - t0) / n).toFixed(3)} s per 1000)`);
  }
  const gsm = load("gsm8k_example_model_solutions.jsonl") as unknown as Array<Record<string, { is_correct: boolean; solution: string } | string>> | null;
  if (gsm !== null) {
    let n = 0;
    let agree = 0;
    for (const row of gsm) {
      const gt = /A:\s*(.+)\s*$/.exec(row.ground_truth as string)?.[1] ?? "";
      for (const key of ["6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"]) {
        const s = row[key] as { is_correct: boolean; solution: string };
        n++;
        if (gradeSolution(gt, s.solution).correct === s.is_correct) agree++;
      }
    }
    console.log(`gsm8k_example_model_solutions.jsonl (${n} solutions, published is_correct labels): agreement ${pct(agree, n)}%`);
  }
}
