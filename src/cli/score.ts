// `mathtune score`: adds the evaluator's score S to each sample. With --top-k K only the members
// of each problem's K largest answer clusters are scored (the paper's recipe), and the calls saved
// are reported. The output is appended problem by problem, so a rerun resumes where it stopped.
// With --likelihood the score is instead the model's own probability of each candidate as a
// generator (per sequence, per token, or its least likely token): the baseline a trained evaluator
// has to beat.
import type { Command } from "commander";
import { EVALUATOR_LABELS, EVALUATOR_LABELS_KEY, EVALUATOR_TEMPLATE, EVALUATOR_TEMPLATE_KEY, evaluatorLabelText } from "../data/prompts.js";
import { ErrorCode, MathtuneError } from "../errors.js";
import { GgufType, readGguf } from "../model/gguf.js";
import { readProblemsById, readSamples } from "../metrics/samples.js";
import { LIKELIHOOD_PERS, runScoring, type LikelihoodPer } from "../sample/score-run.js";
import { labelTokens, parseLabelWords } from "../train/evaluator-data.js";
import { contextsOption, evaluatorTemplateOption, intOption, kvCacheOption, promptFormatOption, systemPromptOption } from "./options.js";

interface ScoreCliOptions {
  model: string;
  lora?: string;
  samples: string;
  problems: string;
  out: string;
  topK: string;
  labels?: string;
  threads?: string;
  parallel?: string;
  kvCache: "f32" | "f16";
  contexts?: number;
  contextSize?: string;
  likelihood?: string;
  promptTemplate?: string;
  promptFormat?: "plain" | "chat";
  systemPrompt?: string;
  template?: string;
  quiet?: boolean;
}

/** Adds the `score` command. */
export function register(program: Command): void {
  program
    .command("score")
    .description("add the evaluator score S = p(correct) / (p(correct) + p(incorrect)) to each sample")
    .requiredOption("--model <gguf>", "the evaluator (a GGUF model trained with `mathtune train evaluator`, or any model)")
    .option("--lora <adapter>", "LoRA adapter GGUF applied to --model (e.g. adapter.gguf of train evaluator --lora-rank)")
    .requiredOption("--samples <file>", "samples JSONL")
    .requiredOption("--problems <file>", "problems JSONL (the samples' problem_id values)")
    .requiredOption("--out <file>", "scored samples JSONL (appended; a rerun resumes)")
    .option("--top-k <k>", "score only members of the K largest answer clusters of each problem (0: all)", "0")
    .option("--labels <pos,neg>", "label words (default: those the evaluator was trained with, else correct,incorrect)")
    .option("--template <t>", "evaluator template: paper, generator, or one with {problem} and {solution} (default: the one the evaluator was trained with, else paper)")
    .option("--threads <n>", "CPU threads for llama.cpp (default: cores - 1)")
    .option("--parallel <n>", "sequences evaluated in parallel (default 4)")
    .addOption(kvCacheOption())
    .addOption(contextsOption())
    .option("--context-size <n>", "tokens per sequence (default: the model's training context, at most 4096)")
    .option("--likelihood <per>", "score by the model's own likelihood of each candidate instead (a baseline): sequence | token | min")
    .option("--prompt-template <t>", "with --likelihood: the generator prompt template with {problem} (default: the sampler's)")
    .addOption(promptFormatOption(false))
    .addOption(systemPromptOption())
    .option("--quiet", "no progress display")
    .action(async (opts: ScoreCliOptions) => {
      const topK = intOption("top-k", opts.topK, 0);
      if (opts.likelihood !== undefined && !(LIKELIHOOD_PERS as readonly string[]).includes(opts.likelihood)) {
        throw new MathtuneError(ErrorCode.usage, `--likelihood must be sequence, token or min (got ${JSON.stringify(opts.likelihood)})`, {
          hint: "sequence: exp(log p(X|P)); token: its per-token geometric mean; min: the probability of the least likely token",
        });
      }
      if (opts.promptTemplate !== undefined && opts.likelihood === undefined) {
        throw new MathtuneError(ErrorCode.usage, "--prompt-template only applies with --likelihood");
      }
      if ((opts.promptFormat !== undefined || opts.systemPrompt !== undefined) && opts.likelihood === undefined) {
        throw new MathtuneError(ErrorCode.usage, "--prompt-format and --system-prompt only apply with --likelihood (the generator prompt)");
      }
      const { resolveGeneratorFormat } = await import("../data/chat-prompt.js");
      const format =
        opts.likelihood === undefined
          ? undefined
          : await resolveGeneratorFormat(opts.promptFormat ?? "plain", opts.model, {
              ...(opts.promptTemplate !== undefined ? { template: opts.promptTemplate } : {}),
              ...(opts.systemPrompt !== undefined ? { systemPrompt: opts.systemPrompt } : {}),
            });
      // Label words and template: as given, else as recorded by `train evaluator` in the adapter
      // or the evaluator's GGUF, else the paper's.
      const recorded = [...(opts.lora !== undefined ? [readGguf(opts.lora).metadata] : []), readGguf(opts.model).metadata];
      const recordedString = (key: string): string | undefined => {
        for (const m of recorded) {
          const v = m.get(key);
          if (v?.type === GgufType.STRING) return v.value;
        }
        return undefined;
      };
      const labels = parseLabelWords(opts.labels ?? recordedString(EVALUATOR_LABELS_KEY) ?? `${EVALUATOR_LABELS.positive},${EVALUATOR_LABELS.negative}`);
      const template = opts.template !== undefined ? evaluatorTemplateOption(opts.template) : (recordedString(EVALUATOR_TEMPLATE_KEY) ?? EVALUATOR_TEMPLATE);
      const problems = readProblemsById(opts.problems);
      const samples = readSamples(opts.samples);
      const { LocalModel } = await import("../sample/local.js");
      const model = await LocalModel.open(opts.model, {
        ...(opts.threads !== undefined ? { threads: intOption("threads", opts.threads, 1) } : {}),
        ...(opts.parallel !== undefined ? { parallel: intOption("parallel", opts.parallel, 1) } : {}),
        ...(opts.contextSize !== undefined ? { contextSize: intOption("context-size", opts.contextSize, 1) } : {}),
        kvCache: opts.kvCache,
        ...(opts.contexts !== undefined ? { contexts: opts.contexts } : {}),
        ...(opts.lora !== undefined ? { lora: opts.lora } : {}),
        ...(format?.specialTokens === true ? { specialTokens: true } : {}),
      });
      try {
        // Fail before any work when the label words cannot be told apart by this vocabulary.
        const encode = (t: string): number[] => model.model.tokenize(t, false);
        labelTokens(encode, labels);
        // The scoring path evaluates each whole label text after the prompt.
        const extra = Math.max(encode(evaluatorLabelText(true, labels)).length, encode(evaluatorLabelText(false, labels)).length);
        const r = await runScoring({
          scorer: model,
          problems,
          samples,
          out: opts.out,
          topK,
          labels,
          template,
          ...(opts.likelihood !== undefined
            ? { likelihood: { per: opts.likelihood as LikelihoodPer, ...(opts.promptTemplate !== undefined ? { promptTemplate: opts.promptTemplate } : {}) } }
            : {}),
          ...(format?.format === "chat" ? { generatorPrompt: format.prompt } : {}),
          fits: (prompt) => model.promptTokens(prompt).length + extra <= model.contextSize,
          quiet: opts.quiet === true,
        });
        const saved = r.candidates - r.calls - r.tooLong;
        process.stdout.write(
          `scored ${r.problems} problems (${r.skippedProblems} already done): ${r.calls} evaluator calls of ${r.candidates} candidates` +
            (topK > 0 ? `, ${saved} saved by --top-k ${topK} (${r.candidates > 0 ? ((100 * saved) / r.candidates).toFixed(1) : "0"}%)` : "") +
            (r.tooLong > 0 ? `, ${r.tooLong} too long for the context (no score)` : "") +
            ` in ${r.seconds.toFixed(1)} s -> ${opts.out}\n`,
        );
      } finally {
        await model.close();
      }
    });
}
