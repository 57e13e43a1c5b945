// Table-driven tests of verify(gold, pred): one table per category, one row per convention or
// observed case: [gold, pred, expected]. Conventions are explained in docs/grader.md.
import { test } from "node:test";
import assert from "node:assert/strict";
import { equivalent, verify } from "../../src/grade/index.js";

type Row = [gold: string, pred: string, expected: boolean];

const TABLES: Record<string, Row[]> = {
  integers_and_separators: [
    ["1000", "1,000", true],
    ["1000", "1{,}000", true],
    ["1000", "1\\,000", true],
    ["1000", "1 000", true],
    ["10080", "10,\\!080", true],
    ["11111111100", "11,\\! 111,\\! 111,\\! 100", true],
    ["11111111100", "11111111110", false], // exact integers: no float tolerance
    ["32349", "32, 349", false], // comma + space is a list
    ["9", "9.0", true],
    ["9", "-9", false],
    ["-50", "\\boxed{-50}", true],
    ["1000.99", "1,000.99", true],
    ["1.22", "1,22", true], // decimal comma
    ["0.111", "0,111", true], // a leading zero cannot start a thousands group
    ["1.5", "1,5", false], // "1,5" is a list of two answers
    ["-2,1", "-2.1", false],
    ["2^{100}", "1267650600228229401496703205376", true],
    ["5", "five", true],
    ["12", "twelve", true],
  ],
  decimals: [
    ["0.4", ".4", true],
    ["1.25", "\\frac{5}{4}", true],
    ["1.25", "1.250", true],
    ["1.25", "1.26", false],
    ["\\frac{1}{3}", "0.\\overline{3}", true],
    ["\\frac{38}{45}", "0.8\\overline{4}", true],
    ["\\frac{1}{12}", "0.0833333333333333", true], // a float rendering (15+ digits) is read as a float
    ["\\frac{14}{3}", "4.666667", true], // 7 significant digits, the exact value rounded
    ["\\frac{14}{3}", "4.6667", false], // too few digits to stand for the exact value
    ["\\pi", "3.14", false],
    ["1.5 \\times 10^{3}", "1500", true],
    ["1500", "1.5e3", true],
  ],
  fractions: [
    ["\\frac{3}{56}", "3/56", true],
    ["\\frac{3}{56}", "\\dfrac{3}{56}", true],
    ["\\frac43", "4/3", true], // TeX reads one digit per argument
    ["\\frac 59", "5/9", true],
    ["\\frac{3}{56}", "\\frac{6}{112}", true], // unreduced fractions are equal
    ["\\frac{3}{56}", "\\frac{56}{3}", false],
    ["-\\frac{35}{9}", "\\frac{-35}{9}", true],
    ["\\frac{1}{2}", "-\\frac{1}{2}", false],
    ["1\\frac{4}{5}", "\\frac{9}{5}", true], // mixed number
    ["137 \\frac{1}{2}", "137.5", true],
    ["1\\frac{4}{5}", "\\frac{4}{5}", false],
  ],
  radicals_and_constants: [
    ["3\\sqrt{13}", "\\sqrt{117}", true],
    ["3\\sqrt{13}", "3*sqrt(13)", true],
    ["3\\sqrt{13}", "\\sqrt{39}", false],
    ["\\sqrt{51}", "\\sqrt51", true], // documented departure from TeX
    ["\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", true],
    ["\\sqrt[3]{-8}", "-2", true],
    ["\\sqrt{5}", "5^{\\frac{1}{2}}", true],
    ["288\\pi", "288π", true],
    ["\\frac{20000}{\\pi}", "20000\\pi", false],
    ["1 - \\frac{1}{e}", "1 + \\frac{1}{e}", false],
    ["\\log_2 8", "3", true],
    ["\\ln e^2", "2", true],
    ["\\sin 30^\\circ", "\\frac{1}{2}", true],
    ["\\cos \\frac{\\pi}{3}", "0.5", true],
    ["\\tan^2(y)+1", "\\sec^2(y)", true],
  ],
  percent_degrees_units_money: [
    ["28\\%", "28 percent", true],
    ["28\\%", "28", true], // percent sign dropped counts as equal
    ["28\\%", "0.28", true], // ... and so does the fraction
    ["28\\%", "2.8", false],
    ["28\\%", "280\\%", false],
    ["90^\\circ", "90", true], // degree sign dropped
    ["90^\\circ", "90°", true],
    ["30^\\circ", "\\frac{\\pi}{6}", true], // degrees against radians
    ["30^\\circ", "150^\\circ", false],
    ["864 \\mbox{ inches}^2", "864", true], // units dropped
    ["864 \\mbox{ inches}^2", "864^2", false],
    ["15\\mbox{ cm}^2", "15 \\text{cm}^2", true],
    ["5.4 \\text{ cents}", "54", false],
    ["\\$32,\\!348", "32348", true],
    ["\\$18.90", "\\$18.9", true],
    ["10", "\\$10", true],
  ],
  base_n: [
    ["52_8", "52_{8}", true],
    ["52_8", "42", true], // a base-n numeral is its value
    ["52_8", "52_{9}", false],
    ["40_9", "40_{10}", false],
    ["101_2", "5", true],
  ],
  complex: [
    ["6 - 5i", "-5i+6", true],
    ["6 - 5i", "6+5i", false],
    ["\\frac34i", "\\frac{3}{4}i", true],
    ["1+2i", "2+i", false],
    ["i", "\\sqrt{-1}", true],
  ],
  expressions: [
    ["p - q", "-(q-p)", true],
    ["p - q", "q - p", false],
    ["x^5 - x^4 + x^3 - x^2 + x - 1", "-1 + x - x^2 + x^3 - x^4 + x^5", true],
    ["6r^2-4r-24", "2(3r^2-2r-12)", true],
    ["(a+5)(b+2)", "(a+2)(b+5)", false],
    ["\\cot x", "\\frac{1}{\\tan x}", true],
    ["\\frac{x+2}{7}", "\\frac{x}{7}+\\frac{2}{7}", true],
    ["x+2n+1", "x+1", false],
    ["f(x)", "f(y)", false], // renamed variables are different answers
    ["2 \\sin b \\cos a", "\\sin(a+b) - \\sin(a-b)", true],
    ["\\frac{x^2-1}{x-1}", "x+1", true], // equal wherever both are defined (probing)
  ],
  equations_and_relations: [
    ["x=5", "5", true], // `x = 5` vs `5`
    ["5", "x = 5", true],
    ["x=5", "x=-5", false],
    ["7 = 11a+c", "11a+c", false], // not an assignment: the equation is the answer
    ["a + 3z = 0", "0", false],
    ["y = 2x + 3", "2x - y + 3 = 0", true], // rearranged equation
    ["x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4", true],
    ["5x - 7y + 11z + 4 = 0", "5x - 7y + 11z - 4 = 0", false],
    ["x = 11", "x = 5+5+1 = 11", true], // a chain's last member is the answer
    ["11", "x \\approx 11", true],
    ["\\frac{1}{3}", "x = \\frac{1}{3} \\approx 0.33", true], // approximation after the exact value is commentary
    ["x \\leq 5", "5 \\geq x", true],
    ["x < 1", "-x > -1", true],
    ["x < 1", "x > -1", false],
    ["(5,\\infty)", "x > 5", true], // an inequality in one variable is its solution set
    ["x \\in [-2,7]", "-2 \\le x \\le 7", true],
    ["x \\in [-2,7]", "[-2, 7)", false],
    ["1 \\leq |z| \\leq \\frac{3}{2}", "[-\\frac{3}{2}, -1] \\cup [1, \\frac{3}{2}]", true],
    ["|x| < 2", "(-2, 2)", true],
    ["x^2 > 4", "(-2, 2)", false],
    ["(p,q)=(3,2)", "(3,2)", true],
    ["\\frac{NO}{BO}=\\frac{1}{\\sqrt{6}}", "\\frac{1}{\\sqrt{6}}", true],
    ["f(2) < f(1) < f(4)", "f(4) > f(1) > f(2)", true],
  ],
  intervals: [
    ["(3,4]", "\\left(3,4\\right]", true],
    ["(3,4]", "[3,4]", false],
    ["(2,\\infty)", "(2,+\\infty)", true],
    ["(2,\\infty)", "[2,\\infty)", false],
    ["(0,9) \\cup (9,36)", "(9,36) \\cup (0,9)", true],
    ["(0,9) \\cup (9,36)", "(0,36)", false],
    ["(2,12) \\cup (12,102)", "(2, 12) \\cup (12, 102)", true],
    ["(-\\infty, 0]", "(-\\infty, 0)", false],
  ],
  sets_lists_tuples: [
    ["1,-2", "-2, 1", true], // a bare list is unordered (a set of solutions)
    ["1,-2", "\\{1,-2\\}", true],
    ["1,-2", "1", false],
    ["3, 5, 7", "3, 5", false],
    ["1 \\pm \\sqrt{19}", "1+\\sqrt{19}, 1-\\sqrt{19}", true],
    ["1 \\pm \\sqrt{19}", "1+\\sqrt{19}", false],
    ["\\pm 2021", "\\{-2021, 2021\\}", true],
    ["\\{1\\pm\\sqrt{5},-2\\}", "-2, 1+\\sqrt{5}, 1-\\sqrt{5}", true],
    ["(6,31,-1)", "(6,-1,31)", false], // tuples are ordered
    ["(-2,1)", "\\left( -2, 1 \\right)", true],
    ["(1,-16,-4,43)", "(1,-16,-4,43)", true],
    ["(37,3,3,13),(17,3,3,7)", "(17,3,3,7),(37,3,3,13),(17,3,3,7)", true], // duplicates do not count
    ["-12;-11;-10", "\\{-10,-11,-12\\}", true],
    ["p=5,q=2;p=7,q=2", "(5,2),(7,2)", true],
    ["a_3 = 2, a_{37} = 19", "a_{37} = 19, a_3 = 2", true],
    ["x = \\frac{1}{2}, x = \\frac{-1 \\pm \\sqrt{13}}{4}", "x = \\frac{-1 \\pm \\sqrt{13}}{4}, x = \\frac{1}{2}", true],
    ["6 \\text{ and } 8", "6, 8", true],
    ["19, 46, and 82", "19, 46, \\text{ and } 82", true],
    ["1", "1, 1", true], // a repeated answer is one answer
    ["7:32", "7:32", true],
    ["12:00", "1:00", false],
  ],
  matrices: [
    ["\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\begin{bmatrix} -\\frac13 \\\\ \\frac23 \\end{bmatrix}", true],
    ["\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\begin{pmatrix} 2/3 \\\\ -1/3 \\end{pmatrix}", false],
    ["\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\left[\\begin{array}{cc} 1 & 0 \\\\ 0 & -1 \\end{array}\\right]", true],
    ["\\begin{pmatrix} 16/49 \\\\ 48/49 \\\\ 24/49 \\end{pmatrix}", "\\frac{8}{49}\\begin{pmatrix} 2 \\\\ 6 \\\\ 3 \\end{pmatrix}", true],
    ["\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", "(-7, 16, 5)", true], // a vector written as a tuple
    ["\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}", true],
    ["\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 5\\end{pmatrix}", false],
  ],
  near_misses: [
    ["|x|", "x", false], // probe points take both signs
    ["\\sqrt{x^2}", "x", false],
    ["2\\frac{1}{2}", "1", false], // a mixed number, not 2 times 1/2
    ["\\frac{1}{2}", "\\frac{1}{2} + 10^{-12}", false],
    ["100", "100.0000001", false],
    ["x^2", "x^3", false],
    ["e^x", "x^e", false],
    ["\\log(x)", "\\ln(x)", false],
    ["\\sin x", "\\sin(x + 2\\pi)", true],
    ["(1,2)", "[1,2]", false],
    ["(1,2)", "\\{1,2\\}", false],
    ["\\{1,2\\}", "\\{1,2,3\\}", false],
    ["5", "5 or 6", false], // a hedged answer is not the answer
    ["5", "x = 5, y = 6", false],
    ["x = 5", "y = 5", false], // two assignments to different variables
    ["x + y = 1", "x - y = 1", false],
    ["x > 2", "x \\geq 2", false],
    ["x^2 = 4", "x = 2", false],
    ["\\text{yes}", "\\text{no}", false],
    ["A", "a", false], // single letters are math variables: case matters
    ["\\infty", "10^{400}", false],
  ],
  text_and_choices: [
    ["\\text{Evelyn}", "Evelyn", true],
    ["\\text{Evelyn}", "evelyn", true], // text answers are compared case-insensitively
    ["\\text{Evelyn}", "\\textbf{Evelyn}", true],
    ["\\text{Evelyn}", "\\text{Briana}", false],
    ["\\text{(C)}", "C", true],
    ["\\text{(C)}", "(c)", true],
    ["\\text{(C)}", "\\text{(D)}", false],
    ["d", "\\text{E}", false],
    ["\\text{4:30 p.m.}", "4:30 \\text{ p.m.}", true],
    ["\\text{odd}", "odd", true],
  ],
  // The rows below come from an issue that compared the grader with the test suites of eleven
  // other graders; each table holds varied cases of one kind, and cases that must stay not equal.
  last_box: [
    ["42", "\\boxed{10} and then \\boxed{42}", true], // the last box is the answer
    ["10", "\\boxed{10} and then \\boxed{42}", false],
    ["42", "\\boxed{9} ".repeat(400) + "\\boxed{42}", true],
    ["9", "\\boxed{9} ".repeat(400) + "\\boxed{42}", false],
    ["42", "\\boxed{10}, \\boxed{42}", true],
    ["7", "\\boxed{3}; \\boxed{5}; \\boxed{7}", true],
    ["5", "\\fbox{3} or rather \\fbox{5}", true],
    ["3", "\\fbox{3} or rather \\fbox{5}", false],
    ["\\frac{1}{2}", "first \\boxed{\\frac13}, which is wrong, then \\boxed{\\frac12} as computed above", true],
    ["x^2", "$\\boxed{x^2+1}$ and then $\\boxed{x^2}$.", true],
    ["2", "\\boxed{1}\\boxed{2}", true],
    ["1, 2", "\\boxed{1, 2}", true], // a list inside one box
    ["2", "\\boxed{1, 2}", false],
    ["(6, 2)", "$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$", true],
    // A gold that is itself a list reads a list of boxes as a list (Math-Verify's convention).
    ["\\{1,2,3\\}", "\\boxed{1} and \\boxed{2} and \\boxed{3}", true],
    ["10, 42", "\\boxed{10}, \\boxed{42}", true],
    ["1 \\pm \\sqrt{2}", "\\boxed{1+\\sqrt2} and \\boxed{1-\\sqrt2}", true],
    ["1, 2", "\\boxed{1} and \\boxed{3}", false],
    ["1, 2", "\\boxed{1} and \\boxed{2} and \\boxed{3}", false],
  ],
  text_with_inline_math: [
    ["odd $n$", "odd $n$", true],
    ["odd $n$", "\\text{odd } n", true],
    ["odd $n$", "\\text{even } n", false],
    ["odd $n$", "n", false],
    ["$f(x) = ax$ for some constant $a > 0$ and all real numbers $x$", "$f(x) = ax$ for some constant $a > 0$ and all real numbers $x$", true], // a long text answer is not prose
    ["$f(x) = ax$ for some constant $a > 0$ and all real numbers $x$", "$f(x)=ax$ for some constant $a>0$ and all real numbers $x$", true],
    ["$f(x) = ax$ for some constant $a > 0$ and all real numbers $x$", "x", false],
    ["$f(x) = ax$ for some constant $a > 0$ and all real numbers $x$", "$f(x) = ax$ for some constant $a < 0$ and all real numbers $x$", false],
    // A one-sentence reference solution that states a value still gives that value.
    ["Since the triangle has legs 3 and 4, its area is $\\frac{1}{2}\\cdot 3\\cdot 4 = 6$.", "6", true],
    ["The triangle with legs 3 and 4 has the area $\\frac{1}{2}\\cdot 3\\cdot 4 = 6$ square units.", "6", true],
    ["The triangle with legs 3 and 4 has the area $\\frac{1}{2}\\cdot 3\\cdot 4 = 6$ square units.", "7", false],
  ],
  python_power: [
    ["\\sqrt[4]{2}", "2**(1/4)", true],
    ["8", "2**3", true],
    ["9", "2**3", false],
    ["32", "2**3*4", true], // binds tighter than *
    ["512", "2**3**2", true], // right-associative
    ["64", "2**3**2", false],
    ["\\frac{1}{2}", "2**-1", true], // a signed exponent
    ["\\frac{1}{9}", "3**(-2)", true],
    ["-4", "-2**2", true], // binds tighter than a unary minus
    ["4", "(-2)**2", true],
    ["\\frac{1}{8}", "(1/2)**3", true],
    ["\\sqrt[3]{4}", "2**(2/3)", true],
    ["2^{1/3}", "2**(1/4)", false],
    ["x^2+2x+1", "x**2 + 2*x + 1", true],
    ["2^{x+1}", "2**(x+1)", true],
    ["2^{x}+1", "2**(x+1)", false],
  ],
  mixed_numbers: [
    ["\\frac{3}{2}", "1 1/2", true], // an integer, a space, a proper fraction
    ["\\frac{11}{4}", "2 3/4", true],
    ["-\\frac{3}{2}", "-1 1/2", true],
    ["1.5", "1 1/2", true],
    ["\\frac{11}{8}", "1 3/8", true],
    ["\\frac{23}{4}", "5 3/4 \\text{ cups}", true],
    ["(\\frac32, \\frac{11}{4})", "(1 1/2, 2 3/4)", true],
    ["\\frac{3}{2}", "1\\frac12", true], // TeX's one-digit arguments, then a mixed number
    ["\\frac{7}{2}", "3 \\frac{1}{2}", true],
    ["-\\frac{7}{2}", "-3\\frac{1}{2}", true],
    ["\\frac{1}{2}", "1 1/2", false],
    ["\\frac{3}{8}", "1 3/8", false],
    ["\\frac{5}{2}", "2 \\frac{1}{4}", false],
  ],
  long_decimals: [
    // A decimal of 6+ significant digits equals an exact rational it rounds or truncates to.
    ["\\frac{1}{432}", "2.314814814815\\times10^{-3}", true],
    ["\\frac{1}{432}", "2.31481e-3", true],
    ["\\frac{1}{432}", "0.00231481", true],
    ["-\\frac{1}{432}", "-2.314814814815 \\times 10^{-3}", true],
    ["1/3", "0.333333333333", true],
    ["\\frac13", "0.333333", true],
    ["\\frac23", "0.666667", true], // rounded
    ["\\frac23", "0.666666", true], // truncated
    ["-\\frac{35}{9}", "-3.888889", true],
    ["\\frac{100}{3}", "33.3333", true],
    ["\\frac{1}{3}", "33.3333\\%", true],
    ["\\frac{22}{7}", "3.142857", true],
    ["(\\frac13, \\frac23)", "(0.333333, 0.666667)", true],
    ["\\{\\frac13, \\frac23\\}", "\\{0.666667, 0.333333\\}", true],
    ["\\frac13", "0.33333", false], // 5 significant digits: too few
    ["\\frac{1}{432}", "0.0023148", false],
    ["\\frac{1}{432}", "2.3148e-3", false],
    ["\\frac13", "0.333334", false], // neither rounded nor truncated
    ["\\frac23", "0.666668", false],
    ["-\\frac{35}{9}", "3.888889", false],
    ["3", "2.99999999", false],
    ["0.333333", "0.3333333", false], // two decimals are compared exactly
    ["\\sqrt{2}", "1.41421356", false], // irrational: only a double-precision print-out
    ["\\pi", "3.142857", false],
  ],
  reversed_equations: [
    ["2=x", "2", true],
    ["2 = y", "2", true],
    ["\\frac12 = y", "0.5", true],
    ["2", "2 = x", true],
    ["-3 = a_1", "-3", true],
    ["(1,2) = (a,b)", "(1,2)", true],
    ["2=x", "x=2", true],
    ["2=x", "3", false],
    ["2=x", "y=2", false], // the name is part of the answer
    ["7 = 11a+c", "7", false], // not an assignment
  ],
  percent_words: [
    ["0.005", "\\frac{1}{2}\\text{ percent}", true],
    ["0.005", "\\frac{1}{2}\\%", true],
    ["0.005", "\\frac12 percent", true],
    ["\\frac{1}{2}\\%", "0.005", true],
    ["0.335", "33.5 percent", true],
    ["0.125", "12\\frac{1}{2}\\text{ percent}", true],
    ["\\frac{1}{3}", "33\\frac{1}{3}\\%", true],
    ["25\\%", "25\\mbox{ percent}", true],
    ["0.0025", "\\frac{1}{4}\\text{ per cent}", true],
    ["0.05", "\\frac{1}{2}\\text{ percent}", false],
    ["20\\%", "\\frac14", false],
  ],
  several_solutions: [
    ["p=5,q=2 and p=7,q=2", "p=5,q=2;p=7,q=2", true],
    ["p=5,q=2;p=7,q=2", "p=5,q=2 and p=7,q=2", true],
    ["p=5,q=2;p=7,q=2", "p=5, q=2 \\text{ and } p=7, q=2", true],
    ["p=5,q=2;p=7,q=2", "p=7,q=2 or p=5,q=2", true],
    ["(5,2),(7,2)", "p=5,q=2 and p=7,q=2", true],
    ["a=1,b=2,c=3;a=4,b=5,c=6", "a=4, b=5, c=6 and a=1, b=2, c=3", true],
    ["x=1,y=2;x=3,y=4", "y=2, x=1 and y=4, x=3", true],
    ["p=5,q=2;p=7,q=2", "(p,q)=(5,2) \\text{ or } (p,q)=(7,2)", true],
    ["p=5,q=2;p=7,q=2", "p=5,q=2 and p=7,q=3", false],
    ["p=5,q=2;p=7,q=2", "p=5,q=2", false],
    ["x=1,y=2;x=3,y=4", "x=1,y=4 and x=3,y=2", false],
    ["1, 2, 3, 4", "x=1, y=2 and x=3, y=4", false],
  ],
};

for (const [category, rows] of Object.entries(TABLES)) {
  test(`verify: ${category}`, () => {
    const wrong: string[] = [];
    for (const [gold, pred, expected] of rows) {
      const r = verify(gold, pred);
      if (r.correct !== expected) wrong.push(`verify(${JSON.stringify(gold)}, ${JSON.stringify(pred)}) = ${r.reason}, expected ${expected}`);
    }
    assert.deepEqual(wrong, []);
  });
}

test("verify reports reasons: equal, not-equal, unparsable", () => {
  assert.deepEqual(verify("1/2", "0.5"), { correct: true, reason: "equal" });
  assert.deepEqual(verify("1/2", "0.6"), { correct: false, reason: "not-equal" });
  assert.equal(verify("1/2", "").reason, "unparsable");
  assert.equal(verify("1/2", "\\frac{").reason, "unparsable");
});

test("verify takes the final answer of a gold reference solution (asymmetry)", () => {
  const gold = "We add the two numbers and get the total of all the apples in the basket, so the answer is $\\boxed{14}$.";
  assert.equal(verify(gold, "14").correct, true);
  // The prediction is an answer, not a solution: verify does not extract from prose.
  assert.equal(verify("14", "We add the numbers and count all the apples in the basket to get 14 apples in total.").correct, false);
});

test("equivalent is symmetric", () => {
  const pairs: Array<[string, string]> = [
    ["x=5", "5"],
    ["44\\%", "0.44"],
    ["(1,2)", "(2,1)"],
    ["y = 2x + 3", "2x - y + 3 = 0"],
    ["\\frac{1}{2}", "0.5"],
    ["1,-2", "-2,1"],
  ];
  for (const [a, b] of pairs) assert.equal(equivalent(a, b), equivalent(b, a), `${a} / ${b}`);
  assert.equal(equivalent("x=5", "5"), true);
  assert.equal(equivalent("(1,2)", "(2,1)"), false);
});

test("pathological inputs give a verdict quickly", () => {
  const cases: Array<[string, string]> = [
    ["10^{10^{10^{10}}}", "10^{10^{10^{10}}}+1"],
    ["{".repeat(5000) + "1" + "}".repeat(5000), "2"],
    ["(".repeat(3000) + "1" + ")".repeat(3000), "2"],
    ["x".repeat(1_000_000), "1"],
    ["1000000!", "5"],
    [Array(200).fill("\\pm 1").join(""), "1"],
  ];
  for (const [g, p] of cases) {
    const r = verify(g, p, { deadlineMs: 500 });
    assert.equal(r.correct, false, g.slice(0, 30));
    assert.ok(["not-equal", "unparsable", "timeout"].includes(r.reason));
  }
  // Overflowing values cannot be told apart: never "equal" by accident.
  assert.equal(verify("10^{10^{10}}", "10^{10^{10}} + 1").correct, false);
  assert.equal(verify("1", "1", { maxSteps: 1 }).correct, true); // identical strings need no work
  assert.equal(verify("(x+1)^2", "x^2+2x+1", { maxSteps: 5 }).reason, "timeout");
});
