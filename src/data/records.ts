/**
 * The one definition of each JSONL record the project reads or writes (see docs/formats.md).
 * Field names follow the ecosystem (MATH, TRL, lm-eval). Every command validates with these
 * schemas through `readJsonl`, so a bad line fails with `file:line: field ...`.
 */
import { z } from "zod";

/** A math problem with its reference answer. `id` is unique within a file. */
export const ProblemSchema = z.object({
  id: z.string().min(1),
  problem: z.string().min(1),
  answer: z.string(),
  solution: z.string().optional(),
  level: z.number().int().optional(),
  subject: z.string().optional(),
  source: z.string().optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;

/** A supervised fine-tuning example in TRL's prompt-completion shape; loss on `completion` only. */
export const SftExampleSchema = z.object({
  prompt: z.string(),
  completion: z.string().min(1),
  id: z.string().optional(),
});
export type SftExample = z.infer<typeof SftExampleSchema>;

/**
 * One candidate solution. Written by `sample` (problem_id .. greedy), completed by `grade`
 * (`extracted`, `correct`) and by `score` (`score`, the evaluator's S).
 */
export const SampleSchema = z.object({
  problem_id: z.string().min(1),
  /** 0..N-1 per problem; a greedy sample has `greedy: true` and is not counted among the N. */
  sample: z.number().int().nonnegative(),
  text: z.string(),
  tokens: z.number().int().nonnegative().optional(),
  finish: z.enum(["stop", "length"]).optional(),
  seed: z.number().int().optional(),
  greedy: z.boolean().optional(),
  extracted: z.string().nullable().optional(),
  correct: z.boolean().optional(),
  score: z.number().optional(),
});
export type Sample = z.infer<typeof SampleSchema>;

/** A pairwise evaluator example (TRL preference shape); the template is applied by the trainer. */
export const PairwiseExampleSchema = z.object({
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  problem_id: z.string().optional(),
});
export type PairwiseExample = z.infer<typeof PairwiseExampleSchema>;

/** A pointwise evaluator example (TRL unpaired-preference shape). */
export const PointwiseExampleSchema = z.object({
  prompt: z.string(),
  completion: z.string(),
  label: z.boolean(),
  problem_id: z.string().optional(),
});
export type PointwiseExample = z.infer<typeof PointwiseExampleSchema>;
