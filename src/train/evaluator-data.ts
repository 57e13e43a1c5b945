/**
 * Builds evaluator training examples from graded samples (the paper's SCR training data): per
 * training problem about `perProblem` examples, as pairs of one correct and one incorrect
 * solution of the same problem (for the margin and softplus losses) or as labelled single
 * solutions (for cross-entropy). Deterministic by seed. Records are written in the shapes TRL
 * uses, so evaluators can also be trained elsewhere; the evaluator template is applied by the
 * trainer, not stored.
 */
import type { PairwiseExample, PointwiseExample, Problem, Sample } from "../data/records.js";
import { MathtuneError, ErrorCode } from "../errors.js";
import { Rng, hashString } from "../util/rng.js";

/** Options of {@link buildEvaluatorData}. */
export interface EvaluatorDataOptions {
  /** Examples per training problem (pairs, or labelled solutions). Defaults to 10. */
  perProblem?: number;
  /** Seed of the random choices. Defaults to 0. */
  seed?: number;
  /**
   * Drop repeated solution texts within a problem before choosing, so one frequent wrong answer
   * written the same way does not fill every slot. Defaults to true.
   */
  dedupe?: boolean;
  /** Include the greedy sample (`greedy: true`) as a candidate. Defaults to false. */
  includeGreedy?: boolean;
}

/** What {@link buildEvaluatorData} made, with counts for the run log. */
export interface EvaluatorData {
  pairwise: PairwiseExample[];
  pointwise: PointwiseExample[];
  stats: {
    problems: number;
    /** Problems with at least one correct and one incorrect candidate (the only ones used). */
    mixedProblems: number;
    allCorrect: number;
    allWrong: number;
    /** Problem ids in the samples that the problem file does not have. */
    missingProblems: number;
  };
}

/**
 * Builds pairwise and pointwise evaluator examples.
 *
 * Pairs: for each problem with c correct and w incorrect distinct candidates (c, w >= 1),
 * min(perProblem, c*w) distinct (correct, incorrect) pairs chosen uniformly without replacement.
 * Problems whose candidates are all correct or all wrong give no pair (nothing to contrast).
 *
 * Pointwise: for the same mixed problems, m = min(floor(perProblem / 2), c, w) correct and m
 * incorrect candidates, so the two classes are exactly balanced overall (the paper's sampled
 * data is dominated by whichever class the generator favours; an unbalanced CE evaluator learns
 * the prior). One-sided problems are skipped for the same reason.
 */
export function buildEvaluatorData(
  problems: ReadonlyMap<string, Problem>,
  samples: readonly Sample[],
  options: EvaluatorDataOptions = {},
): EvaluatorData {
  const perProblem = options.perProblem ?? 10;
  const seed = options.seed ?? 0;
  const dedupe = options.dedupe ?? true;
  if (!Number.isInteger(perProblem) || perProblem < 1) {
    throw new MathtuneError(ErrorCode.usage, `perProblem must be a positive integer (got ${perProblem})`);
  }
  const byProblem = new Map<string, Sample[]>();
  for (const s of samples) {
    if (s.greedy && !options.includeGreedy) continue;
    if (s.correct === undefined) {
      throw new MathtuneError(ErrorCode.input, `sample ${s.problem_id}#${s.sample} has no "correct" field`, {
        hint: "grade the samples first (mathtune grade), or pass a samples file with correctness",
      });
    }
    let list = byProblem.get(s.problem_id);
    if (!list) byProblem.set(s.problem_id, (list = []));
    list.push(s);
  }
  const out: EvaluatorData = {
    pairwise: [],
    pointwise: [],
    stats: { problems: byProblem.size, mixedProblems: 0, allCorrect: 0, allWrong: 0, missingProblems: 0 },
  };
  // Problems in a fixed order, so the output does not depend on the samples' line order.
  const ids = [...byProblem.keys()].sort();
  for (const id of ids) {
    const problem = problems.get(id);
    if (!problem) {
      out.stats.missingProblems++;
      continue;
    }
    const list = [...byProblem.get(id)!].sort((a, b) => a.sample - b.sample);
    const seen = new Set<string>();
    const correct: string[] = [];
    const wrong: string[] = [];
    for (const s of list) {
      if (dedupe) {
        if (seen.has(s.text)) continue;
        seen.add(s.text);
      }
      (s.correct ? correct : wrong).push(s.text);
    }
    if (correct.length === 0) {
      out.stats.allWrong++;
      continue;
    }
    if (wrong.length === 0) {
      out.stats.allCorrect++;
      continue;
    }
    out.stats.mixedProblems++;
    // A per-problem stream: adding or removing another problem does not change this one's choice.
    const rng = new Rng((seed ^ hashString(id)) >>> 0);
    const nPairs = Math.min(perProblem, correct.length * wrong.length);
    for (const flat of rng.sample(correct.length * wrong.length, nPairs)) {
      out.pairwise.push({
        prompt: problem.problem,
        chosen: correct[Math.floor(flat / wrong.length)],
        rejected: wrong[flat % wrong.length],
        problem_id: id,
      });
    }
    const m = Math.min(Math.floor(perProblem / 2), correct.length, wrong.length);
    const pc = rng.sample(correct.length, m).map((i) => correct[i]);
    const pw = rng.sample(wrong.length, m).map((i) => wrong[i]);
    for (let i = 0; i < m; i++) {
      out.pointwise.push({ prompt: problem.problem, completion: pc[i], label: true, problem_id: id });
      out.pointwise.push({ prompt: problem.problem, completion: pw[i], label: false, problem_id: id });
    }
  }
  return out;
}
