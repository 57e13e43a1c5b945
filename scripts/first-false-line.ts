/**
 * Does the generator know the fact it got wrong? For each wrong sample of a `digits` run, take the
 * first false statement (the world's lineHolds), and compare the generator's probability of the
 * true result with that of the value it wrote, after the same prefix (`a=9\nb=9+2=` then `11` or
 * `9`). Groups: derivation or check line; true value a digit or not.
 *
 *   npx tsx scripts/first-false-line.ts RUN_DIR [--generator detailed]
 */
import { join } from "node:path";
import { LocalModel } from "../src/sample/local.js";
import { generatorPrompt } from "../src/data/prompts.js";
import { arithmeticValue, lineHolds } from "../src/data/synth/lines.js";
import { readJsonlRaw } from "../src/util/jsonl.js";

const runDir = process.argv[2];
if (runDir === undefined) throw new Error("usage: first-false-line.ts RUN_DIR [--generator NAME]");
const gi = process.argv.indexOf("--generator");
const gen = gi >= 0 ? process.argv[gi + 1] : "detailed";
const jsonl = <T>(p: string): T[] => readJsonlRaw(p).map((l) => l.value as T);

interface Probe { problem: string; prefix: string; honest: string; written: string; group: string }
const problems = new Map(jsonl<{ id: string; problem: string }>(join(runDir, "data/test.jsonl")).map((p) => [p.id, p.problem]));
const wrong = jsonl<{ problem_id: string; text: string; greedy?: boolean; correct?: boolean }>(join(runDir, `grade/${gen}/samples.jsonl`)).filter((s) => s.greedy !== true && s.correct === false);
const probes: Probe[] = [];
for (const s of wrong) {
  const lines = s.text.split("\n");
  const i = lines.findIndex((l) => !l.startsWith("\\boxed") && !lineHolds(l));
  if (i < 0) continue;
  const check = lines[i].startsWith("check: ");
  const head = check ? "check: " : "";
  const parts = lines[i].slice(head.length).split(", ");
  const k = parts.findIndex((p) => !lineHolds(head + p));
  if (k < 0) continue;
  const sides = parts[k].split("=");
  const honest = arithmeticValue(sides[sides.length - 2]);
  if (honest === null) continue;
  const prefix = [...lines.slice(0, i), head + [...parts.slice(0, k), [...sides.slice(0, -1), ""].join("=")].join(", ")].join("\n");
  const group = `${check ? "check" : "derivation"}, true value ${honest >= 0 && honest <= 9 ? "a digit" : "not a digit"}`;
  probes.push({ problem: problems.get(s.problem_id)!, prefix, honest: String(honest), written: sides[sides.length - 1], group });
}

const model = await LocalModel.open(join(runDir, `sft/${gen}/model.gguf`), { threads: 1, parallel: 8, contextSize: 256 });
const logOdds = await Promise.all(
  probes.map(async (p) => {
    const prompt = generatorPrompt(p.problem) + p.prefix;
    const [a, b] = await Promise.all([model.continuationLogprobs(prompt, p.honest), model.continuationLogprobs(prompt, p.written)]);
    return a.total - b.total;
  }),
);
await model.close();

console.log(`${runDir}, generator ${gen}: ${wrong.length} wrong samples, ${probes.length} with a false statement`);
console.log("| first false statement | samples | true value preferred | median odds of the true value |");
console.log("|---|---:|---:|---:|");
for (const group of [...new Set(probes.map((p) => p.group))].sort()) {
  const d = logOdds.filter((_, i) => probes[i].group === group).sort((x, y) => x - y);
  const preferred = d.filter((x) => x > 0).length;
  console.log(`| ${group} | ${d.length} | ${preferred} | ${Math.exp(d[d.length >> 1]).toExponential(1)} |`);
}
