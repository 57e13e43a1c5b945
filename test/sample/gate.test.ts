import { test } from "node:test";
import assert from "node:assert/strict";
import { Gate } from "../../src/sample/http.js";
import { Rng } from "../../src/util/rng.js";

/** Resolves after `n` microtask turns. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await null;
}

test("the HTTP gate never runs more tasks than its limit, whatever the interleaving of arrivals and releases", async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rng = new Rng(seed);
    const limit = 1 + (seed % 3);
    const gate = new Gate(limit);
    let inside = 0;
    let most = 0;
    let done = 0;
    const all: Array<Promise<void>> = [];
    const start = (depth: number): void => {
      all.push(
        gate.run(async () => {
          inside++;
          most = Math.max(most, inside);
          await ticks(rng.int(0, 3));
          inside--;
          done++;
          // New callers arrive at every microtask distance from this release, some in the very
          // turn between a release and the wake-up of the task waiting for the slot.
          if (depth < 3) for (let k = 0; k < 2; k++) void ticks(rng.int(0, 3)).then(() => start(depth + 1));
        }),
      );
    };
    for (let i = 0; i < 8; i++) start(0);
    while (all.length > done || gate.running > 0) await Promise.all(all);
    assert.ok(most <= limit, `seed ${seed}: ${most} tasks ran at once under a limit of ${limit}`);
    assert.equal(gate.running, 0);
  }
});
