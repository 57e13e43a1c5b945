// Metrics: pass@k, Maj1@k, MajK@k, strategy@k, subsets and bootstrap errors.
export { binomial, bootstrapResamples, bootstrapStderr, mean, passAtK, subsetsOf, withinProblemAuc } from "./estimators.js";
export {
  defaultKs,
  evaluate,
  type EvaluateOptions,
  type Evaluation,
  type MetricTable,
  type ProblemSamples,
} from "./compute.js";
