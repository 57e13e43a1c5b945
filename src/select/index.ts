// Clustering and answer selection (majority vote, evaluator re-ranking).
export {
  clusterCandidates,
  equivEquivalence,
  exactEquivalence,
  isNoAnswer,
  type AnswerEquivalence,
  type Clustering,
  type ClusteringOptions,
  type GraderEquivalenceFns,
} from "./cluster.js";
export {
  buildCandidates,
  needsScores,
  parseStrategy,
  select,
  strategyName,
  StrategyRunner,
  type Candidates,
  type Choice,
  type RawCandidates,
  type Strategy,
  type SubsetOutcome,
} from "./strategies.js";
