import { test } from "node:test";
import assert from "node:assert/strict";
import { drawSynthItem, synthesizeWorld, LEVELS, type SynthItem } from "../../src/data/synth/world.js";
import { CHECKABLE_SKILLS } from "../../src/data/synth/skills.js";
import { product } from "../../src/data/synth/checkable.js";
import { verificationExamples } from "../../src/data/synth/verification.js";
import { EVALUATOR_TEMPLATE, evaluatorPrompt } from "../../src/data/prompts.js";
import { lastBoxedContent } from "../../src/data/boxed.js";
import { Rng } from "../../src/util/rng.js";
import { lineHolds as lineIsTrue } from "../../src/data/synth/lines.js";

/** The number the check must reach: c of `x*x+b*x=c`, p of `x*y=p`, the closing equation's value of the digits skill; null for the remainder. */
function target(problem: string): number | null {
  const m = /x\*x[+-]\d+\*x=(\d+)\.$/.exec(problem) ?? /x\*y=(\d+)\.$/.exec(problem) ?? /[a-e][+*-][a-e]=(\d+)\.$/.exec(problem);
  return m ? Number(m[1]) : null;
}

/** The value the check line ends with (the product it states). */
function checkValue(solution: string): number {
  const check = solution.split("\n").at(-2)!;
  return Number(/=(-?\d+)$/.exec(check)![1]);
}

const draws: SynthItem[] = [];
{
  const rng = new Rng(2026);
  for (const skill of CHECKABLE_SKILLS) for (const level of LEVELS) for (let i = 0; i < 150; i++) draws.push(drawSynthItem(rng, skill, level, "x", 400)!);
}

test("checkable skills: every solution ends with a true check line before the boxed answer", () => {
  for (const it of draws) {
    for (const sol of [it.terse, it.detailed]) {
      const lines = sol.split("\n");
      assert.match(lines.at(-2)!, /^check: /, sol);
      for (const line of lines.slice(0, -1)) assert.ok(lineIsTrue(line), `false line "${line}" in\n${sol}`);
      const t = target(it.problem);
      if (t !== null) assert.equal(checkValue(sol), t, sol);
    }
  }
});

test("checkable skills: every negative boxes a wrong answer and shows it (a false line, or a check that misses the problem's number)", () => {
  let honest = 0;
  let slipped = 0;
  let none = 0;
  for (const it of draws) {
    // A digits system may have none: every other first digit leaves 0-9 or makes a quotient inexact
    // (1% of level-1 draws, 10% at level 3, 28-39% at levels 4-5 with products); the others always have some.
    if (it.negatives.length === 0 && it.skill.startsWith("digits")) none++;
    else assert.ok(it.negatives.length > 0, it.problem);
    for (const neg of it.negatives) {
      assert.notEqual(lastBoxedContent(neg), it.answer, neg);
      const lines = neg.split("\n").slice(0, -1);
      const falseLine = lines.some((l) => !lineIsTrue(l));
      const t = target(it.problem);
      const misses = t !== null && checkValue(neg) !== t;
      assert.ok(falseLine || misses, `negative shows nothing wrong:\n${it.problem}\n${neg}`);
      if (falseLine) slipped++;
      else honest++;
    }
  }
  // Both kinds are drawn: honest wrong guesses (all lines true, the check misses) and slips.
  assert.ok(honest > 200 && slipped > 200, `honest ${honest}, slipped ${slipped}`);
  assert.ok(none < draws.length / 5, `${none} draws without negatives`);
});

test("digits-search: the detailed solution shows failed tries, each a true statement whose value fails, then the digits solution", () => {
  const search = draws.filter((it) => it.skill === "digits-search");
  const tries = search.map((it) => it.detailed.split("\n").filter((l) => /, not (a digit|-?\d+)$/.test(l)).length);
  // 0, 1 or 2 tries are drawn; a try that happens to be the solution is left out.
  assert.ok(tries.every((n) => n <= 2));
  assert.ok(tries.filter((n) => n > 0).length > search.length / 3, `${tries.filter((n) => n > 0).length} of ${search.length} show a failed try`);
  for (const it of search) {
    const lines = it.detailed.split("\n");
    // The last try is the solution: it starts with the answer's first digit and checks out.
    const last = lines.map((l, i) => (/^a=\d$/.test(l) ? i : -1)).filter((i) => i >= 0).at(-1)!;
    assert.equal(lines[last], `a=${String(it.answer)[0]}`, it.detailed);
    assert.ok(lines.slice(last).every((l) => !/, not /.test(l)), it.detailed);
    // A failed check states the value it computed, never the problem's number.
    for (const l of lines.filter((x) => x.startsWith("check: ") && x.includes(", not "))) assert.notEqual(Number(/=(-?\d+), not/.exec(l)![1]), target(it.problem), l);
  }
});

test("product(): the scratchpad of single-digit facts is true and ends with the stated value", () => {
  assert.equal(product(7, 83, 581), "7*83=7*80+7*3=560+21=581");
  assert.equal(product(411, 3, 1233), "411*3=400*3+10*3+1*3=1200+30+3=1233");
  assert.equal(product(30, 7, 210), "30*7=210");
  const rng = new Rng(5);
  for (let k = 0; k < 300; k++) {
    const d = rng.int(2, 9);
    const n = rng.int(2, 999);
    assert.ok(lineIsTrue(product(d, n, d * n)));
    assert.ok(lineIsTrue(product(n, d, d * n)));
    assert.ok(!lineIsTrue(product(d, n, d * n + 1)));
  }
});

test("the verification corpus: both styles correct, the negatives incorrect, in the paper's template", () => {
  const world = synthesizeWorld({ n: 90, validation: 0, test: 9, seed: 3, levels: [1, 2, 3], skills: ["root", "remainder", "sum-product", "arithmetic"], maxChars: 192 });
  const recs = verificationExamples(world.train);
  const checkable = world.train.filter((it) => it.negatives.length > 0);
  assert.equal(checkable.length, world.train.filter((it) => it.skill !== "arithmetic").length);
  assert.equal(recs.length, checkable.reduce((s, it) => s + 2 + it.negatives.length, 0));
  const it = checkable[0];
  const mine = recs.filter((r) => r.id!.startsWith(`${it.id}/`));
  assert.deepEqual(mine[0], { prompt: evaluatorPrompt(it.problem, it.terse), completion: " correct", id: `${it.id}/verify/terse` });
  assert.equal(mine[1].prompt, evaluatorPrompt(it.problem, it.detailed));
  assert.deepEqual(
    mine.slice(2).map((r) => [r.prompt, r.completion]),
    it.negatives.map((n) => [evaluatorPrompt(it.problem, n), " incorrect"]),
  );
  assert.ok(mine[0].prompt.startsWith(EVALUATOR_TEMPLATE.slice(0, 24)));
});
