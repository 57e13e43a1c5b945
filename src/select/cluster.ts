/**
 * Clustering of one problem's candidate solutions by the equivalence of their final answers.
 *
 * The clustering is computed once per problem on all N candidates and stored as a cluster id per
 * sample; strategies evaluated on a subset of the candidates use the restriction of this partition
 * to the subset (an equivalence judged on the full set does not change when other candidates are
 * left out, and this keeps subset evaluation cheap).
 */

/** How two final answers are judged the same. */
export interface AnswerEquivalence {
  /** A short name for reports, e.g. `exact` or `equiv`. */
  readonly name: string;
  /** A canonical key: answers with equal keys are in one cluster. */
  key(answer: string): string;
  /**
   * Pairwise fallback for answers whose keys differ; `undefined` when keys are the whole story
   * (then no pairwise comparison is made).
   */
  readonly equal?: (a: string, b: string) => boolean;
}

/** Clusters by the exact extracted string (what most evaluation scripts do). */
export const exactEquivalence: AnswerEquivalence = {
  name: "exact",
  key: (answer) => answer,
};

/** The grader functions that {@link equivEquivalence} needs (a subset of src/grade's exports). */
export interface GraderEquivalenceFns {
  /** Canonical form of an answer; equivalent answers usually map to the same key. */
  clusterKey(answer: string): string;
  /** Symmetric mathematical equivalence of two answers. */
  equivalent(a: string, b: string): boolean;
}

/**
 * Clusters by mathematical equivalence: cluster keys first, then pairwise `equivalent` between the
 * representatives of key groups (catches equivalent answers whose keys differ). Results of both
 * calls are cached per answer string / pair, because candidates repeat answers a lot.
 */
export function equivEquivalence(fns: GraderEquivalenceFns): AnswerEquivalence {
  const keyCache = new Map<string, string>();
  const pairCache = new Map<string, boolean>();
  return {
    name: "equiv",
    key(answer) {
      let k = keyCache.get(answer);
      if (k === undefined) {
        k = fns.clusterKey(answer);
        keyCache.set(answer, k);
      }
      return k;
    },
    equal(a, b) {
      // Symmetric by contract, so one cache entry serves both orders.
      const id = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
      let v = pairCache.get(id);
      if (v === undefined) {
        v = fns.equivalent(a, b);
        pairCache.set(id, v);
      }
      return v;
    },
  };
}

/** The clusters of one problem's candidates. */
export interface Clustering {
  /** Cluster id of each sample (index into `clusters`), or -1 for a sample without an answer. */
  clusterOf: Int32Array;
  /**
   * Members of each cluster in increasing sample index, clusters ordered by size descending, then
   * by earliest member (so `clusters[0]` is the majority answer with the paper's tie rule).
   */
  clusters: number[][];
  /** The answer string of each cluster's earliest member (its representative). */
  representatives: string[];
  /** How many pairwise `equal` calls were made (0 for key-only equivalences). */
  pairwiseCalls: number;
}

/** Options of {@link clusterCandidates}. */
export interface ClusteringOptions {
  /**
   * At most this many key groups take part in the pairwise fallback (the largest ones; the rest
   * stay as they are), bounding the cost at `limit^2 / 2` comparisons per problem. Defaults to 64.
   */
  pairwiseLimit?: number;
}

/** True for an answer that counts as "no answer": null, undefined or only whitespace. */
export function isNoAnswer(answer: string | null | undefined): answer is null | undefined {
  return answer === null || answer === undefined || answer.trim() === "";
}

/**
 * Clusters the candidates of one problem. A sample without an answer (null or blank) belongs to
 * no cluster: it can never be chosen, since a solution without a final answer cannot be right.
 */
export function clusterCandidates(
  answers: ReadonlyArray<string | null | undefined>,
  eq: AnswerEquivalence,
  options: ClusteringOptions = {},
): Clustering {
  const n = answers.length;
  const groupOfKey = new Map<string, number>();
  const groups: number[][] = [];
  const groupAnswer: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = answers[i];
    if (isNoAnswer(a)) continue;
    const k = eq.key(a);
    let g = groupOfKey.get(k);
    if (g === undefined) {
      g = groups.length;
      groupOfKey.set(k, g);
      groups.push([]);
      groupAnswer.push(a);
    }
    groups[g].push(i);
  }

  let merged = groups;
  let pairwiseCalls = 0;
  if (eq.equal !== undefined && groups.length > 1) {
    // Leader merging: visit key groups from the largest down; a group joins the first existing
    // leader whose representative is equivalent, otherwise it becomes a leader. Unlike a
    // transitive closure this never chains a ~ b ~ c into one cluster when a and c differ.
    const limit = options.pairwiseLimit ?? 64;
    const order = sortGroups(groups);
    const leaders: number[] = [];
    const into = new Int32Array(groups.length).fill(-1);
    for (let r = 0; r < order.length; r++) {
      const g = order[r];
      if (r < limit) {
        for (const l of leaders) {
          pairwiseCalls++;
          if (eq.equal(groupAnswer[l], groupAnswer[g])) {
            into[g] = l;
            break;
          }
        }
      }
      if (into[g] < 0) {
        into[g] = g;
        leaders.push(g);
      }
    }
    merged = [];
    const slot = new Map<number, number>();
    for (let g = 0; g < groups.length; g++) {
      const l = into[g];
      let s = slot.get(l);
      if (s === undefined) {
        s = merged.length;
        slot.set(l, s);
        merged.push([]);
      }
      for (const i of groups[g]) merged[s].push(i);
    }
    for (const m of merged) m.sort((x, y) => x - y);
  }

  const order = sortGroups(merged);
  const clusters = order.map((g) => merged[g]);
  const clusterOf = new Int32Array(n).fill(-1);
  clusters.forEach((members, c) => {
    for (const i of members) clusterOf[i] = c;
  });
  const representatives = clusters.map((m) => answers[m[0]] as string);
  return { clusterOf, clusters, representatives, pairwiseCalls };
}

/** Indices of `groups` (members ascending) ordered by size descending, then earliest member. */
function sortGroups(groups: number[][]): number[] {
  return groups
    .map((_, i) => i)
    .sort((a, b) => groups[b].length - groups[a].length || groups[a][0] - groups[b][0]);
}
