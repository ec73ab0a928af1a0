/**
 * `tuna serve`'s HTTP service on fastify: inference endpoints with micro-batching, model listing,
 * health, readiness, Prometheus metrics and a web page.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isTunaError } from '../errors.js';
import { formatBytes } from '../io/files.js';
import { type AdapterInfo, AdapterRegistry, type AdapterSpec, adapterHint, parseAdapterSpec, registerAdapterRoutes } from './adapters.js';
import { MicroBatcher } from './batcher.js';
import { OpenRequests, type RequestDeadlines, clientErrorHandler, hasBody, nodeDeadlineOptions, seconds, settlesWithin, stopAccepting, watchedBody } from './connections.js';
import { ServeConfigError, ServeError } from './errors.js';
import { ServeMetrics } from './metrics.js';
import { type LoadedModel, type ModelInfo, type ModelSpec, disposeModels, loadModels, parseModelSpec } from './models.js';
import { pageHtml } from './page.js';
import { type IndexSpec, type IndexSummary, disposeIndexes, loadIndexes, parseIndexSpec, registerSearchRoutes } from './search.js';
import { estimateJsonBytes, jsonStream } from './response.js';
import type { Pipeline, TextRankingPipeline } from '../pipelines/types.js';
import { rankDocuments } from '../sentence/cross-encoder.js';
import { type RequestLimits, SERVE_TASKS, type ServeTask, type TaskSpec, requestSchema, rerankRequestSchema, taskSpec } from './tasks.js';
import { type SchemaError, blankTextError, schemaError } from './validation.js';

/** Settings of a tuna server; only `models` is required. */
export interface ServerOptions {
  /** Checkpoint directories to serve (`"DIR"` or `"NAME=DIR"`), or specs; the first serving a task is that task's default. */
  readonly models: readonly (string | ModelSpec)[];
  /**
   * Search indexes for `POST /v1/search` (`"DIR"` or `"NAME=DIR"`; the first is the default), each
   * with its own model loaded for queries. With indexes, `models` may be empty.
   */
  readonly indexes?: readonly (string | IndexSpec)[];
  /**
   * Adapters of the served models (`"NAME=DIR"` or specs): a request names one with `"adapter"`.
   * Each runs on the served model that is its base (`base_model_name_or_path`).
   */
  readonly adapters?: readonly (string | AdapterSpec)[];
  /** Most adapters resident at once (default: no limit); beyond it the least recently used is unloaded. */
  readonly maxAdapters?: number;
  /** Serves `PUT`/`DELETE /v1/admin/adapters/{name}` (needs `apiKey`). */
  readonly adapterAdmin?: boolean;
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** TCP port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** Most inputs per model run (default 32); 1 turns micro-batching off. */
  readonly maxBatchSize?: number;
  /**
   * Longest time a request waits for others to share its batch while the model is idle, in ms
   * (default 0: a batch starts as soon as the model is free, and the requests that arrive while it
   * runs form the next one).
   */
  readonly maxWaitMs?: number;
  /**
   * Most inputs waiting for one model (default 4096); beyond it requests get 503 `overloaded` with
   * `Retry-After`, so that an overloaded server answers at once instead of queueing without bound.
   */
  readonly maxQueue?: number;
  /** Largest request body in bytes (default 1 MiB); larger bodies get 413. */
  readonly maxBodyBytes?: number;
  /** Longest text in characters (UTF-16 code units, default 20,000). */
  readonly maxTextChars?: number;
  /** Most texts per request (default 256). */
  readonly maxInputs?: number;
  /** When set, requests other than `/`, `/healthz` and `/readyz` need `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** ONNX Runtime intra-op threads per session (default: the number of cores, or `TUNA_THREADS`). */
  readonly threads?: number;
  /** Hub revision (branch, tag or commit) of models given as Hub ids (default main). */
  readonly revision?: string;
  /** Log requests with fastify's logger (pino, JSON lines on stdout); default off. */
  readonly logger?: boolean;
  /**
   * Largest answer in bytes (default 32 MiB), estimated from its shape before it is written; a
   * request whose answer would be larger gets 413 `response_too_large`.
   */
  readonly maxResponseBytes?: number;
  /** The request headers must arrive within this many ms of the request's start (default 20,000; at most `requestTimeoutMs`). */
  readonly headersTimeoutMs?: number;
  /**
   * The whole request, headers and body, must arrive within this many ms of its start (default
   * 60,000); a slower one gets 408 `request_timeout` and its connection is closed.
   */
  readonly requestTimeoutMs?: number;
  /** The longest pause in a request body, in ms (default 10,000); then 408 `request_timeout` and the connection is closed. */
  readonly bodyTimeoutMs?: number;
  /**
   * How long {@link TunaServer.close} waits for open requests, in ms (default 10,000): then those not
   * yet answered get 503 `unavailable` and every connection is closed.
   */
  readonly shutdownTimeoutMs?: number;
}

/** A server whose models are loaded; see {@link createServer} and {@link startServer}. */
export interface TunaServer {
  /** The fastify instance (routes registered); `app.inject` runs requests without a socket. */
  readonly app: FastifyInstance;
  /** The models served, as `GET /v1/models` lists them. */
  readonly models: readonly ModelInfo[];
  /** The search indexes served, as `GET /v1/indexes` lists them. */
  readonly indexes: readonly IndexSummary[];
  /** The adapters registered at the start, as `GET /v1/adapters` lists them then. */
  readonly adapters: readonly AdapterInfo[];
  /** The server's metrics registry and instruments. */
  readonly metrics: ServeMetrics;
  /** `http://host:port` once listening, else undefined. */
  readonly address: string | undefined;
  /** Starts listening on the configured host and port; resolves with {@link address}. */
  listen(): Promise<string>;
  /**
   * Shuts down gracefully: `/readyz` turns 503, no new connections are accepted, requests already
   * received, queued or running (or arriving on a connection already open) are answered and their
   * connections closed, then the models are freed. After `shutdownTimeoutMs`, requests not yet
   * answered get 503 `unavailable` and every connection is closed. Calling it again returns the
   * same promise, which resolves with whether every request was answered in time.
   */
  close(): Promise<boolean>;
  /** Whether {@link close} has been called. */
  readonly closing: boolean;
}

/** The options with their defaults applied. */
export interface ResolvedServerOptions {
  readonly models: readonly ModelSpec[];
  readonly indexes: readonly IndexSpec[];
  readonly adapters: readonly AdapterSpec[];
  readonly maxAdapters?: number;
  readonly adapterAdmin: boolean;
  readonly host: string;
  readonly port: number;
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly maxQueue: number;
  readonly maxBodyBytes: number;
  readonly maxTextChars: number;
  readonly maxInputs: number;
  readonly apiKey?: string;
  readonly threads?: number;
  readonly revision?: string;
  readonly logger: boolean;
  readonly maxResponseBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new ServeConfigError(`${name} must be an integer >= ${min}, got ${String(value)}`, { option: name });
  return v;
}

/** Longest timeout an option takes: a day, in ms. */
const MAX_TIMEOUT_MS = 86_400_000;

function milliseconds(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1 || v > MAX_TIMEOUT_MS) {
    throw new ServeConfigError(`${name} must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (a day), got ${String(value)}`, { option: name });
  }
  return v;
}

/**
 * What is wrong with an API key that no client could send, or undefined: a blank key, spaces
 * around it (HTTP drops them from the header), control or non-ASCII characters.
 */
export function apiKeyProblem(key: string): string | undefined {
  if (key.trim() === '') return key === '' ? 'is empty' : 'is blank (only spaces)';
  if (key !== key.trim()) return 'has spaces at its start or end, which HTTP drops from the Authorization header';
  if (!/^[\x20-\x7e]+$/.test(key)) return 'has control or non-ASCII characters, which an Authorization header cannot carry';
  return undefined;
}

/** Applies defaults and checks every option. @throws ServeConfigError */
export function resolveServerOptions(o: ServerOptions): ResolvedServerOptions {
  const hasIndexes = Array.isArray(o.indexes) && o.indexes.length > 0;
  if (!Array.isArray(o.models) || (o.models.length === 0 && !hasIndexes)) throw new ServeConfigError('no model to serve; give at least one model directory', { option: 'models' });
  const port = o.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeConfigError(`port must be an integer from 0 to 65535, got ${String(o.port)}`, { option: 'port' });
  const maxWaitMs = o.maxWaitMs ?? 0;
  if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs < 0 || maxWaitMs > 60000) {
    throw new ServeConfigError(`maxWaitMs must be a number of milliseconds from 0 to 60000, got ${String(o.maxWaitMs)}`, { option: 'maxWaitMs' });
  }
  const keyProblem = o.apiKey === undefined ? undefined : apiKeyProblem(o.apiKey);
  if (keyProblem !== undefined) throw new ServeConfigError(`apiKey ${keyProblem}; give the key clients must send, or leave it out`, { option: 'apiKey' });
  if (o.adapterAdmin && o.apiKey === undefined)
    throw new ServeConfigError('the adapter admin endpoint loads files on the server, so it needs an API key; give apiKey (--api-key or TUNA_API_KEY)', { option: 'adapterAdmin' });
  return {
    models: o.models.map((m) => (typeof m === 'string' ? parseModelSpec(m) : m)),
    indexes: (o.indexes ?? []).map((x) => (typeof x === 'string' ? parseIndexSpec(x) : x)),
    adapters: (o.adapters ?? []).map((x) => (typeof x === 'string' ? parseAdapterSpec(x) : x)),
    maxAdapters: o.maxAdapters === undefined ? undefined : positiveInteger('maxAdapters', o.maxAdapters, 1),
    adapterAdmin: o.adapterAdmin ?? false,
    host: o.host ?? '127.0.0.1',
    port,
    maxBatchSize: positiveInteger('maxBatchSize', o.maxBatchSize, 32),
    maxWaitMs,
    maxQueue: positiveInteger('maxQueue', o.maxQueue, 4096),
    maxBodyBytes: positiveInteger('maxBodyBytes', o.maxBodyBytes, 1024 * 1024, 64),
    maxTextChars: positiveInteger('maxTextChars', o.maxTextChars, 20000),
    maxInputs: positiveInteger('maxInputs', o.maxInputs, 256),
    apiKey: o.apiKey,
    threads: o.threads === undefined ? undefined : positiveInteger('threads', o.threads, 1),
    revision: o.revision,
    logger: o.logger ?? false,
    maxResponseBytes: positiveInteger('maxResponseBytes', o.maxResponseBytes, 32 * 1024 * 1024, 1024),
    headersTimeoutMs: milliseconds('headersTimeoutMs', o.headersTimeoutMs, 20_000),
    requestTimeoutMs: milliseconds('requestTimeoutMs', o.requestTimeoutMs, 60_000),
    bodyTimeoutMs: milliseconds('bodyTimeoutMs', o.bodyTimeoutMs, 10_000),
    shutdownTimeoutMs: milliseconds('shutdownTimeoutMs', o.shutdownTimeoutMs, 10_000),
  };
}

/** A request body of `POST /v1/<task>`, after schema validation. */
interface InferenceBody {
  readonly inputs: unknown;
  readonly model?: string;
  /** The adapter of the model to run (`--adapter`, or loaded through the admin endpoint). */
  readonly adapter?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

/** A request body of `POST /v1/rerank`, after schema validation. */
interface RerankBody {
  readonly query: string;
  readonly documents: readonly string[];
  readonly model?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
}

const OPEN_PATHS = new Set(['/', '/healthz', '/readyz', '/favicon.ico']);
/** Answers estimated larger than this are written as a stream of JSON chunks. */
const STREAM_ABOVE_BYTES = 1024 * 1024;
/** Bytes a number of a token vector is counted at before the model runs: fewer than a float32 value written as a double takes (17 to 21 with its comma) unless it is round. */
const MIN_VECTOR_NUMBER_BYTES = 16;
const ALL_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/**
 * Loads the models and builds the service (not yet listening; call `listen()`, or use
 * {@link startServer}).
 *
 * @throws ServeConfigError for bad options or a directory that is no usable checkpoint.
 */
export async function createServer(options: ServerOptions): Promise<TunaServer> {
  const o = resolveServerOptions(options);
  const loaded = o.models.length > 0 ? await loadModels(o.models, { threads: o.threads, batchSize: o.maxBatchSize, revision: o.revision }) : [];
  const indexes = await loadIndexes(o.indexes, { threads: o.threads, batchSize: o.maxBatchSize }).catch(async (e) => {
    await disposeModels(loaded);
    throw e;
  });
  const adapters = new AdapterRegistry(loaded, { threads: o.threads, batchSize: o.maxBatchSize, maxAdapters: o.maxAdapters });
  try {
    for (const spec of o.adapters) await adapters.register(spec);
  } catch (e) {
    await adapters.dispose();
    await disposeModels(loaded);
    await disposeIndexes(indexes);
    throw e;
  }
  const metrics = new ServeMetrics({ maxBatchSize: o.maxBatchSize });
  const batcher = new MicroBatcher({ maxBatchSize: o.maxBatchSize, maxWaitMs: o.maxWaitMs, maxQueuedInputs: o.maxQueue, observer: metrics.observer() });
  const limits: RequestLimits = { maxTextChars: o.maxTextChars, maxInputs: o.maxInputs };
  const deadlines: RequestDeadlines = { headersMs: o.headersTimeoutMs, requestMs: o.requestTimeoutMs, bodyIdleMs: o.bodyTimeoutMs };
  let closing = false;
  let closed: Promise<boolean> | undefined;
  let address: string | undefined;

  const nodeDeadlines = nodeDeadlineOptions(deadlines);
  const app = Fastify({
    logger: o.logger,
    bodyLimit: o.maxBodyBytes,
    http: nodeDeadlines,
    requestTimeout: nodeDeadlines.requestTimeout,
    // Requests still arriving on open connections while shutting down are answered (and their
    // connection closed, see onSend) rather than refused with fastify's own 503 body.
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(deadlines),
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  });
  const openRequests = new OpenRequests(app.server);

  // JSON bodies only (fastify also reads text/plain by default, which must get 415); JSON.parse
  // keeps the position of a syntax error for the message.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(new ServeError('invalid_json', 'the body is empty; send a JSON object such as {"inputs": "some text"}'), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new ServeError('invalid_json', `the body is not valid JSON (${(e as Error).message})`), undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (o.apiKey === undefined || OPEN_PATHS.has(request.url.split('?')[0]!)) return;
    if (!keyMatches(request.headers.authorization, o.apiKey)) {
      reply.header('www-authenticate', 'Bearer');
      throw new ServeError(
        'unauthorized',
        request.headers.authorization === undefined ? 'this server needs an API key: send "Authorization: Bearer <key>"' : 'the API key is wrong',
        { field: 'authorization' },
      );
    }
  });

  // A body that pauses too long fails its parse with 408 (the whole-request deadline is Node's).
  app.addHook('preParsing', async (request, reply, payload) => (hasBody(request.raw) ? watchedBody(request.raw, reply.raw, o.bodyTimeoutMs) : payload));

  // While shutting down, every response closes its connection so that keep-alive clients let go.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toServeError(err, request.body, limits);
    if (e.code === 'overloaded') reply.header('retry-after', '1');
    else if (e.status >= 500) request.log.error(err);
    reply.status(e.status).send(e.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const e = new ServeError(
      'not_found',
      `no route ${request.method} ${request.url.split('?')[0]}; the endpoints are POST ${SERVE_TASKS.map((t) => `/v1/${t}`).join(', ')}, /v1/search and GET /v1/models, /v1/indexes, /healthz, /readyz, /metrics, /`,
    );
    reply.status(e.status).send(e.toJSON());
  });

  // ---------------------------------------------------------------- routes

  const page = pageHtml();
  getRoute(app, '/', async (_request, reply) => {
    reply.header('content-security-policy', page.csp).header('x-content-type-options', 'nosniff').type('text/html; charset=utf-8');
    return page.html;
  });
  getRoute(app, '/healthz', async () => ({ status: 'ok' }));
  getRoute(app, '/readyz', async (_request, reply) => {
    if (closing) {
      const e = new ServeError('unavailable', 'the server is shutting down');
      return reply.status(e.status).send(e.toJSON());
    }
    return { status: 'ready', models: loaded.map((m) => m.info.name) };
  });
  getRoute(app, '/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  getRoute(app, '/v1/models', async () => ({ models: loaded.map((m) => m.info) }));

  for (const task of SERVE_TASKS) {
    const spec = taskSpec(task);
    const url = `/v1/${task}`;
    app.route<{ Body: InferenceBody & RerankBody }>({
      method: 'POST',
      url,
      schema: { body: task === 'rerank' ? rerankRequestSchema(limits) : requestSchema(spec, limits) },
      handler: async (request, reply) => (task === 'rerank' ? rerank(spec, request, reply) : infer(spec, request, reply)),
    });
    methodNotAllowed(app, url, 'POST');
  }

  registerAdapterRoutes(app, adapters, { admin: o.adapterAdmin });
  registerSearchRoutes(app, { indexes, models: loaded, batcher, metrics, limits, maxResponseBytes: o.maxResponseBytes });
  methodNotAllowed(app, '/v1/search', 'POST');
  methodNotAllowed(app, '/v1/indexes', 'GET');

  async function infer(spec: TaskSpec, request: FastifyRequest<{ Body: InferenceBody }>, reply: FastifyReply): Promise<unknown> {
    const body = request.body;
    const single = !Array.isArray(body.inputs);
    const inputs = (single ? [body.inputs] : (body.inputs as unknown[])).map((x, i) => pipelineInput(x, single ? 'inputs' : `inputs[${i}]`));
    const callOptions = spec.options(body.parameters ?? {});
    // A request naming an adapter holds it (loaded, not unloaded) until it is answered.
    const lease = body.adapter === undefined ? undefined : await adapters.lease(body.adapter, body.model, spec.task);
    const model = lease?.model ?? pickModel(loaded, spec.task, body.model, (m) => adapterHint(adapters, m, spec.task));
    const pipe = lease ? lease.pipeline : model.pipelines.get(spec.task)!;
    try {
      if (spec.task === 'embed' && callOptions.pooling === 'none' && pipe) refuseLargeTokenVectors(inputs as string[], pipe);
    } catch (e) {
      lease?.release();
      throw e;
    }
    const run = (batch: readonly unknown[]) => (pipe!.runBatch as (xs: readonly unknown[], opts: unknown) => Promise<unknown[]>)(batch, callOptions);
    const job = lease ? lease.job(inputs, callOptions) : { key: JSON.stringify(callOptions), run, inputs };
    // The client going away before its batch starts takes it out of the queue.
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    const route = `/v1/${spec.task}`;
    metrics.inFlight.inc({ route });
    try {
      const results = await batcher.submit(model.info.name, spec.task, job.key, job.run, job.inputs, gone.signal);
      return answer(single ? results[0] : results, spec, callOptions, reply);
    } catch (e) {
      throw fromPipelineError(e, single, spec);
    } finally {
      lease?.release();
      metrics.inFlight.dec({ route });
      reply.raw.off('close', onClose);
    }
  }

  /**
   * `POST /v1/rerank`: every (query, document) pair goes through the batcher (pairs of concurrent
   * requests share model runs), then the request's documents are ranked by score, best first.
   */
  async function rerank(spec: TaskSpec, request: FastifyRequest<{ Body: RerankBody }>, reply: FastifyReply): Promise<unknown> {
    const body = request.body;
    const model = pickModel(loaded, spec.task, body.model);
    if (body.query.trim() === '') throw blankTextError('query');
    body.documents.forEach((d, i) => {
      if (d.trim() === '') throw blankTextError(`documents[${i}]`);
    });
    const options = spec.options(body.parameters ?? {});
    const pipe = model.pipelines.get(spec.task) as TextRankingPipeline;
    const run = (pairs: readonly unknown[]) => pipe.predict(pairs as [string, string][]) as Promise<number[]>;
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    metrics.inFlight.inc({ route: '/v1/rerank' });
    try {
      const pairs = body.documents.map((d) => [body.query, d]);
      const scores = (await batcher.submit(model.info.name, spec.task, '', run, pairs, gone.signal)) as number[];
      const ranked = rankDocuments(scores, { topK: options.topK as number | undefined, ...(options.returnDocuments ? { documents: body.documents } : {}) });
      return answer(
        ranked.map((r) => (r.text === undefined ? { index: r.corpus_id, score: r.score } : { index: r.corpus_id, score: r.score, document: r.text })),
        spec,
        options,
        reply,
      );
    } catch (e) {
      throw fromPipelineError(e, false, spec);
    } finally {
      metrics.inFlight.dec({ route: '/v1/rerank' });
      reply.raw.off('close', onClose);
    }
  }

  /** The answer as fastify sends it, or as a stream of JSON chunks when it is large; refused beyond maxResponseBytes. */
  function answer(value: unknown, spec: TaskSpec, callOptions: Readonly<Record<string, unknown>>, reply: FastifyReply): unknown {
    const bytes = estimateJsonBytes(value);
    if (bytes > o.maxResponseBytes) throw responseTooLarge(`about ${formatBytes(bytes)}`, spec.task === 'embed' && callOptions.pooling === 'none');
    if (bytes <= STREAM_ABOVE_BYTES) return value;
    return reply.type('application/json; charset=utf-8').send(jsonStream(value));
  }

  /**
   * Refuses, before the model runs, an `embed` request with `"pooling": "none"` whose token vectors
   * are too large to send, counted at MIN_VECTOR_NUMBER_BYTES a number; the texts are
   * tokenized only when their byte lengths leave it open.
   */
  function refuseLargeTokenVectors(texts: readonly string[], pipe: Pipeline): void {
    const bytesOf = (tokens: number) => tokens * pipe.config.hidden_size * MIN_VECTOR_NUMBER_BYTES;
    // A token covers at least one byte of its text; [CLS] and [SEP] are added.
    const most = texts.reduce((n, t) => n + Math.min(pipe.maxLength, Buffer.byteLength(t) + 2), 0);
    if (bytesOf(most) <= o.maxResponseBytes) return;
    const tokens = texts.reduce((n, t) => n + pipe.tokenizer.encode(t, undefined, { maxLength: pipe.maxLength }).inputIds.length, 0);
    if (bytesOf(tokens) > o.maxResponseBytes) throw responseTooLarge(`at least ${formatBytes(bytesOf(tokens))}`, true);
  }

  function responseTooLarge(size: string, tokenVectors: boolean): ServeError {
    const pool = tokenVectors ? ', or ask for one vector per text ("pooling": "mean" or "cls")' : '';
    return new ServeError(
      'response_too_large',
      `the answer would be ${size}, more than the ${formatBytes(o.maxResponseBytes)} this server sends per request; send fewer or shorter inputs per request${pool}`,
    );
  }

  async function shutDown(): Promise<boolean> {
    const deadline = Date.now() + o.shutdownTimeoutMs;
    stopAccepting(app.server);
    const drained = batcher.drain();
    const inTime = await settlesWithin(openRequests.settled(), deadline - Date.now());
    if (!inTime) openRequests.answerUnanswered(new ServeError('unavailable', `the server shut down before this request was answered (it waits ${seconds(o.shutdownTimeoutMs)})`));
    const stopped = app.close();
    // Connections still open once the requests are answered (or at the deadline) are closed.
    if (!(await settlesWithin(stopped, inTime ? deadline - Date.now() : 250))) app.server.closeAllConnections();
    await stopped;
    await drained;
    await adapters.dispose();
    await disposeModels(loaded);
    await disposeIndexes(indexes);
    return inTime;
  }

  const server: TunaServer = {
    app,
    models: loaded.map((m) => m.info),
    indexes: indexes.map((x) => x.info),
    adapters: adapters.list(),
    metrics,
    get address() {
      return address;
    },
    get closing() {
      return closing;
    },
    async listen() {
      try {
        await app.listen({ host: o.host, port: o.port });
      } catch (e) {
        throw listenError(e, o.host, o.port);
      }
      const a = app.server.address();
      if (a === null || typeof a === 'string') throw new ServeConfigError(`the server is listening on an unexpected address ${String(a)}`);
      address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      return address;
    },
    close() {
      if (closed) return closed;
      closing = true;
      closed = shutDown();
      return closed;
    },
  };
  return server;
}

/** Loads the models and listens: {@link createServer} then `listen()`. */
export async function startServer(options: ServerOptions): Promise<TunaServer> {
  const server = await createServer(options);
  try {
    await server.listen();
  } catch (e) {
    await server.close();
    throw e;
  }
  return server;
}

/** A failure to listen as a ServeConfigError naming the port or host and what to do. */
function listenError(e: unknown, host: string, port: number): unknown {
  const err = e as NodeJS.ErrnoException;
  const where = `${host}:${port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ServeConfigError(`port ${port} is already in use on ${host} (another process listens there); choose another port, or 0 for any free one`, {
        option: 'port',
        cause: e,
      });
    case 'EACCES':
    case 'EPERM':
      return new ServeConfigError(
        `no permission to listen on ${where}${port < 1024 ? ': ports below 1024 need administrator rights' : ''}; choose another port (above 1023), or 0 for any free one`,
        { option: 'port', cause: e },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAFNOSUPPORT':
      return new ServeConfigError(`cannot listen on host ${host}: it is no address of this machine (${err.code}); use 127.0.0.1, 0.0.0.0 or one of its addresses`, {
        option: 'host',
        cause: e,
      });
    default:
      return isTunaError(e) ? e : new ServeConfigError(`cannot listen on ${where}: ${err.message}`, { option: 'port', cause: e });
  }
}

function getRoute(app: FastifyInstance, url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void {
  app.get(url, handler);
  methodNotAllowed(app, url, 'GET');
}

/** Answers the other methods of `url` with 405 and an `Allow` header. */
function methodNotAllowed(app: FastifyInstance, url: string, allowed: 'GET' | 'POST'): void {
  const allow = allowed === 'GET' ? 'GET, HEAD' : 'POST';
  const refuse = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('allow', allow);
    throw new ServeError('method_not_allowed', `${request.method} is not allowed on ${url}; use ${allow}`);
  };
  // Refused before the body is read, whatever it holds or claims to be.
  app.route({ method: ALL_METHODS.filter((m) => m !== allowed), url, onRequest: refuse, handler: refuse });
}

function keyMatches(header: string | undefined, key: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!.trim()), digest(key));
}

/** The model a request asks for, or the first that serves the task. */
function pickModel(models: readonly LoadedModel[], task: ServeTask, name: string | undefined, hint: (m: LoadedModel) => string = () => ''): LoadedModel {
  const serving = models.filter((m) => m.pipelines.has(task));
  if (name === undefined) {
    if (serving.length === 0) {
      throw new ServeError(
        'unsupported_task',
        `no model here serves ${task}; the models serve ${models.map((m) => `${m.info.name} (${m.info.tasks.join(', ')})`).join('; ')}${models.map(hint).join('')}`,
      );
    }
    return serving[0]!;
  }
  const model = models.find((m) => m.info.name === name);
  if (!model)
    throw new ServeError('unknown_model', `no model named ${JSON.stringify(name)}; the models are ${models.map((m) => JSON.stringify(m.info.name)).join(', ')}`, {
      field: 'model',
    });
  if (!model.pipelines.has(task)) {
    const others = serving.length ? `; ${task} is served by ${serving.map((m) => JSON.stringify(m.info.name)).join(', ')}` : '';
    throw new ServeError(
      'unsupported_task',
      `model ${JSON.stringify(name)} (${model.info.architectures.join(', ') || 'BertModel'}) does not serve ${task}, only ${model.info.tasks.join(', ')}${others}${hint(model)}`,
      { field: 'model' },
    );
  }
  return model;
}

/** A validated input as the pipeline takes it (`text_pair` -> `textPair`); blank texts refused. */
function pipelineInput(x: unknown, field: string): string | { text: string; textPair?: string } {
  if (typeof x === 'string') {
    if (x.trim() === '') throw blankTextError(field);
    return x;
  }
  const { text, text_pair } = x as { text: string; text_pair?: string };
  if (text.trim() === '') throw blankTextError(`${field}.text`);
  if (text_pair === undefined) return { text };
  if (text_pair.trim() === '') throw blankTextError(`${field}.text_pair`);
  return { text, textPair: text_pair };
}

/**
 * A failure of a queued or running request (batcher, pipeline, runtime: any tuna error) as the
 * ServeError sent back, by code, with the request's field names: `inputs[0].text_pair`, and
 * `parameters.top_k` for a pipeline option (`topK`) that a request parameter sets.
 */
function fromPipelineError(e: unknown, single: boolean, spec: TaskSpec): unknown {
  if (!isTunaError(e) || e instanceof ServeError) return e;
  let field = e.field;
  if (field !== undefined && /^inputs\[\d+\]/.test(field)) {
    field = (single ? field.replace(/^inputs\[\d+\]/, 'inputs') : field).replace(/\.textPair$/, '.text_pair');
  }
  switch (e.code) {
    case 'cancelled':
      return new ServeError('cancelled', 'the client went away', { cause: e });
    case 'overloaded':
      return new ServeError('overloaded', `the server is overloaded: ${e.message}; retry later`, { cause: e });
    case 'invalid_input':
      return new ServeError('invalid_request', e.message, { field, cause: e });
    case 'invalid_option':
      return new ServeError('invalid_parameter', parameterMessage(e.message, spec), {
        field: field === undefined ? undefined : `parameters.${parameterName(field, spec)}`,
        cause: e,
      });
    case 'disposed':
      return new ServeError('unavailable', 'the server is shutting down', { cause: e });
    default:
      return new ServeError(e.code, e.message, { field, cause: e });
  }
}

/** The request parameter (`top_k`) that sets a pipeline option (`topK`, or its alias `top_k`). */
function parameterName(option: string, spec: TaskSpec): string {
  return spec.parameterNames[option] ?? option.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A pipeline's message about its options in the request's terms: option names become parameter
 * names (`aggregationStrategy` -> `aggregation_strategy`), and the one it starts with is named as
 * the request field (`parameters.stride must be ...`).
 */
function parameterMessage(message: string, spec: TaskSpec): string {
  let m = message;
  for (const [option, parameter] of Object.entries(spec.parameterNames)) {
    if (option !== parameter) m = m.replace(new RegExp(`\\b${option}\\b`, 'g'), parameter);
  }
  const first = /^[a-z_]+\b/.exec(m)?.[0];
  return first !== undefined && Object.values(spec.parameterNames).includes(first) ? `parameters.${m}` : m;
}

/** Any error thrown while handling a request, as the ServeError sent back. */
function toServeError(err: FastifyError | ServeError | Error, body: unknown, limits: RequestLimits): ServeError {
  if (err instanceof ServeError) return err;
  const f = err as FastifyError;
  if (f.validation && f.validation.length > 0) return schemaError(f.validation[0] as unknown as SchemaError, body, limits);
  // Any other tuna error keeps its code, and so its status in ERROR_CODES.
  if (isTunaError(err)) return new ServeError(err.code, err.message, { field: err.field, cause: err });
  switch (f.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ServeError('body_too_large', `the body is larger than the server's limit; send fewer or shorter texts per request (or raise --max-body-bytes)`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ServeError('unsupported_media_type', 'send the body as JSON with "Content-Type: application/json"');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ServeError('invalid_json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ServeError('invalid_request', 'the body size does not match Content-Length');
  }
  const status = f.statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ServeError('invalid_request', f.message);
  return new ServeError('internal', `the server failed to answer: ${err.message}`);
}
