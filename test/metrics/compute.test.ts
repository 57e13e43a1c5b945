// evaluate(): metric keys, exact subset expectations, Pass@1 labelling, calls, breakdowns.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { addGreedyOnly, defaultKs, evaluate, type ProblemSamples } from "../../src/metrics/compute.js";
import { pairedDifference } from "../../src/recipe/report.js";
import { groupSamples, type LocatedSample } from "../../src/metrics/samples.js";
import type { Sample } from "../../src/data/records.js";

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, msg ?? `${a} vs ${b}`);

test("default k values: powers of two below n, and n", () => {
  assert.deepEqual(defaultKs(64), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(defaultKs(6), [1, 2, 4, 6]);
  assert.deepEqual(defaultKs(1), [1]);
});

test("maj1@k for k < n is the exact mean over all size-k subsets when they are few", () => {
  // Answers a a b (a wrong, b right). Size-2 subsets: {0,1} → a, {0,2} → tie a/b → a (earlier),
  // {1,2} → a. So maj1@2 = 0; pass@2 = 1 - C(2,2)/C(3,2) = 2/3; Maj2@2 (oracle) = 2/3.
  const p: ProblemSamples = { id: "p", answers: ["a", "a", "b"], correct: [false, false, true] };
  const ev = evaluate([p], { ks: [1, 2, 3], majK: 2, bootstrap: 10 });
  close(ev.results["maj1@2"], 0);
  close(ev.results["pass@2"], 2 / 3);
  close(ev.results["majK@2"], 2 / 3);
  close(ev.results["maj1@1"], 1 / 3);
  close(ev.results["pass@1"], 1 / 3);
  close(ev.results["maj1@3"], 0);
  close(ev.results["majK@3"], 1);
  close(ev.results["pass@3"], 1);
  assert.equal(ev.meta.pass1Source, "mean-sample-accuracy");
  assert.equal(ev.results["maj1@3_stderr"], 0); // one problem: no spread
});

test("Pass@1 is the greedy sample when every problem has one", () => {
  const ps: ProblemSamples[] = [
    { id: "1", answers: ["x", "y"], correct: [true, false], greedyCorrect: false },
    { id: "2", answers: ["x", "y"], correct: [true, true], greedyCorrect: true },
  ];
  const ev = evaluate(ps, { bootstrap: 10 });
  assert.equal(ev.meta.pass1Source, "greedy");
  close(ev.results["pass@1"], 0.5);
  close(ev.results["greedy@1"], 0.5);
  close(ev.results["mean@1"], 0.75);
  // One problem without a greedy sample: fall back to mean sample accuracy, labelled so.
  const ev2 = evaluate([...ps, { id: "3", answers: ["z"], correct: [false] }], { bootstrap: 10 });
  assert.equal(ev2.meta.pass1Source, "mean-sample-accuracy");
  assert.equal(ev2.results["greedy@1"], undefined);
});

test("evaluator calls are summed over problems; k above the smallest n is dropped", () => {
  const ps: ProblemSamples[] = [
    { id: "1", answers: ["a", "a", "b", "c"], correct: [true, true, false, false], scores: [0.1, 0.2, 0.9, 0.3], level: 1, subject: "Algebra" },
    { id: "2", answers: ["a", "b", "b", "b", "c"], correct: [false, true, true, true, false], scores: [0.9, 0.1, 0.1, 0.1, 0.8], level: 2, subject: "Algebra" },
  ];
  const ev = evaluate(ps, {
    ks: [4, 5],
    strategies: [{ kind: "rr.all" }, { kind: "rr.top", k: 1 }],
    majK: 1,
    subsets: 1000,
    bootstrap: 50,
  });
  assert.deepEqual(ev.meta.ks, [4]);
  assert.deepEqual(ev.meta.ksDropped, [5]);
  // Problem 1 at k = 4 (all samples): rr.all → sample 2 (wrong), 4 calls; rr.top1 → cluster a, 2 calls.
  // Problem 2 at k = 4: the mean over its 5 size-4 subsets.
  assert.equal(ev.perProblem.values["rr.all@4:calls"][0], 4);
  assert.equal(ev.perProblem.values["rr.top1@4:calls"][0], 2);
  assert.equal(ev.perProblem.values["rr.all@4"][0], 0);
  assert.equal(ev.perProblem.values["rr.top1@4"][0], 1);
  close(ev.results["rr.all@4:calls"], 4 + 4);
  // Breakdowns: one problem per level; both in Algebra.
  assert.deepEqual(Object.keys(ev.breakdowns.level), ["1", "2"]);
  assert.equal(ev.breakdowns.subject.Algebra.problems, 2);
  close(ev.breakdowns.level["1"]["rr.top1@4"], 1);
  close(ev.breakdowns.subject.Algebra["maj1@4"], ev.results["maj1@4"]);
});

test("results do not depend on the order of problems (subsets are seeded by problem id)", () => {
  const mk = (i: number): ProblemSamples => ({
    id: `p${i}`,
    answers: Array.from({ length: 16 }, (_, j) => String((i * 7 + j * j) % 5)),
    correct: Array.from({ length: 16 }, (_, j) => (i * 7 + j * j) % 5 === 1),
    scores: Array.from({ length: 16 }, (_, j) => ((i * 31 + j * 17) % 13) / 13),
  });
  const ps = Array.from({ length: 12 }, (_, i) => mk(i));
  const opts = { strategies: [{ kind: "wrr" as const }], subsets: 20, bootstrap: 20 };
  const a = evaluate(ps, opts).results;
  const b = evaluate([...ps].reverse(), opts).results;
  for (const key of Object.keys(a)) if (!key.endsWith("_stderr")) close(a[key], b[key], key);
});

test("property: pass@k is monotone in k and at least maj1@k; maj1@1 equals mean accuracy", () => {
  const probArb = fc.integer({ min: 2, max: 10 }).chain((n) =>
    fc.record({
      answers: fc.array(fc.constantFrom("1", "2", "3"), { minLength: n, maxLength: n }),
      right: fc.constantFrom("1", "2"),
    }),
  );
  fc.assert(
    fc.property(fc.array(probArb, { minLength: 1, maxLength: 5 }), (raw) => {
      const n = Math.min(...raw.map((r) => r.answers.length));
      const ps: ProblemSamples[] = raw.map((r, i) => ({
        id: String(i),
        answers: r.answers.slice(0, n),
        correct: r.answers.slice(0, n).map((a) => a === r.right),
      }));
      // 300 subsets cover every size-k subset of n <= 10 samples, so the values are exact expectations.
      const ev = evaluate(ps, { subsets: 300, bootstrap: 5 });
      const ks = ev.meta.ks;
      for (let i = 1; i < ks.length; i++) {
        const prev = ks[i - 1] === 1 ? ev.results["mean@1"] : ev.results[`pass@${ks[i - 1]}`];
        assert.ok(prev <= ev.results[`pass@${ks[i]}`] + 1e-12);
      }
      for (const k of ks) {
        const pk = k === 1 ? ev.results["mean@1"] : ev.results[`pass@${k}`];
        assert.ok(ev.results[`maj1@${k}`] <= pk + 1e-12);
        assert.ok(ev.results[`majK@${k}`] <= pk + 1e-12);
        assert.ok(ev.results[`maj1@${k}`] <= ev.results[`majK@${k}`] + 1e-12);
      }
      close(ev.results["maj1@1"], ev.results["mean@1"]);
    }),
    { numRuns: 100 },
  );
});

function located(samples: Sample[]): LocatedSample[] {
  return samples.map((sample, i) => ({ sample, file: "s.jsonl", line: i + 1 }));
}

test("groupSamples: indices 0..N-1, one greedy sample, errors carry file:line", () => {
  const s = (id: string, k: number, extra: Partial<Sample> = {}): Sample => ({
    problem_id: id,
    sample: k,
    text: "",
    extracted: "1",
    correct: true,
    ...extra,
  });
  const g = groupSamples(located([s("a", 1), s("a", 0, { score: 0.5 }), s("a", 0, { greedy: true, correct: false }), s("b", 0)]));
  assert.equal(g.problems.length, 2);
  assert.equal(g.problems[0].greedyCorrect, false);
  assert.deepEqual(g.problems[0].scores, [0.5, undefined]);
  assert.equal(g.scored, 1);
  assert.equal(g.unscored, 2);
  assert.equal(g.firstUnscored?.line, 1);
  assert.throws(() => groupSamples(located([s("a", 0), s("a", 0)])), /s\.jsonl:2: field sample: index 0 of problem "a" repeats line 1/);
  assert.throws(() => groupSamples(located([s("a", 0), s("a", 2)])), /s\.jsonl:2: field sample: index 2 but problem "a" has 2 samples/);
  assert.throws(() => groupSamples(located([s("a", 0, { correct: undefined })])), /s\.jsonl:1: field correct: missing/);
  assert.throws(() => groupSamples(located([s("a", 0, { extracted: undefined })])), /s\.jsonl:1: field extracted: missing/);
});

test("groupSamples re-grades with the given grader and gold answers", () => {
  const samples: Sample[] = [
    { problem_id: "a", sample: 0, text: "so the answer is 4", extracted: "5", correct: false },
    { problem_id: "a", sample: 1, text: "no answer here" },
  ];
  const regrade = {
    extract: (t: string) => /answer is (\d+)/.exec(t)?.[1] ?? null,
    verify: (gold: string, pred: string) => gold === pred,
  };
  const problems = new Map([["a", { id: "a", problem: "?", answer: "4", level: 3 }]]);
  const g = groupSamples(located(samples), { problems, regrade });
  assert.deepEqual(g.problems[0].answers, ["4", null]);
  assert.deepEqual(g.problems[0].correct, [true, false]);
  assert.equal(g.problems[0].level, 3);
  const kept = groupSamples(located(samples), { problems, regrade, keepExtracted: true });
  assert.deepEqual(kept.problems[0].answers, ["5", null]);
  assert.deepEqual(kept.problems[0].correct, [false, false]);
  assert.throws(() => groupSamples(located(samples), { regrade }), /no gold answer/);
});

test("groupSamples re-grades with the project's grader as mathtune grade does", async () => {
  const { graderRegrader } = await import("../../src/grade/equivalence.js");
  const { gradeSolution } = await import("../../src/grade/index.js");
  // Golds that call for another reading of the solution: a list gold against a list of boxes, a
  // text gold with inline math against the last line.
  const cases: Array<[string, string]> = [
    ["1, -2", "The roots are $\\boxed{1}$ and $\\boxed{-2}$."],
    ["odd $n$", "We check both parities.\n\nTherefore, odd $n$."],
    ["42", "\\boxed{10} and then \\boxed{42}"],
    ["7", "The answer is 8."],
  ];
  const samples: Sample[] = cases.map(([, text], k) => ({ problem_id: `p${k}`, sample: 0, text }));
  const problems = new Map(cases.map(([gold], k) => [`p${k}`, { id: `p${k}`, problem: "?", answer: gold }]));
  const g = groupSamples(located(samples), { problems, regrade: graderRegrader() });
  assert.deepEqual(
    g.problems.map((p) => p.correct[0]),
    [true, true, true, false],
  );
  assert.deepEqual(
    g.problems.map((p) => p.answers[0]),
    cases.map(([gold, text]) => gradeSolution(gold, text).extracted),
  );
});

test("problems with only a greedy solution: grouped apart, then counted in the greedy Pass@1 only", () => {
  const at = (s: Partial<Sample> & { problem_id: string; sample: number }, line: number): LocatedSample => ({
    file: "s.jsonl",
    line,
    sample: { text: "", tokens: 1, finish: "stop", seed: 0, greedy: false, extracted: "1", correct: false, ...s } as Sample,
  });
  const lines = [
    at({ problem_id: "a", sample: 0, greedy: true, correct: true }, 1),
    at({ problem_id: "a", sample: 0, correct: true }, 2),
    at({ problem_id: "a", sample: 1, correct: false }, 3),
    at({ problem_id: "b", sample: 0, greedy: true, correct: false }, 4),
    at({ problem_id: "c", sample: 0, greedy: true, correct: true }, 5),
  ];
  assert.throws(() => groupSamples(lines), /greedy sample but no sampled candidates/);
  const g = groupSamples(lines, { allowGreedyOnly: true });
  assert.deepEqual(g.problems.map((p) => p.id), ["a"]);
  assert.deepEqual(g.greedyOnly, [{ id: "b", correct: false }, { id: "c", correct: true }]);
  const ev = evaluate(g.problems, { ks: [1, 2], bootstrap: 50 });
  const all = addGreedyOnly(ev, g.greedyOnly);
  close(all.results["pass@1"], 2 / 3);
  close(all.results["greedy@1"], 2 / 3);
  assert.ok(all.results["pass@1_stderr"] > 0);
  close(all.results["maj1@2"], ev.results["maj1@2"]); // the N-sample metrics stay on the sampled problem
  assert.deepEqual(all.perProblem.ids, ["a", "b", "c"]);
  assert.deepEqual(all.perProblem.values["pass@1"], [1, 0, 1]);
  assert.ok(Number.isNaN(all.perProblem.values["maj1@2"][1]));
  assert.equal(all.meta.greedyProblems, 3);
  assert.equal(addGreedyOnly(ev, []), ev);
  // Paired differences skip the problems a metric has no value for (null once written as JSON).
  const arm = (e: typeof all) => ({ name: "x", style: null, results: {} as never, perProblem: JSON.parse(JSON.stringify(e.perProblem)) as typeof e.perProblem });
  const other = { ...all, perProblem: { ids: all.perProblem.ids, values: { "pass@1": [0, 0, 1], "maj1@2": [0, NaN, NaN] } } };
  const d1 = pairedDifference(arm(all), arm(other), "pass@1")!;
  close(d1.diff, 1 / 3);
  assert.equal(d1.problems, 3);
  assert.equal(pairedDifference(arm(all), arm(other), "maj1@2")!.problems, 1);
});
