/**
 * The opinion monitor's records: documents as they arrive and as they are stored with their
 * predictions, the per-window aggregates kept for every dimension, alerts, and the store that
 * holds them (SQLite embedded, PostgreSQL for several workers).
 */

/** A document as it arrives (from a file, `POST /v1/ingest` or a Redis stream). */
export interface IncomingDocument {
  /** Unique id: a document written twice is stored (and counted) once. */
  readonly id: string;
  readonly text: string;
  /** Milliseconds since the Unix epoch (UTC). */
  readonly timestamp: number;
  /** Where it came from (a feed, a site); `unknown` when not given. */
  readonly source?: string;
  /** Any other fields of the input row, kept as they are. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** An entity found in a document by the token-classification model. */
export interface EntityMention {
  /** The entity as the aggregates key it: its words, whitespace collapsed, lower case. */
  readonly name: string;
  /** As written in the text. */
  readonly text: string;
  /** The entity group (`ORG`, `PER`, ...). */
  readonly type: string;
  readonly score: number;
}

/** A document with its predictions, as stored. */
export interface ClassifiedDocument extends IncomingDocument {
  /** The most probable label. */
  readonly label: string;
  /** Its probability. */
  readonly score: number;
  /** The probability of every label. */
  readonly scores: Readonly<Record<string, number>>;
  /**
   * Sentiment in [-1, 1] (P(positive) − P(negative) under the configured label polarities), or
   * null when the labels have no polarity.
   */
  readonly sentiment: number | null;
  /** Distinct entities (by name); empty without an entity model. */
  readonly entities: readonly EntityMention[];
}

/** A stored document. */
export interface StoredDocument extends ClassifiedDocument {
  /** When the store received it (milliseconds since the epoch). */
  readonly storedAt: number;
}

/**
 * What aggregates are kept by: `all` (one series, value `*`), `source`, `entity` (one series per
 * entity name; a document counts once in each of its entities) and `label` (one series per label).
 */
export const DIMENSIONS = ['all', 'source', 'entity', 'label'] as const;
/** A name of {@link DIMENSIONS}. */
export type Dimension = (typeof DIMENSIONS)[number];

/** The value of the `all` dimension's single series. */
export const ALL = '*';

/** One series: a dimension and one of its values. */
export interface SeriesKey {
  readonly dimension: Dimension;
  readonly value: string;
}

/** The values of a document in each dimension (what its aggregates are added to). */
export function dimensionValues(doc: ClassifiedDocument): Record<Dimension, string[]> {
  return {
    all: [ALL],
    source: [doc.source ?? 'unknown'],
    entity: [...new Set(doc.entities.map((e) => e.name))],
    label: [doc.label],
  };
}

/** The counts of one window of one series. */
export interface WindowAggregate extends SeriesKey {
  /** Window length, milliseconds. */
  readonly windowMs: number;
  /** Window start (a multiple of `windowMs` since the epoch), milliseconds. */
  readonly windowStart: number;
  /** Documents in the window. */
  readonly count: number;
  /** Documents per predicted label (labels with none are absent). */
  readonly labelCounts: Readonly<Record<string, number>>;
  /** Sum of the documents' `sentiment` over those that have one, and how many have one. */
  readonly sentimentSum: number;
  readonly sentimentCount: number;
}

/** The start of the window of length `windowMs` that holds `timestamp`. */
export function windowStartOf(timestamp: number, windowMs: number): number {
  return Math.floor(timestamp / windowMs) * windowMs;
}

/** What a watch measures on a series: its volume, or the share of one label. */
export type Metric = 'volume' | 'share';

/** An example document carried by an alert. */
export interface AlertExample {
  readonly id: string;
  readonly text: string;
  readonly label: string;
  readonly score: number;
  readonly timestamp: number;
}

/** Alert severity, lowest first. */
export const SEVERITIES = ['low', 'medium', 'high'] as const;
/** A name of {@link SEVERITIES}. */
export type AlertSeverity = (typeof SEVERITIES)[number];

/** An alert as the watcher raises it. */
export interface NewAlert extends SeriesKey {
  /** Deduplication key: the watch, series and direction (`negative-share|entity|acme|up`). */
  readonly key: string;
  /** The watch (configured detector) that raised it. */
  readonly watch: string;
  /** The detector algorithm (`ewma`, `page-hinkley`, ...). */
  readonly detector: string;
  readonly metric: Metric;
  /** For a share metric: the label whose share moved. */
  readonly label: string | null;
  readonly windowMs: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly observed: number;
  readonly expected: number;
  readonly score: number;
  readonly threshold: number;
  readonly direction: 'up' | 'down';
  readonly severity: AlertSeverity;
  /** Documents of the window (for a share alert: of the label), most confident first. */
  readonly examples: readonly AlertExample[];
  /** When it was raised (milliseconds since the epoch). */
  readonly raisedAt: number;
}

/** How an alert's delivery went. */
export type AlertDelivery = 'pending' | 'delivered' | 'failed' | 'suppressed' | 'none';

/** A stored alert. */
export interface AlertRecord extends NewAlert {
  readonly id: number;
  /**
   * `delivered`: every target answered 2xx; `failed`: a target still failed after the retries;
   * `suppressed`: a duplicate within the cooldown (stored, not sent); `none`: no target wanted it
   * (below their severity); `pending`: not sent yet.
   */
  readonly delivery: AlertDelivery;
  /** Webhook attempts made, over all targets. */
  readonly attempts: number;
  /** The last delivery error, if any. */
  readonly error: string | null;
}

/** A query for one series' windows. */
export interface SeriesQuery extends SeriesKey {
  readonly windowMs: number;
  /** Earliest window start included (default: all). */
  readonly from?: number;
  /** Windows starting before this (default: all). */
  readonly to?: number;
}

/** A query for documents (the top texts of a window, a series' examples). */
export interface DocumentQuery {
  /** Default: every document. */
  readonly series?: SeriesKey;
  /** Timestamps from (inclusive) ... */
  readonly from?: number;
  /** ... to (exclusive). */
  readonly to?: number;
  /** Only documents predicted as this label. */
  readonly label?: string;
  /** `score` (most confident first, the default) or `time` (newest first). */
  readonly order?: 'score' | 'time';
  /** Default 10. */
  readonly limit?: number;
}

/** A query for alerts, newest first. */
export interface AlertQuery {
  readonly series?: SeriesKey;
  /** Window starts from ... */
  readonly from?: number;
  /** ... to (exclusive). */
  readonly to?: number;
  /** Only alerts with an id above this (what a live view has not seen yet). */
  readonly afterId?: number;
  /** Default 100. */
  readonly limit?: number;
}

/** What a write did. */
export interface WriteResult {
  /** Ids stored now. */
  readonly inserted: readonly string[];
  /** Ids that were stored already (not counted again). */
  readonly duplicates: readonly string[];
}

/** Where the monitor keeps its documents, aggregates, alerts and detector states. */
export interface MonitorStore {
  /**
   * Stores documents with their predictions and adds each new one to the aggregates of every
   * window length in `windowsMs` and every dimension, in one transaction: after a crash either
   * all of a batch is stored and counted or none of it. A document whose id is stored already
   * (also twice in one batch) is skipped and not counted again.
   */
  write(docs: readonly ClassifiedDocument[]): Promise<WriteResult>;
  /** Stored documents. */
  documentCount(): Promise<number>;
  /** The latest document timestamp stored, or null when empty. */
  latestTimestamp(): Promise<number | null>;
  /** The windows of one series that have documents, oldest first. */
  series(query: SeriesQuery): Promise<WindowAggregate[]>;
  /** The values of a dimension with their document counts over windows of `windowMs` in [from, to), most documents first. */
  values(dimension: Dimension, options: { windowMs: number; from?: number; to?: number; limit?: number }): Promise<{ value: string; count: number }[]>;
  /** Documents, as the query asks. */
  documents(query: DocumentQuery): Promise<StoredDocument[]>;
  /** Stores an alert and returns it with its id. */
  addAlert(alert: NewAlert, delivery: AlertDelivery): Promise<AlertRecord>;
  /** Records how an alert's delivery went. */
  updateAlertDelivery(id: number, delivery: AlertDelivery, attempts: number, error: string | null): Promise<void>;
  /** Alerts, newest first. */
  alerts(query?: AlertQuery): Promise<AlertRecord[]>;
  /** The newest alert with this deduplication key, if any (cooldowns). */
  lastAlert(key: string): Promise<AlertRecord | undefined>;
  /** A saved JSON value (detector states, watermarks), or undefined. */
  getState(key: string): Promise<unknown>;
  /** Saves a JSON value under `key`. */
  setState(key: string, value: unknown): Promise<void>;
  close(): Promise<void>;
}
