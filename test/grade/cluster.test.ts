import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterKey, equivalent } from "../../src/grade/index.js";
import { graderEquivalence } from "../../src/grade/equivalence.js";
import { clusterCandidates } from "../../src/select/cluster.js";

test("clusterKey: equivalent answers share a key", () => {
  const groups: string[][] = [
    ["\\frac{1}{2}", "0.5", "\\frac{2}{4}", "1/2", "\\boxed{\\dfrac12}"],
    ["x = 0.5", "x=\\frac12", "\\boxed{x = 1/2}"],
    ["3\\sqrt{13}", "\\sqrt{117}", "3 \\sqrt{13}"],
    ["1,-2", "-2, 1", "\\{1, -2\\}"],
    ["2k+2", "2(k+1)", "2+2k"],
    ["(3,4]", "\\left(3, 4\\right]"],
    ["\\text{Evelyn}", "\\textbf{Evelyn}"],
    ["1 \\pm \\sqrt{19}", "1-\\sqrt{19}, 1+\\sqrt{19}"],
  ];
  for (const g of groups) {
    const keys = new Set(g.map(clusterKey));
    assert.equal(keys.size, 1, `${JSON.stringify(g)} -> ${JSON.stringify([...keys])}`);
  }
  const distinct = ["\\frac{1}{2}", "\\frac{1}{3}", "(1,2)", "(2,1)", "[1,2]", "x+1", "x+2", "\\sqrt{2}", "1.4142"];
  assert.equal(new Set(distinct.map(clusterKey)).size, distinct.length);
});

test("clusterKey never throws", () => {
  for (const s of ["", "\\frac{", "}}}", "x".repeat(100_000), "10^{10^{10^{10}}}", "\u0000\u0001"]) {
    assert.equal(typeof clusterKey(s), "string");
  }
});

test("clustering with the grader's equivalence groups by key, then merges keys that are equivalent", () => {
  const answers = ["0.5", "1/2", "3", "y = 2x + 3", "2x - y + 3 = 0", "\\frac{2}{4}", "three"];
  const clusters = clusterCandidates(answers, graderEquivalence()).clusters;
  assert.deepEqual(clusters, [[0, 1, 5], [2, 6], [3, 4]]);
  for (const c of clusters) for (const i of c) assert.ok(equivalent(answers[c[0]], answers[i]));
  assert.deepEqual(clusterCandidates(answers, { name: "key", key: clusterKey }).clusters.length, 4);
});

test("clusterKey: rearranged equations share a key; different equations do not; assignments keep their name", () => {
  assert.equal(clusterKey("y = 2x + 3"), clusterKey("y = 3 + 2x"));
  assert.equal(clusterKey("2x - y + 3 = 0"), clusterKey("-4x + 2y - 6 = 0"));
  assert.notEqual(clusterKey("5x - 7y + 11z + 4 = 0"), clusterKey("0"));
  assert.notEqual(clusterKey("x + y = 0"), clusterKey("x - y = 0"));
  // "x = 5" and "y = 5" are not equivalent, so they cannot share a key; clustering still joins
  // "x = 5" with "5" (which equivalent accepts) by its pairwise check.
  assert.equal(clusterKey("x = 5"), clusterKey("x = 2 + 3"));
  assert.notEqual(clusterKey("x = 5"), clusterKey("y = 5"));
  assert.equal(clusterKey("2 \\cdot 5 = 10"), clusterKey("10"));
});
