// The library's public surface. Each capability folder adds its exports here.
export { MathtuneError, ErrorCode, inputError } from "./errors.js";
export { Rng, hashString } from "./util/rng.js";
export { readJsonl, readJsonlRaw, writeJsonlAtomic, appendJsonl, repairJsonlTail } from "./util/jsonl.js";
export { writeFileAtomic } from "./util/fs.js";
export * from "./model/gguf.js";
export * from "./model/tokenizer.js";
export * from "./model/checkpoint.js";
export * from "./model/config.js";
export * from "./model/lora.js";
export { extractAnswer, verify, equivalent, gradeSolution, unwrapAnswer, clusterKey, createGraderPool, type ExtractOptions, type GradeReason, type VerifyResult, type GradeResult, type VerifyOptions, type GraderPool, type GraderPoolOptions, type GradeJob } from "./grade/index.js";
export * from "./data/records.js";
export { Rational, parseRationalLatex } from "./data/rational.js";
export { findLastBoxed, lastBoxedContent, type BoxedMatch } from "./data/boxed.js";
export * from "./data/prompts.js";
export {
  chatGeneratorPrompt,
  openChatTemplate,
  resolveGeneratorFormat,
  plainGeneratorFormat,
  PROMPT_FORMATS,
  type ChatPrompt,
  type ChatPromptOptions,
  type ChatTemplate,
  type GeneratorFormat,
  type GeneratorFormatOptions,
  type PromptFormat,
} from "./data/chat-prompt.js";
export { readMath, readMath500, readGsm8k, readPrm800k, buildPrm800kSplit, parseLevel, PRM800K_SPLIT_FILES, type Prm800kSplit, type Prm800kReadResult } from "./data/adapters.js";
export { toSftExamples, sftCompletion, type SftOptions, type SftResult } from "./data/sft.js";
export { computeStats, formatStats, answerType, type ProblemStats } from "./data/stats.js";
export { synthesizeWorld, synthToProblem, drawSynthItem, checkSynthItem, ALPHABET as SYNTH_ALPHABET, SKILLS as SYNTH_SKILLS, LEVELS as SYNTH_LEVELS, SYNTH_STYLES, type SynthItem, type SynthOptions, type SynthWorld, type SynthStyle, type Skill as SynthSkill } from "./data/synth/world.js";
export { synthLengths, synthLengthReport } from "./data/synth/report.js";
export * from "./select/index.js";
export * from "./metrics/index.js";
export * from "./report/index.js";
export { convertQwen, convertQwenRow, QwenRowSchema, type QwenImport, type QwenOptions, type QwenRow, type ScoreReduce } from "./data/qwen.js";
export { Backend, defaultThreads, listDevices, cpuVariant, type BackendOptions, type DeviceInfo } from "./engine/backend.js";
export { Context, Tensor, setF32, setI32, getF32, zeroTensor, type ContextOptions } from "./engine/tensor.js";
export { StaticGraph, graphBytes, DEFAULT_GRAPH_SIZE } from "./engine/graph.js";
export { Tape, type MatmulGradMode, type RopeParams } from "./engine/autograd.js";
export { AdamW, adamwConfig, type AdamWOptions, type AdamWConfig } from "./engine/optimizer.js";
export { llamaHidden, llamaLogits, llamaTensors, maskedNll, trainFlopsPerToken, type LlamaTensors, type BatchInputs, type LossInputs } from "./model/llama.js";
export { TrainSession, type Batch, type SessionOptions, type SessionLoss, type StepReport } from "./train/session.js";
export { lrAt, validateSchedule, type ScheduleOptions } from "./train/schedule.js";
export { BatchStream, encodeExamples, packRows, makeBatch, attentionInputs, splitTrainVal, validationBatches, type EncodedExample, type Row, type StreamState } from "./train/data.js";
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, type CheckpointState, type CheckpointData, type OptimizerState } from "./train/checkpoints.js";
export { runSft, resolveSftOptions, readSftData, type SftOptions as SftTrainOptions, type SftResult as SftTrainResult, type SftEvent, type SftHooks } from "./train/sft.js";
export { runSftInChild, type ChildRunOptions } from "./train/runner.js";
export type { Sampler, Scorer, SamplerCapabilities, GenerateOptions, Completion, ContinuationLogprobs } from "./sample/types.js";
export { LocalModel, type LocalModelOptions } from "./sample/local.js";
export { HttpSampler, OpenAiClient, probeServer, parseCompletionReply, type HttpSamplerOptions, type ServerCapabilities } from "./sample/http.js";
export { evaluatorScore, sequenceLogLikelihood, scoreFromLogprobs, type EvaluatorScore, type EvaluatorScoreOptions } from "./sample/scoring.js";
export { startServer, type ServeOptions, type RunningServer } from "./sample/server.js";
export { runSampling, sampleSeed, type SamplingRunOptions, type SamplingRunResult } from "./sample/run.js";
export { getLlamaCpu, defaultThreads as defaultSamplingThreads } from "./sample/llama.js";
export { buildEvaluatorData, labelTokens, parseLabelWords, encodeEvaluatorInput, packEvaluatorBatch, packSequencePairBatch, type SequencePairItem, type SequencePairBatch, type EvaluatorItem, type EvaluatorBatch, type EvaluatorBatchShape, type EvaluatorSlots, type EvaluatorData, type EvaluatorDataOptions, type EvaluatorLabelWords, type LabelTokens } from "./train/evaluator-data.js";
export { evaluatorLoss as evaluatorLossGraph, labelReadout, newEvaluatorLossInputs, sequenceContrastiveLoss as sequenceContrastiveLossGraph, newSequenceContrastiveInputs, EVALUATOR_LOSS_KINDS, type EvaluatorLossKind, type TrainerLossKind, type EvaluatorLossOptions, type EvaluatorLossInputs, type LabelReadout, type SequenceContrastiveInputs } from "./train/evaluator-graph.js";
export { runScoring, topKMembers, type ScoringRunOptions, type ScoringRunResult } from "./sample/score-run.js";
export { gradeSamplesFile, type SamplesGradeSummary } from "./grade/samples-file.js";
export { graderEquivalence, graderRegrader } from "./grade/equivalence.js";
export { runEval, type EvalRunOptions, type EvalRunResult } from "./metrics/run.js";
export { runEvaluatorTraining, splitProblems, logScoresFromLogits, asCrossEntropyBatch, evaluatorSessionLoss, sequenceContrastiveSessionLoss, type SessionLossHook, type EvaluatorTrainOptions, type EvaluatorTrainResult } from "./train/evaluator.js";
export { runMtsf, parseStages, type MtsfOptions, type MtsfResult, type MtsfStageKind } from "./train/mtsf.js";
export { SftSettingsSchema, EvaluatorSettingsSchema, TRAINER_LOSS_KINDS, defaultLr, defaultWarmup, defaultEvalEvery, defaultSlots, defaultSftSeqLen, defaultEvaluatorSeqLen, defaultOf, parseSettings, type SftSettings, type EvaluatorSettings } from "./train/settings.js";
export { checkpointToResume, checkFrozenSettings, checkFinite, trimMetrics, runFolderState } from "./train/scaffold.js";
export * as evaluatorLoss from "./train/evaluator-loss.js";
export * from "./recipe/index.js";
