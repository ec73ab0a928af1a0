// The customer-service assistant: configuration, training, understanding, dialogue, storage, HTTP service and evaluation.
export { AssistantError } from './errors.js';
export {
  CONFIG_SCHEMA,
  DEFAULT_MESSAGES,
  OUT_OF_SCOPE_CLASS,
  type AssistantConfig,
  type FaqEntry,
  type IntentConfig,
  type Threshold,
  loadConfig,
  readFaq,
  resolveConfig,
  validateConfig,
} from './config.js';
export {
  type Decision,
  type DecisionThresholds,
  type TunedThresholds,
  type TuningExample,
  decide,
  expectedCalibrationError,
  fitTemperature,
  negativeLogLikelihood,
  softmax,
  topTwoIntents,
  tuneSimilarity,
  type SimilarityExample,
  tuneThresholds,
} from './calibration.js';
export { CENTROIDS_FILE, type IntentCentroids, intentCentroids, loadCentroids, nearestCentroidCosine, saveCentroids } from './similarity.js';
export { REDACTED, type Redaction, isPhone, luhnValid, redact, redactDetailed, redactSlots } from './redact.js';
export type { AssistantStore, FeedbackRecord, MessageRecord, NewFeedback, NewMessage, Role, SessionContext, SessionRecord } from './store.js';
export { SlotFiller, type SlotValues, type SlotsManifest, fillPlaceholders, missingSlots, slotPrompt, slotsFromEntities } from './slots.js';
export { SQLITE_SCHEMA_VERSION, SqliteStore } from './sqlite-store.js';
export { PostgresStore, isPostgresUrl, openAssistantStore } from './postgres-store.js';
export { type FeedbackExamples, type RetrainOptions, type RetrainResult, configWithFeedback, extendClassifier, feedbackExamples, retrainAssistant } from './retrain.js';
export { ModelSwitch, type ModelSwitchOptions, type ReloadResult } from './model-switch.js';
export { CLASSIFIER_DIR, CURRENT, FAQ_DIR, MANIFEST, VERSIONS, listVersions, nextVersion, resolveVersionDir, setCurrentVersion } from './versions.js';
export { type AssistantManifest, type TrainAssistantOptions, type TrainAssistantResult, faqDocuments, trainAssistant } from './train.js';
export { type FaqMatch, type LoadNluOptions, Nlu, type ScoredIntent, type Understanding } from './nlu.js';
export { type HandoffPayload, type HandoffResult, handoffPayload, postHandoff } from './handoff.js';
export { Dialogue, type DialogueObserver, type DialogueOptions, type Reply, type ReplyKind, type ReplySource, intentTitle } from './dialogue.js';
export { AssistantMetrics, type AssistantServer, type AssistantServerOptions, createAssistantServer } from './server.js';
export { type FaqEvaluation, type IntentEvaluation, OUT_OF_SCOPE_LABELS, evaluateFaq, evaluateIntents, matthews, readFaqQueries, readLabelled } from './evaluate.js';
export { EXAMPLE_FILES, initAssistant } from './init.js';
