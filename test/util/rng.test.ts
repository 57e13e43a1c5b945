import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";

test("Rng is deterministic by seed and differs across seeds", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextU32()));
});

test("Rng.next is uniform enough and in [0,1)", () => {
  const r = new Rng(1);
  let sum = 0;
  for (let i = 0; i < 100000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assert.ok(Math.abs(sum / 100000 - 0.5) < 0.01);
});

test("Rng.sample gives distinct indices", () => {
  const s = new Rng(7).sample(10, 10);
  assert.deepEqual([...s].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});
