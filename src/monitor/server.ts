/**
 * The opinion monitor's HTTP service (fastify): the dashboard on `GET /`, its JSON API under
 * `/api/` (series with zero-filled gaps, values, documents, alerts, summary), live updates as
 * server-sent events on `GET /api/events`, and `POST /v1/ingest` for new documents.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { type ErrorCode, isTunaError } from '../index.js';
import { dashboardPageHtml } from './dashboard-page.js';
import { MonitorError } from './errors.js';
import { ALL, DIMENSIONS, type Dimension, type IncomingDocument, type MonitorStore, type SeriesKey, type StoredDocument } from './types.js';

/** What {@link MonitorServerOptions.ingest} did with a batch. */
export interface IngestResult {
  /** Documents of the request. */
  readonly accepted: number;
  /** Stored now. */
  readonly inserted: number;
  /** Stored already (by id), not counted again. */
  readonly duplicates: number;
}

/** Classifies and stores documents (the monitor's pipeline); what `POST /v1/ingest` calls. */
export type IngestFunction = (docs: IncomingDocument[]) => Promise<IngestResult>;

/** Settings of {@link createMonitorServer}. */
export interface MonitorServerOptions {
  readonly store: MonitorStore;
  /** The window lengths the store keeps aggregates for, in milliseconds (the first is the default). */
  readonly windowsMs: readonly number[];
  /** Without it, `POST /v1/ingest` answers 503. */
  readonly ingest?: IngestFunction;
  /** How often `GET /api/events` looks at the store for new documents and alerts, in ms (default 1000). */
  readonly pollMs?: number;
  /** Heartbeat comment interval on `GET /api/events`, in ms (default 15000). */
  readonly heartbeatMs?: number;
  /** The dashboard's title (default "tuna monitor"). */
  readonly title?: string;
  /** The model's labels in display order (default: those found in the store). */
  readonly labels?: readonly string[];
  /** Most documents in one `POST /v1/ingest` (default 1000). */
  readonly maxIngestDocuments?: number;
  /** Longest document text in characters (default 20000). */
  readonly maxTextChars?: number;
  /** Largest request body in bytes (default 8 MiB). */
  readonly bodyLimit?: number;
  /** Most windows one `GET /api/series` answers with (default 5000). */
  readonly maxWindows?: number;
}

/** A running monitor service. */
export interface MonitorServer {
  readonly app: FastifyInstance;
  /** Ends the event streams and stops the server (the store stays open: its owner closes it). */
  close(): Promise<void>;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** A window length as the API names it: `15m`, `1h`, `1d`. */
export function windowName(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  return `${ms}ms`;
}

function parseWindow(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2] ?? 'ms']! : undefined;
}

const errorBody = (code: ErrorCode, message: string, field?: string) => ({ error: { code, message, ...(field ? { field } : {}) } });

const bad = (field: string, problem: string) => new MonitorError('invalid_parameter', `${field} ${problem}`, { field });

type Query = Record<string, string | undefined>;

/** Refuses parameters the route does not take, and repeated ones. */
function checkQuery(route: string, raw: unknown, allowed: readonly string[]): Query {
  const q = (raw ?? {}) as Record<string, unknown>;
  const out: Query = {};
  for (const [k, v] of Object.entries(q)) {
    if (!allowed.includes(k)) throw bad(k, `is not a parameter of ${route} (parameters: ${allowed.join(', ')})`);
    if (typeof v !== 'string') throw bad(k, 'is given more than once');
    if (v !== '') out[k] = v;
  }
  return out;
}

/** A time: epoch milliseconds or an ISO 8601 date. */
function parseTime(field: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = /^-?\d+$/.test(text) ? Number(text) : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isSafeInteger(t)) throw bad(field, `must be epoch milliseconds or an ISO 8601 time such as 2024-05-01T12:00:00Z; got "${text}"`);
  return t;
}

function parseInteger(field: string, text: string | undefined, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw bad(field, `must be an integer from ${min} to ${max}; got "${text}"`);
  return n;
}

function parseDimension(text: string | undefined, required: boolean): Dimension | undefined {
  if (text === undefined) {
    if (required) throw bad('dimension', `is required (one of ${DIMENSIONS.join(', ')})`);
    return undefined;
  }
  if (!(DIMENSIONS as readonly string[]).includes(text)) throw bad('dimension', `must be one of ${DIMENSIONS.join(', ')}; got "${text}"`);
  return text as Dimension;
}

/** `dimension` and `value` as one series: `all` needs no value; another dimension needs one. */
function parseSeries(q: Query, required: boolean): SeriesKey | undefined {
  const dimension = parseDimension(q.dimension, required);
  if (dimension === undefined) {
    if (q.value !== undefined) throw bad('dimension', 'is required with value');
    return undefined;
  }
  if (dimension === 'all') {
    if (q.value !== undefined && q.value !== ALL) throw bad('value', `of dimension all must be ${ALL} or absent; got "${q.value}"`);
    return { dimension, value: ALL };
  }
  if (q.value === undefined) throw bad('value', `is required with dimension ${dimension} (GET /api/values?dimension=${dimension} lists them)`);
  return { dimension, value: q.value };
}

function checkRange(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && to <= from) throw bad('to', `must be after from (from ${new Date(from).toISOString()}, to ${new Date(to).toISOString()})`);
}

/** One window of a series as `GET /api/series` answers it. */
export interface SeriesWindow {
  /** Window start, epoch milliseconds. */
  readonly start: number;
  readonly count: number;
  readonly labelCounts: Record<string, number>;
  /** Each label's share of the window's documents; null for every label in an empty window. */
  readonly share: Record<string, number | null>;
  /** Mean sentiment of the documents that have one, or null. */
  readonly meanSentiment: number | null;
}

function documentJson(d: StoredDocument) {
  return {
    id: d.id,
    text: d.text,
    timestamp: d.timestamp,
    source: d.source ?? 'unknown',
    label: d.label,
    score: d.score,
    scores: d.scores,
    sentiment: d.sentiment,
    entities: d.entities,
  };
}

/** A client of `GET /api/events` and what it has been sent. */
interface EventClient {
  readonly reply: FastifyReply;
  alertCursor: number;
  count: number | undefined;
  latest: number | null | undefined;
}

/**
 * Builds the service (not listening yet: call `app.listen`). The event stream polls the store, so
 * it also shows documents and alerts written by other processes.
 */
export function createMonitorServer(opts: MonitorServerOptions): MonitorServer {
  const { store } = opts;
  if (opts.windowsMs.length === 0) throw new MonitorError('invalid_option', 'windowsMs must name at least one window length', { field: 'windowsMs' });
  for (const w of opts.windowsMs) {
    if (!Number.isSafeInteger(w) || w <= 0) throw new MonitorError('invalid_option', `windowsMs must hold positive integers (milliseconds); got ${w}`, { field: 'windowsMs' });
  }
  const windowsMs = [...opts.windowsMs];
  const pollMs = opts.pollMs ?? 1000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxIngest = opts.maxIngestDocuments ?? 1000;
  const maxText = opts.maxTextChars ?? 20_000;
  const maxWindows = opts.maxWindows ?? 5000;
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024;
  const app = Fastify({ logger: false, bodyLimit });

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (isTunaError(err)) return reply.status(err.httpStatus).send(errorBody(err.code, err.message, err.field));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send(errorBody('unsupported_media_type', 'send the body as application/json'));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return reply.status(413).send(errorBody('body_too_large', `the request body is larger than ${bodyLimit} bytes; send fewer documents per request`));
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.status(400).send(errorBody('invalid_json', 'the body is empty; send {"documents": [...]}'));
    if (err.statusCode === 400) return reply.status(400).send(errorBody('invalid_json', `the body is not valid JSON (${err.message})`));
    return reply.status(500).send(errorBody('internal', err.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        errorBody(
          'not_found',
          `no route ${request.method} ${request.url}; the monitor serves GET /, GET /api/series, /api/values, /api/documents, /api/alerts, /api/summary, /api/events and POST /v1/ingest`,
        ),
      ),
  );

  const windowParam = (text: string | undefined): number => {
    if (text === undefined) return windowsMs[0]!;
    const ms = parseWindow(text);
    if (ms === undefined || !windowsMs.includes(ms)) throw bad('window', `must be one of ${windowsMs.map(windowName).join(', ')} (the windows the store keeps); got "${text}"`);
    return ms;
  };

  /** The labels to report: the configured ones, then any others seen. */
  const labelsOf = (seen: Iterable<string>): string[] => {
    const out = [...(opts.labels ?? [])];
    for (const l of [...seen].sort()) if (!out.includes(l)) out.push(l);
    return out;
  };

  app.get('/api/series', async (request) => {
    const q = checkQuery('GET /api/series', request.query, ['dimension', 'value', 'window', 'from', 'to']);
    const series = parseSeries(q, true)!;
    const windowMs = windowParam(q.window);
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    checkRange(from, to);
    const rows = await store.series({ ...series, windowMs, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
    const first = from === undefined ? rows[0]?.windowStart : Math.ceil(from / windowMs) * windowMs;
    const end = to === undefined ? (rows.length > 0 ? rows[rows.length - 1]!.windowStart + windowMs : undefined) : to;
    const labels = labelsOf(new Set(rows.flatMap((r) => Object.keys(r.labelCounts))));
    const windows: SeriesWindow[] = [];
    if (first !== undefined && end !== undefined && end > first) {
      const n = Math.ceil((end - first) / windowMs);
      if (n > maxWindows) {
        throw bad(from === undefined ? 'window' : 'from', `spans ${n} windows of ${windowName(windowMs)}, more than ${maxWindows}: narrow from/to or ask for a longer window`);
      }
      const byStart = new Map(rows.map((r) => [r.windowStart, r]));
      for (let start = first; start < end; start += windowMs) {
        const r = byStart.get(start);
        const count = r?.count ?? 0;
        const labelCounts = { ...(r?.labelCounts ?? {}) };
        const share: Record<string, number | null> = {};
        for (const l of labels) share[l] = count > 0 ? (labelCounts[l] ?? 0) / count : null;
        windows.push({ start, count, labelCounts, share, meanSentiment: r && r.sentimentCount > 0 ? r.sentimentSum / r.sentimentCount : null });
      }
    }
    return { dimension: series.dimension, value: series.value, window: windowName(windowMs), windowMs, labels, windows };
  });

  app.get('/api/values', async (request) => {
    const q = checkQuery('GET /api/values', request.query, ['dimension', 'window', 'from', 'to', 'limit']);
    const dimension = parseDimension(q.dimension, true)!;
    const windowMs = windowParam(q.window);
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    checkRange(from, to);
    const limit = parseInteger('limit', q.limit, 1, 1000, 100);
    const values = await store.values(dimension, { windowMs, limit, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
    return { dimension, window: windowName(windowMs), values };
  });

  app.get('/api/documents', async (request) => {
    const q = checkQuery('GET /api/documents', request.query, ['dimension', 'value', 'from', 'to', 'label', 'order', 'limit']);
    const series = parseSeries(q, false);
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    checkRange(from, to);
    if (q.order !== undefined && q.order !== 'score' && q.order !== 'time') throw bad('order', `must be score (most confident first) or time (newest first); got "${q.order}"`);
    const limit = parseInteger('limit', q.limit, 1, 200, 10);
    const docs = await store.documents({
      limit,
      order: (q.order as 'score' | 'time' | undefined) ?? 'score',
      ...(series ? { series } : {}),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(q.label === undefined ? {} : { label: q.label }),
    });
    return { documents: docs.map(documentJson) };
  });

  app.get('/api/alerts', async (request) => {
    const q = checkQuery('GET /api/alerts', request.query, ['dimension', 'value', 'from', 'to', 'limit', 'afterId']);
    const series = parseSeries(q, false);
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    checkRange(from, to);
    const limit = parseInteger('limit', q.limit, 1, 1000, 100);
    const afterId = q.afterId === undefined ? undefined : parseInteger('afterId', q.afterId, 0, Number.MAX_SAFE_INTEGER, 0);
    const alerts = await store.alerts({
      limit,
      ...(series ? { series } : {}),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(afterId === undefined ? {} : { afterId }),
    });
    return { alerts };
  });

  app.get('/api/summary', async (request) => {
    checkQuery('GET /api/summary', request.query, []);
    const longest = Math.max(...windowsMs);
    const [documentCount, latestTimestamp, labelValues, all, newest] = await Promise.all([
      store.documentCount(),
      store.latestTimestamp(),
      store.values('label', { windowMs: longest, limit: 1000 }),
      store.series({ dimension: 'all', value: ALL, windowMs: longest }),
      store.alerts({ limit: 1 }),
    ]);
    return {
      title: opts.title ?? 'tuna monitor',
      documentCount,
      latestTimestamp,
      firstWindowStart: all[0]?.windowStart ?? null,
      labels: labelsOf(labelValues.map((v) => v.value)),
      windows: windowsMs.map((ms) => ({ name: windowName(ms), ms })),
      dimensions: DIMENSIONS,
      latestAlertId: newest[0]?.id ?? 0,
      pollMs,
      ingest: opts.ingest !== undefined,
    };
  });

  // Live updates: one poller for every connected client, running while any is connected.
  const clients = new Set<EventClient>();
  let timer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let closing = false;
  let polling = false;

  const send = (c: EventClient, event: string, data: unknown, id?: number) => {
    c.reply.raw.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const stopPolling = () => {
    clearInterval(timer);
    clearInterval(heartbeat);
    timer = heartbeat = undefined;
  };
  const poll = async () => {
    if (polling || clients.size === 0) return;
    polling = true;
    try {
      const targets = [...clients];
      const cursor = Math.min(...targets.map((c) => c.alertCursor));
      const [count, latest, fresh] = await Promise.all([store.documentCount(), store.latestTimestamp(), store.alerts({ afterId: cursor, limit: 1000 })]);
      fresh.sort((a, b) => a.id - b.id);
      for (const c of targets) {
        if (!clients.has(c)) continue;
        if (c.count !== count || c.latest !== latest) {
          c.count = count;
          c.latest = latest;
          send(c, 'update', { documentCount: count, latestTimestamp: latest });
        }
        for (const a of fresh) {
          if (a.id <= c.alertCursor) continue;
          send(c, 'alert', a, a.id);
          c.alertCursor = a.id;
        }
      }
    } catch (e) {
      for (const c of clients) send(c, 'problem', { message: `the store could not be read: ${e instanceof Error ? e.message : String(e)}` });
    } finally {
      polling = false;
    }
  };

  app.get('/api/events', async (request, reply) => {
    const q = checkQuery('GET /api/events', request.query, ['afterId']);
    if (closing) throw new MonitorError('unavailable', 'the monitor is shutting down');
    const lastEventId = request.headers['last-event-id'];
    const resume = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : q.afterId;
    const alertCursor =
      resume !== undefined
        ? parseInteger(q.afterId === resume ? 'afterId' : 'Last-Event-ID', resume, 0, Number.MAX_SAFE_INTEGER, 0)
        : ((await store.alerts({ limit: 1 }))[0]?.id ?? 0);
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write(`retry: ${Math.max(1000, pollMs)}\n: connected\n\n`);
    const client: EventClient = { reply, alertCursor, count: undefined, latest: undefined };
    clients.add(client);
    reply.raw.on('close', () => {
      clients.delete(client);
      if (clients.size === 0) stopPolling();
    });
    if (timer === undefined) {
      timer = setInterval(() => void poll(), pollMs);
      heartbeat = setInterval(() => {
        for (const c of clients) c.reply.raw.write(': heartbeat\n\n');
      }, heartbeatMs);
    }
    void poll();
  });

  app.addHook('preClose', async () => {
    closing = true;
    stopPolling();
    for (const c of clients) c.reply.raw.end();
    clients.clear();
  });

  app.post('/v1/ingest', async (request, reply) => {
    if (!opts.ingest) {
      return reply
        .status(503)
        .send(errorBody('unavailable', 'this monitor takes no documents: it was started without a model to classify them (start it with a model to enable POST /v1/ingest)'));
    }
    const docs = parseIngestBody(request.body, maxIngest, maxText);
    return await opts.ingest(docs);
  });

  const page = dashboardPageHtml({ title: opts.title ?? 'tuna monitor' });
  app.get('/', async (_request, reply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', page.csp).header('cache-control', 'no-cache').send(page.html),
  );
  const assets = uplotAssets();
  app.get('/assets/uplot.js', async (_request, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=86400').send(assets.js),
  );
  app.get('/assets/uplot.css', async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=86400').send(assets.css),
  );

  return {
    app,
    async close() {
      await app.close();
    },
  };
}

/** uPlot's browser build and style sheet, from the installed package. */
function uplotAssets(): { js: string; css: string } {
  const require = createRequire(import.meta.url);
  let dist: string;
  try {
    dist = dirname(require.resolve('uplot'));
  } catch (cause) {
    throw new MonitorError('file_not_found', 'the uplot package is not installed: run npm install (the dashboard serves its charts from node_modules/uplot/dist)', { cause });
  }
  const read = (name: string) => {
    try {
      return readFileSync(join(dist, name), 'utf8');
    } catch (cause) {
      throw new MonitorError('file_not_found', `${join(dist, name)} is missing: reinstall uplot (npm install uplot@1.6)`, { file: join(dist, name), cause });
    }
  };
  return { js: read('uPlot.iife.min.js'), css: read('uPlot.min.css') };
}

const INGEST_FIELDS = ['id', 'text', 'timestamp', 'source'];

/** Checks a `POST /v1/ingest` body; problems name the field (`documents[3].timestamp`). */
export function parseIngestBody(body: unknown, maxDocuments: number, maxTextChars: number): IncomingDocument[] {
  const invalid = (field: string, problem: string) => new MonitorError('invalid_request', `${field} ${problem}`, { field });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('(body)', 'must be a JSON object {"documents": [...]}');
  for (const k of Object.keys(body)) if (k !== 'documents') throw invalid(k, 'is not a field of this request (fields: documents)');
  const list = (body as { documents?: unknown }).documents;
  if (list === undefined) throw invalid('documents', 'is required');
  if (!Array.isArray(list)) throw invalid('documents', 'must be an array of documents');
  if (list.length === 0) throw invalid('documents', 'must hold at least one document');
  if (list.length > maxDocuments) {
    throw new MonitorError('body_too_large', `documents holds ${list.length} documents, more than the ${maxDocuments} one request takes: send them in several requests`, {
      field: 'documents',
    });
  }
  return list.map((raw, i): IncomingDocument => {
    const at = `documents[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(at, 'must be an object {id, text, timestamp}');
    const d = raw as Record<string, unknown>;
    const { id, text, timestamp, source } = d;
    if (typeof id !== 'string' || id.trim() === '' || id.length > 256) throw invalid(`${at}.id`, 'must be a non-blank string of at most 256 characters');
    if (typeof text !== 'string' || text.trim() === '') throw invalid(`${at}.text`, 'must be a non-blank string');
    if (text.length > maxTextChars) throw invalid(`${at}.text`, `is longer than ${maxTextChars} characters`);
    let ts: number;
    if (typeof timestamp === 'number') ts = timestamp;
    else if (typeof timestamp === 'string' && /^\d{4}-\d\d-\d\d/.test(timestamp)) ts = Date.parse(timestamp);
    else ts = Number.NaN;
    if (!Number.isSafeInteger(ts) || ts < 0) {
      throw invalid(
        `${at}.timestamp`,
        `must be an ISO 8601 time (2024-05-01T12:00:00Z) or epoch milliseconds; got ${timestamp === undefined ? 'nothing' : JSON.stringify(timestamp)}`,
      );
    }
    if (source !== undefined && (typeof source !== 'string' || source.trim() === '' || source.length > 200)) {
      throw invalid(`${at}.source`, 'must be a non-blank string of at most 200 characters');
    }
    const meta: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(d)) if (!INGEST_FIELDS.includes(k)) meta[k] = v;
    return { id, text, timestamp: ts, ...(source === undefined ? {} : { source: source as string }), ...(Object.keys(meta).length > 0 ? { meta } : {}) };
  });
}
