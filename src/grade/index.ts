// The grader: answer extraction and mathematical equivalence (docs/grader.md).
export { extractAnswer, type ExtractOptions } from "./extract.js";
export {
  verify,
  equivalent,
  gradeSolution,
  unwrapAnswer,
  type GradeReason,
  type VerifyResult,
  type GradeResult,
  type VerifyOptions,
} from "./verify.js";
export { clusterKey } from "./cluster.js";
export { createGraderPool, gradeSamples, type GraderPool, type GraderPoolOptions, type GradeJob } from "./pool.js";
