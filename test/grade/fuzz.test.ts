// Fuzz test: 100,000 random and adversarial strings through the public API. No call may throw,
// every verdict must be well-formed, and no call may run past its time bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { clusterKey, equivalent, extractAnswer, verify } from "../../src/grade/index.js";

const PIECES = [
  "0", "1", "2", "7", "12", "3.5", ".25", "1,000", "-", "+", "*", "/", "^", "_", "!", "%", "=", "<", ">", "\\le",
  "(", ")", "[", "]", "{", "}", "\\{", "\\}", "|", ",", ";", ":", " ", "x", "y", "e", "i", "\\pi", "\\infty",
  "\\frac", "\\dfrac", "\\sqrt", "\\sqrt[3]", "\\pm", "\\cdot", "\\times", "\\sin", "\\log_", "\\ln", "\\cup",
  "\\in", "\\text{", "\\mbox{ cm}", "\\boxed{", "\\fbox{", "$", "$$", "\\(", "\\)", "\\[", "\\]", "\\left(",
  "\\right)", "\\begin{pmatrix}", "\\end{pmatrix}", "&", "\\\\", "^\\circ", "\\%", "\\$", "\\overline{3}",
  "10^{", "\\binom", "#### ", "# Answer\n", "The answer is ", "Final Answer: The final answer is ", "**",
  "\\approx", "or", "and", "\u00b0", "\u03c0", "\u221a", "\n", "\\\\frac", "\u0000", "\ud800",
];

function randomString(rng: Rng): string {
  const n = rng.int(0, 24);
  let s = "";
  for (let i = 0; i < n; i++) s += rng.pick(PIECES);
  return s;
}

const ADVERSARIAL: string[] = [
  "10^{10^{10^{10}}}",
  "10^{10^{10^{10^{10^{10}}}}}!",
  "2^{2^{2^{2^{2^{2^{2}}}}}}",
  "(10^{100})!",
  "\\binom{10^{9}}{10^{8}}",
  "{".repeat(20_000) + "1" + "}".repeat(20_000),
  "(".repeat(20_000),
  "\\sqrt{".repeat(5_000) + "2" + "}".repeat(5_000),
  "\\frac".repeat(10_000),
  "x^".repeat(3_000) + "2",
  "1+".repeat(100_000) + "1",
  "\\pm 1".repeat(1_000),
  "(" + Array.from({ length: 2_000 }, (_, k) => String(k)).join(",") + ")",
  "\\begin{pmatrix}" + Array(60).fill(Array(60).fill("x").join("&")).join("\\\\") + "\\end{pmatrix}",
  "a".repeat(1_000_000),
  "\\boxed{".repeat(200_000),
  "$".repeat(1_000_000),
  "The answer is ".repeat(70_000),
  "9".repeat(100_000),
  "\\(".repeat(100_000),
  "\\[x".repeat(60_000),
  "**".repeat(100_000),
  "Therefore ".repeat(30_000),
  "$1$ and ".repeat(40_000),
  "0." + "9".repeat(5_000) + "\\overline{9}",
];

/** Generous wall-clock bound per call: the default deadline is 250 ms; the machine may be busy. */
const BOUND_MS = 2_000;

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

test("fuzz: 100,000 random and adversarial inputs, no exception, every call bounded", () => {
  const rng = new Rng(20261127);
  const reasons = new Set(["equal", "not-equal", "unparsable", "timeout"]);
  let slowest = 0;
  let slowestInput = "";
  const check = (gold: string, pred: string, heavy: boolean): void => {
    const v = timed(() => verify(gold, pred));
    assert.equal(typeof v.value.correct, "boolean");
    assert.ok(reasons.has(v.value.reason), v.value.reason);
    const e = timed(() => extractAnswer(pred));
    assert.ok(e.value === null || typeof e.value === "string");
    let ms = Math.max(v.ms, e.ms);
    if (heavy) {
      const k = timed(() => clusterKey(pred));
      assert.equal(typeof k.value, "string");
      const q = timed(() => equivalent(gold, pred));
      assert.equal(typeof q.value, "boolean");
      ms = Math.max(ms, k.ms, q.ms / 2);
    }
    if (ms > slowest) {
      slowest = ms;
      slowestInput = `${gold.slice(0, 40)} | ${pred.slice(0, 40)}`;
    }
  };
  const total = 100_000;
  for (let i = 0; i < total - ADVERSARIAL.length * 2; i++) {
    const gold = i % 3 === 0 ? rng.pick(["1/2", "x+1", "(1,2]", "\\frac{3}{4}", "5", "x=2"]) : randomString(rng);
    check(gold, randomString(rng), i % 10 === 0);
  }
  for (const a of ADVERSARIAL) {
    check(a, "1", true);
    check("1", a, true);
  }
  assert.ok(slowest < BOUND_MS, `slowest call ${slowest.toFixed(0)} ms on ${slowestInput}`);
});
