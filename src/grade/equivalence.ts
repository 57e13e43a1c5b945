// The grader in the shapes that clustering (an AnswerEquivalence) and the metrics (a Regrader)
// take: select/ and metrics/ do not import the grader, so the CLI, the recipe and the scoring run
// all plug it in through these two.
import { equivEquivalence, type AnswerEquivalence } from "../select/cluster.js";
import type { Regrader } from "../metrics/samples.js";
import { extractAnswer } from "./extract.js";
import { clusterKey } from "./cluster.js";
import { equivalent, gradeSolution, verify } from "./verify.js";

/** The grader's equivalence (cluster keys, then pairwise equivalence). */
export function graderEquivalence(): AnswerEquivalence {
  return equivEquivalence({ clusterKey, equivalent });
}

/** The grader as a re-grader of samples. */
export function graderRegrader(): Regrader {
  return {
    extract: (text) => extractAnswer(text),
    verify: (gold, pred) => verify(gold, pred).correct,
    grade: (gold, text) => {
      const r = gradeSolution(gold, text);
      return { answer: r.extracted, correct: r.correct && r.extracted !== null && r.extracted.trim() !== "" };
    },
  };
}
