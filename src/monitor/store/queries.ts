/**
 * The read queries of both stores: the same SQL for SQLite (`?` parameters) and PostgreSQL (`$n`).
 */
import type { AlertQuery, Dimension, DocumentQuery, SeriesQuery, WindowAggregate } from '../types.js';
import { DEFAULT_ALERT_LIMIT, DEFAULT_DOCUMENT_LIMIT, DEFAULT_VALUES_LIMIT } from './rows.js';

/** Parameter placeholders of a dialect. */
export type Placeholders = 'question' | 'dollar';

/** A statement and its parameters. */
export interface Statement {
  readonly sql: string;
  readonly params: unknown[];
}

class Params {
  readonly values: unknown[] = [];
  constructor(private readonly style: Placeholders) {}
  add(v: unknown): string {
    this.values.push(v);
    return this.style === 'question' ? '?' : `$${this.values.length}`;
  }
}

function limitOf(limit: number | undefined, fallback: number): number {
  return limit === undefined ? fallback : Math.max(0, Math.floor(limit));
}

function windowRange(p: Params, where: string[], column: string, from?: number, to?: number): void {
  if (from !== undefined) where.push(`${column} >= ${p.add(from)}`);
  if (to !== undefined) where.push(`${column} < ${p.add(to)}`);
}

/** The aggregate rows and the label counts of one series, both by window start. */
export function seriesStatements(q: SeriesQuery, style: Placeholders): { aggregates: Statement; labels: Statement } {
  const build = (columns: string, table: string, order: string): Statement => {
    const p = new Params(style);
    const where = [`dimension = ${p.add(q.dimension)}`, `value = ${p.add(q.value)}`, `window_ms = ${p.add(q.windowMs)}`];
    windowRange(p, where, 'window_start', q.from, q.to);
    return { sql: `SELECT ${columns} FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${order}`, params: p.values };
  };
  return {
    aggregates: build('window_start, count, sentiment_sum, sentiment_count', 'monitor_aggregates', 'window_start'),
    labels: build('window_start, label, count', 'monitor_label_counts', 'window_start, label'),
  };
}

/** The values of a dimension by document count. */
export function valuesStatement(dimension: Dimension, o: { windowMs: number; from?: number; to?: number; limit?: number }, style: Placeholders): Statement {
  const p = new Params(style);
  const where = [`dimension = ${p.add(dimension)}`, `window_ms = ${p.add(o.windowMs)}`];
  windowRange(p, where, 'window_start', o.from, o.to);
  const limit = p.add(limitOf(o.limit, DEFAULT_VALUES_LIMIT));
  return {
    sql: `SELECT value, SUM(count) AS count FROM monitor_aggregates WHERE ${where.join(' AND ')} GROUP BY value ORDER BY SUM(count) DESC, value LIMIT ${limit}`,
    params: p.values,
  };
}

/** Documents of a series, a label and a time range, most confident or newest first. */
export function documentsStatement(q: DocumentQuery, style: Placeholders): Statement {
  const p = new Params(style);
  const where: string[] = [];
  let from = 'monitor_documents d';
  const s = q.series;
  if (s) {
    if (s.dimension === 'entity') {
      from = 'monitor_document_entities e JOIN monitor_documents d ON d.id = e.doc_id';
      where.push(`e.entity = ${p.add(s.value)}`);
    } else if (s.dimension === 'source') where.push(`d.source = ${p.add(s.value)}`);
    else if (s.dimension === 'label') where.push(`d.label = ${p.add(s.value)}`);
  }
  // With an entity, the range is on the entity table's copy of the timestamp (its index).
  windowRange(p, where, s?.dimension === 'entity' ? 'e.ts' : 'd.ts', q.from, q.to);
  if (q.label !== undefined) where.push(`d.label = ${p.add(q.label)}`);
  const order = q.order === 'time' ? 'd.ts DESC, d.id' : 'd.score DESC, d.ts DESC, d.id';
  const limit = p.add(limitOf(q.limit, DEFAULT_DOCUMENT_LIMIT));
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT d.* FROM ${from}${filter} ORDER BY ${order} LIMIT ${limit}`, params: p.values };
}

/** Alerts, newest first. */
export function alertsStatement(q: AlertQuery, style: Placeholders): Statement {
  const p = new Params(style);
  const where: string[] = [];
  if (q.series) where.push(`dimension = ${p.add(q.series.dimension)}`, `value = ${p.add(q.series.value)}`);
  windowRange(p, where, 'window_start', q.from, q.to);
  if (q.afterId !== undefined) where.push(`id > ${p.add(q.afterId)}`);
  const limit = p.add(limitOf(q.limit, DEFAULT_ALERT_LIMIT));
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  return { sql: `SELECT * FROM monitor_alerts${filter} ORDER BY id DESC LIMIT ${limit}`, params: p.values };
}

/** One series' windows from its aggregate rows and label-count rows (both by window start). */
export function mergeSeries(
  q: SeriesQuery,
  aggregates: readonly { window_start: number | string; count: number | string; sentiment_sum: number; sentiment_count: number | string }[],
  labels: readonly { window_start: number | string; label: string; count: number | string }[],
): WindowAggregate[] {
  const byStart = new Map<number, Record<string, number>>();
  for (const l of labels) {
    const start = Number(l.window_start);
    let counts = byStart.get(start);
    if (!counts) byStart.set(start, (counts = {}));
    counts[l.label] = Number(l.count);
  }
  return aggregates.map((a) => {
    const windowStart = Number(a.window_start);
    return {
      dimension: q.dimension,
      value: q.value,
      windowMs: q.windowMs,
      windowStart,
      count: Number(a.count),
      labelCounts: byStart.get(windowStart) ?? {},
      sentimentSum: Number(a.sentiment_sum),
      sentimentCount: Number(a.sentiment_count),
    };
  });
}

/**
 * The number of stored documents, from the `all` series of the longest counted window length (a
 * few rows, where counting the documents reads them all): every document is counted once there.
 */
export const DOCUMENT_COUNT_SQL =
  "SELECT COALESCE(SUM(count), 0) AS n FROM monitor_aggregates WHERE dimension = 'all' AND value = '*' AND window_ms = (SELECT MAX(window_ms) FROM monitor_windows)";
