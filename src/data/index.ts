/** Reading labelled data, label maps, splits, tokenized features and batches. */
export { type BadRowPolicy, DataError, SkippedRows } from './errors.js';
export { checkFile, decodedChunks, decodedLines } from './lines.js';
export {
  type DataFormat,
  type ReadOptions,
  type TextColumns,
  type TextExample,
  type TokenExample,
  type TokenReadOptions,
  formatOf,
  loadTextExamples,
  loadTokenExamples,
  readTextExamples,
  readTokenExamples,
} from './examples.js';
export { LabelMap } from './labels.js';
export { seededRandom, shuffle, stratifiedSplit } from './split.js';
export { type Feature, IGNORE_INDEX, textFeatures, tokenFeatures } from './features.js';
export { type BatchPlanOptions, type CollateOptions, collate, planBatches } from './batching.js';
