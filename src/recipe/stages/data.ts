// The data stage: the synthetic world or a dataset adapter into data/train.jsonl and data/test.jsonl.
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../../errors.js";
import type { Problem } from "../../data/records.js";
import { writeJsonlAtomic } from "../../util/jsonl.js";
import { synthesizeWorld, synthToProblem, type Level, type SynthWorld, type Skill } from "../../data/synth/world.js";
import { buildPrm800kSplit, readGsm8k, PRM800K_SPLIT_FILES } from "../../data/adapters.js";
import { toSftExamples } from "../../data/sft.js";
import type { Recipe } from "../schema.js";
import { seedOf } from "../schema.js";
import type { Stage } from "../framework.js";
import { paths, limit, readProblemList, promptFormatConfig, recipeGeneratorFormat } from "./shared.js";

/** The recipe's synthetic world (data.source "synth"): the same draw every time for the same settings. */
export function recipeWorld(r: Recipe): SynthWorld {
  const d = r.data;
  if (d.source !== "synth") throw new MathtuneError(ErrorCode.usage, `the recipe draws no synthetic world (data.source is "${d.source}")`);
  return synthesizeWorld({
    n: d.train,
    validation: d.validation,
    test: d.test,
    seed: seedOf(r, "data"),
    levels: d.levels as Level[],
    skills: d.skills as Skill[],
    maxChars: d.maxChars,
  });
}

export function dataStage(r: Recipe): Stage {
  const d = r.data;
  const sftGens = r.generators.filter((g) => g.sft);
  const external =
    d.source === "synth" ? [] : d.source === "prm800k-split" ? Object.values(PRM800K_SPLIT_FILES).map((f) => join(d.dir, f)) : [d.train, d.test];
  return {
    id: "data",
    title: d.source === "synth" ? `draw the synthetic world (${d.train} train / ${d.test} test problems)` : `read ${d.source} problems`,
    version: 1,
    config: { data: d, seed: seedOf(r, "data"), template: r.promptTemplate, ...promptFormatConfig(r), generators: sftGens.map((g) => ({ name: g.name, style: g.style ?? null })) },
    inputs: [],
    // The chat format renders the prompts through model.base's template.
    externalInputs: [...external, ...(r.promptFormat === "chat" && r.model.base !== null ? [r.model.base] : [])],
    outputs: [paths.train, paths.test, ...sftGens.map((g) => paths.sftData(g.name))],
    async run(ctx) {
      let train: Problem[];
      let test: Problem[];
      const sftSets = new Map<string, Problem[]>();
      if (d.source === "synth") {
        const world = recipeWorld(r);
        // The problems files carry the detailed solution; each generator's SFT file its own style.
        train = world.train.map((it) => synthToProblem(it, "detailed"));
        test = world.test.map((it) => synthToProblem(it, "detailed"));
        for (const g of sftGens) sftSets.set(g.name, world.train.map((it) => synthToProblem(it, g.style ?? "detailed")));
      } else {
        if (d.source === "prm800k-split") {
          const split = buildPrm800kSplit({
            mathTrain: join(d.dir, PRM800K_SPLIT_FILES.mathTrain),
            mathTest: join(d.dir, PRM800K_SPLIT_FILES.mathTest),
            math500: join(d.dir, PRM800K_SPLIT_FILES.math500),
          });
          train = split.train;
          test = split.test;
        } else if (d.source === "gsm8k") {
          train = readGsm8k(d.train);
          test = readGsm8k(d.test);
        } else {
          train = readProblemList(d.train);
          test = readProblemList(d.test);
        }
        train = limit(train, d.limitTrain);
        test = limit(test, d.limitTest);
        for (const g of sftGens) sftSets.set(g.name, train);
      }
      const template =
        r.promptFormat === "chat" ? { format: await recipeGeneratorFormat(r) } : r.promptTemplate === null ? {} : { prompt: { template: r.promptTemplate } };
      const summary: Record<string, unknown> = { train: train.length, test: test.length };
      for (const [name, problems] of sftSets) {
        const sft = toSftExamples(problems, template);
        if (sft.examples.length === 0) {
          throw new MathtuneError(ErrorCode.input, `no training problem has a solution for generator ${name}`, { hint: "SSFT needs problems with solutions" });
        }
        writeJsonlAtomic(ctx.path(paths.sftData(name)), sft.examples);
        summary[`sft_examples.${name}`] = sft.examples.length;
      }
      writeJsonlAtomic(ctx.path(paths.train), train);
      writeJsonlAtomic(ctx.path(paths.test), test);
      ctx.say(`  ${train.length} training and ${test.length} test problems`);
      return summary;
    },
  };
}
