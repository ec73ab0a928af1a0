/**
 * The monitor's store on a PostgreSQL server, for several workers writing at once: documents are
 * inserted with `ON CONFLICT DO NOTHING`, aggregate rows are upserted in one key order, and a
 * transaction that loses a deadlock or a serialization conflict is run again.
 */
import pg from 'pg';
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
  type DocumentRow,
  documentFromRow,
  documentRow,
  entityNames,
  SCHEMA_VERSION,
  stateText,
} from './rows.js';

/** Options of {@link PostgresMonitorStore.connect}. */
export interface PostgresStoreOptions {
  /**
   * The window lengths (milliseconds) every document is counted in. A length the database did not
   * count yet is counted for the documents stored before (at opening); the lengths it counted
   * already stay counted, also when not given here.
   */
  readonly windowsMs: readonly number[];
  /** Connections in the pool (default 4). */
  readonly poolSize?: number;
  /** How long to wait for a connection, milliseconds (default 10,000). */
  readonly connectTimeoutMs?: number;
}

/** Any two processes creating the tables take this advisory lock first. */
const SCHEMA_LOCK = 7_413_602_991;
const RETRIES = 8;
const RETRY_CODES = new Set(['40P01', '40001']);

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS monitor_documents (
    id text PRIMARY KEY, ts bigint NOT NULL, source text NOT NULL, text text NOT NULL, label text NOT NULL,
    score double precision NOT NULL, scores text NOT NULL, sentiment double precision, entities text NOT NULL, meta text, stored_at bigint NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS monitor_documents_ts ON monitor_documents (ts)',
  'CREATE INDEX IF NOT EXISTS monitor_documents_source_ts ON monitor_documents (source, ts)',
  'CREATE INDEX IF NOT EXISTS monitor_documents_label_ts ON monitor_documents (label, ts)',
  `CREATE TABLE IF NOT EXISTS monitor_document_entities (
    entity text NOT NULL, doc_id text NOT NULL, ts bigint NOT NULL, PRIMARY KEY (entity, doc_id))`,
  'CREATE INDEX IF NOT EXISTS monitor_document_entities_ts ON monitor_document_entities (entity, ts)',
  `CREATE TABLE IF NOT EXISTS monitor_aggregates (
    dimension text NOT NULL, value text NOT NULL, window_ms bigint NOT NULL, window_start bigint NOT NULL,
    count bigint NOT NULL, sentiment_sum double precision NOT NULL, sentiment_count bigint NOT NULL,
    PRIMARY KEY (dimension, value, window_ms, window_start))`,
  'CREATE INDEX IF NOT EXISTS monitor_aggregates_values ON monitor_aggregates (dimension, window_ms, window_start, value, count)',
  `CREATE TABLE IF NOT EXISTS monitor_label_counts (
    dimension text NOT NULL, value text NOT NULL, window_ms bigint NOT NULL, window_start bigint NOT NULL, label text NOT NULL,
    count bigint NOT NULL, PRIMARY KEY (dimension, value, window_ms, window_start, label))`,
  `CREATE TABLE IF NOT EXISTS monitor_alerts (
    id bigserial PRIMARY KEY, key text NOT NULL, watch text NOT NULL, detector text NOT NULL, metric text NOT NULL,
    label text, dimension text NOT NULL, value text NOT NULL, window_ms bigint NOT NULL, window_start bigint NOT NULL,
    window_end bigint NOT NULL, observed double precision NOT NULL, expected double precision NOT NULL, score double precision NOT NULL,
    threshold double precision NOT NULL, direction text NOT NULL, severity text NOT NULL, examples text NOT NULL, raised_at bigint NOT NULL,
    delivery text NOT NULL, attempts integer NOT NULL, error text)`,
  'CREATE INDEX IF NOT EXISTS monitor_alerts_key ON monitor_alerts (key, id)',
  'CREATE INDEX IF NOT EXISTS monitor_alerts_series ON monitor_alerts (dimension, value, id)',
  'CREATE TABLE IF NOT EXISTS monitor_state (key text PRIMARY KEY, value text NOT NULL)',
  'CREATE TABLE IF NOT EXISTS monitor_windows (window_ms bigint PRIMARY KEY)',
];

// bigint (20) and numeric (1700, what SUM(bigint) gives) as JavaScript numbers: counts and
// millisecond timestamps stay far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** `host:port` of a connection URL (never its password). */
function serverOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return 'the PostgreSQL server (its URL does not parse)';
  }
}

/**
 * A {@link MonitorStore} on a PostgreSQL server. Several processes may use one database: each
 * creates the tables it misses, and their writes count every document once.
 *
 * ```ts
 * const store = await PostgresMonitorStore.connect('postgres://monitor@db:5432/tuna', { windowsMs: [3_600_000] });
 * ```
 */
export class PostgresMonitorStore implements MonitorStore {
  /** `host:port` of the server. */
  readonly server: string;
  /** The window lengths this store was opened with, shortest first (the database may count more). */
  readonly windowsMs: readonly number[];
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    server: string,
    windowsMs: readonly number[],
  ) {
    this.server = server;
    this.windowsMs = windowsMs;
  }

  /**
   * Connects to `url` (`postgres://user:password@host:port/database`) and creates the monitor's
   * tables when missing. A server that refuses or cannot be reached is a `store_error`.
   */
  static async connect(url: string, options: PostgresStoreOptions): Promise<PostgresMonitorStore> {
    const windowsMs = checkWindows(options?.windowsMs);
    const server = serverOf(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: Math.max(1, Math.floor(options.poolSize ?? 4)),
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types: TYPES,
    });
    // An idle connection that the server drops must not bring the process down; the next query reports it.
    pool.on('error', () => {});
    const store = new PostgresMonitorStore(pool, server, windowsMs);
    try {
      await store.migrate();
    } catch (e) {
      await pool.end().catch(() => {});
      throw store.storeError(e, 'connecting');
    }
    return store;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS monitor_schema (version integer NOT NULL)');
      const { rows } = await c.query<{ version: number }>('SELECT MAX(version) AS version FROM monitor_schema');
      const version = rows[0]?.version ?? 0;
      if (version > SCHEMA_VERSION) {
        throw new MonitorError(
          'store_error',
          `the monitor tables at ${this.server} have schema version ${version}, newer than this tuna reads (${SCHEMA_VERSION}): upgrade tuna or use another database`,
        );
      }
      if (version !== SCHEMA_VERSION) {
        for (const ddl of SCHEMA) await c.query(ddl);
        await c.query('DELETE FROM monitor_schema');
        await c.query('INSERT INTO monitor_schema (version) VALUES ($1)', [SCHEMA_VERSION]);
      }
      const counted = new Set((await c.query<{ window_ms: number }>('SELECT window_ms FROM monitor_windows')).rows.map((r) => r.window_ms));
      const added = this.windowsMs.filter((w) => !counted.has(w));
      if (added.length === 0) return;
      // Schema 1 did not record its window lengths: those given now are taken as counted.
      if (version !== 1) await this.backfill(c, added);
      await c.query('INSERT INTO monitor_windows (window_ms) SELECT * FROM unnest($1::bigint[])', [added]);
    });
  }

  /** Counts the documents stored already in window lengths the database did not count yet (writers wait meanwhile). */
  private async backfill(c: pg.PoolClient, windowsMs: readonly number[]): Promise<void> {
    let after = '';
    for (;;) {
      const { rows } = await c.query<BackfillRow>('SELECT id, ts, source, label, sentiment, entities FROM monitor_documents WHERE id > $1 ORDER BY id LIMIT $2', [
        after,
        BACKFILL_PAGE,
      ]);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.id;
      await this.addAggregates(c, backfillDocuments(rows), windowsMs);
    }
  }

  /** Adds documents to the aggregates of the given window lengths, rows in key order. */
  private async addAggregates(c: pg.PoolClient, docs: readonly ClassifiedDocument[], windowsMs: readonly number[]): Promise<void> {
    const { aggregates, labels } = aggregateDeltas(docs, windowsMs);
    if (aggregates.length === 0) return;
    await c.query(
      `INSERT INTO monitor_aggregates AS a (dimension, value, window_ms, window_start, count, sentiment_sum, sentiment_count)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::float8[], $7::bigint[])
       ON CONFLICT (dimension, value, window_ms, window_start) DO UPDATE SET count = a.count + EXCLUDED.count,
       sentiment_sum = a.sentiment_sum + EXCLUDED.sentiment_sum, sentiment_count = a.sentiment_count + EXCLUDED.sentiment_count`,
      [
        aggregates.map((a) => a.dimension),
        aggregates.map((a) => a.value),
        aggregates.map((a) => a.windowMs),
        aggregates.map((a) => a.windowStart),
        aggregates.map((a) => a.count),
        aggregates.map((a) => a.sentimentSum),
        aggregates.map((a) => a.sentimentCount),
      ],
    );
    await c.query(
      `INSERT INTO monitor_label_counts AS l (dimension, value, window_ms, window_start, label, count)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[])
       ON CONFLICT (dimension, value, window_ms, window_start, label) DO UPDATE SET count = l.count + EXCLUDED.count`,
      [
        labels.map((l) => l.dimension),
        labels.map((l) => l.value),
        labels.map((l) => l.windowMs),
        labels.map((l) => l.windowStart),
        labels.map((l) => l.label),
        labels.map((l) => l.count),
      ],
    );
  }

  private storeError(e: unknown, doing: string): MonitorError {
    if (e instanceof MonitorError) return e;
    const err = e as Error & { code?: string };
    const code = err.code ? ` (${err.code})` : '';
    const hint = doing === 'connecting' ? ': check that the server runs, the URL (host, port, database, user) and that it accepts connections' : '';
    const detail = err.message || (e instanceof AggregateError ? e.errors.map((x: Error) => x.message).join('; ') : String(e));
    return new MonitorError('store_error', `PostgreSQL at ${this.server} failed while ${doing}${code}: ${detail}${hint}`, { cause: e });
  }

  /** Runs `fn` in a transaction, again when it loses a deadlock or a serialization conflict. */
  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        if (attempt < RETRIES && RETRY_CODES.has((e as { code?: string }).code ?? '')) {
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
          continue;
        }
        throw e;
      } finally {
        c.release();
      }
    }
  }

  private async use<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new MonitorError('store_error', `the monitor store at ${this.server} is closed`);
    try {
      return await fn();
    } catch (e) {
      throw this.storeError(e, doing);
    }
  }

  private async rows<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  write(docs: readonly ClassifiedDocument[]): Promise<WriteResult> {
    return this.use('writing documents', async () => {
      checkDocuments(docs);
      if (docs.length === 0) return { inserted: [], duplicates: [] };
      // Ids in one order in every writer: two batches that share ids wait for each other, never deadlock.
      const first = new Map<string, ClassifiedDocument>();
      for (const d of docs) if (!first.has(d.id)) first.set(d.id, d);
      const unique = [...first.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const storedAt = Date.now();
      const insertedIds = await this.transaction(async (c) => {
        // Shared with other writers; a worker counting a new window length holds it alone.
        await c.query('SELECT pg_advisory_xact_lock_shared($1)', [SCHEMA_LOCK]);
        const rows = unique.map((d) => documentRow(d, storedAt));
        const col = <K extends keyof DocumentRow>(k: K) => rows.map((r) => r[k]);
        const res = await c.query<{ id: string }>(
          `INSERT INTO monitor_documents (id, ts, source, text, label, score, scores, sentiment, entities, meta, stored_at)
           SELECT t.*, $11::bigint FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[], $8::float8[], $9::text[], $10::text[]) AS t
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [col('id'), col('ts'), col('source'), col('text'), col('label'), col('score'), col('scores'), col('sentiment'), col('entities'), col('meta'), storedAt],
        );
        const ids = new Set(res.rows.map((r) => r.id));
        const inserted = unique.filter((d) => ids.has(d.id));
        const entities = inserted.flatMap((d) => entityNames(d).map((name) => [name, d.id, d.timestamp] as const));
        if (entities.length) {
          await c.query('INSERT INTO monitor_document_entities (entity, doc_id, ts) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING', [
            entities.map((e) => e[0]),
            entities.map((e) => e[1]),
            entities.map((e) => e[2]),
          ]);
        }
        // Every window length the database counts, also those another worker added.
        const windows = await c.query<{ window_ms: number }>('SELECT window_ms FROM monitor_windows ORDER BY window_ms');
        await this.addAggregates(
          c,
          inserted,
          windows.rows.map((r) => r.window_ms),
        );
        return ids;
      });
      const inserted: string[] = [];
      const duplicates: string[] = [];
      const seen = new Set<string>();
      for (const d of docs) {
        if (insertedIds.has(d.id) && !seen.has(d.id)) inserted.push(d.id);
        else duplicates.push(d.id);
        seen.add(d.id);
      }
      return { inserted, duplicates };
    });
  }

  documentCount(): Promise<number> {
    return this.use('counting documents', async () => (await this.rows<{ n: number }>(DOCUMENT_COUNT_SQL, []))[0]!.n);
  }

  latestTimestamp(): Promise<number | null> {
    return this.use('reading the latest timestamp', async () => (await this.rows<{ ts: number | null }>('SELECT MAX(ts) AS ts FROM monitor_documents', []))[0]!.ts);
  }

  series(query: SeriesQuery): Promise<WindowAggregate[]> {
    return this.use('reading a series', async () => {
      const { aggregates, labels } = seriesStatements(query, 'dollar');
      const rows = await this.rows<Parameters<typeof mergeSeries>[1][number]>(aggregates.sql, aggregates.params);
      if (rows.length === 0) return [];
      return mergeSeries(query, rows, await this.rows<Parameters<typeof mergeSeries>[2][number]>(labels.sql, labels.params));
    });
  }

  values(dimension: Dimension, options: { windowMs: number; from?: number; to?: number; limit?: number }): Promise<{ value: string; count: number }[]> {
    return this.use('reading dimension values', async () => {
      const s = valuesStatement(dimension, options, 'dollar');
      return this.rows<{ value: string; count: number }>(s.sql, s.params);
    });
  }

  documents(query: DocumentQuery): Promise<StoredDocument[]> {
    return this.use('reading documents', async () => {
      const s = documentsStatement(query ?? {}, 'dollar');
      return (await this.rows<DocumentRow>(s.sql, s.params)).map(documentFromRow);
    });
  }

  addAlert(alert: NewAlert, delivery: AlertDelivery): Promise<AlertRecord> {
    return this.use('storing an alert', async () => {
      const sql = `INSERT INTO monitor_alerts (${ALERT_INSERT_COLUMNS.join(', ')}) VALUES (${ALERT_INSERT_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`;
      return alertFromRow((await this.rows<AlertRow>(sql, alertValues(alert, delivery)))[0]!);
    });
  }

  updateAlertDelivery(id: number, delivery: AlertDelivery, attempts: number, error: string | null): Promise<void> {
    return this.use('updating an alert', async () => {
      const r = await this.pool.query('UPDATE monitor_alerts SET delivery = $1, attempts = $2, error = $3 WHERE id = $4', [delivery, attempts, error, id]);
      if (r.rowCount === 0) throw new MonitorError('invalid_parameter', `no alert has id ${id} at ${this.server}`, { field: 'id' });
    });
  }

  alerts(query: AlertQuery = {}): Promise<AlertRecord[]> {
    return this.use('reading alerts', async () => {
      const s = alertsStatement(query, 'dollar');
      return (await this.rows<AlertRow>(s.sql, s.params)).map(alertFromRow);
    });
  }

  lastAlert(key: string): Promise<AlertRecord | undefined> {
    return this.use('reading an alert', async () => {
      const [row] = await this.rows<AlertRow>('SELECT * FROM monitor_alerts WHERE key = $1 ORDER BY id DESC LIMIT 1', [key]);
      return row && alertFromRow(row);
    });
  }

  getState(key: string): Promise<unknown> {
    return this.use('reading state', async () => {
      const [row] = await this.rows<{ value: string }>('SELECT value FROM monitor_state WHERE key = $1', [key]);
      return row === undefined ? undefined : JSON.parse(row.value);
    });
  }

  setState(key: string, value: unknown): Promise<void> {
    return this.use('saving state', async () => {
      await this.pool.query('INSERT INTO monitor_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', [key, stateText(key, value)]);
    });
  }

  /** Closes the pool; closing twice is harmless. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
