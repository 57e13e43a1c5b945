/**
 * What a generator's samples of the digits worlds (`digits`, `digits-search`) look like: accuracy,
 * samples with a false line (the world's lineHolds), samples that show a failed try, wrong samples
 * whose last check states the problem's number falsely (copied), and the within-problem AUC of any
 * score files given (scored samples JSONL, e.g. from `mathtune score`).
 *
 *   npx tsx scripts/digits-sample-stats.ts GRADED.jsonl PROBLEMS.jsonl [SCORED.jsonl ...]
 */
import { lineHolds } from "../src/data/synth/lines.js";
import { withinProblemAuc } from "../src/metrics/estimators.js";
import { readJsonlRaw } from "../src/util/jsonl.js";

interface Sample { problem_id: string; sample: number; text: string; greedy?: boolean; correct?: boolean; score?: number }
const [gradedFile, problemsFile, ...scoreFiles] = process.argv.slice(2);
if (gradedFile === undefined || problemsFile === undefined) throw new Error("usage: digits-sample-stats.ts GRADED.jsonl PROBLEMS.jsonl [SCORED.jsonl ...]");
const jsonl = <T>(p: string): T[] => readJsonlRaw(p).map((l) => l.value as T);
const samples = jsonl<Sample>(gradedFile).filter((s) => s.greedy !== true);
const problems = new Map(jsonl<{ id: string; problem: string }>(problemsFile).map((p) => [p.id, p.problem]));
/** The closing equation's value: the number the last check must reach. */
const target = (problem: string): number => Number(/[a-e][+*-][a-e]=(\d+)\.$/.exec(problem)![1]);

let correct = 0;
let wrongFalse = 0;
let correctFalse = 0;
let showsTry = 0;
let copied = 0;
for (const s of samples) {
  const lines = s.text.split("\n").filter((l) => !l.startsWith("\\boxed"));
  const falseLine = lines.some((l) => !lineHolds(l));
  if (s.correct === true) {
    correct++;
    if (falseLine) correctFalse++;
  } else {
    if (falseLine) wrongFalse++;
    const last = lines.filter((l) => l.startsWith("check: ")).at(-1);
    if (last !== undefined && !lineHolds(last) && last.endsWith(`=${target(problems.get(s.problem_id)!)}`)) copied++;
  }
  if (lines.some((l) => /, not (a digit|-?\d+)$/.test(l))) showsTry++;
}
const wrong = samples.length - correct;
console.log(`${gradedFile}: ${samples.length} samples, ${correct} correct (${((100 * correct) / samples.length).toFixed(1)}%)`);
console.log(`wrong with a false line ${wrongFalse} of ${wrong}; correct with a false line ${correctFalse}; showing a failed try ${showsTry}; wrong with the last check copied ${copied} of ${wrong}`);

const byProblem = new Map<string, Sample[]>();
for (const s of samples) byProblem.set(s.problem_id, [...(byProblem.get(s.problem_id) ?? []), s]);
for (const file of scoreFiles) {
  const score = new Map(jsonl<Sample>(file).filter((r) => r.greedy !== true).map((r) => [`${r.problem_id}#${r.sample}`, r.score ?? NaN]));
  const r = withinProblemAuc(
    [...byProblem.values()].map((rs) => ({
      correct: rs.map((x) => x.correct === true),
      scores: rs.map((x) => score.get(`${x.problem_id}#${x.sample}`)),
    })),
  );
  console.log(`${file}: within-problem AUC ${r === null ? "-" : `${r.auc.toFixed(3)} over ${r.pairs} pairs`}`);
}
