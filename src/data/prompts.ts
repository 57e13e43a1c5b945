/**
 * Every prompt format of the project, in one place: the plain generator prompt (the exact text
 * the SFT records carry and the sampler sends), few-shot exemplars built from it, and the paper's
 * evaluator template with its label words. The chat-template variant for GGUF models lives in
 * chat-prompt.ts so that this file never loads the native library.
 */

/**
 * The plain generator template; `{problem}` is replaced by the problem text and the solution
 * follows directly after. Short and fixed so a character-level model learns it in a few steps.
 */
export const GENERATOR_TEMPLATE = "Problem: {problem}\nSolution:\n";

/** Separator between a few-shot exemplar's solution and the next prompt. */
export const FEW_SHOT_SEPARATOR = "\n\n";

export interface GeneratorPromptOptions {
  /** Template with one `{problem}` placeholder. Defaults to GENERATOR_TEMPLATE. */
  template?: string;
  /** Solved exemplars put before the problem (few-shot prompting). Defaults to none. */
  examples?: ReadonlyArray<{ problem: string; solution: string }>;
}

function fill(template: string, problem: string): string {
  if (!template.includes("{problem}")) throw new Error("generator template must contain {problem}");
  // A function replacement, so `$` sequences in the problem are kept literally.
  return template.replace("{problem}", () => problem);
}

/** The plain generator prompt: the text a model continues with a solution. */
export function generatorPrompt(problem: string, options: GeneratorPromptOptions = {}): string {
  const template = options.template ?? GENERATOR_TEMPLATE;
  let out = "";
  for (const ex of options.examples ?? []) out += fill(template, ex.problem) + ex.solution.trimEnd() + FEW_SHOT_SEPARATOR;
  return out + fill(template, problem);
}

/**
 * The user message for chat models (the chat-template path): the problem and the instruction
 * that chat-tuned math models are commonly evaluated with.
 */
export const CHAT_USER_TEMPLATE = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}.";

/** The user turn of a chat prompt for `problem`. */
export function chatUserMessage(problem: string, template: string = CHAT_USER_TEMPLATE): string {
  return fill(template, problem);
}

/** The evaluator's label words (the paper's). */
export const EVALUATOR_LABELS = { positive: "correct", negative: "incorrect" } as const;

/** The paper's evaluator template; `{problem}` and `{solution}` are replaced verbatim. */
export const EVALUATOR_TEMPLATE =
  "Here is a math problem: {problem}. Here is a candidate solution: {solution}. The above candidate solution is";

/**
 * An evaluator template that shows the candidate as its generator wrote it: the generator prompt
 * (`generatorTemplate`, default GENERATOR_TEMPLATE), the solution, a newline, then the paper's
 * closing words. A model fine-tuned on one prompt format reads a solution best in that format; in
 * the paper's wording the same solution is text it has never seen laid out that way.
 */
export function generatorEvaluatorTemplate(generatorTemplate: string = GENERATOR_TEMPLATE): string {
  if (!generatorTemplate.includes("{problem}")) throw new Error("generator template must contain {problem}");
  return `${generatorTemplate}{solution}\nThe above candidate solution is`;
}

/** GGUF metadata key under which a trained evaluator records the template it was trained with. */
export const EVALUATOR_TEMPLATE_KEY = "mathtune.evaluator.template";
/** GGUF metadata key of the evaluator's label words ("positive,negative"). */
export const EVALUATOR_LABELS_KEY = "mathtune.evaluator.labels";

/**
 * Resolves an evaluator template option: "paper" (EVALUATOR_TEMPLATE), "generator"
 * (generatorEvaluatorTemplate of `generatorTemplate`), or a template with `{problem}` and
 * `{solution}`, taken as written.
 */
export function resolveEvaluatorTemplate(spec: string, generatorTemplate?: string): string {
  if (spec === "paper") return EVALUATOR_TEMPLATE;
  if (spec === "generator") return generatorEvaluatorTemplate(generatorTemplate);
  if (!spec.includes("{problem}") || !spec.includes("{solution}")) {
    throw new Error(`evaluator template must be "paper", "generator" or contain {problem} and {solution} (got ${JSON.stringify(spec)})`);
  }
  return spec;
}

export interface EvaluatorPromptOptions {
  /** Template with `{problem}` and `{solution}`. Defaults to EVALUATOR_TEMPLATE. */
  template?: string;
}

/**
 * The evaluator's input for one candidate; the label word follows after a space (see
 * evaluatorLabelText). The template is the paper's, verbatim, so a problem that ends in `.`
 * reads `..` — kept, because the published template is what a model trained elsewhere saw.
 */
export function evaluatorPrompt(problem: string, solution: string, options: EvaluatorPromptOptions = {}): string {
  const template = options.template ?? EVALUATOR_TEMPLATE;
  if (!template.includes("{problem}") || !template.includes("{solution}")) {
    throw new Error("evaluator template must contain {problem} and {solution}");
  }
  // One pass over the template, so a `{solution}` inside the problem text is not substituted.
  return template.replace(/\{problem\}|\{solution\}/g, (m) => (m === "{problem}" ? problem : solution));
}

/** The text that follows the evaluator prompt for a label: a space then the label word. */
export function evaluatorLabelText(correct: boolean, labels: { positive: string; negative: string } = EVALUATOR_LABELS): string {
  return ` ${correct ? labels.positive : labels.negative}`;
}
