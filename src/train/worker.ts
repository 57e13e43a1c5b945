/**
 * Entry point of the training child process (started by `runner.ts`). It receives the options
 * over IPC, runs SFT and reports events, the result or a structured error back. SIGINT (Ctrl-C
 * reaches the whole process group, and the parent forwards its own) stops the run after the
 * current step, with a checkpoint.
 */
import { childErrorMessage, type ChildErrorMessage } from "./child.js";
import { triggerNativeAbort } from "../engine/tensor.js";
import { runSft, type SftEvent, type SftOptions, type SftResult } from "./sft.js";

/** Messages from the parent. */
export type ToWorker = { type: "start"; options: SftOptions };
/** Messages to the parent. */
export type FromWorker =
  | { type: "event"; event: SftEvent }
  | { type: "done"; result: SftResult }
  | ChildErrorMessage;

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

// Fault injection for the tests of the parent's error handling: MATHTUNE_FAULT=abort@N makes
// ggml abort (a real GGML_ASSERT) right after step N; MATHTUNE_FAULT=sigint@N stops as Ctrl-C would.
const fault = /^(abort|sigint)@(\d+)$/.exec(process.env.MATHTUNE_FAULT ?? "");

let stop = false;
process.on("SIGINT", () => {
  stop = true;
});
// A parent that goes away (killed, crashed) stops the run too: save, then exit.
process.on("disconnect", () => {
  stop = true;
});

process.once("message", (msg: ToWorker) => {
  if (msg?.type !== "start") return;
  void (async () => {
    try {
      const result = await runSft(msg.options, {
        onEvent: (event) => void send({ type: "event", event }),
        shouldStop: () => stop,
        afterStep: (step) => {
          if (fault && Number(fault[2]) === step) {
            if (fault[1] === "abort") triggerNativeAbort();
            else process.kill(process.pid, "SIGINT");
          }
        },
      });
      await send({ type: "done", result });
      process.exit(0);
    } catch (err) {
      await send(childErrorMessage(err));
      process.exit(1);
    }
  })();
});
