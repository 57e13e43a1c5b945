/**
 * Entry point of the evaluator-training child process (started by `runEvaluatorInChild`): a
 * GGML_ASSERT aborts the process it happens in, so training runs here and the parent reports the
 * failure. Receives the options over IPC; sends step events, warnings, the result or an error.
 */
import { MathtuneError } from "../errors.js";
import { runEvaluatorTraining, type EvaluatorTrainOptions, type EvaluatorWorkerMessage } from "./evaluator.js";

type SerializableOptions = Omit<EvaluatorTrainOptions, "onStep" | "onWarning">;

function send(m: EvaluatorWorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

process.once("message", (msg: { type: "start"; options: SerializableOptions }) => {
  if (msg?.type !== "start") return;
  void (async () => {
    try {
      const result = await runEvaluatorTraining({
        ...msg.options,
        onStep: (e) => void send({ type: "step", ...e }),
        onWarning: (message) => void send({ type: "warning", message }),
      });
      await send({ type: "done", result });
      process.exit(0);
    } catch (err) {
      const e = err instanceof MathtuneError ? err : undefined;
      await send({
        type: "error",
        code: e?.code ?? "E_INTERNAL",
        message: err instanceof Error ? err.message : String(err),
        ...(e?.hint ? { hint: e.hint } : {}),
      });
      process.exit(1);
    }
  })();
});
