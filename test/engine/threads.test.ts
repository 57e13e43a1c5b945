// The thread governor: fast count on a quiet machine, safe count as soon as another process takes a core.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ThreadGovernor, autoThreadGovernor } from "../../src/engine/threads.js";

/** Runs `steps` steps where a step at n threads takes cost(step, n) ms; returns the counts used. */
function simulate(g: ThreadGovernor, steps: number, cost: (step: number, n: number) => number): number[] {
  const used: number[] = [];
  for (let i = 0; i < steps; i++) {
    used.push(g.current);
    g.record(cost(i, g.current));
  }
  return used;
}

const quiet = (_: number, n: number): number => (n === 2 ? 480 : 700);
const busy = (_: number, n: number): number => (n === 2 ? 4000 : 720);

test("quiet machine: settles on the fast count within a few steps and stays there", () => {
  const used = simulate(new ThreadGovernor({ low: 1, high: 2 }), 200, quiet);
  const firstHigh = used.indexOf(2);
  assert.ok(firstHigh >= 0 && firstHigh <= 4, `first try at step ${firstHigh}`);
  const tail = used.slice(10);
  assert.ok(tail.filter((n) => n === 2).length >= 0.95 * tail.length, `2 threads on ${tail.filter((n) => n === 2).length} of ${tail.length} steps`);
});

test("busy machine: stays on the safe count, and tries the fast one ever more rarely", () => {
  const used = simulate(new ThreadGovernor({ low: 1, high: 2 }), 1000, busy);
  const tries = used.map((n, i) => (n === 2 ? i : -1)).filter((i) => i >= 0);
  assert.ok(tries.length <= 8, `${tries.length} slow tries: ${tries.join(",")}`);
  const gaps = tries.slice(1).map((t, i) => t - tries[i]);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] >= gaps[i - 1], `gaps grow: ${gaps.join(",")}`);
  // Total time stays within 10% of always using the safe count.
  const total = used.reduce((a, n, i) => a + busy(i, n), 0);
  assert.ok(total <= 1.1 * 1000 * 720, `total ${total}`);
});

test("a busy spell in a quiet run: drops to the safe count at the first slow step, returns after it", () => {
  const cost = (i: number, n: number): number => (i >= 100 && i < 300 ? busy(i, n) : quiet(i, n));
  const g = new ThreadGovernor({ low: 1, high: 2 });
  const used = simulate(g, 600, cost);
  assert.equal(used[99], 2);
  assert.equal(used[101], 1, "falls back right after the first slow step");
  const spell = used.slice(100, 300);
  assert.ok(spell.filter((n) => n === 2).length <= 6, `${spell.filter((n) => n === 2).length} steps at 2 during the spell`);
  const after = used.slice(300);
  assert.ok(after.slice(-100).filter((n) => n === 2).length >= 97, "back on the fast count after the spell");
});

test("one core, or equal counts: never changes", () => {
  assert.deepEqual([...new Set(simulate(autoThreadGovernor(1), 50, quiet))], [1]);
  const g = new ThreadGovernor({ low: 3, high: 3 });
  assert.equal(g.adaptive, false);
  assert.deepEqual([...new Set(simulate(g, 50, quiet))], [3]);
  assert.throws(() => new ThreadGovernor({ low: 2, high: 1 }), /high/);
});
