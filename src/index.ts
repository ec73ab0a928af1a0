/**
 * tuna's library API: build ONNX graphs in TypeScript, differentiate them, run them in ONNX
 * Runtime, and train their parameters.
 */

// Graph builder and ONNX files
// Errors: one base class and a catalogue of codes
export { ERROR_CODES, TunaError, isTunaError, type ErrorCode, type ErrorDetails } from './errors.js';

export { Graph, Value, attr, MS_DOMAIN, toTypedArray } from './onnx/graph.js';
export type { Attribute, CrossEntropyOptions, DropoutOptions, Node, OutputSpec, TensorData, TensorValues } from './onnx/graph.js';
export { ShapeError, formatShape } from './onnx/errors.js';
export { type DType, byteSize, isFloat } from './onnx/dtype.js';
export { type Dim, type Shape, broadcastShapes, isStatic, staticSize } from './onnx/shape.js';
export { DEFAULT_OPSET, OnnxFormatError, loadOnnx, serializeGraph } from './onnx/proto.js';
export type { OnnxModelInfo, OnnxNodeInfo, OnnxValueInfo, SerializeOptions } from './onnx/proto.js';

// Automatic differentiation
export { type GradientOptions, gradients } from './autograd/backward.js';
export { differentiableOps, gradientRule, registerGradient, UnsupportedGradientError } from './autograd/rule.js';
export type { GradContext, GradientRule } from './autograd/rule.js';
export { gradCheck, randomArray } from './autograd/gradcheck.js';
export type { GradCheckOptions, GradCheckResult, GradMismatch } from './autograd/gradcheck.js';

// ONNX Runtime
export { RuntimeError, Session, defaultThreads } from './runtime/session.js';
export type { SessionOptions } from './runtime/session.js';
export { type HostTensor, hostTensor } from './runtime/tensor.js';

// Parameters and layers
export { ParameterScope, ParameterStore, Rng, initValues } from './nn/parameters.js';
export type { Init, Parameter } from './nn/parameters.js';
export { activate, affine, dropout, embedding, layerNorm, linear } from './nn/layers.js';
export { sublayerOutput } from './nn/layers.js';
export type { Activation, BuildContext, EmbeddingLayer, LayerFactory, LinearLayer } from './nn/layers.js';
export { AttentionMask, encoderLayer, selfAttention } from './nn/transformer.js';
export type { EncoderLayerConfig, EncoderLayerNames } from './nn/transformer.js';
export { DropoutMasks } from './nn/dropout.js';
export { ForwardModel, type ForwardOptions } from './nn/forward.js';

// The model registry and the one model object
export {
  HEADS,
  HEAD_FOR_TASK,
  UnsupportedModelError,
  architectureEntry,
  familyOf,
  familyOfConfig,
  headForTask,
  headOfArchitectures,
  modelTypes,
  numLabels,
  registerFamily,
  tasksOfArchitectures,
  tasksOfHead,
} from './models/registry.js';
export type {
  ArchitectureEntry,
  BuildOptions,
  HeadInfo,
  HeadKind,
  LabelKind,
  ModelConfig,
  ModelFamily,
  ModelGraph,
  ModelTask,
  ParameterSpec,
  ProblemType,
  Tokenizer,
} from './models/registry.js';
export { PreTrainedModel } from './models/pretrained-model.js';
export type { FromPretrainedOptions, InferenceOptions, LoadReport, SaveOptions, TrainingGraphOptions } from './models/pretrained-model.js';

// BERT
export { BertConfigError, bertConfig, bertConfigToJson, parseBertConfig } from './models/bert/config.js';
export type { BertConfig, HiddenAct } from './models/bert/config.js';
export { bertModel, buildBert } from './models/bert/modeling.js';
export type { BertInputs } from './models/bert/modeling.js';
export { bertFamily, BERT_ARCHITECTURE_NAMES } from './models/bert/family.js';
export { bertParameters } from './models/bert/parameters.js';

// Training
export { TrainStep } from './train/step.js';
export type { StepResult, TrainStepOptions, TrainingOutputs } from './train/step.js';
export { AdamW, type AdamWOptions, type AdamWState } from './train/adamw.js';
export { type Schedule, constantSchedule, constantWithWarmupSchedule, linearSchedule } from './train/schedule.js';
export { clipCoefficient, globalNorm } from './train/clip.js';
export { TrainingStateError, loadOptimizerState, saveOptimizerState } from './train/state.js';

// Files
export { SafetensorsError, encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from './io/safetensors.js';
export type { NamedTensor, SafetensorsDType } from './io/safetensors.js';
export { writeFileAtomic } from './io/atomic.js';
export { HubError, type HubOptions, resolveModel } from './io/hub.js';

// Checkpoints, tokenizer, prediction
export { CheckpointError, hasWeights, readCheckpoint, readConfig, writeCheckpoint } from './io/checkpoint.js';
export type { Checkpoint, CheckpointContents } from './io/checkpoint.js';
export { matchKeys, normalizeLegacyKey, type KeyMatch, type MatchOptions } from './io/names.js';
export { BertTokenizer, TokenizerError } from './tokenizers/bert-tokenizer.js';
export type { BertTokenizerOptions, EncodeOptions, Encoding, TruncationStrategy } from './tokenizers/bert-tokenizer.js';
export { HfTokenizer, loadHfTokenizer, type HfTokenizerOptions, type SentencePieceFamily, type SentencePieceOptions } from './tokenizers/hf/index.js';
export type { TokenizerSettings } from './tokenizers/types.js';

// Hugging Face-style models and tokenizers
export {
  AutoModel,
  AutoModelForAnyHead,
  AutoModelForMaskedLM,
  AutoModelForNextSentencePrediction,
  AutoModelForPreTraining,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
  AutoTokenizer,
  type AutoModelLoader,
} from './models/auto.js';

// Fine-tuning
export { Trainer, type ComputeMetrics, type TrainerOptions, type TrainOutput, METRICS_LOG, LEARNING_CURVE } from './train/trainer.js';
export {
  type IntervalStrategy,
  type LrSchedulerType,
  type ProgressMode,
  type TrainingArguments,
  TrainingArgumentsError,
  defaultLearningRate,
  resolveArguments,
} from './train/arguments.js';
export type { TrainerCallback, TrainerProgress } from './train/callbacks.js';
export { progressCallback } from './train/progress.js';
export { learningCurveSvg } from './train/curve.js';
export { ResumeError, listCheckpoints } from './train/checkpoints.js';
export { type EvalPrediction, type TaskKind, predictDataset, taskKind } from './train/evaluate.js';
export { type TaskReport, metricsFor, taskReport } from './tasks/reports.js';
export { type DataOptions, type TaskName, featuresOf, labelMapOf, readExamples, splitValidation } from './tasks/prepare.js';
export { seededRandom } from './data/split.js';

// Data
export {
  DataError,
  type Feature,
  LabelMap,
  type TextExample,
  type TokenExample,
  collate,
  loadTextExamples,
  loadTokenExamples,
  planBatches,
  readTextExamples,
  readTokenExamples,
  shuffle,
  stratifiedSplit,
  textFeatures,
  tokenFeatures,
} from './data/index.js';

// Metrics
export {
  type ClassificationReport,
  MetricsError,
  type Scores,
  classificationReport,
  confusionMatrix,
  entityReport,
  extractEntities,
  formatClassificationReport,
  formatConfusionMatrix,
  formatEntityReport,
  multiLabelClassificationReport,
  reportToJson,
  tokenAccuracy,
} from './metrics/index.js';

// Tokenizer training and pre-training
export { countWords, trainWordPiece, trainWordPieceFromCounts, type WordPieceTrainerOptions, type WordPieceTrainingResult } from './tokenizers/wordpiece-trainer.js';
export { TokenStore, readDocuments, tokenizeCorpus } from './pretrain/corpus.js';
export { nspInstances, packedInstances, type PretrainFeature } from './pretrain/instances.js';
export { maskExample, maskedBatch, type MaskingOptions } from './pretrain/masking.js';
export { evaluateMlm, fillMask, type FillMaskCandidate as MlmSampleCandidate } from './pretrain/evaluate.js';
export { bundledModelDir, detectLanguage, hasBundledModel, type BundledLanguage } from './models/bundled.js';

// Sentence embeddings (sentence-transformers layout, pooling, losses, training)
export {
  DENSE_ACTIVATIONS,
  POOLING_MODES,
  embeddingDimension,
  hasSentenceLayout,
  parsePoolingConfig,
  poolingConfigJson,
  readSentenceLayout,
  writeSentenceLayout,
  type DenseActivation,
  type DenseModule,
  type PoolingConfig,
  type PoolingMode,
  type SentenceLayout,
} from './sentence/layout.js';
export { defaultLayout, resolvePrompt, saveSentenceTransformer } from './sentence/model.js';
export { pool, sentenceEmbedding } from './sentence/pooling.js';
export { LOSS_DATA, SENTENCE_LOSSES, sentenceLoss, type SentenceLossName, type SentenceLossOptions } from './sentence/losses.js';
export { readSentenceDataset, type SentenceDataset, type SentenceExample } from './sentence/data.js';
export { compileSentenceTraining, trainSentenceEmbedding, type SentenceTrainingOptions, type SentenceTrainingResult } from './sentence/train.js';
export type { SentenceFeatureExtractionOptions, SentenceFeatureExtractionPipeline, SentencePooling } from './pipelines/feature-extraction.js';
export {
  CROSS_ENCODER_ACTIVATIONS,
  type CrossEncoderActivation,
  type CrossEncoderLayout,
  isCrossEncoderDirectory,
  readCrossEncoderLayout,
  writeCrossEncoderLayout,
} from './sentence/cross-encoder-layout.js';
export {
  type BinaryScores,
  type RankedDocument,
  activate as activateCrossEncoderScore,
  averagePrecision,
  binaryScores,
  rankDocuments,
  saveCrossEncoder,
} from './sentence/cross-encoder.js';
export { textRankingPipeline } from './pipelines/text-ranking.js';
export type { TextRankingInput, TextRankingOptions, TextRankingPipeline, TextRankingPredictOptions, TextRankingResult } from './pipelines/types.js';
export { DEFAULT_HYPOTHESIS_TEMPLATE, ZERO_SHOT_MODES, zeroShotClassificationPipeline } from './pipelines/zero-shot-classification.js';
// Few-shot classification: prompt-based fine-tuning, SetFit-style training, their heads and pipelines
export {
  PROMPT_CONFIG_FILE,
  TEXT_PAIR_SLOT,
  parsePromptConfig,
  parseVerbalizer,
  savePromptModel,
  trainPrompt,
  type PromptConfig,
  type PromptExample,
  type PromptTrainingOptions,
  type PromptTrainingResult,
} from './fewshot/prompt.js';
export { promptClassificationPipeline, promptProbabilities, readPromptConfig } from './fewshot/prompt-pipeline.js';
export { pseudoLabelCount, selectPseudoLabels } from './fewshot/ipet.js';
export { fitLogistic, logisticProbabilities, type LogisticHead, type LogisticOptions } from './fewshot/logistic.js';
export {
  SETFIT_HEADS,
  SETFIT_HEAD_FILE,
  embedTexts,
  fitSetFitHead,
  readSetFitHead,
  setfitClassificationPipeline,
  setfitPairs,
  trainSetFit,
  type SetFitHeadFile,
  type SetFitHeadKind,
  type SetFitTrainingOptions,
  type SetFitTrainingResult,
} from './fewshot/setfit.js';
export { trainDifferentiableHead, type DifferentiableHeadOptions, type DifferentiableHeadResult, type EmbeddingFn } from './fewshot/setfit-head.js';
export { readFewShotData, type FewShotData } from './fewshot/data.js';
export type {
  CandidateLabels,
  ZeroShotClassificationCall,
  ZeroShotClassificationOptions,
  ZeroShotClassificationPipeline,
  ZeroShotClassificationResult,
  ZeroShotMode,
  ZeroShotPipelineOptions,
} from './pipelines/zero-shot-types.js';

// Parameter-efficient fine-tuning (LoRA, BitFit, bottleneck adapters, deep prompts; Hugging Face PEFT's adapter files)
export * from './peft/index.js';

// Search indexes (dense vectors with exact and HNSW search, BM25, hybrid ranking, reranking) and retrieval metrics on BEIR files
export * from './retrieval/index.js';

// Inference pipelines
export {
  PIPELINE_TASKS,
  PipelineError,
  aggregateTokens,
  featureExtractionPipeline,
  fillMaskPipeline,
  pipeline,
  resolveOverlaps,
  textClassificationPipeline,
  tokenClassificationPipeline,
} from './pipelines/index.js';
export type {
  AggregationContext,
  AggregationStrategy,
  CallOptions,
  ClassificationFunction,
  EntityGroup,
  FeatureExtractionCall,
  FeatureExtractionOptions,
  FeatureExtractionPipeline,
  FeatureExtractionResult,
  FillMaskCall,
  FillMaskCandidate,
  FillMaskOptions,
  FillMaskPipeline,
  FillMaskResult,
  GroupedOptions,
  Pipeline,
  PipelineBase,
  PipelineByTask,
  PipelineErrorCode,
  PipelineOptions,
  PipelineTask,
  PooledOptions,
  Pooling,
  TextClassificationCall,
  TextClassificationInput,
  TextClassificationLabel,
  TextClassificationOptions,
  TextClassificationPipeline,
  TextClassificationResult,
  TokenClassificationCall,
  TokenClassificationOptions,
  TokenClassificationPipeline,
  TokenEntity,
  TokenLevelOptions,
  TokenScores,
  TokenVectorsOptions,
} from './pipelines/index.js';

// HTTP service (`tuna serve`)
export {
  createServer,
  startServer,
  resolveServerOptions,
  ServeError,
  ServeConfigError,
  MicroBatcher,
  RequestCancelledError,
  QueueFullError,
  ServeMetrics,
  loadModels,
  parseModelSpec,
  SERVE_ERROR_CODES,
  SERVE_TASKS,
  serveTasksOfArchitectures,
} from './serve/index.js';
export { AdapterRegistry, parseAdapterSpec, type AdapterInfo, type AdapterLease, type AdapterSpec } from './serve/adapters.js';
export { LOCK_FILE, type LockOptions, type OutputLock, lockOutputDir } from './train/output-dir.js';
export { checkReadableFile, fileSystemError, readSmallFile, readSmallTextFile, MAX_CONFIG_BYTES } from './io/files.js';
export { ConfigSchema, DURATION_PATTERN, configFieldPath, formatDuration, parseConfigText, parseDuration, type PatternMessages } from './io/config-file.js';
export type {
  ServerOptions,
  ResolvedServerOptions,
  TunaServer,
  ServeErrorCode,
  ErrorBody,
  BatchRunner,
  BatcherObserver,
  BatcherOptions,
  LoadedModel,
  ModelInfo,
  ModelSpec,
  ServeTask,
} from './serve/index.js';

// ONNX export (`tuna export`)
export {
  exportModel,
  buildExportModel,
  ExportError,
  ExportModel,
  quantizeDynamicInt8,
  convertWeightsToFloat16,
  foldConstants,
  lowerContribOps,
  EXPORT_TASKS,
  ONNX_FILES,
} from './export/index.js';
export type { ExportOptions, ExportResult, ExportedFile, ExportErrorCode, ExportTask, QuantizeOptions, QuantizeReport, ExportGraph } from './export/index.js';

// Change detection for the opinion monitor (src/monitor: streaming detectors, NAB scoring)
export {
  DETECTOR_NAMES,
  DetectorError,
  NAB_PROFILES,
  createDetector,
  hourOfWeek,
  nabNormalize,
  nabNullScore,
  nabOptimizeThreshold,
  nabPerfectScore,
  nabScoreFile,
  nabSweep,
  parseDetectorConfig,
  restoreDetector,
} from './monitor/detect/index.js';
export type {
  ChangeDetector,
  CusumConfig,
  Detection,
  DetectorConfig,
  DetectorName,
  DetectorSettings,
  DetectorState,
  EwmaConfig,
  NabFile,
  NabFileScore,
  NabProfile,
  PageHinkleyConfig,
  RobustZConfig,
  SeasonalConfig,
  Severity,
  StepResult as DetectorStepResult,
  WindowPoint,
} from './monitor/detect/index.js';
