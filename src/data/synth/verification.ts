/**
 * The verification corpus of the synthetic world: problems laid out in the evaluator's template
 * with a candidate solution and its label word as the completion, so a base model pretrained on
 * it has already learnt to read a solution's final check before any evaluator fine-tuning.
 *
 * Positives are the world's own solutions (both styles); negatives are the wrong solutions the
 * checkable skills draw with each problem (an honestly wrong guess whose check shows it, or a
 * slip carried through). Items without negatives give no records, so the corpus stays balanced
 * per problem.
 */
import type { SftExample } from "../records.js";
import { evaluatorLabelText, evaluatorPrompt } from "../prompts.js";
import type { SynthItem } from "./world.js";

/** Records `{prompt, completion: " correct" | " incorrect", id}` for the items that have negatives. */
export function verificationExamples(items: readonly SynthItem[], template?: string): SftExample[] {
  const out: SftExample[] = [];
  const opts = template === undefined ? {} : { template };
  for (const it of items) {
    if (it.negatives.length === 0) continue;
    const add = (solution: string, correct: boolean, tag: string): void => {
      out.push({ prompt: evaluatorPrompt(it.problem, solution, opts), completion: evaluatorLabelText(correct), id: `${it.id}/verify/${tag}` });
    };
    add(it.terse, true, "terse");
    add(it.detailed, true, "detailed");
    it.negatives.forEach((n, i) => add(n, false, `wrong${i}`));
  }
  return out;
}
