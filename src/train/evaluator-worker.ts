/**
 * Entry point of the evaluator-training child process (started by `runEvaluatorInChild`): a
 * GGML_ASSERT aborts the process it happens in, so training runs here and the parent reports the
 * failure. Receives the options over IPC; sends step events, warnings, the result or an error.
 */
import { childErrorMessage } from "./child.js";
import { runEvaluatorTraining, type EvaluatorTrainOptions, type EvaluatorWorkerMessage } from "./evaluator.js";

type SerializableOptions = Omit<EvaluatorTrainOptions, "onStep" | "onWarning">;

function send(m: EvaluatorWorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

// A parent that goes away (killed, crashed) stops the run too: save a checkpoint, then exit,
// rather than train on, unseen, with no one to read the result.
let stop = false;
process.on("disconnect", () => {
  stop = true;
});

process.once("message", (msg: { type: "start"; options: SerializableOptions }) => {
  if (msg?.type !== "start") return;
  void (async () => {
    try {
      const result = await runEvaluatorTraining({
        ...msg.options,
        onStep: (e) => void send({ type: "step", ...e }),
        onWarning: (message) => void send({ type: "warning", message }),
        shouldStop: () => stop,
      });
      await send({ type: "done", result });
      process.exit(0);
    } catch (err) {
      await send(childErrorMessage(err));
      process.exit(1);
    }
  })();
});
