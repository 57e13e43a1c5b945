/**
 * Command-line helpers shared by the experiment scripts of the digits worlds: `--name value` flags,
 * and the world exactly as scripts/make-checkable-base.sh draws it (same seed and sizes), so that
 * its test split is the one held out from a base model's corpus.
 */
import { synthesizeWorld, type SynthOptions, type SynthWorld } from "../src/data/synth/world.js";

/** The value after `--name` in `args`, or `fallback` when the flag is absent. */
export function flagOf(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

/** The world of `--skills`, `--levels`, `--max-chars`, `--n-train`, `--n-test` (seed 1, no validation split). */
export function worldOfFlags(args: readonly string[]): SynthWorld {
  const flag = (name: string, fallback: string): string => flagOf(args, name, fallback);
  return synthesizeWorld({
    n: Number(flag("n-train", "9000")),
    validation: 0,
    test: Number(flag("n-test", "900")),
    seed: 1,
    levels: flag("levels", "2,3,4").split(",").map(Number) as SynthOptions["levels"],
    skills: flag("skills", "digits-search").split(",") as SynthOptions["skills"],
    maxChars: Number(flag("max-chars", "224")),
  });
}
