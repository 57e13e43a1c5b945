/**
 * How well a model checks the synthetic world before any evaluator training: the world's own
 * candidates (both styles' solutions and the skill's wrong ones, as in the pretraining corpus) of
 * test problems, which the corpus of scripts/make-checkable-base.sh never holds, scored in the
 * evaluator's template with S = p(correct) / (p(correct) + p(incorrect)).
 * Prints the within-problem AUC, the mean S of each kind of candidate, and the label loss (the
 * cross-entropy of the label the candidate deserves, in nats; the class prior's is the floor a
 * model that reads nothing reaches).
 *
 *   npx tsx scripts/verification-probe.ts MODEL.gguf [--skills digits-search] [--levels 2,3,4]
 *     [--max-chars 224] [--n-train 9000] [--n-test 900] [--problems 150]
 */
import { LocalModel } from "../src/sample/local.js";
import { evaluatorLabelText, evaluatorPrompt } from "../src/data/prompts.js";
import { flagOf, worldOfFlags } from "./script-args.js";
import { withinProblemAuc } from "../src/metrics/estimators.js";
import { lineHolds } from "../src/data/synth/lines.js";

const args = process.argv.slice(2);
const modelPath = args[0];
if (modelPath === undefined) throw new Error("usage: verification-probe.ts MODEL.gguf [--skills S] [--levels L] [--max-chars N] [--n-train N] [--n-test N] [--problems N]");
const flag = (name: string, fallback: string): string => flagOf(args, name, fallback);
const world = worldOfFlags(args);
const items = world.test.filter((it) => it.negatives.length > 0).slice(0, Number(flag("problems", "150")));

interface Candidate { problem: number; kind: string; correct: boolean; prompt: string }
const candidates: Candidate[] = [];
items.forEach((it, p) => {
  candidates.push({ problem: p, kind: "correct terse", correct: true, prompt: evaluatorPrompt(it.problem, it.terse) });
  candidates.push({ problem: p, kind: "correct detailed", correct: true, prompt: evaluatorPrompt(it.problem, it.detailed) });
  for (const n of it.negatives) {
    // Terse solutions state every digit on their first line; a detailed one derives them a line each.
    const style = n.split("\n")[0].includes(",") ? "terse" : "detailed";
    const honest = n.split("\n").every((l) => l.startsWith("\\boxed") || lineHolds(l));
    const kind = `wrong ${style}, ${honest ? "every line true" : "a false line"}`;
    candidates.push({ problem: p, kind, correct: false, prompt: evaluatorPrompt(it.problem, n) });
  }
});

const model = await LocalModel.open(modelPath, { threads: 1, parallel: 8, contextSize: 512 });
const pos = evaluatorLabelText(true);
const neg = evaluatorLabelText(false);
// S from the whole label words, and from the first letter only (` c` / ` i`: the letter that
// decides the label; the tokenizer of the demo's models is per character).
const both = await Promise.all(
  candidates.map(async (c) => {
    const [a, b] = await Promise.all([model.continuationLogprobs(c.prompt, pos), model.continuationLogprobs(c.prompt, neg)]);
    const first = (x: typeof a): number => x.logprobs[0] + x.logprobs[1];
    return { word: 1 / (1 + Math.exp(b.total - a.total)), letter: 1 / (1 + Math.exp(first(b) - first(a))) };
  }),
);
await model.close();

const share = candidates.filter((c) => c.correct).length / candidates.length;
const prior = -(share * Math.log(share) + (1 - share) * Math.log(1 - share));
console.log(`${modelPath}: ${candidates.length} candidates of ${items.length} held-out problems; class prior ${prior.toFixed(3)} nats`);
const kinds = [...new Set(candidates.map((c) => c.kind))];
for (const by of ["word", "letter"] as const) {
  const scores = both.map((x) => x[by]);
  const auc = withinProblemAuc(
    items.map((_, p) => ({
      correct: candidates.filter((c) => c.problem === p).map((c) => c.correct),
      scores: candidates.map((c, i) => (c.problem === p ? scores[i] : null)).filter((s) => s !== null),
    })),
  );
  const loss = candidates.reduce((s, c, i) => s - Math.log(Math.max(1e-12, c.correct ? scores[i] : 1 - scores[i])), 0) / candidates.length;
  const means = kinds.map((k) => {
    const s = scores.filter((_, i) => candidates[i].kind === k);
    return `${k} ${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(3)} (${s.length})`;
  });
  console.log(`S by the label ${by}: within-problem AUC ${auc === null ? "-" : `${auc.auc.toFixed(3)} over ${auc.pairs} pairs`}, label loss ${loss.toFixed(3)} nats`);
  console.log(`  mean S: ${means.join("; ")}`);
}
