/**
 * An experiment beside the paper's evaluator on the digits worlds: a verifier that writes its
 * check out before its verdict (GenRM's chain-of-thought verifier, arXiv 2408.15240). The check is
 * the substitution the world is built on: the candidate's boxed number put into each equation of
 * the problem, the value computed before the problem's number is written, so it cannot be copied:
 *
 *   Problem: ... satisfy a+b=9, b+c=12, a+c=11.
 *   Solution:
 *   <candidate>
 *   Verification:
 *   a+b=4+5=9, holds
 *   b+c=5+7=12, holds
 *   a+c=4+7=11, holds
 *   The candidate solution is correct
 *
 * data: SFT records for `mathtune train sft` from the world's training split (both styles'
 * solutions and the skill's wrong ones), plus graded samples of training problems when given.
 * score: greedy-writes the verification of each test sample and scores it by the verdict word,
 * S = p(correct) / (p(correct) + p(incorrect)); writes scored samples (`score`) for
 * scripts/digits-sample-stats.ts, and prints how often the written check is the true one.
 *
 *   npx tsx scripts/cot-verifier.ts data OUT.jsonl [--skills digits-search] [--levels 2,3,4] [--max-chars 224]
 *     [--n-train 9000] [--n-test 900] [--graded SAMPLES.jsonl --problems PROBLEMS.jsonl] [--line-format not|vs]
 *   npx tsx scripts/cot-verifier.ts score MODEL.gguf GRADED.jsonl PROBLEMS.jsonl OUT.jsonl [--line-format not|vs]
 */
import { LocalModel } from "../src/sample/local.js";
import { lastBoxed } from "../src/grade/extract.js";
import { evaluatorScore } from "../src/sample/scoring.js";
import { flagOf, worldOfFlags } from "./script-args.js";
import { readJsonlRaw, writeJsonlAtomic } from "../src/util/jsonl.js";

const PROMPT = (problem: string, solution: string): string => `Problem: ${problem}\nSolution:\n${solution}\nVerification:\n`;
const VERDICT = "The candidate solution is";

/** The problem's equations (`a+b=9`) as [left operand, op, right operand, value]. */
function equations(problem: string): Array<[string, string, string, number]> {
  const list = /satisfy (.*)\.$/.exec(problem)?.[1];
  if (list === undefined) throw new Error(`not a digits problem: ${problem}`);
  return list.split(", ").map((e) => {
    const m = /^([a-e])([+*-])([a-e])=(\d+)$/.exec(e);
    if (m === null) throw new Error(`not a digits equation: ${e}`);
    return [m[1], m[2], m[3], Number(m[4])];
  });
}

/** How a line of the check states its outcome: `a+b=4+5=9, holds` / `, not 9`, or `a+b=4+5=9 vs 9, holds` / `vs 10, fails`. */
export type LineFormat = "not" | "vs";

/** The verification of `solution`: each equation with the boxed digits put in, then the verdict. */
export function verification(problem: string, solution: string, lineFormat: LineFormat = "not"): { lines: string[]; correct: boolean } {
  const eqs = equations(problem);
  const k = /the (\w+)-digit number/.exec(problem)?.[1];
  const width = { two: 2, three: 3, four: 4, five: 5 }[k ?? ""] ?? 0;
  const boxed = lastBoxed(solution);
  if (boxed === null || !new RegExp(`^[1-9]\\d{${width - 1}}$`).test(boxed)) return { lines: ["no answer of the asked form"], correct: false };
  const digit = (letter: string): number => Number(boxed["abcde".indexOf(letter)]);
  let correct = true;
  const lines = eqs.map(([x, op, y, target]) => {
    const v = op === "+" ? digit(x) + digit(y) : op === "-" ? digit(x) - digit(y) : digit(x) * digit(y);
    if (v !== target) correct = false;
    const sum = `${x}${op}${y}=${digit(x)}${op}${digit(y)}=${v}`;
    // "vs": the problem's number is written next to the computed one, so the verdict of the line
    // compares two neighbouring numbers instead of one number with an equation far back.
    if (lineFormat === "vs") return `${sum} vs ${target}, ${v === target ? "holds" : "fails"}`;
    return `${sum}, ${v === target ? "holds" : `not ${target}`}`;
  });
  return { lines, correct };
}

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => flagOf(args, name, fallback);
const lineFormat = flag("line-format", "not") as LineFormat;
if (lineFormat !== "not" && lineFormat !== "vs") throw new Error(`--line-format is not or vs, not ${lineFormat}`);
const jsonl = <T>(p: string): T[] => readJsonlRaw(p).map((l) => l.value as T);
interface Sample { problem_id: string; sample: number; text: string; greedy?: boolean; correct?: boolean }

if (args[0] === "data") {
  const out = args[1];
  const world = worldOfFlags(args);
  const records: Array<{ prompt: string; completion: string; id: string }> = [];
  const add = (problem: string, solution: string, id: string): void => {
    const v = verification(problem, solution, lineFormat);
    records.push({ prompt: PROMPT(problem, solution), completion: `${v.lines.join("\n")}\n${VERDICT} ${v.correct ? "correct" : "incorrect"}`, id });
  };
  for (const it of world.train) {
    if (it.negatives.length === 0) continue;
    add(it.problem, it.terse, `${it.id}/terse`);
    add(it.problem, it.detailed, `${it.id}/detailed`);
    it.negatives.forEach((n, i) => add(it.problem, n, `${it.id}/wrong${i}`));
  }
  const graded = flag("graded", "");
  if (graded !== "") {
    const problems = new Map(jsonl<{ id: string; problem: string }>(flag("problems", "")).map((p) => [p.id, p.problem]));
    for (const s of jsonl<Sample>(graded)) add(problems.get(s.problem_id)!, s.text, `${s.problem_id}/sample${s.sample}`);
  }
  writeJsonlAtomic(out, records);
  const wrong = records.filter((r) => r.completion.endsWith(" incorrect")).length;
  console.log(`${out}: ${records.length} records (${records.length - wrong} correct, ${wrong} incorrect)`);
} else if (args[0] === "score") {
  const [, modelPath, gradedFile, problemsFile, out] = args;
  const problems = new Map(jsonl<{ id: string; problem: string }>(problemsFile).map((p) => [p.id, p.problem]));
  const samples = jsonl<Sample>(gradedFile).filter((s) => s.greedy !== true);
  const model = await LocalModel.open(modelPath, { threads: 2, parallel: 8, contextSize: 512 });
  let exact = 0;
  let verdictRight = 0;
  const scored = await Promise.all(
    samples.map(async (s) => {
      const problem = problems.get(s.problem_id)!;
      const prompt = PROMPT(problem, s.text);
      const [c] = await model.generate(prompt, { temperature: 0, maxTokens: 120, stop: [VERDICT] });
      const written = c.text.replace(/\n$/, "");
      const truth = verification(problem, s.text, lineFormat);
      if (written === truth.lines.join("\n")) exact++;
      const head = `${prompt}${written}\n${VERDICT}`;
      // The whole verdict words: S = p(correct) / (p(correct) + p(incorrect)).
      const { score } = await evaluatorScore(model, head, { mode: "sequence" });
      if (score > 0.5 === (s.correct === true)) verdictRight++;
      return { problem_id: s.problem_id, sample: s.sample, correct: s.correct, score, verification: written };
    }),
  );
  await model.close();
  writeJsonlAtomic(out, scored);
  console.log(`${out}: ${samples.length} samples; the written check is the true one for ${exact}; the verdict (S > 0.5) agrees with the grade for ${verdictRight}`);
} else {
  throw new Error("usage: cot-verifier.ts data OUT.jsonl [...] | score MODEL.gguf GRADED.jsonl PROBLEMS.jsonl OUT.jsonl");
}
