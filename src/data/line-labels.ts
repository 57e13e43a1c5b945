/**
 * Dense per-line evaluator labels, the process-supervision variant of the evaluator (an ablation
 * beside the paper's one-label outcome evaluator; docs/evaluator.md). A solution is written line by
 * line, each line followed by a mark and its label:
 *
 *     93*7=90*7+3*7=630+21=651 ?y
 *     653-651=2 ?y
 *     check: 2<7 ?y
 *     \boxed{2} ?y
 *
 * Training examples stop at the first false line (as PRM800K's do), so every label a model sees
 * follows lines labelled `y`: exactly what it sees when scoring, where every line is followed by
 * `?y` and the score is the probability of all of them, p(y_1 .. y_n) = prod_i p(y_i | lines <= i).
 */
import type { SftExample } from "./records.js";

/** What follows each line before its label. */
export const LINE_MARK = " ?";
/** The label words of a true and a false line. */
export const LINE_LABELS = { positive: "y", negative: "n" } as const;

/** A solution with a mark and label after each line, and where each label sits. */
export interface AnnotatedSolution {
  text: string;
  /** Character ranges [start, end) of the labels in `text`, one per line. */
  labels: Array<[number, number]>;
}

/** Writes `lines` with their labels (LINE_MARK, then the label word of each). */
export function annotateLines(lines: readonly string[], labels: readonly boolean[]): AnnotatedSolution {
  if (lines.length !== labels.length) throw new Error(`${lines.length} lines but ${labels.length} labels`);
  let text = "";
  const spans: Array<[number, number]> = [];
  lines.forEach((line, i) => {
    text += line + LINE_MARK;
    const word = labels[i] ? LINE_LABELS.positive : LINE_LABELS.negative;
    spans.push([text.length, text.length + word.length]);
    text += word;
    if (i < lines.length - 1) text += "\n";
  });
  return { text, labels: spans };
}

/**
 * The training example of a solution with per-line labels (true: the line holds): the lines up to
 * and including the first false one, each labelled, with the loss on the labels only
 * (`loss_spans`). `prompt` is the generator's prompt of the problem.
 */
export function lineLabelExample(prompt: string, solution: string, labels: readonly boolean[], id?: string): SftExample {
  const lines = solution.split("\n");
  if (lines.length !== labels.length) throw new Error(`solution of ${lines.length} lines but ${labels.length} labels`);
  const first = labels.indexOf(false);
  const keep = first < 0 ? lines.length : first + 1;
  const a = annotateLines(lines.slice(0, keep), labels.slice(0, keep));
  return { prompt, completion: a.text, loss_spans: a.labels, ...(id !== undefined ? { id } : {}) };
}

/** The text a line evaluator scores: every line of `solution` labelled true. */
export function scoringText(solution: string): AnnotatedSolution {
  const lines = solution.split("\n");
  return annotateLines(lines, lines.map(() => true));
}
