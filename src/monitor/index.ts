/**
 * The opinion monitor: documents classified, stored with per-window aggregates (SQLite or
 * PostgreSQL), queued across workers on Redis Streams, watched by change detectors, alerted to
 * webhooks and charted on a dashboard.
 */
export * from './detect/index.js';
export * from './types.js';
export { MonitorError } from './errors.js';
export {
  type AlertTargetConfig,
  type InputFields,
  MONITOR_CONFIG_SCHEMA,
  type MonitorConfig,
  type WatchConfig,
  loadMonitorConfig,
  parseMonitorConfig,
  polarityFor,
} from './config.js';
export { type ClassifierOptions, DocumentClassifier, entityName } from './classify.js';
export { DEFAULT_INPUT_FIELDS, DOCUMENT_FILE_TYPES, derivedId, parseTimestamp, readDocumentBatches, toDocument } from './documents.js';
export { type WatchRound, Watcher, type WatcherOptions } from './watcher.js';
export { type DetectResult, type IngestResult, Monitor, type MonitorParts, type ReplayProgress, type ReplayResult } from './monitor.js';
export { AlertDispatcher, type AlertDispatcherOptions, type AlertPayload, type AlertTarget, alertPayload, formatAlert } from './alerts.js';
export * from './store/index.js';
export * from './queue/index.js';
export { type IngestFunction, type MonitorServer, type MonitorServerOptions, type SeriesWindow, createMonitorServer, parseIngestBody, windowName } from './server.js';
export {
  type ChangePoint,
  type LabelledText,
  type LoadLabelledTextsOptions,
  type SimulateOptions,
  type SimulatedStream,
  type StreamShift,
  loadLabelledTexts,
  seededUniform,
  simulateStream,
} from './simulate.js';
export { type ChangeScore, type DetectionScore, type ScoreOptions, type ScoredAlert, type ScoredChange, scoreDetections } from './detection-score.js';
