/**
 * Speed of clustering and voting: 500 problems x 64 samples (MATH500 at the paper's N), synthetic
 * answers with a realistic spread (a few popular answers and a tail of one-offs), random scores.
 * Grading is excluded: answers and correctness are given. Prints one line per stage.
 *
 *   npm run bench:select [-- --problems 500 --samples 64 --repeats 5]
 */
import { performance } from "node:perf_hooks";
import { Rng } from "../src/util/rng.js";
import { equivEquivalence, exactEquivalence } from "../src/select/cluster.js";
import { clusterKey, equivalent } from "../src/grade/index.js";
import { buildCandidates, StrategyRunner, type Candidates, type Strategy } from "../src/select/strategies.js";
import { evaluate, type ProblemSamples } from "../src/metrics/compute.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const P = arg("problems", 500);
const N = arg("samples", 64);
const repeats = arg("repeats", 5);

function synthetic(seed: number): ProblemSamples[] {
  const rng = new Rng(seed);
  return Array.from({ length: P }, (_, p) => {
    // Zipf-like answer popularity: answer j has weight 1/(j+1)^1.5, plus 15% one-off answers and
    // 3% samples without an answer.
    const popular = 1 + rng.int(0, 9);
    const weights = Array.from({ length: popular }, (_, j) => 1 / (j + 1) ** 1.5);
    const total = weights.reduce((a, b) => a + b, 0);
    // The right answer is usually the most popular one, sometimes a rarer one or none of them.
    const right = rng.next() < 0.6 ? 0 : rng.int(1, popular);
    const answers: Array<string | null> = [];
    const correct: boolean[] = [];
    const scores: number[] = [];
    for (let i = 0; i < N; i++) {
      const u = rng.next();
      let a: string | null;
      if (u < 0.03) a = null;
      else if (u < 0.18) a = `\\frac{${rng.int(1, 999)}}{${rng.int(2, 99)}}`;
      else {
        let r = rng.next() * total;
        let j = 0;
        while (r > weights[j] && j < popular - 1) r -= weights[j++];
        a = String(p * 13 + j);
      }
      answers.push(a);
      const ok = a === String(p * 13 + right);
      correct.push(ok);
      scores.push(Math.min(1, Math.max(0, (ok ? 0.65 : 0.4) + 0.25 * rng.normal())));
    }
    return { id: `bench/${p}`, level: 1 + (p % 5), subject: ["Algebra", "Geometry", "Precalculus"][p % 3], answers, correct, scores };
  });
}

const strategies: Strategy[] = [
  { kind: "maj1" },
  { kind: "rr.all" },
  { kind: "rr.top", k: 8 },
  { kind: "wrr" },
  { kind: "wrr.top", k: 8 },
  { kind: "maj1.top", n: 16 },
];

function best(fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min / 1000;
}

const problems = synthetic(1);
let cands: Candidates[] = [];
const tCluster = best(() => {
  cands = problems.map((p) => buildCandidates(p, exactEquivalence));
});
const all = Int32Array.from({ length: N }, (_, i) => i);
let correctMaj = 0;
const tVote = best(() => {
  const runner = new StrategyRunner(strategies, 8);
  correctMaj = 0;
  for (const c of cands) if (runner.run(c, all).choices[0].correct) correctMaj++;
});
const tBoth = best(() => {
  const runner = new StrategyRunner(strategies, 8);
  for (const p of problems) runner.run(buildCandidates(p, exactEquivalence), all);
});
const tEval = best(() => {
  evaluate(problems, { strategies: strategies.slice(1), subsets: 100, bootstrap: 1000 });
});

// With the grader's equivalence the time is mostly grading (cluster keys and pairwise checks on
// distinct answers), which the 2 s target excludes; shown for information, one run, cold caches.
let equivCands: Candidates[] = [];
const t0 = performance.now();
const eq = equivEquivalence({ clusterKey, equivalent });
equivCands = problems.map((p) => buildCandidates(p, eq));
const tEquiv = (performance.now() - t0) / 1000;
const pairs = equivCands.reduce((a, c) => a + (c.pairwiseCalls ?? 0), 0);

const clusters = cands.reduce((a, c) => a + c.numClusters, 0) / cands.length;
const line = (what: string, s: number): void => console.log(`${what.padEnd(58)} ${s.toFixed(3)} s`);
console.log(`select bench: ${P} problems x ${N} samples, ${clusters.toFixed(1)} clusters/problem, maj1 ${(correctMaj / P).toFixed(3)}; best of ${repeats}`);
line("clustering (exact keys)", tCluster);
line("voting + 5 re-ranking strategies + MajK at k = N", tVote);
line("clustering + voting at k = N (the 2 s target)", tBoth);
line(`equiv clustering with the grader (${pairs} pairwise checks)`, tEquiv);
line(`full evaluate: k = 1..${N}, 100 subsets/k, 1000 bootstrap`, tEval);
console.log(tBoth < 2 ? "OK: under 2 s" : "NOT OK: over 2 s");
