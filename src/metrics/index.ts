/** Classification reports (scikit-learn layout), confusion matrices and entity-level (seqeval) scores. */
export {
  type ClassificationReport,
  MetricsError,
  type ReportOptions,
  type Scores,
  type ZeroDivision,
  classificationReport,
  confusionMatrix,
  formatClassificationReport,
  formatConfusionMatrix,
  multiLabelClassificationReport,
  reportToJson,
} from './classification.js';
export {
  type Entity,
  type EntityMode,
  type EntityReportOptions,
  type TagScheme,
  TAG_SCHEMES,
  canonicalScheme,
  checkScheme,
  detectScheme,
  entityReport,
  entityScores,
  extractEntities,
  extractStrictEntities,
  formatEntityReport,
  tokenAccuracy,
} from './seqeval.js';
export { pyFixed } from './format.js';
