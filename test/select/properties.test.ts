// Property tests of the selection strategies (fast-check).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { exactEquivalence } from "../../src/select/cluster.js";
import { buildCandidates, select, StrategyRunner, type Strategy } from "../../src/select/strategies.js";

/** A problem: answers from a small alphabet (so clusters form), some missing, scores in [0, 1) or missing. */
const problemArb = fc
  .integer({ min: 1, max: 24 })
  .chain((n) =>
    fc.record({
      answers: fc.array(fc.option(fc.constantFrom("1", "2", "3", "4", "5"), { freq: 8 }), { minLength: n, maxLength: n }),
      scores: fc.array(fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { freq: 6 }), { minLength: n, maxLength: n }),
      right: fc.constantFrom("1", "2", "3"),
    }),
  )
  .map(({ answers, scores, right }) => ({
    answers,
    scores,
    correct: answers.map((a) => a === right),
  }));

test("top-K with K >= number of clusters equals the unrestricted strategy", () => {
  fc.assert(
    fc.property(problemArb, (p) => {
      const c = buildCandidates(p, exactEquivalence);
      const K = Math.max(1, c.numClusters);
      assert.deepEqual(select(c, { kind: "rr.top", k: K }), select(c, { kind: "rr.all" }));
      assert.deepEqual(select(c, { kind: "wrr.top", k: K }), select(c, { kind: "wrr" }));
      // and N' >= n for maj1.topN equals plain maj1 (apart from the calls it reports)
      const a = select(c, { kind: "maj1.top", n: p.answers.length });
      const b = select(c, { kind: "maj1" });
      assert.equal(a.sample, b.sample);
    }),
    { numRuns: 300 },
  );
});

test("maj1 is invariant to sample order up to ties between largest clusters", () => {
  fc.assert(
    fc.property(
      problemArb,
      fc.array(fc.nat(), { minLength: 24, maxLength: 24 }),
      (p, keys) => {
        const c = buildCandidates(p, exactEquivalence);
        const sizes = new Map<string, number>();
        for (const a of p.answers) if (a !== null) sizes.set(a, (sizes.get(a) ?? 0) + 1);
        const top = [...sizes.values()].sort((x, y) => y - x);
        fc.pre(top.length > 0);
        const perm = p.answers.map((_, i) => i).sort((x, y) => keys[x] - keys[y] || x - y);
        const q = {
          answers: perm.map((i) => p.answers[i]),
          correct: perm.map((i) => p.correct[i]),
          scores: perm.map((i) => p.scores[i]),
        };
        const before = select(c, { kind: "maj1" });
        const after = select(buildCandidates(q, exactEquivalence), { kind: "maj1" });
        // Up to ties: the chosen answer is always one of the largest clusters' ...
        assert.equal(sizes.get(q.answers[after.sample] as string), top[0]);
        // ... and it is the same answer whenever the largest cluster is unique.
        if (top.length === 1 || top[0] > top[1]) {
          assert.equal(q.answers[after.sample], p.answers[before.sample]);
          assert.equal(after.correct, before.correct);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("evaluating a subset equals evaluating the sub-problem on its own (exact clustering)", () => {
  const strategies: Strategy[] = [
    { kind: "maj1" },
    { kind: "rr.all" },
    { kind: "rr.top", k: 2 },
    { kind: "wrr" },
    { kind: "wrr.top", k: 2 },
    { kind: "maj1.top", n: 3 },
  ];
  fc.assert(
    fc.property(problemArb, fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }), (p, keep) => {
      const subset = p.answers.map((_, i) => i).filter((i) => keep[i]);
      const full = buildCandidates(p, exactEquivalence);
      const runner = new StrategyRunner(strategies, 2);
      const viaSubset = runner.run(full, subset);
      const sub = {
        answers: subset.map((i) => p.answers[i]),
        correct: subset.map((i) => p.correct[i]),
        scores: subset.map((i) => p.scores[i]),
      };
      const alone = new StrategyRunner(strategies, 2).run(
        buildCandidates(sub, exactEquivalence),
        subset.map((_, j) => j),
      );
      assert.equal(viaSubset.majKCorrect, alone.majKCorrect);
      assert.equal(viaSubset.anyCorrect, alone.anyCorrect);
      viaSubset.choices.forEach((ch, s) => {
        const other = alone.choices[s];
        assert.equal(ch.sample, other.sample < 0 ? -1 : subset[other.sample], `strategy ${s}`);
        assert.equal(ch.correct, other.correct);
        assert.equal(ch.calls, other.calls);
      });
    }),
    { numRuns: 300 },
  );
});

test("the chosen sample always has an answer, and an oracle bound holds: chosen correct implies some correct", () => {
  fc.assert(
    fc.property(problemArb, (p) => {
      const c = buildCandidates(p, exactEquivalence);
      for (const s of [{ kind: "maj1" }, { kind: "rr.all" }, { kind: "wrr" }, { kind: "maj1.top", n: 2 }] as Strategy[]) {
        const ch = select(c, s);
        if (ch.sample >= 0) assert.notEqual(p.answers[ch.sample], null);
        if (ch.correct) assert.ok(p.correct.some(Boolean));
        assert.ok(ch.calls <= p.answers.length);
      }
    }),
    { numRuns: 300 },
  );
});
