/**
 * Every metric of the paper over a set of problems: Pass@1, unbiased pass@k, Maj1@k, MajK@k
 * (oracle) and strategy@k with evaluator calls, each with a bootstrap standard error, overall and
 * broken down by level and subject. Key names follow docs/formats.md (`maj1@64`, `rr.top8@64`,
 * `rr.top8@64:calls`, `maj1@64_stderr`).
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import { Rng, hashString } from "../util/rng.js";
import { exactEquivalence, type AnswerEquivalence, type ClusteringOptions } from "../select/cluster.js";
import {
  buildCandidates,
  strategyName,
  StrategyRunner,
  type Candidates,
  type Strategy,
} from "../select/strategies.js";
import { bootstrapResamples, bootstrapStderr, mean, passAtK, subsetsOf, withinProblemAuc } from "./estimators.js";

/** One problem's graded (and possibly scored) candidates. */
export interface ProblemSamples {
  /** Problem id (also seeds this problem's subsets, so results do not depend on file order). */
  id: string;
  /** Difficulty level (MATH: 1..5), for the breakdown. */
  level?: number;
  /** Subject (MATH: Algebra, Geometry, ...), for the breakdown. */
  subject?: string;
  /** Extracted final answer of sample 0..n-1 (null: no answer). */
  answers: ReadonlyArray<string | null | undefined>;
  /** Correctness of sample 0..n-1. */
  correct: ReadonlyArray<boolean>;
  /** Evaluator score of sample 0..n-1 (missing: undefined/null). */
  scores?: ReadonlyArray<number | null | undefined>;
  /** Correctness of the greedy solution, when one was sampled (it is not among the n). */
  greedyCorrect?: boolean;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** The k values to report (each at most the smallest n). Defaults to 1, 2, 4, ... and n. */
  ks?: readonly number[];
  /** Selection strategies to report besides maj1 (which is always reported). Defaults to none. */
  strategies?: readonly Strategy[];
  /** K of the MajK oracle. Defaults to 8. */
  majK?: number;
  /** Size-k subsets averaged per problem for k < n (all of them when fewer). Defaults to 100. */
  subsets?: number;
  /** Bootstrap resamples of the problem set for standard errors. Defaults to 1000. */
  bootstrap?: number;
  /** Seed of subsets and bootstrap. Defaults to 0. */
  seed?: number;
  /** How answers are clustered. Defaults to exact string equality. */
  equivalence?: AnswerEquivalence;
  /** Clustering options. Defaults to those of clusterCandidates. */
  cluster?: ClusteringOptions;
  /** Report breakdowns by level and subject. Defaults to true. */
  breakdowns?: boolean;
}

/** Metric values of one group of problems: `key` → value, plus `key_stderr`. */
export type MetricTable = Record<string, number>;

/** The result of {@link evaluate}. */
export interface Evaluation {
  /** Overall metrics (`pass@1`, `maj1@8`, `maj1@8_stderr`, `rr.top8@8:calls`, ...). */
  results: MetricTable;
  /** Per-level and per-subject tables (group name → metrics, with `problems` = group size). */
  breakdowns: { level: Record<string, MetricTable>; subject: Record<string, MetricTable> };
  /** Per-problem values of every non-stderr key, in input order (for plots and further analysis). */
  perProblem: { ids: string[]; values: Record<string, number[]> };
  /** What was computed and how. */
  meta: {
    problems: number;
    /** Smallest and largest number of samples per problem. */
    nMin: number;
    nMax: number;
    ks: number[];
    /** Requested k values above the smallest n, left out. */
    ksDropped: number[];
    majK: number;
    strategies: string[];
    /** `greedy` when every problem has a greedy sample, else `mean-sample-accuracy`. */
    pass1Source: "greedy" | "mean-sample-accuracy";
    cluster: string;
    subsets: number;
    bootstrap: number;
    seed: number;
    /** Pairwise equivalence calls made while clustering. */
    pairwiseCalls: number;
    /** Problems behind the greedy Pass@1 when it covers more than the sampled ones (addGreedyOnly). */
    greedyProblems?: number;
  };
}

/** Default k values for n samples: 1, 2, 4, ... up to n, and n itself. */
export function defaultKs(n: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k < n; k *= 2) ks.push(k);
  if (n >= 1) ks.push(n);
  return ks;
}

/** Computes every metric over `problems`. Pure apart from the grader calls of the equivalence. */
export function evaluate(problems: readonly ProblemSamples[], options: EvaluateOptions = {}): Evaluation {
  if (problems.length === 0) {
    throw new MathtuneError(ErrorCode.input, "no problems to evaluate", { hint: "check the samples file" });
  }
  const eq = options.equivalence ?? exactEquivalence;
  const majK = options.majK ?? 8;
  const subsetCount = options.subsets ?? 100;
  const bootstrap = options.bootstrap ?? 1000;
  const seed = options.seed ?? 0;
  const strategies = [{ kind: "maj1" } as Strategy, ...(options.strategies ?? []).filter((s) => s.kind !== "maj1")];
  const names = strategies.map(strategyName);
  if (new Set(names).size !== names.length) {
    throw new MathtuneError(ErrorCode.usage, `strategy listed twice: ${names.join(", ")}`);
  }

  let nMin = Infinity;
  let nMax = 0;
  for (const p of problems) {
    const n = p.answers.length;
    if (n === 0) throw new MathtuneError(ErrorCode.input, `problem ${p.id}: no samples`);
    nMin = Math.min(nMin, n);
    nMax = Math.max(nMax, n);
  }
  const requested = [...new Set(options.ks ?? defaultKs(nMin))].sort((a, b) => a - b);
  for (const k of requested) {
    if (!Number.isInteger(k) || k < 1) throw new MathtuneError(ErrorCode.usage, `k must be a positive integer, got ${k}`);
  }
  const ks = requested.filter((k) => k <= nMin);
  const ksDropped = requested.filter((k) => k > nMin);
  const allGreedy = problems.every((p) => p.greedyCorrect !== undefined);

  const P = problems.length;
  const values: Record<string, number[]> = {};
  const put = (key: string, i: number, v: number): void => {
    (values[key] ??= new Array<number>(P).fill(0))[i] = v;
  };
  const runner = new StrategyRunner(strategies, majK);
  let pairwiseCalls = 0;

  problems.forEach((p, pi) => {
    const n = p.answers.length;
    const cands: Candidates = buildCandidates(p, eq, options.cluster);
    pairwiseCalls += cands.pairwiseCalls ?? 0;
    let c = 0;
    for (const ok of p.correct) if (ok) c++;
    put("pass@1", pi, allGreedy ? (p.greedyCorrect ? 1 : 0) : c / n);
    if (allGreedy) put("greedy@1", pi, p.greedyCorrect ? 1 : 0);
    put("mean@1", pi, c / n);
    put("first@1", pi, p.correct[0] ? 1 : 0);
    for (const k of ks) {
      if (k > 1) put(`pass@${k}`, pi, passAtK(n, c, k));
      const rng = new Rng(hashString(`${seed}/${p.id}/${k}`));
      const subsets = subsetsOf(n, k, subsetCount, rng);
      const acc = new Float64Array(strategies.length);
      const calls = new Float64Array(strategies.length);
      let majKAcc = 0;
      for (const sub of subsets) {
        const out = runner.run(cands, sub);
        if (out.majKCorrect) majKAcc++;
        out.choices.forEach((ch, s) => {
          if (ch.correct) acc[s]++;
          calls[s] += ch.calls;
        });
      }
      const m = subsets.length;
      put(`majK@${k}`, pi, majKAcc / m);
      strategies.forEach((s, si) => {
        put(`${names[si]}@${k}`, pi, acc[si] / m);
        if (s.kind !== "maj1") put(`${names[si]}@${k}:calls`, pi, calls[si] / m);
      });
    }
  });

  const table = (idx: number[], rng: Rng): MetricTable => {
    const res = bootstrapResamples(idx.length, bootstrap, rng);
    const t: MetricTable = {};
    for (const [key, arr] of Object.entries(values)) {
      const sub = idx.map((i) => arr[i]);
      if (key.endsWith(":calls")) {
        t[key] = sub.reduce((a, b) => a + b, 0);
      } else {
        t[key] = mean(sub);
        t[`${key}_stderr`] = bootstrapStderr(sub, res);
      }
    }
    return t;
  };
  const everyone = problems.map((_, i) => i);
  const results = table(everyone, new Rng(hashString(`${seed}/bootstrap`)));
  const auc = withinProblemAuc(problems);
  if (auc) {
    results["evaluator.auc"] = auc.auc;
    results["evaluator.auc:pairs"] = auc.pairs;
    results["evaluator.auc:problems"] = auc.problems;
  }

  const breakdowns: Evaluation["breakdowns"] = { level: {}, subject: {} };
  if (options.breakdowns ?? true) {
    for (const dim of ["level", "subject"] as const) {
      const groups = new Map<string, number[]>();
      problems.forEach((p, i) => {
        const g = p[dim];
        if (g === undefined) return;
        const name = String(g);
        let list = groups.get(name);
        if (!list) groups.set(name, (list = []));
        list.push(i);
      });
      const sorted = [...groups.keys()].sort((a, b) =>
        dim === "level" ? Number(a) - Number(b) : a.localeCompare(b),
      );
      for (const g of sorted) {
        const idx = groups.get(g) as number[];
        const t = table(idx, new Rng(hashString(`${seed}/bootstrap/${dim}/${g}`)));
        t.problems = idx.length;
        breakdowns[dim][g] = t;
      }
    }
  }

  return {
    results,
    breakdowns,
    perProblem: { ids: problems.map((p) => p.id), values },
    meta: {
      problems: P,
      nMin,
      nMax,
      ks,
      ksDropped,
      majK,
      strategies: names,
      pass1Source: allGreedy ? "greedy" : "mean-sample-accuracy",
      cluster: eq.name,
      subsets: subsetCount,
      bootstrap,
      seed,
      pairwiseCalls,
    },
  };
}

/**
 * Adds problems that have only a greedy solution (no N samples) to an evaluation's greedy Pass@1:
 * `pass@1` and `greedy@1` (with bootstrap standard errors) become means over every problem, the
 * per-problem table gains their ids with `pass@1` / `greedy@1` values and NaN for every metric
 * they have no samples for (written as null), so paired differences of Pass@1 use all of them and
 * the others only the sampled problems. Needs a greedy solution on every sampled problem too.
 */
export function addGreedyOnly(ev: Evaluation, extra: ReadonlyArray<{ id: string; correct: boolean }>, options: { bootstrap?: number; seed?: number } = {}): Evaluation {
  if (extra.length === 0) return ev;
  if (ev.meta.pass1Source !== "greedy") {
    throw new MathtuneError(ErrorCode.input, "problems with only a greedy solution need greedy solutions on the sampled problems too");
  }
  const ids = [...ev.perProblem.ids, ...extra.map((p) => p.id)];
  const values: Record<string, number[]> = {};
  for (const [key, arr] of Object.entries(ev.perProblem.values)) {
    const greedy = key === "pass@1" || key === "greedy@1";
    values[key] = [...arr, ...extra.map((p) => (greedy ? (p.correct ? 1 : 0) : NaN))];
  }
  const results = { ...ev.results };
  const res = bootstrapResamples(ids.length, options.bootstrap ?? ev.meta.bootstrap, new Rng(hashString(`${options.seed ?? ev.meta.seed}/bootstrap/greedy`)));
  for (const key of ["pass@1", "greedy@1"]) {
    results[key] = mean(values[key]);
    results[`${key}_stderr`] = bootstrapStderr(values[key], res);
  }
  return { ...ev, results, perProblem: { ids, values }, meta: { ...ev.meta, greedyProblems: ids.length } };
}
