/**
 * The monitor's embedded store: one SQLite file (WAL journal, so that readers never wait and
 * several processes can write the same file in turn).
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MonitorError } from '../errors.js';
import type {
  AlertDelivery,
  AlertQuery,
  AlertRecord,
  ClassifiedDocument,
  Dimension,
  DocumentQuery,
  MonitorStore,
  NewAlert,
  SeriesQuery,
  StoredDocument,
  WindowAggregate,
  WriteResult,
} from '../types.js';
import { alertsStatement, DOCUMENT_COUNT_SQL, documentsStatement, mergeSeries, seriesStatements, valuesStatement } from './queries.js';
import {
  ALERT_INSERT_COLUMNS,
  type AlertRow,
  aggregateDeltas,
  alertFromRow,
  BACKFILL_PAGE,
  type BackfillRow,
  backfillDocuments,
  alertValues,
  checkDocuments,
  checkWindows,
  DOCUMENT_COLUMNS,
  type DocumentRow,
  documentFromRow,
  documentRow,
  entityNames,
  SCHEMA_VERSION,
  stateText,
} from './rows.js';

/** Options of {@link SqliteMonitorStore}. */
export interface SqliteStoreOptions {
  /**
   * The window lengths (milliseconds) every document is counted in. A length the database did not
   * count yet is counted for the documents stored before (at opening); the lengths it counted
   * already stay counted, also when not given here.
   */
  readonly windowsMs: readonly number[];
  /** How long a write waits for another process's write to finish, milliseconds (default 10,000). */
  readonly busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS monitor_documents (
  id TEXT PRIMARY KEY, ts INTEGER NOT NULL, source TEXT NOT NULL, text TEXT NOT NULL, label TEXT NOT NULL,
  score REAL NOT NULL, scores TEXT NOT NULL, sentiment REAL, entities TEXT NOT NULL, meta TEXT, stored_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_documents_ts ON monitor_documents (ts);
CREATE INDEX IF NOT EXISTS monitor_documents_source_ts ON monitor_documents (source, ts);
CREATE INDEX IF NOT EXISTS monitor_documents_label_ts ON monitor_documents (label, ts);
CREATE TABLE IF NOT EXISTS monitor_document_entities (
  entity TEXT NOT NULL, doc_id TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (entity, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS monitor_document_entities_ts ON monitor_document_entities (entity, ts);
CREATE TABLE IF NOT EXISTS monitor_aggregates (
  dimension TEXT NOT NULL, value TEXT NOT NULL, window_ms INTEGER NOT NULL, window_start INTEGER NOT NULL,
  count INTEGER NOT NULL, sentiment_sum REAL NOT NULL, sentiment_count INTEGER NOT NULL,
  PRIMARY KEY (dimension, value, window_ms, window_start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS monitor_aggregates_values ON monitor_aggregates (dimension, window_ms, window_start, value, count);
CREATE TABLE IF NOT EXISTS monitor_label_counts (
  dimension TEXT NOT NULL, value TEXT NOT NULL, window_ms INTEGER NOT NULL, window_start INTEGER NOT NULL, label TEXT NOT NULL,
  count INTEGER NOT NULL, PRIMARY KEY (dimension, value, window_ms, window_start, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS monitor_alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, watch TEXT NOT NULL, detector TEXT NOT NULL, metric TEXT NOT NULL,
  label TEXT, dimension TEXT NOT NULL, value TEXT NOT NULL, window_ms INTEGER NOT NULL, window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL, observed REAL NOT NULL, expected REAL NOT NULL, score REAL NOT NULL, threshold REAL NOT NULL,
  direction TEXT NOT NULL, severity TEXT NOT NULL, examples TEXT NOT NULL, raised_at INTEGER NOT NULL,
  delivery TEXT NOT NULL, attempts INTEGER NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS monitor_alerts_key ON monitor_alerts (key, id);
CREATE INDEX IF NOT EXISTS monitor_alerts_series ON monitor_alerts (dimension, value, id);
CREATE TABLE IF NOT EXISTS monitor_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS monitor_windows (window_ms INTEGER PRIMARY KEY);
`;

/**
 * A {@link MonitorStore} in one SQLite file (`:memory:` for a store that lives as long as the
 * object). The directory is created when missing. Several processes may write the same file: a
 * write waits up to `busyTimeoutMs` for another's to finish.
 *
 * ```ts
 * const store = new SqliteMonitorStore('monitor/monitor.db', { windowsMs: [60_000, 3_600_000] });
 * await store.write(classified);
 * const hours = await store.series({ dimension: 'entity', value: 'acme', windowMs: 3_600_000 });
 * ```
 */
export class SqliteMonitorStore implements MonitorStore {
  /** The database file as given. */
  readonly file: string;
  /** The window lengths this store was opened with, shortest first (the database may count more). */
  readonly windowsMs: readonly number[];
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly writeBatch: (docs: readonly ClassifiedDocument[], storedAt: number) => WriteResult;
  private closed = false;

  constructor(file: string, options: SqliteStoreOptions) {
    this.file = file;
    this.windowsMs = checkWindows(options?.windowsMs);
    const memory = file === ':memory:' || file === '';
    if (!memory) {
      try {
        mkdirSync(dirname(resolve(file)), { recursive: true });
      } catch (e) {
        throw new MonitorError('file_system', `cannot create the directory of the monitor database ${file}: ${(e as Error).message}`, { file, cause: e });
      }
    }
    this.db = this.guard(() => {
      const db = new Database(file);
      try {
        db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
        if (!memory) db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = OFF');
        this.migrate(db);
      } catch (e) {
        db.close();
        throw e;
      }
      return db;
    });
    const insertDoc = this.db.prepare(
      `INSERT INTO monitor_documents (${DOCUMENT_COLUMNS.join(', ')}) VALUES (${DOCUMENT_COLUMNS.map((c) => `@${c}`).join(', ')}) ON CONFLICT (id) DO NOTHING`,
    );
    const insertEntity = this.db.prepare('INSERT INTO monitor_document_entities (entity, doc_id, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
    const upsertAggregate = this.db.prepare(
      `INSERT INTO monitor_aggregates (dimension, value, window_ms, window_start, count, sentiment_sum, sentiment_count) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (dimension, value, window_ms, window_start) DO UPDATE SET count = count + excluded.count,
       sentiment_sum = sentiment_sum + excluded.sentiment_sum, sentiment_count = sentiment_count + excluded.sentiment_count`,
    );
    const upsertLabel = this.db.prepare(
      `INSERT INTO monitor_label_counts (dimension, value, window_ms, window_start, label, count) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (dimension, value, window_ms, window_start, label) DO UPDATE SET count = count + excluded.count`,
    );
    const countedWindows = this.db.prepare('SELECT window_ms FROM monitor_windows ORDER BY window_ms').pluck();
    const tx = this.db.transaction((docs: readonly ClassifiedDocument[], storedAt: number): WriteResult => {
      const inserted: ClassifiedDocument[] = [];
      const duplicates: string[] = [];
      for (const doc of docs) {
        if (insertDoc.run(documentRow(doc, storedAt)).changes === 0) {
          duplicates.push(doc.id);
          continue;
        }
        inserted.push(doc);
        for (const name of entityNames(doc)) insertEntity.run(name, doc.id, doc.timestamp);
      }
      // Every window length the file counts, also those another process added.
      const { aggregates, labels } = aggregateDeltas(inserted, countedWindows.all() as number[]);
      for (const a of aggregates) upsertAggregate.run(a.dimension, a.value, a.windowMs, a.windowStart, a.count, a.sentimentSum, a.sentimentCount);
      for (const l of labels) upsertLabel.run(l.dimension, l.value, l.windowMs, l.windowStart, l.label, l.count);
      return { inserted: inserted.map((d) => d.id), duplicates };
    });
    // IMMEDIATE: take the write lock at BEGIN, so that two processes never deadlock upgrading a read lock.
    this.writeBatch = (docs, storedAt) => tx.immediate(docs, storedAt);
  }

  private migrate(db: Database.Database): void {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new MonitorError(
        'file_unreadable',
        `the monitor database ${this.file} has schema version ${version}, newer than this tuna reads (${SCHEMA_VERSION}): upgrade tuna or use another file`,
        { file: this.file },
      );
    }
    db.transaction(() => {
      // Read again under the write lock: another process may have created the tables meanwhile.
      const current = db.pragma('user_version', { simple: true }) as number;
      db.exec(SCHEMA);
      if (current !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
      const counted = new Set(db.prepare('SELECT window_ms FROM monitor_windows').pluck().all() as number[]);
      const added = this.windowsMs.filter((w) => !counted.has(w));
      if (added.length === 0) return;
      // Schema 1 did not record its window lengths: those given now are taken as counted.
      if (current !== 1) this.backfill(db, added);
      const insert = db.prepare('INSERT INTO monitor_windows (window_ms) VALUES (?)');
      for (const w of added) insert.run(w);
    }).immediate();
  }

  /** Counts the documents stored already in window lengths the file did not count yet. */
  private backfill(db: Database.Database, windowsMs: readonly number[]): void {
    const page = db.prepare('SELECT id, ts, source, label, sentiment, entities FROM monitor_documents WHERE id > ? ORDER BY id LIMIT ?');
    const upsertAggregate = db.prepare(
      'INSERT INTO monitor_aggregates (dimension, value, window_ms, window_start, count, sentiment_sum, sentiment_count) VALUES (?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (dimension, value, window_ms, window_start) DO UPDATE SET count = count + excluded.count, ' +
        'sentiment_sum = sentiment_sum + excluded.sentiment_sum, sentiment_count = sentiment_count + excluded.sentiment_count',
    );
    const upsertLabel = db.prepare(
      'INSERT INTO monitor_label_counts (dimension, value, window_ms, window_start, label, count) VALUES (?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (dimension, value, window_ms, window_start, label) DO UPDATE SET count = count + excluded.count',
    );
    let after = '';
    for (;;) {
      const rows = page.all(after, BACKFILL_PAGE) as BackfillRow[];
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.id;
      const { aggregates, labels } = aggregateDeltas(backfillDocuments(rows), windowsMs);
      for (const a of aggregates) upsertAggregate.run(a.dimension, a.value, a.windowMs, a.windowStart, a.count, a.sentimentSum, a.sentimentCount);
      for (const l of labels) upsertLabel.run(l.dimension, l.value, l.windowMs, l.windowStart, l.label, l.count);
    }
  }

  /** Runs `fn`, turning SQLite's errors into MonitorErrors that name the file. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof MonitorError) throw e;
      const code = (e as { code?: string }).code ?? '';
      if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
        throw new MonitorError('file_unreadable', `${this.file} is not a readable SQLite database (${(e as Error).message}): give the monitor database file or a new path`, {
          file: this.file,
          cause: e,
        });
      }
      throw new MonitorError('store_error', `the monitor database ${this.file} failed: ${(e as Error).message}`, { file: this.file, cause: e });
    }
  }

  private use<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new MonitorError('store_error', `the monitor database ${this.file} is closed`, { file: this.file }));
    try {
      return Promise.resolve(this.guard(fn));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private prepared(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.db.prepare(sql)));
    return s;
  }

  write(docs: readonly ClassifiedDocument[]): Promise<WriteResult> {
    return this.use(() => {
      checkDocuments(docs);
      if (docs.length === 0) return { inserted: [], duplicates: [] };
      return this.writeBatch(docs, Date.now());
    });
  }

  documentCount(): Promise<number> {
    return this.use(() => (this.prepared(DOCUMENT_COUNT_SQL).get() as { n: number }).n);
  }

  latestTimestamp(): Promise<number | null> {
    return this.use(() => (this.prepared('SELECT MAX(ts) AS ts FROM monitor_documents').get() as { ts: number | null }).ts);
  }

  series(query: SeriesQuery): Promise<WindowAggregate[]> {
    return this.use(() => {
      const { aggregates, labels } = seriesStatements(query, 'question');
      const rows = this.prepared(aggregates.sql).all(...aggregates.params) as Parameters<typeof mergeSeries>[1];
      if (rows.length === 0) return [];
      return mergeSeries(query, rows, this.prepared(labels.sql).all(...labels.params) as Parameters<typeof mergeSeries>[2]);
    });
  }

  values(dimension: Dimension, options: { windowMs: number; from?: number; to?: number; limit?: number }): Promise<{ value: string; count: number }[]> {
    return this.use(() => {
      const s = valuesStatement(dimension, options, 'question');
      return this.prepared(s.sql).all(...s.params) as { value: string; count: number }[];
    });
  }

  documents(query: DocumentQuery): Promise<StoredDocument[]> {
    return this.use(() => {
      const s = documentsStatement(query ?? {}, 'question');
      return (this.prepared(s.sql).all(...s.params) as DocumentRow[]).map(documentFromRow);
    });
  }

  addAlert(alert: NewAlert, delivery: AlertDelivery): Promise<AlertRecord> {
    return this.use(() => {
      const row = this.prepared(`INSERT INTO monitor_alerts (${ALERT_INSERT_COLUMNS.join(', ')}) VALUES (${ALERT_INSERT_COLUMNS.map(() => '?').join(', ')}) RETURNING *`).get(
        ...alertValues(alert, delivery),
      ) as AlertRow;
      return alertFromRow(row);
    });
  }

  updateAlertDelivery(id: number, delivery: AlertDelivery, attempts: number, error: string | null): Promise<void> {
    return this.use(() => {
      const r = this.prepared('UPDATE monitor_alerts SET delivery = ?, attempts = ?, error = ? WHERE id = ?').run(delivery, attempts, error, id);
      if (r.changes === 0) throw new MonitorError('invalid_parameter', `no alert has id ${id} in ${this.file}`, { field: 'id', file: this.file });
    });
  }

  alerts(query: AlertQuery = {}): Promise<AlertRecord[]> {
    return this.use(() => {
      const s = alertsStatement(query, 'question');
      return (this.prepared(s.sql).all(...s.params) as AlertRow[]).map(alertFromRow);
    });
  }

  lastAlert(key: string): Promise<AlertRecord | undefined> {
    return this.use(() => {
      const row = this.prepared('SELECT * FROM monitor_alerts WHERE key = ? ORDER BY id DESC LIMIT 1').get(key) as AlertRow | undefined;
      return row && alertFromRow(row);
    });
  }

  getState(key: string): Promise<unknown> {
    return this.use(() => {
      const row = this.prepared('SELECT value FROM monitor_state WHERE key = ?').get(key) as { value: string } | undefined;
      return row === undefined ? undefined : JSON.parse(row.value);
    });
  }

  setState(key: string, value: unknown): Promise<void> {
    return this.use(() => {
      this.prepared('INSERT INTO monitor_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, stateText(key, value));
    });
  }

  /** Closes the file; closing twice is harmless. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.statements.clear();
      this.guard(() => this.db.close());
    }
    return Promise.resolve();
  }
}
