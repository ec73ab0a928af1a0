/**
 * The monitor: documents in (classified in batches, stored once each with their aggregates),
 * closed windows scored by the watches, alerts stored and delivered. One object per process;
 * several processes (workers) may share one PostgreSQL store, with one of them detecting.
 */
import { EventEmitter } from 'node:events';
import { AlertDispatcher } from './alerts.js';
import { DocumentClassifier } from './classify.js';
import type { MonitorConfig } from './config.js';
import { readDocumentBatches } from './documents.js';
import { openMonitorStore } from './store/index.js';
import type { IngestResult } from './server.js';
import type { AlertRecord, IncomingDocument, MonitorStore } from './types.js';
import { Watcher } from './watcher.js';

export type { IngestResult };

/** What a detection round did. */
export interface DetectResult {
  /** Windows scored, over all watches and series. */
  readonly windows: number;
  /** Alerts raised, as stored (with their delivery). */
  readonly alerts: AlertRecord[];
}

/** Parts to use instead of the ones the configuration names (tests, embedding). */
export interface MonitorParts {
  readonly store?: MonitorStore;
  readonly classifier?: DocumentClassifier;
  /** ONNX Runtime threads (default: the configuration's). */
  readonly threads?: number;
  /** The clock alerts are stamped with. */
  readonly now?: () => number;
}

/**
 * Events: `documents` (an {@link IngestResult} after each write), `alert` (each stored
 * {@link AlertRecord}).
 */
export class Monitor extends EventEmitter {
  private readonly dispatcher: AlertDispatcher;
  private readonly watcher: Watcher;
  private detecting: Promise<DetectResult> | null = null;
  private closed = false;

  private constructor(
    readonly config: MonitorConfig,
    readonly store: MonitorStore,
    readonly classifier: DocumentClassifier,
    private readonly owns: { store: boolean; classifier: boolean },
    now: () => number,
  ) {
    super();
    this.watcher = new Watcher(store, config.watches, { examples: config.alerts.examples, now });
    this.dispatcher = new AlertDispatcher(store, {
      targets: config.alerts.targets,
      cooldownMs: config.alerts.cooldownMs,
      retries: config.alerts.retries,
      timeoutMs: config.alerts.timeoutMs,
    });
  }

  /** Opens the store and loads the models the configuration names. */
  static async open(config: MonitorConfig, parts: MonitorParts = {}): Promise<Monitor> {
    const store = parts.store ?? (await openMonitorStore(config.database, { windowsMs: config.windowsMs }));
    let classifier = parts.classifier;
    try {
      const threads = parts.threads ?? config.threads;
      classifier ??= await DocumentClassifier.load({
        model: config.model,
        entities: config.entities,
        polarity: config.polarity,
        batchSize: config.batchSize,
        ...(threads ? { threads } : {}),
      });
    } catch (e) {
      if (!parts.store) await store.close();
      throw e;
    }
    return new Monitor(config, store, classifier, { store: !parts.store, classifier: !parts.classifier }, parts.now ?? Date.now);
  }

  /** Classifies and stores documents (a document stored before, by id, is skipped). */
  async ingest(docs: readonly IncomingDocument[]): Promise<IngestResult> {
    let inserted = 0;
    let duplicates = 0;
    for (let i = 0; i < docs.length; i += this.config.batchSize) {
      const classified = await this.classifier.classify(docs.slice(i, i + this.config.batchSize));
      const r = await this.store.write(classified);
      inserted += r.inserted.length;
      duplicates += r.duplicates.length;
    }
    const result = { accepted: docs.length, inserted, duplicates };
    this.emit('documents', result);
    return result;
  }

  /**
   * Scores the windows closed by `watermark` (default: now minus the configured lateness) and
   * delivers the alerts. Rounds never overlap: a call during a round waits for it.
   */
  async detect(watermark: number = Date.now() - this.config.latenessMs): Promise<DetectResult> {
    while (this.detecting) await this.detecting.catch(() => undefined);
    const round = (async () => {
      const { windows, alerts } = await this.watcher.advance(watermark);
      const stored: AlertRecord[] = [];
      for (const a of alerts) {
        const record = await this.dispatcher.dispatch(a);
        stored.push(record);
        this.emit('alert', record);
      }
      return { windows, alerts: stored };
    })();
    this.detecting = round;
    try {
      return await round;
    } finally {
      this.detecting = null;
    }
  }

  /**
   * Processes a file's history at full speed with its own timestamps: each batch is stored, then
   * the windows its latest timestamp closes are scored. `onBatch` sees the progress.
   */
  async replay(file: string, onBatch?: (progress: ReplayProgress) => void): Promise<ReplayResult> {
    const started = performance.now();
    let accepted = 0;
    let inserted = 0;
    let duplicates = 0;
    let windows = 0;
    const alerts: AlertRecord[] = [];
    let watermark = Number.NEGATIVE_INFINITY;
    for await (const batch of readDocumentBatches(file, this.config.input, Math.max(this.config.batchSize, 256))) {
      const r = await this.ingest(batch);
      accepted += r.accepted;
      inserted += r.inserted;
      duplicates += r.duplicates;
      for (const d of batch) if (d.timestamp > watermark) watermark = d.timestamp;
      const round = await this.detect(watermark);
      windows += round.windows;
      alerts.push(...round.alerts);
      onBatch?.({ accepted, inserted, duplicates, alerts: alerts.length, watermark, seconds: (performance.now() - started) / 1000 });
    }
    // The file is over: its last windows are closed too.
    if (Number.isFinite(watermark)) {
      const end = Math.max(...this.config.watches.map((w) => Math.floor(watermark / w.windowMs) * w.windowMs + w.windowMs), watermark);
      const round = await this.detect(end);
      windows += round.windows;
      alerts.push(...round.alerts);
    }
    const seconds = (performance.now() - started) / 1000;
    return { accepted, inserted, duplicates, windows, alerts, seconds, documentsPerSecond: accepted / Math.max(seconds, 1e-9) };
  }

  /** Waits for alert deliveries and detection in flight, then frees the models and the store (those it opened). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.detecting?.catch(() => undefined);
    await this.dispatcher.close();
    if (this.owns.classifier) await this.classifier.dispose();
    if (this.owns.store) await this.store.close();
  }
}

/** Progress of a replay, after each batch. */
export interface ReplayProgress {
  readonly accepted: number;
  readonly inserted: number;
  readonly duplicates: number;
  readonly alerts: number;
  /** The latest timestamp read so far. */
  readonly watermark: number;
  readonly seconds: number;
}

/** What a replay did. */
export interface ReplayResult extends IngestResult {
  readonly windows: number;
  readonly alerts: AlertRecord[];
  readonly seconds: number;
  readonly documentsPerSecond: number;
}
