// Hand-made cases for clustering and every selection strategy: ties, a single cluster, all wrong,
// missing scores, no answers, and the top-K restriction.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterCandidates, exactEquivalence, equivEquivalence } from "../../src/select/cluster.js";
import {
  buildCandidates,
  parseStrategy,
  select,
  strategyName,
  StrategyRunner,
  type RawCandidates,
  type Strategy,
} from "../../src/select/strategies.js";

const S = (name: string): Strategy => parseStrategy(name);
function pick(raw: RawCandidates, name: string): { sample: number; correct: boolean; calls: number } {
  return select(buildCandidates(raw, exactEquivalence), S(name));
}

test("cluster order: size descending, then earliest member; no-answer samples are in no cluster", () => {
  const c = clusterCandidates(["b", "a", null, "a", "c", "b", " ", "c", "c"], exactEquivalence);
  assert.deepEqual(c.clusters, [[4, 7, 8], [0, 5], [1, 3]]);
  assert.deepEqual(c.representatives, ["c", "b", "a"]);
  assert.deepEqual([...c.clusterOf], [1, 2, -1, 2, 0, 1, -1, 0, 0]);
});

test("equiv clustering: keys first, then pairwise equivalence between group representatives", () => {
  // A toy grader: keys strip spaces; "0.5" and "1/2" have different keys but are equivalent.
  const value = (s: string): number => {
    const m = /^(\d+)\/(\d+)$/.exec(s);
    return m ? Number(m[1]) / Number(m[2]) : Number(s);
  };
  let calls = 0;
  const eq = equivEquivalence({
    clusterKey: (a) => a.replace(/\s+/g, ""),
    equivalent: (a, b) => {
      calls++;
      return value(a.replace(/\s+/g, "")) === value(b.replace(/\s+/g, ""));
    },
  });
  const c = clusterCandidates(["1/2", "0.5", "1 / 2", "3", "0.50"], eq);
  assert.deepEqual(c.clusters, [[0, 1, 2, 4], [3]]);
  assert.ok(c.pairwiseCalls >= 2);
  // The pair cache makes a second clustering of the same answers free.
  const before = calls;
  clusterCandidates(["1/2", "0.5", "1 / 2", "3", "0.50"], eq);
  assert.equal(calls, before);
  // With a pairwise limit of 1 only the largest key group is a leader candidate: nothing merges.
  const d = clusterCandidates(["1/2", "0.5", "1 / 2", "3"], eq, { pairwiseLimit: 1 });
  assert.deepEqual(d.clusters, [[0, 2], [1], [3]]);
});

test("equiv clustering never chains: a~b and b~c with a!~c keep a and c apart", () => {
  const eq = equivEquivalence({
    clusterKey: (a) => a,
    equivalent: (a, b) => Math.abs(Number(a) - Number(b)) <= 1,
  });
  const c = clusterCandidates(["1", "1", "2", "3", "3", "3"], eq);
  // "3" (size 3) leads, "1" (size 2) is not within 1 of 3, "2" joins the first leader it matches: 3.
  assert.deepEqual(c.clusters, [[2, 3, 4, 5], [0, 1]]);
});

test("maj1 ties go to the cluster whose earliest member has the lowest index", () => {
  const raw = { answers: ["x", "y", "y", "x"], correct: [false, true, true, false] };
  assert.deepEqual(pick(raw, "maj1"), { sample: 0, correct: false, calls: 0 });
  const raw2 = { answers: ["y", "x", "x", "y"], correct: [true, false, false, true] };
  assert.deepEqual(pick(raw2, "maj1"), { sample: 0, correct: true, calls: 0 });
});

test("rr ties on equal scores go to the lowest sample index; calls count scored candidates", () => {
  const raw = { answers: ["a", "b", "c", "d"], correct: [false, true, false, true], scores: [0.2, 0.9, 0.5, 0.9] };
  assert.deepEqual(pick(raw, "rr.all"), { sample: 1, correct: true, calls: 4 });
});

test("wrr sums scores per cluster: many modest scores beat one high score; rr.all does not", () => {
  const raw = { answers: ["a", "a", "a", "b"], correct: [true, true, true, false], scores: [0.4, 0.4, 0.4, 0.9] };
  assert.deepEqual(pick(raw, "wrr"), { sample: 0, correct: true, calls: 4 });
  assert.deepEqual(pick(raw, "rr.all"), { sample: 3, correct: false, calls: 4 });
});

test("wrr ties on equal weights go to the cluster with the lowest earliest member", () => {
  const raw = { answers: ["b", "a", "a", "b"], correct: [false, true, true, false], scores: [0.25, 0.5, 0.5, 0.75] };
  assert.deepEqual(pick(raw, "wrr"), { sample: 0, correct: false, calls: 4 });
});

test("top-K strategies only score members of the K largest clusters", () => {
  // Clusters: a (3), b (2), c (1); c has the best single score.
  const raw = {
    answers: ["a", "b", "a", "c", "b", "a"],
    correct: [false, true, false, false, true, false],
    scores: [0.3, 0.6, 0.2, 0.99, 0.5, 0.1],
  };
  assert.deepEqual(pick(raw, "rr.all"), { sample: 3, correct: false, calls: 6 });
  assert.deepEqual(pick(raw, "rr.top2"), { sample: 1, correct: true, calls: 5 });
  assert.deepEqual(pick(raw, "rr.top1"), { sample: 0, correct: false, calls: 3 });
  assert.deepEqual(pick(raw, "wrr.top2"), { sample: 1, correct: true, calls: 5 });
  assert.deepEqual(pick(raw, "wrr.top1"), { sample: 0, correct: false, calls: 3 });
  // W.RR over all clusters: b sums to 1.1, beating c (0.99) and a (0.6).
  assert.deepEqual(pick(raw, "wrr"), { sample: 1, correct: true, calls: 6 });
});

test("maj1.topN votes among the N highest-scored candidates", () => {
  const raw = { answers: ["a", "a", "a", "b", "b"], correct: [false, false, false, true, true], scores: [0.1, 0.1, 0.1, 0.9, 0.8] };
  assert.deepEqual(pick(raw, "maj1.top2"), { sample: 3, correct: true, calls: 5 });
  assert.deepEqual(pick(raw, "maj1.top5"), { sample: 0, correct: false, calls: 5 });
  // Score ties in the cut go to the lowest index: top 3 = {3, 4, 0} → b wins 2:1.
  assert.deepEqual(pick(raw, "maj1.top3"), { sample: 3, correct: true, calls: 5 });
});

test("a single cluster: every strategy returns it; rr.all returns its best-scored member", () => {
  const raw = { answers: ["7", "7", "7"], correct: [true, true, true], scores: [0.1, 0.8, 0.3] };
  for (const name of ["maj1", "wrr", "wrr.top8"]) assert.equal(pick(raw, name).sample, 0, name);
  // maj1.topN returns the earliest member among the kept (highest-scored) candidates.
  assert.equal(pick(raw, "maj1.top2").sample, 1);
  assert.equal(pick(raw, "rr.all").sample, 1);
  assert.equal(pick(raw, "rr.top1").sample, 1);
  for (const name of ["maj1", "rr.all", "rr.top1", "wrr", "wrr.top8", "maj1.top2"]) assert.equal(pick(raw, name).correct, true);
});

test("all wrong: every strategy is wrong", () => {
  const raw = { answers: ["1", "2", "2", "3"], correct: [false, false, false, false], scores: [0.9, 0.1, 0.2, 0.5] };
  for (const name of ["maj1", "rr.all", "rr.top2", "wrr", "wrr.top2", "maj1.top2"]) assert.equal(pick(raw, name).correct, false, name);
});

test("missing scores: no scores at all falls back to maj1; a missing score never beats a present one", () => {
  const none = { answers: ["b", "a", "a"], correct: [false, true, true] };
  for (const name of ["rr.all", "rr.top1", "wrr", "wrr.top2", "maj1.top2"]) {
    assert.equal(pick(none, name).sample, 1, name);
  }
  const partial = {
    answers: ["b", "a", "a", "c"],
    correct: [false, true, true, false],
    scores: [undefined, -5, undefined, undefined],
  };
  // Sample 1 is the only scored one: rr picks it even with a very low score.
  assert.equal(pick(partial, "rr.all").sample, 1);
  // W.RR: only cluster a has a scored member, so it wins over the unscored b and c.
  assert.equal(pick(partial, "wrr").sample, 1);
  // maj1.top1: the single kept candidate is the scored one.
  assert.equal(pick(partial, "maj1.top1").sample, 1);
});

test("no answers at all: nothing is chosen, nothing is scored", () => {
  const raw = { answers: [null, "", "  "], correct: [false, false, false], scores: [0.5, 0.6, 0.7] };
  for (const name of ["maj1", "rr.all", "rr.top8", "wrr", "wrr.top8", "maj1.top16"]) {
    assert.deepEqual(pick(raw, name), { sample: -1, correct: false, calls: 0 }, name);
  }
});

test("StrategyRunner on a subset: the MajK oracle and any-correct flag", () => {
  const c = buildCandidates(
    { answers: ["a", "b", "b", "c", "a", "b"], correct: [false, true, true, false, false, true] },
    exactEquivalence,
  );
  const run = new StrategyRunner([S("maj1")], 1);
  // Subset {0, 3, 4}: a (0, 4) beats c → wrong; K=1 oracle wrong; no correct sample at all.
  assert.deepEqual(run.run(c, [0, 3, 4]), { choices: [{ sample: 0, correct: false, calls: 0 }], majKCorrect: false, anyCorrect: false });
  const run2 = new StrategyRunner([S("maj1")], 2);
  // Subset {0, 1, 4}: a (2) then b (1): maj1 wrong, Maj2 oracle right.
  const out = run2.run(c, [0, 1, 4]);
  assert.equal(out.choices[0].correct, false);
  assert.equal(out.majKCorrect, true);
  assert.equal(out.anyCorrect, true);
});

test("strategy names round-trip and bad names fail with a usage error", () => {
  for (const n of ["maj1", "rr.all", "rr.top8", "wrr", "wrr.top3", "maj1.top16"]) assert.equal(strategyName(parseStrategy(n)), n);
  for (const bad of ["rr.top0", "maj2", "wrr.topK", ""]) assert.throws(() => parseStrategy(bad), /unknown strategy/);
});
