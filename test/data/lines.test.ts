import { test } from "node:test";
import assert from "node:assert/strict";
import { arithmeticValue, lineHolds, worldLineLabels } from "../../src/data/synth/lines.js";

test("arithmeticValue: integers with + - * / (exact) and parentheses, a lone negative number, null for anything else", () => {
  assert.equal(arithmeticValue("90*7+3*7"), 651);
  assert.equal(arithmeticValue("35/7"), 5);
  assert.equal(arithmeticValue("-2"), -2);
  assert.equal(arithmeticValue("48*(48-39)"), 432);
  assert.equal(arithmeticValue("653-651"), 2);
  for (const bad of ["", "3+", "(2+3", "2x", "5/2", "4/0", "-2+1", "--2"]) assert.equal(arithmeticValue(bad), null, bad);
});

test("lineHolds: every statement of the line must hold", () => {
  assert.ok(lineHolds("93*7=90*7+3*7=630+21=651"));
  assert.ok(lineHolds("check: 2<7"));
  assert.ok(lineHolds("x*(x-39)=432"));
  assert.ok(lineHolds("48-9=39, so x=48"));
  assert.ok(lineHolds("check: 443+5=448, 443*5=400*5+40*5+3*5=2000+200+15=2215"));
  assert.ok(!lineHolds("check: 443+5=486, 443*5=2215"), "a false sum");
  assert.ok(!lineHolds("447*5=2000+200+35=2405"), "a slip at the end of a chain");
  assert.ok(!lineHolds("check: 9<7"));
  assert.ok(!lineHolds("2405=5*443"));
  assert.ok(!lineHolds("\\boxed{443}"), "not arithmetic");
  assert.ok(!lineHolds("1<2<3"));
});

test("lineHolds: a failed try of the digits search holds when its statement is true and its value fails", () => {
  for (const ok of ["b=9+2=11, not a digit", "b=2-3=-1, not a digit", "c=27/4, not a digit", "c=27/0, not a digit", "check: a-c=7-1=6, not 4", "check: c-a=4-5=-1, not 7"])
    assert.ok(lineHolds(ok), ok);
  for (const bad of [
    "b=9+2=9, not a digit", // a false sum
    "b=4+2=6, not a digit", // 6 is a digit
    "c=28/4, not a digit", // 7 is a digit
    "check: a-c=7-1=6, not 6", // the check does reach the number
    "check: a-c=7-1=5, not 4", // a false difference
    "c=27/4, not 5", // a quotient is only ever not a digit
    "not a digit",
    "a=4, not a digit",
  ])
    assert.ok(!lineHolds(bad), bad);
});

test("worldLineLabels: lines by their arithmetic, the boxed line by the answer", () => {
  const sol = "2405=5*481\n5+481=486, so x=481\ncheck: 481+5=486, 481*5=400*5+80*5+1*5=2000+400+5=2405\n\\boxed{481}";
  assert.deepEqual(worldLineLabels(sol, true), [true, true, true, true]);
  assert.deepEqual(worldLineLabels(sol, false), [true, true, true, false]);
  const slip = "2405=5*447\n5+447=486, so x=447\ncheck: 447+5=486\n\\boxed{447}";
  assert.deepEqual(worldLineLabels(slip, false), [false, false, false, false]);
});
