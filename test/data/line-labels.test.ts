import { test } from "node:test";
import assert from "node:assert/strict";
import { annotateLines, lineLabelExample, scoringText, LINE_MARK } from "../../src/data/line-labels.js";
import { worldLineExamples } from "../../src/data/synth/lines.js";
import { lineEvaluatorScore } from "../../src/sample/scoring.js";
import type { ContinuationLogprobs, Scorer } from "../../src/sample/types.js";
import { drawSynthItem } from "../../src/data/synth/world.js";
import { Rng } from "../../src/util/rng.js";

test("annotateLines: a mark and a label after each line, and where each label sits", () => {
  const a = annotateLines(["1+1=2", "\\boxed{2}"], [true, false]);
  assert.equal(a.text, `1+1=2${LINE_MARK}y\n\\boxed{2}${LINE_MARK}n`);
  assert.deepEqual(a.labels.map(([s, e]) => a.text.slice(s, e)), ["y", "n"]);
  assert.throws(() => annotateLines(["a"], [true, true]), /1 lines but 2 labels/);
});

test("lineLabelExample: stops at the first false line, loss on the labels only", () => {
  const e = lineLabelExample("P\n", "1+1=2\n2+2=5\n5+1=6\n\\boxed{6}", [true, false, true, false], "p/0");
  assert.equal(e.completion, "1+1=2 ?y\n2+2=5 ?n");
  assert.deepEqual(e.loss_spans!.map(([s, t]) => e.completion.slice(s, t)), ["y", "n"]);
  assert.equal(e.id, "p/0");
  const all = lineLabelExample("P\n", "1+1=2\n\\boxed{2}", [true, true]);
  assert.equal(all.completion, "1+1=2 ?y\n\\boxed{2} ?y");
  assert.equal(scoringText("1+1=2\n\\boxed{2}").text, all.completion, "scoring sees what a true solution trains on");
});

/** A character-level scorer whose log-probability of each continuation character is given by `lp`. */
function charScorer(lp: (text: string, i: number) => number): Scorer & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    continuationLogprobs(_prompt: string, continuation: string): Promise<ContinuationLogprobs> {
      seen.push(continuation);
      const tokens = [...continuation];
      const logprobs = tokens.map((_, i) => lp(continuation, i));
      return Promise.resolve({ tokens, logprobs, total: logprobs.reduce((a, b) => a + b, 0) });
    },
  } as unknown as Scorer & { seen: string[] };
}

test("lineEvaluatorScore: the product of p(y) at the labels, nothing else", async () => {
  // p(y) is 0.5 after the second line and 0.9 after the others; other characters are unlikely.
  const s = charScorer((text, i) => (text[i - 1] === "?" ? (text.slice(0, i).split("\n").length === 2 ? Math.log(0.5) : Math.log(0.9)) : -7));
  const r = await lineEvaluatorScore(s, "P\n", "1+1=2\n2+2=5\n\\boxed{5}");
  assert.equal(s.seen[0], "1+1=2 ?y\n2+2=5 ?y\n\\boxed{5} ?y");
  assert.deepEqual(r.lineLogprobs.map((x) => +Math.exp(x).toFixed(6)), [0.9, 0.5, 0.9]);
  assert.ok(Math.abs(r.score - 0.9 * 0.5 * 0.9) < 1e-12);
});

test("lineEvaluatorScore: a vocabulary that merges the label into a longer token is refused", async () => {
  const merged: Scorer = {
    continuationLogprobs: (_p: string, c: string) => Promise.resolve({ tokens: c.split(/(?<=\?y)/), logprobs: c.split(/(?<=\?y)/).map(() => -1), total: 0 }),
  } as unknown as Scorer;
  await assert.rejects(lineEvaluatorScore(merged, "P\n", "1+1=2"), /not a token of its own/);
});

test("worldLineExamples: own samples by their lines, world solutions true, negatives stopped at their first false line", () => {
  const rng = new Rng(7);
  const items = Array.from({ length: 20 }, () => drawSynthItem(rng, "remainder", 2, "train", 400)!);
  const own = [{ problem: "Find the remainder of 653 divided by 7.", text: "93*7=90*7+3*7=630+21=651\n653-651=3\ncheck: 3<7\n\\boxed{3}", correct: false, id: "q/0" }];
  const ex = worldLineExamples(own, items, (p) => `Problem: ${p}\nSolution:\n`);
  assert.equal(ex[0].completion, "93*7=90*7+3*7=630+21=651 ?y\n653-651=3 ?n");
  const labelsOf = (e: (typeof ex)[number]): string => e.loss_spans!.map(([s, t]) => e.completion.slice(s, t)).join("");
  const positives = ex.filter((e) => e.id!.endsWith("/lines/detailed"));
  assert.equal(positives.length, items.length);
  for (const e of positives) assert.match(labelsOf(e), /^y+$/);
  const negatives = ex.filter((e) => /\/lines\/wrong\d+$/.test(e.id!));
  assert.ok(negatives.length > 0);
  for (const e of negatives) assert.match(labelsOf(e), /^y*n$/, e.completion);
});
