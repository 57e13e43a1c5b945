import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Rational, parseRationalLatex } from "../../src/data/rational.js";
import { findLastBoxed, lastBoxedContent } from "../../src/data/boxed.js";

test("Rational keeps lowest terms with a positive denominator", () => {
  const r = Rational.of(6, -4);
  assert.equal(r.num, -3n);
  assert.equal(r.den, 2n);
  assert.equal(r.toLatex(), "-\\frac{3}{2}");
  assert.equal(r.toMixedLatex(), "-1\\frac{1}{2}");
  assert.equal(Rational.of(7, 3).toMixedLatex(), "2\\frac{1}{3}");
  assert.equal(Rational.of(1, 3).toMixedLatex(), "\\frac{1}{3}");
  assert.equal(Rational.of(8, 4).toLatex(), "2");
  assert.equal(Rational.of(0, -5).toString(), "0");
  assert.throws(() => Rational.of(1, 0), RangeError);
  assert.throws(() => Rational.one.div(Rational.zero), RangeError);
});

test("Rational arithmetic agrees with cross-multiplication (property)", () => {
  const small = fc.integer({ min: -1000, max: 1000 });
  const pos = fc.integer({ min: 1, max: 1000 });
  fc.assert(
    fc.property(small, pos, small, pos, (a, b, c, d) => {
      const x = Rational.of(a, b);
      const y = Rational.of(c, d);
      const sum = x.add(y);
      assert.ok(sum.equals(Rational.of(a * d + c * b, b * d)));
      assert.ok(x.sub(y).add(y).equals(x));
      assert.ok(x.mul(y).equals(Rational.of(a * c, b * d)));
      if (c !== 0) assert.ok(x.div(y).mul(y).equals(x));
      // Both LaTeX forms parse back to the same value.
      assert.ok(parseRationalLatex(x.toLatex())?.equals(x));
      assert.ok(parseRationalLatex(x.toMixedLatex())?.equals(x));
      assert.equal(Math.sign(x.compare(y)), Math.sign(a / b - c / d));
    }),
    { numRuns: 300 },
  );
});

test("parseRationalLatex reads the world's forms and nothing else", () => {
  const rows: Array<[string, string | null]> = [
    ["7", "7"],
    ["-12", "-12"],
    ["\\frac{7}{3}", "7/3"],
    ["-\\frac{1}{2}", "-1/2"],
    ["\\dfrac{4}{6}", "2/3"],
    ["2\\frac{1}{3}", "7/3"],
    ["-2\\frac{1}{3}", "-7/3"],
    ["7/3", "7/3"],
    [" 3 ", "3"],
    ["\\frac{1}{0}", null],
    ["x=3", null],
    ["\\sqrt{2}", null],
    ["", null],
  ];
  for (const [text, want] of rows) {
    const got = parseRationalLatex(text);
    assert.equal(got === null ? null : got.toString(), want, text);
  }
});

test("findLastBoxed: the last box, nested and escaped braces, brace-less form", () => {
  const rows: Array<[string, string | null]> = [
    ["so $\\boxed{5}$.", "5"],
    ["$\\boxed{1}$ then $\\boxed{\\frac{7}{3}}$", "\\frac{7}{3}"],
    ["set $\\boxed{\\{1,2\\}}$", "\\{1,2\\}"],
    ["$\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$", "\\left( 3, \\frac{\\pi}{2} \\right)"],
    ["so $\\boxed 2$.", "2"],
    ["$\\boxed {17}.$", "17"],
    ["\\fbox{9}", "9"],
    ["no box here", null],
    ["\\boxed{unclosed", null],
    ["empty \\boxed{}", ""],
  ];
  for (const [text, want] of rows) assert.equal(lastBoxedContent(text), want, text);
  const m = findLastBoxed("a \\boxed{x} b");
  assert.deepEqual(m, { content: "x", start: 2, end: 11 });
});
