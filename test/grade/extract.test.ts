// Table-driven tests of extractAnswer: [solution text, expected answer], grouped by format.
import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswer, gradeSolution } from "../../src/grade/index.js";

type Row = [text: string, expected: string | null];

const TABLES: Record<string, Row[]> = {
  boxed: [
    ["so $x = \\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"],
    ["\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"],
    ["first \\boxed{3}. Wait, that is wrong. Recomputing gives \\boxed{5}.", "5"], // the last box wins
    ["\\boxed{1} and \\boxed{2}", "2"], // the last box is the answer; a list is a list inside one box
    ["\\boxed{1, 2}", "1, 2"],
    ["$\\boxed{(2, 2)} \\quad \\text{and} \\quad \\boxed{(6, 2)}$", "(6, 2)"],
    ["\\boxed{10} and then \\boxed{42}", "42"],
    ["\\boxed{9} ".repeat(400) + "and then \\boxed{42}", "42"],
    ["\\fbox{3}, \\fbox{4}", "4"],
    ["we get \\boxed{-1} in the middle of the text, and that is all.", "-1"],
    ["\\boxed{1} no no no no no \\boxed{2}", "2"],
    ["the answer is \\fbox{7}", "7"],
    ["\\boxed 5 is it", "5"],
    ["\\boxed{a{b}c}", "a{b}c"],
  ],
  minerva: [
    ["So the final result follows.\nFinal Answer: The final answer is $-9$. I hope it is correct.", "-9"],
    ["Final Answer: The final answer is $\\frac{17}{5}$. I hope it is correct.", "\\frac{17}{5}"],
    ["... $\\boxed{255}$ ... Final Answer: The final answer is $10,455$. I hope it is correct.", "10,455"], // the later marker wins
    ["Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", "120"],
  ],
  prm800k_and_gsm8k: [
    ["Combining the two cases gives the result.\n\n# Answer\n\n42.5", "42.5"],
    ["Natalia sold 48/2 = 24 clips in May.\n#### 72", "72"],
  ],
  answer_sentences_and_delimiters: [
    ["Thus the answer is $x = 3$.", "x = 3"],
    ["The answer is 12.", "12"],
    ["Answer \\[ 9 \\]", "9"],
    ["Answer \\( (9+1) \\)", "(9+1)"],
    ["We get $a$ and then $b = 7$", "b = 7"],
    ["**Answer:** 17", "17"],
    ["Therefore $x \\geq 5$ is the solution.", "x \\geq 5"],
    ["Therefore, there are 12 distinct sequences that meet the conditions. I hope it is correct.", "12"],
  ],
  bare_and_fallback: [
    ["\\frac{1}{2}", "\\frac{1}{2}"],
    ["1,000.99$", "1,000.99$"],
    ["the number is not 10 which is 1,000.99€", "1,000.99"],
    ["we poured 1 1/2 cups and then 2 3/4 cups into the big bowl on the table", "2 3/4"], // a mixed number
    ["Thus, Maria needs 2 3/4 cups of flour.", "2 3/4"],
    ["first 12 / 5 then 7 / 3 of the whole amount was poured into the bowl", "7/3"],
    ["AZYUK2A", "AZYUK2A"], // a short bare string is its own answer (and grades as not equal to 2)
    ["no digits here at all, nothing to find in this long sentence", null],
  ],
};

for (const [category, rows] of Object.entries(TABLES)) {
  test(`extractAnswer: ${category}`, () => {
    for (const [text, expected] of rows) assert.equal(extractAnswer(text), expected, JSON.stringify(text));
  });
}

test("extractAnswer fallback to the last number can be turned off", () => {
  const text = "we computed 3 and then 4 apples in the long sentence without any marker at all";
  assert.equal(extractAnswer(text), "4");
  assert.equal(extractAnswer(text, { fallbackLastNumber: false }), null);
});

test("extractAnswer is fast and total on huge and broken texts", () => {
  assert.equal(extractAnswer(""), null);
  assert.equal(typeof extractAnswer("\\boxed{".repeat(100_000)), "string");
  assert.equal(extractAnswer("$".repeat(500_000)), null);
  assert.equal(extractAnswer("x ".repeat(600_000) + "\\boxed{3}"), "3");
});

test("gradeSolution extracts then verifies, returning the extraction", () => {
  assert.deepEqual(gradeSolution("\\frac{1}{2}", "so $\\boxed{0.5}$"), { correct: true, reason: "equal", extracted: "0.5" });
  assert.deepEqual(gradeSolution("3", "The answer is 4."), { correct: false, reason: "not-equal", extracted: "4" });
  assert.equal(gradeSolution("3", "we tried 3 things and none of them worked out in the end", { fallbackLastNumber: false }).reason, "unparsable");
});

// gradeSolution on full solutions: [gold, solution, expected]. The readings a gold calls for when
// the extracted answer is not equal: a list of boxes against a list gold, the last line against a
// text gold with inline math (docs/grader.md, "Extraction").
const SOLUTIONS: Record<string, Array<[gold: string, solution: string, expected: boolean]>> = {
  last_box: [
    ["42", "We first guess \\boxed{10}. Checking again gives \\boxed{42}.", true],
    ["10", "We first guess \\boxed{10}. Checking again gives \\boxed{42}.", false],
    ["42", "\\boxed{10} and then \\boxed{42}", true],
    ["7", "Trying: " + "\\boxed{9} ".repeat(400) + "so finally \\boxed{7}.", true],
    ["-2", "The roots are $\\boxed{1}$ and $\\boxed{-2}$.", true],
    ["1", "The roots are $\\boxed{1}$ and $\\boxed{-2}$.", false],
    ["\\{1,-2\\}", "The roots are $\\boxed{1}$ and $\\boxed{-2}$.", true], // a list gold reads the list of boxes
    ["(1,2),(3,4)", "The points are \\boxed{(1,2)}, \\boxed{(3,4)}.", true],
    ["(3,4)", "The points are \\boxed{(1,2)}, \\boxed{(3,4)}.", true],
    ["5", "\\fbox{3}. Wait, let me recheck: \\fbox{5}", true],
    ["42", "So \\boxed{42}. Final Answer: The final answer is 43. I hope it is correct.", false], // the later marker wins
  ],
  text_with_inline_math: [
    ["odd $n$", "odd $n$", true],
    ["odd $n$", "The answer is odd $n$.", true],
    ["odd $n$", "We check both parities of $n$.\n\nTherefore, odd $n$.", true],
    ["odd $n$", "even $n$", false],
    ["odd $n$", "$n$", false],
    ["\\text{odd } n", "We check both parities of $n$.\n\nodd $n$", true],
    ["\\text{odd } n", "We check both parities of $n$.\n\neven $n$", false],
    ["all odd $n$", "odd $n$", false], // the words must be the gold's
    ["$g(x) = x^2 + a$ for some $a > 0$", "$g(x)=x^2+a$ for some $a>0$", true],
    ["$g(x) = x^2 + a$ for some $a > 0$", "$g(x)=x^2+a$ for some $a<0$", false],
    ["$g(x) = x^2 + a$ for some $a > 0$", "$a > 0$", false],
    ["\\lfloor\\varphi n\\rfloor, where $\\varphi = \\frac{1+\\sqrt5}{2}$", "$\\lfloor\\varphi n\\rfloor$, where $\\varphi=\\frac{1+\\sqrt{5}}{2}$", true],
    ["\\lfloor\\varphi n\\rfloor, where $\\varphi = \\frac{1+\\sqrt5}{2}$", "$\\varphi = \\frac{1+\\sqrt5}{2}$", false],
    ["$n$ is a power of $2$", "Checking small cases shows the pattern.\n$n$ is a power of $2$.", true],
    ["$n$ is a power of $2$", "$n$ is a power of $3$", false],
    ["$f(x) = 2x$ for all real $x$", "Substituting $y = 0$ gives the claim.\n\n**Answer:** $f(x)=2x$ for all real $x$", true],
    ["$f(x) = 2x$ for all real $x$", "Substituting $y = 0$ gives the claim.\n\n**Answer:** $f(x)=3x$ for all real $x$", false],
  ],
};

for (const [category, rows] of Object.entries(SOLUTIONS)) {
  test(`gradeSolution: ${category}`, () => {
    const wrong = rows
      .map(([gold, text, want]) => ({ gold, text, want, got: gradeSolution(gold, text) }))
      .filter((r) => r.got.correct !== r.want)
      .map((r) => `gradeSolution(${JSON.stringify(r.gold)}, ${JSON.stringify(r.text.slice(-80))}) = ${r.got.reason} (${JSON.stringify(r.got.extracted)}), expected ${r.want}`);
    assert.deepEqual(wrong, []);
  });
}
