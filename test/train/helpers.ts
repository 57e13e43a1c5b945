// Shared fixtures of the training tests: a toy task written to a temp JSONL file.
import { writeFileSync } from "node:fs";
import { Rng } from "../../src/util/rng.js";

/** Words → upper case: learnable by a tiny model in seconds (attention must copy, the MLP map case). */
export function writeUppercaseTask(path: string, n: number, seed = 1): void {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = rng.int(3, 6);
    let w = "";
    for (let k = 0; k < len; k++) w += String.fromCharCode(97 + rng.int(0, 11));
    lines.push(JSON.stringify({ prompt: `${w}=`, completion: w.toUpperCase() }));
  }
  writeFileSync(path, lines.join("\n") + "\n");
}
