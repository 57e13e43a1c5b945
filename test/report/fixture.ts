// A small deterministic evaluation for report tests and the HTML check script: 60 problems of
// five levels and three subjects, 16 samples each, evaluator scores that favour correct answers.
import { Rng } from "../../src/util/rng.js";
import { evaluate, type ProblemSamples } from "../../src/metrics/compute.js";
import type { Strategy } from "../../src/select/strategies.js";
import { buildResults, type ResultsFile } from "../../src/report/results.js";

export function fixtureProblems(seed = 5, count = 60, n = 16): ProblemSamples[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, (_, p) => {
    const level = 1 + (p % 5);
    const pRight = 0.85 - 0.12 * level;
    const answers: Array<string | null> = [];
    const correct: boolean[] = [];
    const scores: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      const a = u < 0.03 ? null : u < 0.03 + pRight ? "right" : `wrong${rng.int(0, 2 + level)}`;
      answers.push(a);
      correct.push(a === "right");
      scores.push(Math.min(1, Math.max(0, (a === "right" ? 0.62 : 0.42) + 0.2 * rng.normal())));
    }
    return { id: `fx/${p}`, level, subject: ["Algebra", "Geometry", "Number Theory"][p % 3], answers, correct, scores };
  });
}

export const fixtureStrategies: Strategy[] = [
  { kind: "rr.all" },
  { kind: "rr.top", k: 2 },
  { kind: "wrr" },
  { kind: "wrr.top", k: 2 },
  { kind: "maj1.top", n: 4 },
];

export function fixtureResults(): ResultsFile {
  const ev = evaluate(fixtureProblems(), { strategies: fixtureStrategies, majK: 2, subsets: 40, bootstrap: 200 });
  return buildResults(ev, { samples: "fixture", correct_from_file: true });
}
