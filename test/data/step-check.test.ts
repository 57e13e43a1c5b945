import { test } from "node:test";
import assert from "node:assert/strict";
import { synthesizeWorld } from "../../src/data/synth/world.js";
import { Rational } from "../../src/data/rational.js";

/** A tiny exact evaluator for + - * / with parentheses and unary minus (digits only). */
function evaluate(src: string): Rational {
  let i = 0;
  const peek = () => src[i];
  const expr = (): Rational => {
    let v = term();
    while (peek() === "+" || peek() === "-") {
      const op = src[i++];
      const r = term();
      v = op === "+" ? v.add(r) : v.sub(r);
    }
    return v;
  };
  const term = (): Rational => {
    let v = unary();
    while (peek() === "*" || peek() === "/") {
      const op = src[i++];
      const r = unary();
      v = op === "*" ? v.mul(r) : v.div(r);
    }
    return v;
  };
  const unary = (): Rational => {
    if (peek() === "-") {
      i++;
      return unary().neg();
    }
    if (peek() === "(") {
      i++;
      const v = expr();
      if (src[i++] !== ")") throw new Error(`bad parentheses in ${src}`);
      return v;
    }
    const m = /^\d+/.exec(src.slice(i));
    if (!m) throw new Error(`number expected at ${i} in ${src}`);
    i += m[0].length;
    return Rational.of(BigInt(m[0]));
  };
  const v = expr();
  if (i !== src.length) throw new Error(`trailing text in ${src}`);
  return v;
}

test("every arithmetic claim inside the detailed and terse solutions is true", () => {
  const w = synthesizeWorld({ n: 1400, validation: 0, test: 0, seed: 21 });
  let checked = 0;
  for (const it of w.train) {
    for (const sol of [it.detailed, it.terse]) {
      for (const line of sol.split("\n")) {
        for (let seg of line.split(/, /)) {
          seg = seg.replace(/^so /, "").replace(/\.$/, "");
          if (seg.includes(": ")) seg = seg.slice(seg.indexOf(": ") + 2);
          if (!/^[-\d+*/()=]+$/.test(seg) || !seg.includes("=")) continue;
          // `=E` continues a chain whose value is the answer (expression evaluation).
          const parts = seg.startsWith("=") ? [it.value, ...seg.slice(1).split("=").map(evaluate)] : seg.split("=").map(evaluate);
          for (const p of parts) assert.ok(p.equals(parts[0]), `${it.problem}: "${seg}" in\n${sol}`);
          checked++;
        }
      }
    }
  }
  // Most lines are checkable; make sure the test really looked at them.
  assert.ok(checked > 4000, `only ${checked} claims checked`);
});
