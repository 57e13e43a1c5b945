/**
 * The paper's answer-selection strategies (majority vote and evaluator re-ranking), evaluated on
 * one problem's candidates or on a subset of them. Definitions: docs/selection.md.
 *
 * Conventions shared by every strategy:
 * - a candidate without an answer (cluster -1) is never chosen and never scored;
 * - clusters are ordered by size descending, then earliest member (lowest sample index);
 * - every tie (equal scores, equal sizes, equal weights) goes to the lowest sample index;
 * - a missing evaluator score (NaN) ranks below every present score and adds nothing to a
 *   cluster's weight; when no candidate a strategy looks at has a score, it falls back to the
 *   majority vote over the same candidates;
 * - `calls` counts the candidates the strategy has the evaluator score.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import { clusterCandidates, type AnswerEquivalence, type ClusteringOptions } from "./cluster.js";

/** One problem's candidates in the flat form the strategies work on. */
export interface Candidates {
  /** Cluster id per sample (from {@link clusterCandidates}), -1 when the sample has no answer. */
  clusterOf: Int32Array;
  /** Number of clusters (cluster ids are 0..numClusters-1). */
  numClusters: number;
  /** 1 when the sample's answer is correct, else 0. */
  correct: Uint8Array;
  /** Evaluator score per sample; NaN when missing. */
  scores: Float64Array;
  /** Pairwise equivalence comparisons the clustering made (informational). */
  pairwiseCalls?: number;
}

/** A selection strategy, as named in results keys (`rr.top8`, `maj1.top16`, ...). */
export type Strategy =
  | { kind: "maj1" }
  | { kind: "rr.all" }
  | { kind: "rr.top"; k: number }
  | { kind: "wrr" }
  | { kind: "wrr.top"; k: number }
  | { kind: "maj1.top"; n: number };

/** What a strategy chose for one (sub)set of candidates. */
export interface Choice {
  /** The chosen sample index, or -1 when no candidate has an answer. */
  sample: number;
  /** Whether the chosen sample is correct (false when nothing was chosen). */
  correct: boolean;
  /** Evaluator scores the strategy needs (0 for plain majority voting). */
  calls: number;
}

/** The results-key name of a strategy: `maj1`, `rr.all`, `rr.top8`, `wrr`, `wrr.top8`, `maj1.top16`. */
export function strategyName(s: Strategy): string {
  switch (s.kind) {
    case "rr.top":
      return `rr.top${s.k}`;
    case "wrr.top":
      return `wrr.top${s.k}`;
    case "maj1.top":
      return `maj1.top${s.n}`;
    default:
      return s.kind;
  }
}

/** Parses a strategy name (inverse of {@link strategyName}); throws a usage error otherwise. */
export function parseStrategy(name: string): Strategy {
  const m = /^(maj1|rr\.all|wrr)$/.exec(name);
  if (m) return { kind: m[1] as "maj1" | "rr.all" | "wrr" };
  const t = /^(rr|wrr|maj1)\.top([1-9][0-9]*)$/.exec(name);
  if (t) {
    const v = Number(t[2]);
    if (t[1] === "rr") return { kind: "rr.top", k: v };
    if (t[1] === "wrr") return { kind: "wrr.top", k: v };
    return { kind: "maj1.top", n: v };
  }
  throw new MathtuneError(ErrorCode.usage, `unknown strategy "${name}"`, {
    hint: "use maj1, rr.all, rr.topK, wrr, wrr.topK or maj1.topN (K, N positive integers)",
  });
}

/** True for strategies that read evaluator scores. */
export function needsScores(s: Strategy): boolean {
  return s.kind !== "maj1";
}

/** Everything computed on one subset: the per-strategy choices and the MajK oracle. */
export interface SubsetOutcome {
  choices: Choice[];
  /** Whether one of the K largest clusters (K = `majK`) is correct (oracle). */
  majKCorrect: boolean;
  /** Whether any candidate of the subset is correct (oracle, Pass@k on this subset). */
  anyCorrect: boolean;
}

/**
 * Evaluates strategies on the candidates of one problem, restricted to `subset` (sample indices in
 * increasing order) — pass every index for the full set. Reuses scratch buffers across calls, so
 * evaluating many subsets of one problem allocates little.
 */
export class StrategyRunner {
  private size = new Int32Array(0);
  private earliest = new Int32Array(0);
  private weight = new Float64Array(0);
  private scored = new Uint8Array(0);
  private rank = new Int32Array(0);
  private touched: number[] = [];
  private kept = new Int32Array(0);
  private votes = new Int32Array(0);
  private first = new Int32Array(0);

  constructor(
    private readonly strategies: readonly Strategy[],
    private readonly majK: number,
  ) {}

  run(c: Candidates, subset: ArrayLike<number>): SubsetOutcome {
    this.ensure(c.numClusters, subset.length);
    const { size, earliest, weight, scored, rank } = this;
    const touched = this.touched;
    touched.length = 0;
    let anyCorrect = false;
    let answered = 0;
    for (let j = 0; j < subset.length; j++) {
      const i = subset[j];
      if (c.correct[i]) anyCorrect = true;
      const cl = c.clusterOf[i];
      if (cl < 0) continue;
      answered++;
      if (size[cl] === 0) {
        touched.push(cl);
        earliest[cl] = i;
        weight[cl] = 0;
        scored[cl] = 0;
      }
      size[cl]++;
      const s = c.scores[i];
      if (!Number.isNaN(s)) {
        weight[cl] += s;
        scored[cl] = 1;
      }
    }
    // Cluster order within the subset: size desc, then earliest member.
    const order = touched.slice().sort((a, b) => size[b] - size[a] || earliest[a] - earliest[b]);
    for (let r = 0; r < order.length; r++) rank[order[r]] = r;

    let majKCorrect = false;
    for (let r = 0; r < Math.min(this.majK, order.length); r++) {
      if (c.correct[earliest[order[r]]]) majKCorrect = true;
    }

    const choices: Choice[] = [];
    for (const s of this.strategies) choices.push(this.choose(s, c, subset, order, answered));
    for (const cl of touched) size[cl] = 0;
    return { choices, majKCorrect, anyCorrect };
  }

  private choose(s: Strategy, c: Candidates, subset: ArrayLike<number>, order: number[], answered: number): Choice {
    if (order.length === 0) return { sample: -1, correct: false, calls: 0 };
    const { size, earliest, weight, scored, rank } = this;
    switch (s.kind) {
      case "maj1":
        return pick(c, earliest[order[0]], 0);
      case "rr.all":
      case "rr.top": {
        const limit = s.kind === "rr.all" ? Infinity : s.k;
        let best = -1;
        let bestScore = -Infinity;
        let calls = 0;
        for (let j = 0; j < subset.length; j++) {
          const i = subset[j];
          const cl = c.clusterOf[i];
          if (cl < 0 || rank[cl] >= limit) continue;
          calls++;
          const sc = c.scores[i];
          // Strict ">" keeps the lowest index on ties (the subset is in increasing order).
          if (!Number.isNaN(sc) && (best < 0 || sc > bestScore)) {
            best = i;
            bestScore = sc;
          }
        }
        return pick(c, best >= 0 ? best : earliest[order[0]], calls);
      }
      case "wrr":
      case "wrr.top": {
        const limit = Math.min(order.length, s.kind === "wrr" ? Infinity : s.k);
        let best = -1;
        let calls = 0;
        for (let r = 0; r < limit; r++) {
          const cl = order[r];
          calls += size[cl];
          if (!scored[cl]) continue;
          if (
            best < 0 ||
            weight[cl] > weight[best] ||
            (weight[cl] === weight[best] && earliest[cl] < earliest[best])
          ) {
            best = cl;
          }
        }
        return pick(c, earliest[best >= 0 ? best : order[0]], calls);
      }
      case "maj1.top": {
        // Keep the N' best candidates by (score desc, missing last, index asc) with an insertion
        // pass: n is at most a few hundred and N' small, so this beats a full sort.
        const keep = Math.min(s.n, answered);
        const kept = this.kept;
        let m = 0;
        let anyScore = false;
        for (let j = 0; j < subset.length; j++) {
          const i = subset[j];
          if (c.clusterOf[i] < 0) continue;
          const sc = c.scores[i];
          if (!Number.isNaN(sc)) anyScore = true;
          let pos = m;
          // Later candidates only move ahead of strictly worse ones, so equal scores keep index order.
          while (pos > 0 && better(sc, c.scores[kept[pos - 1]])) pos--;
          if (pos >= keep) continue;
          for (let q = Math.min(m, keep - 1); q > pos; q--) kept[q] = kept[q - 1];
          kept[pos] = i;
          if (m < keep) m++;
        }
        if (!anyScore) return pick(c, earliest[order[0]], answered);
        // Majority vote among the kept candidates, same tie rule as maj1.
        const votes = this.votes;
        const first = this.first;
        for (let q = 0; q < m; q++) {
          const cl = c.clusterOf[kept[q]];
          votes[cl] = 0;
          first[cl] = 0x7fffffff;
        }
        let win = -1;
        for (let q = 0; q < m; q++) {
          const i = kept[q];
          const cl = c.clusterOf[i];
          votes[cl]++;
          if (i < first[cl]) first[cl] = i;
        }
        for (let q = 0; q < m; q++) {
          const cl = c.clusterOf[kept[q]];
          if (win < 0 || votes[cl] > votes[win] || (votes[cl] === votes[win] && first[cl] < first[win])) win = cl;
        }
        return pick(c, first[win], answered);
      }
    }
  }

  private ensure(m: number, k: number): void {
    if (this.kept.length < k) this.kept = new Int32Array(Math.max(k, this.kept.length * 2, 64));
    if (this.size.length >= m) return;
    const cap = Math.max(m, this.size.length * 2, 16);
    this.size = new Int32Array(cap);
    this.earliest = new Int32Array(cap);
    this.weight = new Float64Array(cap);
    this.scored = new Uint8Array(cap);
    this.rank = new Int32Array(cap);
    this.votes = new Int32Array(cap);
    this.first = new Int32Array(cap);
  }
}

/** One problem's raw candidate data, before clustering. */
export interface RawCandidates {
  /** Extracted final answer per sample (null or blank: no answer). */
  answers: ReadonlyArray<string | null | undefined>;
  /** Correctness per sample. */
  correct: ReadonlyArray<boolean>;
  /** Evaluator score per sample; undefined, null or NaN when missing. Omit when there are none. */
  scores?: ReadonlyArray<number | null | undefined>;
}

/** Clusters a problem's answers and packs everything into {@link Candidates}. */
export function buildCandidates(raw: RawCandidates, eq: AnswerEquivalence, options: ClusteringOptions = {}): Candidates {
  const n = raw.answers.length;
  if (raw.correct.length !== n || (raw.scores !== undefined && raw.scores.length !== n)) {
    throw new MathtuneError(ErrorCode.input, "answers, correct and scores must have the same length");
  }
  const { clusterOf, clusters, pairwiseCalls } = clusterCandidates(raw.answers, eq, options);
  const correct = new Uint8Array(n);
  const scores = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    correct[i] = raw.correct[i] ? 1 : 0;
    const s = raw.scores?.[i];
    if (typeof s === "number") scores[i] = s;
  }
  return { clusterOf, numClusters: clusters.length, correct, scores, pairwiseCalls };
}

/** A chosen sample as a {@link Choice}. */
function pick(c: Candidates, i: number, calls: number): Choice {
  return { sample: i, correct: c.correct[i] === 1, calls };
}

/** Strict "ranks before" on scores: present before missing, higher before lower. */
function better(a: number, b: number): boolean {
  if (Number.isNaN(a)) return false;
  return Number.isNaN(b) || a > b;
}

/** Selects one answer for a single problem with one strategy, over all its candidates. */
export function select(c: Candidates, strategy: Strategy): Choice {
  const all = Array.from({ length: c.clusterOf.length }, (_, i) => i);
  return new StrategyRunner([strategy], 1).run(c, all).choices[0];
}
