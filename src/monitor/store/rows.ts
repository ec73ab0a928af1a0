/**
 * What both stores share: checking documents before a write, the aggregate increments a batch
 * makes (in one fixed key order, so that concurrent writers lock rows in the same order), and
 * turning database rows back into records.
 */
import { MonitorError } from '../errors.js';
import {
  type AlertDelivery,
  type AlertRecord,
  type ClassifiedDocument,
  DIMENSIONS,
  type Dimension,
  dimensionValues,
  type NewAlert,
  type StoredDocument,
  windowStartOf,
} from '../types.js';

/** The schema version both stores write (SQLite `PRAGMA user_version`, PostgreSQL `monitor_schema`). */
export const SCHEMA_VERSION = 2;

/** Default `limit` of `documents()`, `values()` and `alerts()`. */
export const DEFAULT_DOCUMENT_LIMIT = 10;
export const DEFAULT_VALUES_LIMIT = 100;
export const DEFAULT_ALERT_LIMIT = 100;

/** The increments of one aggregate row. */
export interface AggregateDelta {
  readonly dimension: Dimension;
  readonly value: string;
  readonly windowMs: number;
  readonly windowStart: number;
  count: number;
  sentimentSum: number;
  sentimentCount: number;
}

/** The increment of one label count of one aggregate row. */
export interface LabelDelta {
  readonly dimension: Dimension;
  readonly value: string;
  readonly windowMs: number;
  readonly windowStart: number;
  readonly label: string;
  count: number;
}

/** Checks the window lengths a store is opened with. */
export function checkWindows(windowsMs: readonly number[]): number[] {
  if (!Array.isArray(windowsMs) || windowsMs.length === 0) {
    throw new MonitorError('invalid_config', 'windowsMs must list at least one window length in milliseconds (e.g. [3600000])', { field: 'windowsMs' });
  }
  windowsMs.forEach((w, i) => {
    if (!Number.isSafeInteger(w) || w <= 0) {
      throw new MonitorError('invalid_config', `windowsMs[${i}] is ${String(w)}: a window length is a positive whole number of milliseconds`, { field: `windowsMs[${i}]` });
    }
  });
  return [...new Set(windowsMs)].sort((a, b) => a - b);
}

/** Checks the fields a store relies on; the message names the document's index and field. */
export function checkDocuments(docs: readonly ClassifiedDocument[]): void {
  if (!Array.isArray(docs)) throw new MonitorError('invalid_input', 'write() takes an array of classified documents', { field: 'documents' });
  docs.forEach((d, i) => {
    const bad = (field: string, what: string) => new MonitorError('invalid_input', `documents[${i}].${field} ${what}`, { field: `documents[${i}].${field}` });
    if (typeof d?.id !== 'string' || d.id === '') throw bad('id', 'must be a non-empty string');
    if (typeof d.text !== 'string') throw bad('text', 'must be a string');
    if (!Number.isSafeInteger(d.timestamp)) throw bad('timestamp', `is ${String(d.timestamp)}: give whole milliseconds since the epoch`);
    if (d.source !== undefined && typeof d.source !== 'string') throw bad('source', 'must be a string when given');
    if (typeof d.label !== 'string' || d.label === '') throw bad('label', 'must be a non-empty string');
    if (!Number.isFinite(d.score)) throw bad('score', 'must be a finite number');
    if (d.sentiment !== null && !Number.isFinite(d.sentiment)) throw bad('sentiment', 'must be a finite number or null');
    if (!Array.isArray(d.entities)) throw bad('entities', 'must be an array (empty without an entity model)');
  });
}

function compareKeys(a: { dimension: string; value: string; windowMs: number; windowStart: number }, b: typeof a): number {
  if (a.dimension !== b.dimension) return a.dimension < b.dimension ? -1 : 1;
  if (a.value !== b.value) return a.value < b.value ? -1 : 1;
  if (a.windowMs !== b.windowMs) return a.windowMs - b.windowMs;
  return a.windowStart - b.windowStart;
}

/** The aggregate and label-count increments of newly stored documents, each list sorted by key. */
export function aggregateDeltas(docs: readonly ClassifiedDocument[], windowsMs: readonly number[]): { aggregates: AggregateDelta[]; labels: LabelDelta[] } {
  const aggregates = new Map<string, AggregateDelta>();
  const labels = new Map<string, LabelDelta>();
  for (const doc of docs) {
    const values = dimensionValues(doc);
    for (const windowMs of windowsMs) {
      const windowStart = windowStartOf(doc.timestamp, windowMs);
      for (const dimension of DIMENSIONS) {
        for (const value of values[dimension]) {
          const key = JSON.stringify([dimension, value, windowMs, windowStart]);
          let a = aggregates.get(key);
          if (!a) aggregates.set(key, (a = { dimension, value, windowMs, windowStart, count: 0, sentimentSum: 0, sentimentCount: 0 }));
          a.count += 1;
          if (doc.sentiment !== null) {
            a.sentimentSum += doc.sentiment;
            a.sentimentCount += 1;
          }
          const lkey = JSON.stringify([dimension, value, windowMs, windowStart, doc.label]);
          let l = labels.get(lkey);
          if (!l) labels.set(lkey, (l = { dimension, value, windowMs, windowStart, label: doc.label, count: 0 }));
          l.count += 1;
        }
      }
    }
  }
  return {
    aggregates: [...aggregates.values()].sort(compareKeys),
    labels: [...labels.values()].sort((a, b) => compareKeys(a, b) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)),
  };
}

/** The distinct entity names of a document (its rows in the document-entity table). */
export function entityNames(doc: ClassifiedDocument): string[] {
  return dimensionValues(doc).entity;
}

/** A document row as both stores select it. */
export interface DocumentRow {
  id: string;
  ts: number;
  source: string;
  text: string;
  label: string;
  score: number;
  scores: string;
  sentiment: number | null;
  entities: string;
  meta: string | null;
  stored_at: number;
}

/** The columns of {@link DocumentRow}, in table order. */
export const DOCUMENT_COLUMNS = ['id', 'ts', 'source', 'text', 'label', 'score', 'scores', 'sentiment', 'entities', 'meta', 'stored_at'] as const;

/**
 * The row of a document. A NUL character in the text (which PostgreSQL's text type cannot hold) is
 * stored as U+FFFD in both stores, so that both give the same text back.
 */
export function documentRow(doc: ClassifiedDocument, storedAt: number): DocumentRow {
  return {
    id: doc.id,
    ts: doc.timestamp,
    source: doc.source ?? 'unknown',
    text: doc.text.includes('\u0000') ? doc.text.replaceAll('\u0000', '\uFFFD') : doc.text,
    label: doc.label,
    score: doc.score,
    scores: JSON.stringify(doc.scores ?? {}),
    sentiment: doc.sentiment,
    entities: JSON.stringify(doc.entities),
    meta: doc.meta === undefined ? null : JSON.stringify(doc.meta),
    stored_at: storedAt,
  };
}

/** A stored document from its row (a document stored without a source has source `unknown`). */
export function documentFromRow(r: DocumentRow): StoredDocument {
  return {
    id: r.id,
    text: r.text,
    timestamp: Number(r.ts),
    source: r.source,
    ...(r.meta === null ? {} : { meta: JSON.parse(r.meta) as Record<string, unknown> }),
    label: r.label,
    score: r.score,
    scores: JSON.parse(r.scores) as Record<string, number>,
    sentiment: r.sentiment,
    entities: JSON.parse(r.entities) as StoredDocument['entities'],
    storedAt: Number(r.stored_at),
  };
}

/** An alert row as both stores select it. */
export interface AlertRow {
  id: number;
  key: string;
  watch: string;
  detector: string;
  metric: string;
  label: string | null;
  dimension: string;
  value: string;
  window_ms: number;
  window_start: number;
  window_end: number;
  observed: number;
  expected: number;
  score: number;
  threshold: number;
  direction: string;
  severity: string;
  examples: string;
  raised_at: number;
  delivery: string;
  attempts: number;
  error: string | null;
}

/** The columns an insert of an alert gives, in this order. */
export const ALERT_INSERT_COLUMNS = [
  'key',
  'watch',
  'detector',
  'metric',
  'label',
  'dimension',
  'value',
  'window_ms',
  'window_start',
  'window_end',
  'observed',
  'expected',
  'score',
  'threshold',
  'direction',
  'severity',
  'examples',
  'raised_at',
  'delivery',
  'attempts',
  'error',
] as const;

/** The values of a new alert in {@link ALERT_INSERT_COLUMNS} order. */
export function alertValues(a: NewAlert, delivery: AlertDelivery): unknown[] {
  return [
    a.key,
    a.watch,
    a.detector,
    a.metric,
    a.label,
    a.dimension,
    a.value,
    a.windowMs,
    a.windowStart,
    a.windowEnd,
    a.observed,
    a.expected,
    a.score,
    a.threshold,
    a.direction,
    a.severity,
    JSON.stringify(a.examples ?? []),
    a.raisedAt,
    delivery,
    0,
    null,
  ];
}

/** A stored alert from its row. */
export function alertFromRow(r: AlertRow): AlertRecord {
  return {
    id: Number(r.id),
    key: r.key,
    watch: r.watch,
    detector: r.detector,
    metric: r.metric as AlertRecord['metric'],
    label: r.label,
    dimension: r.dimension as Dimension,
    value: r.value,
    windowMs: Number(r.window_ms),
    windowStart: Number(r.window_start),
    windowEnd: Number(r.window_end),
    observed: r.observed,
    expected: r.expected,
    score: r.score,
    threshold: r.threshold,
    direction: r.direction as AlertRecord['direction'],
    severity: r.severity as AlertRecord['severity'],
    examples: JSON.parse(r.examples) as AlertRecord['examples'],
    raisedAt: Number(r.raised_at),
    delivery: r.delivery as AlertDelivery,
    attempts: Number(r.attempts),
    error: r.error,
  };
}

/** Text for a state value; `undefined` cannot be saved (`getState` answers undefined for a missing key). */
export function stateText(key: string, value: unknown): string {
  const text = JSON.stringify(value);
  if (typeof text !== 'string') throw new MonitorError('invalid_input', `state "${key}": the value is not JSON (undefined or a function); give a JSON value`, { field: key });
  return text;
}

/** Documents read back per page when a new window length is counted for the documents stored before it. */
export const BACKFILL_PAGE = 20_000;

/** The fields of a stored document that its aggregates depend on, as a backfill reads them. */
export interface BackfillRow {
  id: string;
  ts: number | string;
  source: string;
  label: string;
  sentiment: number | null;
  entities: string;
}

/** The documents of backfill rows, enough for {@link aggregateDeltas}. */
export function backfillDocuments(rows: readonly BackfillRow[]): ClassifiedDocument[] {
  return rows.map((r) => ({
    id: r.id,
    text: '',
    timestamp: Number(r.ts),
    source: r.source,
    label: r.label,
    score: 0,
    scores: {},
    sentiment: r.sentiment,
    entities: JSON.parse(r.entities) as ClassifiedDocument['entities'],
  }));
}
