// Worker-thread side of the grader pool: grades one job per message.
import { parentPort } from "node:worker_threads";
import { gradeSolution, verify, type VerifyOptions } from "./verify.js";

interface Msg {
  id: number;
  gold: string;
  pred: string;
  solution: boolean;
  options: VerifyOptions;
}

parentPort?.on("message", (m: Msg) => {
  const r = m.solution ? gradeSolution(m.gold, m.pred, m.options) : { ...verify(m.gold, m.pred, m.options), extracted: m.pred };
  parentPort?.postMessage({ id: m.id, ...r });
});

// Tells the pool this worker has loaded (its per-job clock starts only after this).
parentPort?.postMessage({ ready: true });
