/**
 * The assistant's HTTP service (fastify): the chat page on `GET /`, `POST /v1/chat`,
 * `POST /v1/feedback`, `GET /healthz` and Prometheus metrics on `GET /metrics`.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { type ERROR_CODES, isTunaError } from '../../index.js';
import { Dialogue, type Reply } from './dialogue.js';
import { AssistantError } from './errors.js';
import { Nlu } from './nlu.js';
import { assistantPageHtml } from './page.js';
import { ModelSwitch, adminKeyProblem, checkAdminKey } from './model-switch.js';
import { openAssistantStore } from './postgres-store.js';
import type { AssistantStore } from './store.js';

/** The assistant's Prometheus metrics, in a registry of their own. */
export class AssistantMetrics {
  readonly registry = new Registry();
  /** Replies by kind (intent, clarify, faq, fallback) and intent. */
  readonly replies: Counter<'kind' | 'intent'>;
  readonly fallbacks: Counter;
  readonly handoffs: Counter<'delivered'>;
  readonly feedback: Counter<'helpful'>;
  readonly latency: Histogram<'kind'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.replies = new Counter({
      name: 'tuna_assistant_replies_total',
      help: 'Replies, by kind (intent, clarify, faq, fallback) and intent',
      labelNames: ['kind', 'intent'],
      registers,
    });
    this.fallbacks = new Counter({ name: 'tuna_assistant_fallbacks_total', help: 'Messages answered with the fallback ("I don\'t know")', registers });
    this.handoffs = new Counter({ name: 'tuna_assistant_handoffs_total', help: 'Handoffs to the webhook, by whether they were delivered', labelNames: ['delivered'], registers });
    this.feedback = new Counter({ name: 'tuna_assistant_feedback_total', help: 'Feedback received, by helpful', labelNames: ['helpful'], registers });
    this.latency = new Histogram({
      name: 'tuna_assistant_reply_duration_seconds',
      help: 'Time to answer one chat message (understanding, FAQ search, storage), by reply kind',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  observe(reply: Reply, seconds: number): void {
    this.replies.inc({ kind: reply.kind, intent: reply.intent ?? '' });
    if (reply.kind === 'fallback') this.fallbacks.inc();
    this.latency.observe({ kind: reply.kind }, seconds);
  }
}

/** Settings of {@link createAssistantServer}. */
export interface AssistantServerOptions {
  /** A model directory (its `current` version) or a version directory. */
  readonly model: string;
  /** The SQLite file or PostgreSQL URL (default: the database the version was trained with). */
  readonly database?: string;
  /** A store to use instead of SQLite. */
  readonly store?: AssistantStore;
  readonly threads?: number;
  /** Longest message in characters (default 4000). */
  readonly maxTextChars?: number;
  /** Backoff before the first webhook retry in ms (default 200). */
  readonly handoffBackoffMs?: number;
  /** Switch to a new current version when the model directory's `current` changes (default true). */
  readonly watch?: boolean;
  /** Poll interval of the watch in ms (default 2000). */
  readonly watchPollMs?: number;
  /** Serves `POST /admin/reload` for clients sending `Authorization: Bearer <adminKey>`. */
  readonly adminKey?: string;
  /** Reports a version switch, or a failed automatic one. */
  readonly log?: (line: string) => void;
}

/** A running assistant service. */
export interface AssistantServer {
  readonly app: FastifyInstance;
  readonly dialogue: Dialogue;
  readonly metrics: AssistantMetrics;
  /** Switches versions (`reload()`), counting the turns in flight on each. */
  readonly versions: ModelSwitch;
  /** Waits for handoffs under way, stops the server and closes the models and the store. */
  close(): Promise<void>;
}

const errorBody = (code: keyof typeof ERROR_CODES, message: string, field?: string) => ({ error: { code, message, ...(field ? { field } : {}) } });

/** Checks a JSON body against `fields` (name -> check returning a problem or undefined); unknown fields are refused. */
function checkBody(body: unknown, fields: Record<string, (v: unknown) => string | undefined>, required: readonly string[]): { field: string; problem: string } | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { field: '(body)', problem: 'must be a JSON object' };
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!(k in fields)) return { field: k, problem: `is not a field of this request (fields: ${Object.keys(fields).join(', ')})` };
  for (const k of required) if (b[k] === undefined) return { field: k, problem: 'is required' };
  for (const [k, check] of Object.entries(fields)) {
    if (b[k] === undefined) continue;
    const p = check(b[k]);
    if (p) return { field: k, problem: p };
  }
  return undefined;
}

/** Builds the service (not listening yet: call `app.listen`). */
export async function createAssistantServer(opts: AssistantServerOptions): Promise<AssistantServer> {
  const keyProblem = opts.adminKey === undefined ? undefined : adminKeyProblem(opts.adminKey);
  if (keyProblem) throw new AssistantError('invalid_option', `the admin key ${keyProblem}; give the key clients must send`, { field: 'adminKey' });
  const nlu = await Nlu.load(opts.model, opts.threads === undefined ? {} : { threads: opts.threads });
  const store = opts.store ?? openAssistantStore(opts.database ?? nlu.manifest.database);
  const metrics = new AssistantMetrics();
  const dialogue = new Dialogue(nlu, store, {
    observer: { onReply: (r, s) => metrics.observe(r, s), onHandoff: (h) => metrics.handoffs.inc({ delivered: String(h.delivered) }) },
    ...(opts.handoffBackoffMs !== undefined ? { handoffBackoffMs: opts.handoffBackoffMs } : {}),
  });
  const log = opts.log ?? (() => {});
  const versions = new ModelSwitch(opts.model, dialogue, {
    watch: opts.watch ?? true,
    ...(opts.watchPollMs !== undefined ? { pollMs: opts.watchPollMs } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    onSwitch: (r) => log(`switched from version ${r.previous_version} to version ${r.model_version}`),
    onError: (e) => log(`could not switch versions (${(e as Error).message}); the current one keeps answering`),
  });
  const maxText = opts.maxTextChars ?? 4000;
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

  app.setErrorHandler((err: FastifyError, _request, reply) => {
    if (isTunaError(err)) return reply.status(err.httpStatus).send(errorBody(err.code, err.message, err.field));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send(errorBody('unsupported_media_type', 'send the body as application/json'));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(errorBody('body_too_large', 'the request body is larger than 64 KiB'));
    if (err.statusCode === 400) return reply.status(400).send(errorBody('invalid_json', `the body is not valid JSON (${err.message})`));
    return reply.status(500).send(errorBody('internal', err.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url}; the assistant serves POST /v1/chat, POST /v1/feedback, GET /metrics, GET /healthz`)),
  );

  const text = (v: unknown) =>
    typeof v !== 'string' ? 'must be a string' : v.trim() === '' ? 'must not be blank' : v.length > maxText ? `is longer than ${maxText} characters` : undefined;
  app.post('/v1/chat', async (request, reply) => {
    const bad = checkBody(
      request.body,
      { session_id: (v) => (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(v) ? 'must be 1 to 128 letters, digits or _ . : -' : undefined), text },
      ['session_id', 'text'],
    );
    if (bad) return reply.status(400).send(errorBody('invalid_request', `${bad.field} ${bad.problem}`, bad.field));
    const { session_id, text: message } = request.body as { session_id: string; text: string };
    const r = await versions.run(() => dialogue.handle(session_id, message));
    return {
      reply: r.reply,
      intent: r.intent,
      confidence: r.confidence,
      source: r.source,
      action: r.action,
      ...(r.options ? { options: r.options } : {}),
      slots: r.slots,
      ...(r.slot !== undefined ? { slot: r.slot } : {}),
      message_id: r.message_id,
      model_version: r.model_version,
    };
  });

  app.post('/v1/feedback', async (request, reply) => {
    const intents = new Set(dialogue.nlu.manifest.intents);
    const bad = checkBody(
      request.body,
      {
        message_id: (v) => (typeof v !== 'number' || !Number.isInteger(v) || v < 1 ? 'must be a message id (a positive integer)' : undefined),
        helpful: (v) => (typeof v !== 'boolean' ? 'must be true or false' : undefined),
        intent: (v) => (typeof v !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(v) ? 'must be an intent name (letters, digits, _ . : -)' : undefined),
        comment: (v) => (typeof v !== 'string' || v.length > maxText ? `must be a string of at most ${maxText} characters` : undefined),
      },
      ['message_id', 'helpful'],
    );
    if (bad) return reply.status(400).send(errorBody('invalid_request', `${bad.field} ${bad.problem}`, bad.field));
    const b = request.body as { message_id: number; helpful: boolean; intent?: string; comment?: string };
    const m = await store.message(b.message_id);
    if (m?.role !== 'assistant') return reply.status(404).send(errorBody('not_found', `message ${b.message_id} is not a reply of the assistant`, 'message_id'));
    const f = await store.addFeedback({ messageId: b.message_id, helpful: b.helpful, intent: b.intent ?? null, comment: b.comment ?? null });
    metrics.feedback.inc({ helpful: String(b.helpful) });
    return { feedback_id: f.id, message_id: f.messageId, helpful: f.helpful, intent: f.intent, new_intent: f.intent !== null && !intents.has(f.intent) };
  });

  const page = assistantPageHtml();
  app.get('/', async (_request, reply) => reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', page.csp).send(page.html));
  if (opts.adminKey !== undefined) {
    const key = opts.adminKey;
    app.post('/admin/reload', async (request) => {
      checkAdminKey(request.headers.authorization, key);
      return versions.reload();
    });
  }
  app.get('/healthz', async () => ({ status: 'ok', model_version: dialogue.nlu.version, intents: dialogue.nlu.manifest.intents.length }));
  app.get('/metrics', async (_request, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  return {
    app,
    dialogue,
    metrics,
    versions,
    async close() {
      await app.close();
      await versions.close();
      await dialogue.idle();
      await dialogue.nlu.dispose();
      await store.close();
    },
  };
}
