import { test } from "node:test";
import assert from "node:assert/strict";
import { answerType, computeStats, lengthSummary } from "../../src/data/stats.js";

test("answerType: one row per observed kind of MATH / GSM8K / world answer", () => {
  const rows: Array<[string, string]> = [
    ["42", "integer"],
    ["-7", "integer"],
    ["1,000", "integer"],
    ["0.25", "decimal"],
    ["\\frac{7}{3}", "fraction"],
    ["-\\dfrac{1}{2}", "fraction"],
    ["3/4", "fraction"],
    ["2\\frac{1}{3}", "mixed number"],
    ["\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "matrix"],
    ["2\\sqrt{3}", "radical / pi"],
    ["\\frac{\\pi}{2}", "radical / pi"],
    ["(1,2)", "tuple / interval"],
    ["(-\\infty, 3]", "tuple / interval"],
    ["\\text{(C)}", "text"],
    ["Monday", "text"],
    ["x^2+1", "expression"],
    ["", "empty"],
  ];
  for (const [a, want] of rows) assert.equal(answerType(a), want, a);
});

test("computeStats counts and nearest-rank percentiles", () => {
  const st = computeStats([
    { id: "a", problem: "p", answer: "1", solution: "abc", level: 1, subject: "S", source: "x" },
    { id: "b", problem: "pp", answer: "\\frac{1}{2}", level: 2, subject: "S" },
    { id: "c", problem: "ppp", answer: "2" },
  ]);
  assert.equal(st.count, 3);
  assert.equal(st.withSolution, 1);
  assert.deepEqual(st.byLevel, { 1: 1, 2: 1, "(none)": 1 });
  assert.deepEqual(st.bySubject, { "(none)": 1, S: 2 });
  assert.deepEqual(st.answerTypes, { fraction: 1, integer: 2 });
  assert.deepEqual(st.lengths.problem, { n: 3, min: 1, p10: 1, p50: 2, p90: 3, p99: 3, max: 3 });
  assert.equal(st.lengths.promptPlusSolution.max, 5);
  assert.deepEqual(lengthSummary([]), { n: 0, min: 0, p10: 0, p50: 0, p90: 0, p99: 0, max: 0 });
});
