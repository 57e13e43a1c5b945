// The eval stages: every metric of an arm's graded (and scored) samples.
import { writeFileAtomic } from "../../util/fs.js";
import { exactEquivalence } from "../../select/cluster.js";
import { graderEquivalence } from "../../grade/equivalence.js";
import { needsScores, type Strategy } from "../../select/strategies.js";
import { addGreedyOnly, evaluate } from "../../metrics/compute.js";
import { onScoredCandidates, withinProblemAuc, withinProblemAucUnscoredLast } from "../../metrics/estimators.js";
import { groupSamples, readSamples } from "../../metrics/samples.js";
import { buildResults, writeReport } from "../../report/results.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import type { Stage } from "../framework.js";
import { paths, readProblemList, type Arm } from "./shared.js";

function evalSettings(r: Recipe): Record<string, unknown> {
  return { ...r.eval, seed: seedOf(r, "eval") };
}

/** Re-ranking strategies that read scores, reported for the likelihood baselines too. */
function rerankStrategies(r: Recipe): Strategy[] {
  const K = r.eval.topK;
  return [{ kind: "rr.all" }, { kind: "rr.top", k: K }, { kind: "wrr" }, { kind: "wrr.top", k: K }];
}

/** Another score the eval stage re-ranks by besides the evaluator's: its results' key prefix and its file. */
export interface OtherScore {
  prefix: string;
  file: (gen: string) => string;
}

/**
 * `baselines`: the other scores of the arm's samples this stage re-ranks by (the likelihoods, the
 * base model as evaluator, the line evaluator, the contrastive re-ranker: shared.ts).
 */
export function evalStage(r: Recipe, gen: Arm, scored: boolean, baselines: readonly OtherScore[] = []): Stage {
  const samplesRel = scored ? paths.scored(gen.name) : paths.graded(gen.name);
  return {
    id: `eval/${gen.name}`,
    title: `metrics of ${gen.name}: Pass@1, Pass@k, Maj1@k, MajK@k${scored ? ", re-ranking" : ""}`,
    version: 3,
    config: evalSettings(r),
    inputs: [paths.test, samplesRel, ...baselines.map((b) => b.file(gen.name))],
    outputs: [paths.evalResults(gen.name), `${paths.evalDir(gen.name)}/report.md`, `${paths.evalDir(gen.name)}/report.html`, paths.perProblem(gen.name)],
    async run(ctx) {
      const file = ctx.path(samplesRel);
      const problems = new Map(readProblemList(ctx.path(paths.test)).map((p) => [p.id, p]));
      const located = readSamples(file);
      // With `sampling.problems`, the later test problems have only their greedy solution: they
      // count in the greedy Pass@1 (addGreedyOnly) and nowhere else.
      const grouped = groupSamples(located, { problems, allowGreedyOnly: true });
      // Samples the evaluator did not score (outside the top-K clusters, or too long) rank below scored ones.
      const K = r.eval.topK;
      const all: Strategy[] = [{ kind: "maj1" }, ...rerankStrategies(r), { kind: "maj1.top", n: r.eval.topN }];
      const strategies = grouped.scored > 0 ? all : all.filter((s) => !needsScores(s));
      const settings = {
        ...(r.eval.ks !== null ? { ks: r.eval.ks } : {}),
        majK: K,
        subsets: r.eval.subsets,
        bootstrap: r.eval.bootstrap,
        seed: seedOf(r, "eval"),
        equivalence: r.eval.cluster === "exact" ? exactEquivalence : graderEquivalence(),
      };
      const ev0 = evaluate(grouped.problems, { ...settings, strategies });
      // The same strategies with each baseline's score, under `<prefix>.*` (the generator's
      // likelihoods: `likelihood.*` sequence, `likelihood-token.*`, `likelihood-min.*`; the base model
      // as evaluator: `base-evaluator.*`; the line evaluator: `line-evaluator.*`; the contrastive
      // re-ranker: `contrastive.*`), each one's within-problem AUC as `<prefix>.auc`.
      // When the evaluator leaves candidates unscored (too long for its context, outside the top-K
      // clusters), its AUC rests on fewer pairs than a baseline's that scores them all; two more
      // figures make the comparison like for like: each baseline's AUC on the candidates the
      // evaluator scored (`<prefix>.auc.evaluator-scored`), and the evaluator's AUC over every
      // candidate with the unscored ones ranked last, as re-ranking ranks them (`evaluator.auc.all`).
      const partial = grouped.scored > 0 && grouped.unscored > 0;
      const put = (key: string, auc: ReturnType<typeof withinProblemAuc>): void => {
        if (auc === null) return;
        ev0.results[key] = auc.auc;
        ev0.results[`${key}:pairs`] = auc.pairs;
      };
      if (partial) put("evaluator.auc.all", withinProblemAucUnscoredLast(grouped.problems));
      for (const b of baselines) {
        const lgrouped = groupSamples(readSamples(ctx.path(b.file(gen.name))), { problems, allowGreedyOnly: true });
        if (lgrouped.scored > 0) {
          const lev = evaluate(lgrouped.problems, { ...settings, strategies: rerankStrategies(r) });
          for (const [k, v] of Object.entries(lev.results)) {
            if (/^(rr|wrr)\./.test(k)) ev0.results[`${b.prefix}.${k}`] = v;
            else if (k.startsWith("evaluator.auc")) ev0.results[`${b.prefix}.${k.slice("evaluator.".length)}`] = v;
          }
          // Its per-problem values too, under the same keys and in the evaluation's problem order,
          // so that the tables can pair each re-ranking with Maj1 on the same problems.
          const at = new Map(lev.perProblem.ids.map((id, i) => [id, i]));
          for (const [k, arr] of Object.entries(lev.perProblem.values)) {
            if (!/^(rr|wrr)\./.test(k)) continue;
            ev0.perProblem.values[`${b.prefix}.${k}`] = ev0.perProblem.ids.map((id) => {
              const i = at.get(id);
              return i === undefined ? NaN : arr[i];
            });
          }
          if (partial) {
            put(`${b.prefix}.auc.evaluator-scored`, withinProblemAuc(onScoredCandidates(lgrouped.problems, grouped.problems)));
            if (lgrouped.unscored > 0) put(`${b.prefix}.auc.all`, withinProblemAucUnscoredLast(lgrouped.problems));
          }
        }
      }
      const ev = addGreedyOnly(ev0, grouped.greedyOnly, { bootstrap: r.eval.bootstrap, seed: seedOf(r, "eval") });
      const results = buildResults(ev, { samples: samplesRel, problems: paths.test, generator: gen.name, cluster: r.eval.cluster, correct_from_file: true, ...evalSettings(r) });
      writeReport(ctx.path(paths.evalDir(gen.name)), results);
      writeFileAtomic(ctx.path(paths.perProblem(gen.name)), JSON.stringify(ev.perProblem) + "\n");
      const N = ev.meta.ks[ev.meta.ks.length - 1];
      const head: Record<string, number> = {};
      for (const k of ["pass@1", `maj1@${N}`, `pass@${N}`]) if (ev.results[k] !== undefined) head[k] = ev.results[k];
      ctx.say(`  ${Object.entries(head).map(([k, v]) => `${k} ${(100 * v).toFixed(1)}%`).join(", ")}`);
      return head;
    },
  };
}
