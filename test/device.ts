// The device of the training tests. `npm run test:cuda` (MATHTUNE_TEST_DEVICE=cuda) runs the tests
// that train (SFT, LoRA with its llama.cpp comparison, evaluator and MTSF) on the GPU; without a
// usable GPU they skip and say why. Every other run trains them on the CPU.
import { Backend } from "../src/engine/backend.js";

/** Where the training tests train. */
export const TEST_DEVICE: "cpu" | "cuda" = process.env.MATHTUNE_TEST_DEVICE === "cuda" ? "cuda" : "cpu";

let checked: string | false | undefined;

/** False when the tests can train on TEST_DEVICE; else why not (for `test(name, { skip }, ...)`). */
export function deviceSkip(): string | false {
  if (checked !== undefined) return checked;
  if (TEST_DEVICE === "cpu") return (checked = false);
  try {
    Backend.create({ kind: "cuda", threads: 1 }).dispose();
    checked = false;
  } catch (e) {
    checked = `MATHTUNE_TEST_DEVICE=cuda, but no CUDA device can be used here (${(e as Error).message})`;
  }
  return checked;
}
