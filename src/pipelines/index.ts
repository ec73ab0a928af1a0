/** Inference pipelines: text classification, token classification, fill-mask, feature extraction. */
export { pipeline, PIPELINE_TASKS } from './pipeline.js';
export { PipelineError, type PipelineErrorCode } from './errors.js';
export { textClassificationPipeline } from './text-classification.js';
export { tokenClassificationPipeline } from './token-classification.js';
export { fillMaskPipeline } from './fill-mask.js';
export { featureExtractionPipeline } from './feature-extraction.js';
export { aggregateTokens, resolveOverlaps, type AggregationContext, type TokenScores } from './aggregation.js';
export type * from './types.js';
