/**
 * The one definition of each JSONL record the project reads or writes (see docs/formats.md).
 * Field names follow the ecosystem (MATH, TRL, lm-eval). Every command validates with these
 * schemas through `readJsonl`, so a bad line fails with `file:line: field ...`.
 */
import { z } from "zod";

/** A math problem with its reference answer. `id` is unique within a file. */
export const ProblemSchema = z.object({
  id: z.string().min(1).describe("unique within a file (MATH's `unique_id` where it exists)"),
  problem: z.string().min(1).describe("the problem statement"),
  answer: z.string().describe("the reference final answer (LaTeX, as in MATH's `\\boxed{}`)"),
  solution: z.string().optional().describe("a reference solution (the SFT target)"),
  level: z.number().int().optional().describe("difficulty level (MATH: 1-5)"),
  subject: z.string().optional().describe("subject or skill"),
  source: z.string().optional().describe("data set the problem comes from"),
}).describe("A math problem with its reference answer. `id` is unique within a file.");
export type Problem = z.infer<typeof ProblemSchema>;

/** A supervised fine-tuning example in TRL's prompt-completion shape; loss on `completion` only. */
export const SftExampleSchema = z.object({
  prompt: z.string().describe("the generator prompt, problem included"),
  completion: z.string().min(1).describe("the solution; the loss is on these tokens only"),
  id: z.string().optional().describe("the problem's id"),
  loss_spans: z
    .array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]))
    .optional()
    .describe("character ranges [start, end) of `completion` that carry the loss, in order and apart; when given, only they do (and not the closing EOS)"),
  special_tokens: z
    .boolean()
    .optional()
    .describe("true when `prompt` and `completion` hold special tokens as text (a chat template's `<|im_start|>`, `<|im_end|>`): the trainer tokenizes them as those tokens"),
}).describe("A supervised fine-tuning example in TRL's prompt-completion shape; loss on `completion` only (or on its `loss_spans`).");
export type SftExample = z.infer<typeof SftExampleSchema>;

/**
 * One candidate solution. Written by `sample` (problem_id .. greedy), completed by `grade`
 * (`extracted`, `correct`) and by `score` (`score`, the evaluator's S).
 */
export const SampleSchema = z.object({
  problem_id: z.string().min(1).describe("the `id` of the problem"),
  /** 0..N-1 per problem; a greedy sample has `greedy: true` and is not counted among the N. */
  sample: z.number().int().nonnegative().describe("index 0..N-1 per problem; a greedy sample is not counted among the N"),
  text: z.string().describe("the generated solution"),
  tokens: z.number().int().nonnegative().optional().describe("generated tokens (the end-of-sequence token not counted)"),
  finish: z.enum(["stop", "length"]).optional().describe("`stop`: end of sequence or a stop string; `length`: the token budget ran out"),
  seed: z.number().int().optional().describe("the sample's own seed"),
  greedy: z.boolean().optional().describe("true for the greedy (temperature 0) sample"),
  extracted: z.string().nullable().optional().describe("grade: the extracted final answer (null: none found)"),
  correct: z.boolean().optional().describe("grade: equivalent to the problem's answer"),
  score: z.number().optional().describe("score: the evaluator's S = p(correct) / (p(correct) + p(incorrect)), or a likelihood baseline"),
}).describe("One candidate solution. Written by `sample`, completed by `grade` (`extracted`, `correct`) and by `score` (`score`).");
export type Sample = z.infer<typeof SampleSchema>;

/** A pairwise evaluator example (TRL preference shape); the template is applied by the trainer. */
export const PairwiseExampleSchema = z.object({
  prompt: z.string().describe("the problem"),
  chosen: z.string().describe("a correct solution"),
  rejected: z.string().describe("an incorrect solution of the same problem"),
  problem_id: z.string().optional().describe("the problem's id"),
}).describe("A pairwise evaluator example (TRL preference shape); the evaluator template is applied by the trainer.");
export type PairwiseExample = z.infer<typeof PairwiseExampleSchema>;

/** A pointwise evaluator example (TRL unpaired-preference shape). */
export const PointwiseExampleSchema = z.object({
  prompt: z.string().describe("the problem"),
  completion: z.string().describe("a candidate solution"),
  label: z.boolean().describe("whether the solution's final answer is correct"),
  problem_id: z.string().optional().describe("the problem's id"),
}).describe("A pointwise evaluator example (TRL unpaired-preference shape).");
export type PointwiseExample = z.infer<typeof PointwiseExampleSchema>;
