// Preloaded with `node --import` into a CLI child process by cli.test.ts: kills, for real
// (Worker.terminate), the grading worker threads the command starts, 120 ms after each has loaded,
// while it grades a slow pair. MATHTUNE_TEST_KILL_WORKERS=first kills the first worker only, =all
// kills every one.
import type { Worker } from "node:worker_threads";

const mode = process.env.MATHTUNE_TEST_KILL_WORKERS;
let started = 0;
process.on("worker", (w: Worker) => {
  if (mode === "all" || (mode === "first" && started === 0)) {
    w.on("message", (m: { ready?: boolean }) => {
      if (m.ready) setTimeout(() => void w.terminate(), 120);
    });
  }
  started++;
});
