/**
 * Estimators: unbiased pass@k, size-k subsets of a problem's candidates, bootstrap standard errors.
 */
import { Rng } from "../util/rng.js";

/**
 * Unbiased pass@k for one problem with `n` samples of which `c` are correct:
 * 1 - C(n-c, k) / C(n, k), computed as a running product so that n = 1000 does not overflow.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(k >= 1 && k <= n)) throw new RangeError(`pass@k needs 1 <= k <= n (k=${k}, n=${n})`);
  if (c < 0 || c > n) throw new RangeError(`pass@k needs 0 <= c <= n (c=${c}, n=${n})`);
  if (n - c < k) return 1;
  // C(n-c,k)/C(n,k) = prod_{i=n-c+1}^{n} (1 - k/i)
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** C(n, k) as a float (exact while below 2^53). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const kk = Math.min(k, n - k);
  let r = 1;
  for (let i = 1; i <= kk; i++) r = (r * (n - kk + i)) / i;
  return Math.round(r);
}

/**
 * The size-k subsets of [0, n) a metric at k averages over, each in increasing order: every
 * subset when there are at most `maxSubsets` of them (the exact expectation), otherwise
 * `maxSubsets` subsets drawn uniformly with `rng` (a Monte Carlo estimate). k = n gives [all].
 */
export function subsetsOf(n: number, k: number, maxSubsets: number, rng: Rng): Int32Array[] {
  if (!(k >= 1 && k <= n)) throw new RangeError(`subset size must be in 1..n (k=${k}, n=${n})`);
  if (binomial(n, k) <= maxSubsets) return allCombinations(n, k);
  // Partial Fisher-Yates on one reused permutation buffer: the first k slots are a uniform
  // k-subset. (Faster than drawing each subset from a fresh [0, n) array.)
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let s = 0; s < maxSubsets; s++) {
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(rng.next() * (n - i));
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    out.push(perm.slice(0, k).sort());
  }
  return out;
}

function allCombinations(n: number, k: number): Int32Array[] {
  const out: Int32Array[] = [];
  const cur = Int32Array.from({ length: k }, (_, i) => i);
  while (true) {
    out.push(cur.slice());
    let i = k - 1;
    while (i >= 0 && cur[i] === n - k + i) i--;
    if (i < 0) return out;
    cur[i]++;
    for (let j = i + 1; j < k; j++) cur[j] = cur[j - 1] + 1;
  }
}

/** Mean of an array (NaN for an empty one). */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * Resamples (with replacement) of the positions 0..m-1, shared by every metric so that their
 * bootstrap errors come from the same resampled benchmarks.
 */
export function bootstrapResamples(m: number, resamples: number, rng: Rng): Int32Array[] {
  const out: Int32Array[] = [];
  for (let b = 0; b < resamples; b++) {
    const r = new Int32Array(m);
    for (let i = 0; i < m; i++) r[i] = Math.floor(rng.next() * m);
    out.push(r);
  }
  return out;
}

/**
 * Bootstrap standard error of the mean of `values` (one value per problem): the standard
 * deviation of the mean over resampled problem sets. 0 for fewer than two problems.
 */
export function bootstrapStderr(values: ArrayLike<number>, resamples: readonly Int32Array[]): number {
  if (values.length < 2 || resamples.length < 2) return 0;
  let s = 0;
  let s2 = 0;
  for (const r of resamples) {
    let acc = 0;
    for (let i = 0; i < r.length; i++) acc += values[r[i]];
    const m = acc / r.length;
    s += m;
    s2 += m * m;
  }
  const b = resamples.length;
  const v = (s2 - (s * s) / b) / (b - 1);
  return Math.sqrt(Math.max(0, v));
}

/**
 * Within-problem AUC of evaluator scores: over every pair of a correct and an incorrect scored
 * sample of the same problem, the fraction where the correct one scores higher (ties count half).
 * Pairs are pooled over problems, so a problem with many pairs weighs more. This is what
 * re-ranking needs: telling right from wrong among one problem's candidates, not across problems
 * of different difficulty. Null when no problem has both a correct and an incorrect scored sample.
 */
export function withinProblemAuc(
  problems: ReadonlyArray<{ correct: ReadonlyArray<boolean>; scores?: ReadonlyArray<number | null | undefined> }>,
): { auc: number; pairs: number; problems: number } | null {
  let wins = 0;
  let pairs = 0;
  let used = 0;
  for (const p of problems) {
    if (!p.scores) continue;
    const pos: number[] = [];
    const neg: number[] = [];
    p.correct.forEach((c, i) => {
      const s = p.scores?.[i];
      if (typeof s === "number" && Number.isFinite(s)) (c ? pos : neg).push(s);
    });
    if (pos.length === 0 || neg.length === 0) continue;
    used++;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    pairs += pos.length * neg.length;
  }
  return pairs === 0 ? null : { auc: wins / pairs, pairs, problems: used };
}

type ScoredProblem = { id?: string; correct: ReadonlyArray<boolean>; scores?: ReadonlyArray<number | null | undefined> };
const hasScore = (s: number | null | undefined): s is number => typeof s === "number" && Number.isFinite(s);

/**
 * withinProblemAuc with every candidate in: those without a score rank below every scored one of
 * their problem (ties among them count half), as the re-ranking strategies rank them. For an
 * evaluator that leaves some candidates unscored (too long for its context, outside the top-K
 * clusters), this is the AUC of the ranking re-ranking actually uses.
 */
export function withinProblemAucUnscoredLast(problems: ReadonlyArray<ScoredProblem>): ReturnType<typeof withinProblemAuc> {
  return withinProblemAuc(
    problems.map((p) => {
      const s = p.scores ?? [];
      const floor = Math.min(0, ...s.filter(hasScore)) - 1;
      return { correct: p.correct, scores: p.correct.map((_, i) => (hasScore(s[i]) ? s[i] : floor)) };
    }),
  );
}

/**
 * The scores of `problems` kept only on the candidates that `reference` scored (same problem id,
 * same sample index): another score's AUC on exactly the pairs an evaluator's AUC rests on.
 */
export function onScoredCandidates<P extends ScoredProblem & { id: string }>(problems: readonly P[], reference: ReadonlyArray<ScoredProblem & { id: string }>): P[] {
  const ref = new Map(reference.map((p) => [p.id, p.scores ?? []]));
  return problems.map((p) => {
    const r = ref.get(p.id) ?? [];
    return { ...p, scores: p.correct.map((_, i) => (hasScore(r[i]) ? p.scores?.[i] : undefined)) };
  });
}
