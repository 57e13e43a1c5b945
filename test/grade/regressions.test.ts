// Regression tables for conventions made precise after an independent review (docs/grader.md,
// "Exactness and tolerance", "Bounds", "Cluster keys"). Rows are general cases of each rule, not
// the review's strings only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterKey, equivalent, extractAnswer, gradeSolution, verify } from "../../src/grade/index.js";
import { graderEquivalence } from "../../src/grade/equivalence.js";
import { clusterCandidates } from "../../src/select/cluster.js";

type Row = [gold: string, pred: string, expected: boolean];

function check(rows: Row[], fn: (g: string, p: string) => { correct: boolean; reason: string } = verify): void {
  const bad: string[] = [];
  for (const [g, p, want] of rows) {
    const r = fn(g, p);
    if (r.correct !== want) bad.push(`${JSON.stringify(g)} vs ${JSON.stringify(p)}: want ${want}, got ${r.correct} (${r.reason})`);
  }
  assert.deepEqual(bad, []);
}

test("extraction: markdown bold around and inside answer phrases", () => {
  const rows: Array<[string, string | null]> = [
    ["**Answer: 5**", "5"],
    ["**Final Answer: 5**", "5"],
    ["**Final answer:** 5", "5"],
    ["Answer: **5**", "5"],
    ["The answer is **5**.", "5"],
    ["**The answer is 5.**", "5"],
    ["Step 1: ...\nStep 2: ...\n\n**Answer: $\\frac{3}{4}$**", "\\frac{3}{4}"],
    ["So **the answer is $x = 2$**.", "x = 2"],
    ["__Answer: 12__", "12"],
    ["The final answer is **$-7$**. I hope it is correct.", "-7"],
    ["Work: 2**3 = 8, so the answer is 8.", "8"], // a Python power is not bold
    ["We find **12** apples.", "12"], // the bold rule still applies to bold without a phrase
  ];
  const bad = rows.filter(([t, want]) => extractAnswer(t) !== want).map(([t, want]) => `${JSON.stringify(t)} -> ${JSON.stringify(extractAnswer(t))}, want ${JSON.stringify(want)}`);
  assert.deepEqual(bad, []);
  assert.equal(gradeSolution("5", "**Answer: 5**").correct, true);
  // Linear in the text, also with thousands of unmatched markers.
  for (const t of [" **1".repeat(50_000), "**a**b".repeat(30_000), "__ x".repeat(50_000)]) {
    const t0 = performance.now();
    extractAnswer(t);
    assert.ok(performance.now() - t0 < 1000, `${(performance.now() - t0).toFixed(0)} ms`);
  }
});

test("thousands separators: spaces only between digit groups of a purely numeric answer", () => {
  check([
    ["7", "\\log_2 128", true],
    ["5", "\\log_3 243", true],
    ["3", "\\log_5 125", true],
    ["10", "\\log_{2} 1024", true],
    ["123456", "123 456", true],
    ["1234567", "1 234 567", true],
    ["-1234567", "-1 234 567", true],
    ["1234.5", "1 234.5", true],
    ["1500", "1 500 \\text{ dollars}", true],
    ["6100", "6 100", true],
    ["2 \\cdot 128", "256", true],
    ["x^2 128", "128x^2", true], // a space between a power and a number is a product, not a separator
  ]);
});

test("set and list size cap: never compare a prefix", () => {
  const seq = (a: number, n: number): number[] => Array.from({ length: n }, (_, k) => a + k);
  for (const n of [201, 250, 400]) {
    const g = `\\{${seq(0, n).join(",")}\\}`;
    const p = `\\{${[...seq(0, 200), ...seq(1000, n - 200)].join(",")}\\}`;
    const r = verify(g, p);
    assert.equal(r.correct, false, `${n}-set against a different one`);
    assert.ok(r.reason === "unparsable" || r.reason === "timeout", r.reason);
    assert.equal(equivalent(g, p), false);
    assert.equal(verify(seq(0, n).join(", "), seq(0, 200).join(", ")).correct, false, `${n}-list against its first 200`);
    assert.equal(verify(`(${seq(0, n).join(",")})`, `(${seq(0, 200).join(",")})`).correct, false);
  }
  // Up to the cap sets are compared in full, in any order (numbers and expressions alike).
  const slow = { deadlineMs: 20_000 };
  assert.equal(verify(`\\{${seq(0, 200).join(",")}\\}`, `\\{${seq(0, 200).reverse().join(",")}\\}`, slow).correct, true);
  assert.equal(verify(`\\{${seq(0, 200).join(",")}\\}`, `\\{${[...seq(0, 199), 999].join(",")}\\}`, slow).correct, false);
  const xs = seq(0, 40).map((k) => `x^{${k}}`);
  assert.equal(verify(`\\{${xs.join(",")}\\}`, `\\{${[...xs].reverse().join(",")}\\}`, slow).correct, true);
  assert.equal(verify(`\\{${xs.join(",")}\\}`, `\\{${[...xs.slice(1), "x^{99}"].join(",")}\\}`, slow).correct, false);
  // \pm expansions beyond their cap are not compared either.
  assert.equal(verify("\\pm 1 \\pm 2 \\pm 4 \\pm 8 \\pm 16 \\pm 32 \\pm 64", "1").correct, false);
  // An identical over-cap answer is still the same answer.
  const big = seq(0, 300).join(",");
  assert.equal(verify(`\\{${big}\\}`, `\\{${big}\\}`).correct, true);
});

test("exactness: exact sides compared exactly; tolerance only for our own floating point", () => {
  check([
    // rounded decimals for irrationals
    ["\\sqrt2", "1.4142135624", false],
    ["\\pi", "3.1415926536", false],
    ["\\pi", "3.14159265358979", true], // a 15-digit float print-out agrees to double precision
    ["2\\pi", "6.2831853072", false],
    ["e", "2.718281828459", false],
    ["\\sqrt{3}/2", "0.866025403784", false],
    // exact values written as decimals
    ["\\sin(\\pi/6)", "0.5", true],
    ["\\cos 60^\\circ", "0.5", true],
    ["\\log_2 8", "3", true],
    ["\\sqrt{2.25}", "1.5", true],
    ["e^{\\ln 3.5}", "3.5", true],
    // rationals
    ["1", "1.0000000000001", false],
    ["\\frac{1}{7}", "0.142857142857", true], // a long decimal that agrees with the exact value to every digit it gives
    ["\\frac{1}{12}", "0.0833333333333333", true], // float print-out convention (15+ digits)
    ["0", "10^{-13}", false],
    ["10^{-15}", "10^{-16}", false],
    // expressions: exact at exact probe points
    ["x", "x+10^{-13}", false],
    ["x", "x + 0.0000000000001", false],
    ["x", "1.000000002x", false],
    ["x^2-1", "(x-1)(x+1)", true],
    ["\\frac{x}{3}", "0.\\overline{3}x", true],
    ["\\sqrt{x^2+1}", "(x^2+1)^{1/2}", true],
    ["\\sqrt{2}x", "1.41421356x", false],
    // equations: exact ratio of lhs - rhs
    ["y=2x+1", "y=2x+1.000000001", false],
    ["y=2x+1", "2y=4x+2", true],
    ["x^2+y^2=1", "x^2+y^2=1.0000001", false],
    ["y=\\sqrt2 x", "y = 1.4142135624 x", false],
    ["y = \\sqrt{2}x", "\\sqrt2 x - y = 0", true],
  ]);
  // The float print-out convention is an option.
  assert.equal(verify("\\frac{1}{12}", "0.0833333333333333", { floatPrintouts: false }).correct, false);
  assert.equal(verify("\\frac{1}{12}", "\\frac{2}{24}", { floatPrintouts: false }).correct, true);
});

test("options: invalid bounds fall back to the defaults, never switch the budget off", () => {
  const heavy = "\\pm 1".repeat(600);
  for (const bad of [NaN, -1, 0, Infinity, "100" as unknown as number]) {
    const t0 = performance.now();
    const r = verify(heavy, "0", { maxSteps: bad, deadlineMs: bad });
    assert.ok(performance.now() - t0 < 1000, `bound ${String(bad)}`);
    assert.equal(r.correct, false);
    const t1 = performance.now();
    equivalent("10^{10^{10}}", "(10^{100})!", { maxSteps: bad, deadlineMs: bad });
    assert.ok(performance.now() - t1 < 1000);
  }
  assert.equal(verify("1/2", "0.5", { maxSteps: NaN, deadlineMs: NaN }).correct, true);
});

test("equivalent: one budget for both directions", () => {
  // Expensive in both directions (gold and prediction swapped): the whole call stays within one
  // deadline (plus the clock's check granularity), not two.
  const a = `\\{${Array.from({ length: 200 }, (_, k) => `\\sqrt{${k + 2}}x^{${k}}`).join(",")}\\}`;
  const b = `\\{${Array.from({ length: 200 }, (_, k) => `\\sqrt{${k + 3}}x^{${k}}`).join(",")}\\}`;
  const deadlineMs = 150;
  assert.equal(verify(a, b, { deadlineMs }).reason, "timeout"); // one direction alone uses it all
  const t0 = performance.now();
  assert.equal(equivalent(a, b, { deadlineMs }), false);
  const ms = performance.now() - t0;
  // Two budgets would take about 300 ms.
  assert.ok(ms < deadlineMs * 1.6 + 20, `${ms.toFixed(0)} ms for a ${deadlineMs} ms deadline`);
});

test("units: trailing words after a number; base-n letter digits; number words", () => {
  check([
    ["18", "18 eggs", true],
    ["18", "18 eggs.", true],
    ["2", "2 blue marbles", true],
    ["7", "7 \\text{ meters}", true],
    ["7 \\text{ meters}", "7 meters", true],
    ["18", "19 eggs", false],
    ["5ab", "5 ab", true], // two letters: a product of variables
    ["2ABC", "2 ABC", true], // capitals: point names, a product
    ["18", "18x", false], // glued letters are a variable
    ["18", "18 eggs and 3", false],
    // base-n numerals with letter digits
    ["22", "1A_{12}", true],
    ["1A_{12}", "22", true],
    ["1A_{12}", "1B_{12}", false],
    ["255", "FF_{16}", false], // must start with a digit: FF_{16} is a subscripted name
    ["255", "0FF_{16}", true],
    ["1G_{16}", "32", false], // G is not a base-16 digit
    ["2x_1", "2x_1", true],
    // number words
    ["25", "twenty-five", true],
    ["21", "twenty one", true],
    ["21", "Twenty-One", true],
    ["123", "one hundred twenty-three", true],
    ["305", "three hundred and five", true],
    ["2020", "two thousand twenty", true],
    ["15", "twenty-five", false],
    ["25", "twenty-five apples", true],
    ["2", "one one", false],
    ["25", "five twenty", false],
  ]);
});

test("intervals: unions merged as sets of reals; inequality lists; choice lists", () => {
  check([
    ["(1,4)", "(1,2]\\cup[2,4)", true],
    ["(1,2]\\cup[2,4)", "(1,4)", true],
    ["(1,4)", "(1,2)\\cup(2,4)", false], // 2 is missing
    ["(1,4)", "(1,2)\\cup\\{2\\}\\cup(2,4)", true],
    ["[0,5]", "[0,3]\\cup[2,5]", true],
    ["[0,5]", "[0,3]\\cup(3,5)", false],
    ["(-\\infty,\\infty)", "(-\\infty,0]\\cup(0,\\infty)", true],
    ["(-\\infty,-2)\\cup(3,\\infty)", "x<-2 \\text{ or } x>3", true],
    ["(-\\infty,-2)\\cup(3,\\infty)", "x < -2 or x > 3", true],
    ["(-\\infty,-2)\\cup(3,\\infty)", "x \\le -2 \\text{ or } x>3", false],
    ["(-\\infty,-2]\\cup[3,\\infty)", "x\\le -2 \\text{ or } x \\ge 3", true],
    ["(-\\infty,1)\\cup(1,\\infty)", "x<1 or x>1", true],
    ["(-\\infty,\\infty)", "x>1 \\text{ and } x<4", false], // overlapping: "and" may mean the intersection
    ["(-\\infty,\\infty)", "x \\le 1 \\text{ or } x > 1", true],
    ["\\text{(A), (C)}", "A, C", true],
    ["\\text{(A), (C)}", "C, A", true],
    ["\\text{(A), (C)}", "A, D", false],
    ["\\text{(A) and (C)}", "\\text{(A)}, \\text{(C)}", true],
    ["\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", true],
    ["\\begin{pmatrix} 1 & 2 \\end{pmatrix}", "\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}", false],
  ]);
});

test("cluster keys: never shared by answers that equivalent separates", () => {
  const pairs: Array<[string, string]> = [
    ["10^{2000}", "2^{5000}"],
    ["10^{2000}", "600!"],
    ["\\frac{1}{0}", "\\infty"],
    ["10^{2000}", "\\infty"],
    ["\\arcsin 2", "\\arccos 3"],
    ["\\text{red}+\\text{blue}", "\\text{green}+\\text{yellow}"],
    ["x=5", "y=5"],
    ["f(x)=2x", "g(x)=2x"],
    ["a=b=5", "c=d=5"],
    ["1", "1+\\sqrt2\\cdot10^{-9}"],
    ["x", "x+10^{-20}"],
    ["y=2x+1", "y=2x+1.000000001"],
    ["\\sqrt2", "\\sqrt2+10^{-20}"],
    ["\\text{.}", "\\text{,}"],
    [`\\{${Array.from({ length: 250 }, (_, k) => k).join(",")}\\}`, `\\{${Array.from({ length: 250 }, (_, k) => 249 - k).join(",")}\\}`],
  ];
  for (const [a, b] of pairs) {
    if (clusterKey(a) === clusterKey(b)) assert.ok(equivalent(a, b), `${a} / ${b} share ${clusterKey(a)}`);
  }
  // Named values keep their name; equivalent answers still usually share a key.
  assert.notEqual(clusterKey("x=5"), clusterKey("y=5"));
  assert.equal(clusterKey("x = 5"), clusterKey("x=\\frac{10}{2}"));
  assert.equal(clusterKey("\\arcsin 2"), clusterKey("\\arcsin{2}"));
  assert.ok(equivalent("\\arcsin 2", "\\arcsin{2}"));
  assert.equal(clusterKey("(1,2]\\cup[2,4)"), clusterKey("(1,4)\\cup\\{3\\}"));
  // Clustering still groups x = 5 with 5 (equivalent), through the pairwise check.
  assert.deepEqual(clusterCandidates(["x=5", "5", "6"], graderEquivalence()).clusters, [[0, 1], [2]]);
});
