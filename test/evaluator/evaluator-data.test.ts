import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { buildEvaluatorData } from "../../src/train/evaluator-data.js";
import type { Problem, Sample } from "../../src/data/records.js";

function world(spec: Record<string, boolean[]>): { problems: Map<string, Problem>; samples: Sample[] } {
  const problems = new Map<string, Problem>();
  const samples: Sample[] = [];
  for (const [id, labels] of Object.entries(spec)) {
    problems.set(id, { id, problem: `problem ${id}`, answer: "1" });
    labels.forEach((correct, i) => samples.push({ problem_id: id, sample: i, text: `${id} solution ${i}`, correct }));
  }
  return { problems, samples };
}

test("pair counts: min(perProblem, c*w); one-sided problems skipped", () => {
  const { problems, samples } = world({
    a: [true, false, false, true, false], // c=2, w=3 -> 6 pairs possible, 4 asked
    b: [true, true, true], // all correct
    c: [false, false], // all wrong
    d: [true, false], // 1 pair
  });
  const out = buildEvaluatorData(problems, samples, { perProblem: 4, seed: 1 });
  const count = (id: string): number => out.pairwise.filter((p) => p.problem_id === id).length;
  assert.equal(count("a"), 4);
  assert.equal(count("b"), 0);
  assert.equal(count("c"), 0);
  assert.equal(count("d"), 1);
  assert.deepEqual(out.stats, { problems: 4, mixedProblems: 2, allCorrect: 1, allWrong: 1, missingProblems: 0 });
  // Every pair contrasts a correct and an incorrect solution of its own problem, no pair twice.
  const keys = new Set(out.pairwise.map((p) => `${p.chosen}|${p.rejected}`));
  assert.equal(keys.size, out.pairwise.length);
  const correctTexts = new Set(samples.filter((s) => s.correct).map((s) => s.text));
  for (const p of out.pairwise) {
    assert.ok(correctTexts.has(p.chosen) && !correctTexts.has(p.rejected));
    assert.ok(p.chosen.startsWith(p.problem_id!) && p.rejected.startsWith(p.problem_id!));
  }
});

test("pointwise classes are balanced and deterministic by seed", () => {
  const { problems, samples } = world({ a: [true, false, false, false, false, false], e: [true, true, true, false] });
  const one = buildEvaluatorData(problems, samples, { perProblem: 10, seed: 3 });
  const two = buildEvaluatorData(problems, [...samples].reverse(), { perProblem: 10, seed: 3 });
  assert.deepEqual(one, two);
  const pos = one.pointwise.filter((r) => r.label).length;
  assert.equal(pos, one.pointwise.length - pos);
  assert.equal(pos, 2); // min(5, 1, 5) for a, min(5, 3, 1) for e
});

test("property: pairs never exceed perProblem or c*w, pointwise always balanced", () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), { maxKeys: 6 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 0, max: 1000 }),
      (spec, perProblem, seed) => {
        const { problems, samples } = world(spec);
        const out = buildEvaluatorData(problems, samples, { perProblem, seed });
        for (const [id, labels] of Object.entries(spec)) {
          const c = labels.filter(Boolean).length;
          const w = labels.length - c;
          assert.equal(out.pairwise.filter((p) => p.problem_id === id).length, Math.min(perProblem, c * w));
        }
        const pos = out.pointwise.filter((r) => r.label).length;
        assert.equal(pos * 2, out.pointwise.length);
      },
    ),
    { numRuns: 200 },
  );
});

test("a sample without correctness is a clear error", () => {
  const problems = new Map<string, Problem>([["a", { id: "a", problem: "p", answer: "1" }]]);
  assert.throws(() => buildEvaluatorData(problems, [{ problem_id: "a", sample: 0, text: "x" }]), /has no "correct" field/);
});
