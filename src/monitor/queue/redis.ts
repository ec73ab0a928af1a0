/**
 * The monitor's scale-out queue on a Redis stream with a consumer group: producers publish
 * documents, any number of workers read them, hand each batch to a handler (which writes to the
 * store) and acknowledge it only after the handler resolved. Entries of a worker that died stay
 * pending and are reclaimed by another; entries that keep failing, or that are not documents, go
 * to a dead-letter stream.
 */
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { MonitorError } from '../errors.js';
import type { IncomingDocument } from '../types.js';

/** The stream documents are published to unless told otherwise. */
export const DEFAULT_STREAM = 'tuna:documents';
/** The consumer group workers read in unless told otherwise. */
export const DEFAULT_GROUP = 'tuna-monitor';

/** Options of {@link RedisDocumentQueue.connect}. */
export interface RedisQueueOptions {
  /** Stream key (default {@link DEFAULT_STREAM}). */
  readonly stream?: string;
  /** Consumer group (default {@link DEFAULT_GROUP}); created, with the stream, when missing. */
  readonly group?: string;
  /** Trim the stream to about this many entries on publish (`XADD MAXLEN ~`); default: no trimming. */
  readonly maxLength?: number;
  /** How long to wait for the server to accept the connection, ms (default 5000). */
  readonly connectTimeoutMs?: number;
}

/** A consumer of the group, as {@link RedisDocumentQueue.info} reports it. */
export interface QueueConsumerInfo {
  readonly name: string;
  /** Entries delivered to it and not acknowledged yet. */
  readonly pending: number;
  /** Milliseconds since it last read or claimed. */
  readonly idleMs: number;
}

/** The state of the stream and its group. */
export interface QueueInfo {
  readonly stream: string;
  readonly group: string;
  /** Entries in the stream (acknowledged ones included, until trimmed). */
  readonly length: number;
  /** Entries delivered to a consumer and not acknowledged yet. */
  readonly pending: number;
  /** Entries not delivered to any consumer yet; null when the server cannot tell (after deletions or trimming). */
  readonly lag: number | null;
  readonly consumers: readonly QueueConsumerInfo[];
}

/** An entry of a dead-letter stream. */
export interface DeadLetter {
  /** Its id in the dead-letter stream. */
  readonly id: string;
  /** The id the entry had in the document stream. */
  readonly entryId: string;
  /** Why it was set aside. */
  readonly reason: string;
  /** The consumer that set it aside. */
  readonly consumer: string;
  /** How many times it had been delivered. */
  readonly deliveries: number;
  /** The entry's `doc` field as it was (null when it had none). */
  readonly doc: string | null;
}

/** `redis://user:***@host:port/db`: the URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\.$/, '');
}

function storeError(url: string, what: string, e: unknown): MonitorError {
  return new MonitorError(
    'store_error',
    `Redis at ${url}: ${what} failed: ${messageOf(e)}. Check that the server runs there, that the URL (host, port, password) is right and that it is Redis 6.2 or newer.`,
    { cause: e },
  );
}

/** Why `value` is not an {@link IncomingDocument}, or undefined when it is one. */
export function documentProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || v.id === '') return 'field "id" is missing or not a non-empty string';
  if (typeof v.text !== 'string') return 'field "text" is missing or not a string';
  if (typeof v.timestamp !== 'number' || !Number.isFinite(v.timestamp)) return 'field "timestamp" is missing or not a number (milliseconds since the epoch)';
  if (v.source !== undefined && typeof v.source !== 'string') return 'field "source" is not a string';
  if (v.meta !== undefined && (v.meta === null || typeof v.meta !== 'object' || Array.isArray(v.meta))) return 'field "meta" is not an object';
  return undefined;
}

/** The document of a stream entry's `doc` field, or why there is none. */
export function parseEntryDocument(doc: string | null): { doc: IncomingDocument } | { problem: string } {
  if (doc === null) return { problem: 'the entry has no "doc" field' };
  let value: unknown;
  try {
    value = JSON.parse(doc);
  } catch (e) {
    return { problem: `field "doc" is not valid JSON: ${messageOf(e)}` };
  }
  const problem = documentProblem(value);
  return problem ? { problem: `field "doc": ${problem}` } : { doc: value as IncomingDocument };
}

/** The value of `name` in a flat `[field, value, ...]` list. */
export function fieldOf(fields: readonly string[] | null, name: string): string | null {
  if (!fields) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1] ?? null;
  return null;
}

function numberField(list: readonly unknown[], name: string): number | null {
  for (let i = 0; i + 1 < list.length; i += 2) {
    if (list[i] === name) {
      const v = list[i + 1];
      return v === null || v === undefined ? null : Number(v);
    }
  }
  return null;
}

/**
 * A Redis stream of documents with its consumer group: what producers publish to and what
 * {@link RedisWorker}s read from.
 */
export class RedisDocumentQueue {
  /** The URL without its password. */
  readonly url: string;
  readonly stream: string;
  readonly group: string;
  readonly maxLength: number | undefined;
  readonly #rawUrl: string;
  readonly #options: RedisOptions;
  readonly #client: Redis;
  readonly #connections = new Set<Redis>();

  private constructor(rawUrl: string, options: RedisOptions, client: Redis, opts: RedisQueueOptions) {
    this.#rawUrl = rawUrl;
    this.url = redactRedisUrl(rawUrl);
    this.#options = options;
    this.#client = client;
    this.stream = opts.stream ?? DEFAULT_STREAM;
    this.group = opts.group ?? DEFAULT_GROUP;
    this.maxLength = opts.maxLength;
  }

  /**
   * Connects to the Redis server at `url` (`redis://[user:password@]host:port[/db]`) and creates
   * the consumer group (and the stream) when missing. Fails with `store_error` when the server
   * cannot be reached within `connectTimeoutMs` or refuses.
   */
  static async connect(url: string, opts: RedisQueueOptions = {}): Promise<RedisDocumentQueue> {
    if (opts.maxLength !== undefined && (!Number.isInteger(opts.maxLength) || opts.maxLength < 1)) {
      throw new MonitorError('invalid_option', `Redis queue option maxLength must be a positive integer, got ${opts.maxLength}.`, { field: 'maxLength' });
    }
    const options: RedisOptions = {
      connectTimeout: opts.connectTimeoutMs ?? 5000,
      maxRetriesPerRequest: 3,
      lazyConnect: true,
    };
    const queue = new RedisDocumentQueue(url, options, await openConnection(url, options), opts);
    try {
      await queue.ensureGroup();
    } catch (e) {
      await queue.close();
      throw e;
    }
    return queue;
  }

  /** A further connection to the same server (a worker's blocking reads need their own). @internal */
  async connection(): Promise<Redis> {
    const c = await openConnection(this.#rawUrl, this.#options);
    this.#connections.add(c);
    c.once('end', () => this.#connections.delete(c));
    return c;
  }

  /** The connection commands go through. @internal */
  get client(): Redis {
    return this.#client;
  }

  /** Creates the consumer group (and the stream) unless it exists (again, after they were deleted). @internal */
  async ensureGroup(): Promise<void> {
    try {
      await this.#client.call('XGROUP', 'CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (e) {
      if (messageOf(e).startsWith('BUSYGROUP')) return;
      throw storeError(this.url, `creating consumer group "${this.group}" on stream "${this.stream}"`, e);
    }
  }

  /**
   * Appends one entry per document (field `doc`: the document as JSON), in one round trip, and
   * returns the entry ids. Every document is checked first: an invalid one fails the whole call
   * with `invalid_input` and nothing is published.
   */
  async publish(docs: readonly IncomingDocument[]): Promise<string[]> {
    docs.forEach((d, i) => {
      const problem = documentProblem(d);
      if (problem) throw new MonitorError('invalid_input', `Document ${i} cannot be published: ${problem}.`, { field: `docs[${i}]` });
    });
    if (docs.length === 0) return [];
    const pipeline = this.#client.pipeline();
    const trim = this.maxLength === undefined ? [] : ['MAXLEN', '~', String(this.maxLength)];
    for (const d of docs) pipeline.call('XADD', this.stream, ...trim, '*', 'doc', JSON.stringify(d));
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (e) {
      throw storeError(this.url, `publishing to stream "${this.stream}"`, e);
    }
    return (results ?? []).map(([err, id]) => {
      if (err) throw storeError(this.url, `publishing to stream "${this.stream}"`, err);
      return String(id);
    });
  }

  /** The stream's length, the group's pending entries and lag, and its consumers. */
  async info(): Promise<QueueInfo> {
    try {
      const [length, groups, consumers] = (await Promise.all([
        this.#client.call('XLEN', this.stream),
        this.#client.call('XINFO', 'GROUPS', this.stream),
        this.#client.call('XINFO', 'CONSUMERS', this.stream, this.group),
      ])) as [number, unknown[][], unknown[][]];
      const group = groups.find((g) => g[1] === this.group) ?? [];
      return {
        stream: this.stream,
        group: this.group,
        length: Number(length),
        pending: numberField(group, 'pending') ?? 0,
        lag: numberField(group, 'lag'),
        consumers: consumers.map((c) => ({
          name: String(c[1]),
          pending: numberField(c, 'pending') ?? 0,
          idleMs: numberField(c, 'idle') ?? 0,
        })),
      };
    } catch (e) {
      throw storeError(this.url, `reading the state of stream "${this.stream}"`, e);
    }
  }

  /** Entries of a dead-letter stream (default `<stream>:dead`), oldest first. */
  async deadLetters(opts: { stream?: string; count?: number } = {}): Promise<DeadLetter[]> {
    const stream = opts.stream ?? `${this.stream}:dead`;
    let entries: [string, string[]][];
    try {
      entries = (await this.#client.call('XRANGE', stream, '-', '+', 'COUNT', String(opts.count ?? 100))) as [string, string[]][];
    } catch (e) {
      throw storeError(this.url, `reading dead-letter stream "${stream}"`, e);
    }
    return entries.map(([id, fields]) => ({
      id,
      entryId: fieldOf(fields, 'entry') ?? '',
      reason: fieldOf(fields, 'reason') ?? '',
      consumer: fieldOf(fields, 'consumer') ?? '',
      deliveries: Number(fieldOf(fields, 'deliveries') ?? 0),
      doc: fieldOf(fields, 'doc'),
    }));
  }

  /** Closes the queue's connections (also those its workers opened). */
  async close(): Promise<void> {
    const all = [this.#client, ...this.#connections];
    this.#connections.clear();
    await Promise.all(
      all.map(async (c) => {
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}

/**
 * A connected client that gives up instead of retrying forever: no retry before the first
 * connection, a few bounded reconnects after a loss.
 */
async function openConnection(rawUrl: string, options: RedisOptions): Promise<Redis> {
  let connected = false;
  const client = new Redis(rawUrl, {
    ...options,
    retryStrategy: (times) => (connected && times <= 5 ? times * 200 : null),
  });
  // Errors reach the caller through the failed commands; without a listener ioredis logs them.
  let lastError: unknown;
  client.on('error', (e) => {
    lastError = e;
  });
  try {
    await client.connect();
    connected = true;
    return client;
  } catch (e) {
    client.disconnect();
    // When the server closes the connection (a refused AUTH), the reason is in the error event.
    throw storeError(redactRedisUrl(rawUrl), 'connecting', lastError ?? e);
  }
}

/** Options of a {@link RedisWorker}. */
export interface RedisWorkerOptions {
  /** This worker's name in the group, unique among the running workers (default `<hostname>-<pid>`). */
  readonly consumer?: string;
  /** Most entries handed to the handler at once (default 64). */
  readonly batchSize?: number;
  /** How long one read waits for new entries, ms (default 1000). */
  readonly blockMs?: number;
  /** Entries pending this long on any consumer (a worker that died) are claimed, ms (default 30000). */
  readonly claimIdleMs?: number;
  /** An entry delivered more often than this goes to the dead-letter stream (default 5). */
  readonly maxDeliveries?: number;
  /** Where entries that are set aside go (default `<stream>:dead`). */
  readonly deadLetterStream?: string;
  /** Pause after a handler failure before the next read, ms (default 1000). */
  readonly failureBackoffMs?: number;
  /** Told of each handler failure (the entries stay pending and are retried). */
  readonly onError?: (error: unknown, entryIds: readonly string[]) => void;
}

/** What a worker has done so far. */
export interface RedisWorkerCounters {
  /** Documents the handler took (resolved on). */
  readonly processed: number;
  /** Entries acknowledged: processed ones and dead-lettered ones. */
  readonly acknowledged: number;
  /** Entries claimed from idle consumers (itself included, after a failure). */
  readonly reclaimed: number;
  /** Entries set aside in the dead-letter stream. */
  readonly deadLettered: number;
  /** Handler calls that failed. */
  readonly failures: number;
}

/** Handles a batch of documents; resolves once they are stored (the entries are then acknowledged). */
export type DocumentBatchHandler = (docs: IncomingDocument[]) => Promise<void>;

interface Entry {
  readonly id: string;
  readonly fields: string[] | null;
  readonly deliveries: number;
}

function positiveInteger(value: number, field: string, allowZero = false): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new MonitorError('invalid_option', `Redis worker option ${field} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}.`, { field });
  }
  return value;
}

/**
 * Reads documents from a {@link RedisDocumentQueue}'s group as one consumer. Each round it first
 * claims entries idle longer than `claimIdleMs` (`XAUTOCLAIM`), then reads new ones
 * (`XREADGROUP >`), hands the valid documents to the handler and acknowledges them after it
 * resolved. A failed handler leaves them pending: they are claimed again after `claimIdleMs`, and
 * set aside once delivered more than `maxDeliveries` times. The handler must be idempotent by
 * document id (the monitor's stores are): an entry can be delivered again after a crash.
 */
export class RedisWorker {
  readonly consumer: string;
  readonly batchSize: number;
  readonly blockMs: number;
  readonly claimIdleMs: number;
  readonly maxDeliveries: number;
  readonly deadLetterStream: string;
  readonly failureBackoffMs: number;
  readonly #queue: RedisDocumentQueue;
  readonly #handler: DocumentBatchHandler;
  readonly #onError: RedisWorkerOptions['onError'];
  #counters = { processed: 0, acknowledged: 0, reclaimed: 0, deadLettered: 0, failures: 0 };
  #claimCursor = '0-0';
  #stopping = false;
  #running: Promise<void> | undefined;
  #reader: Redis | undefined;
  #readerId: number | undefined;
  #blocked = false;
  #wake: (() => void) | undefined;

  constructor(queue: RedisDocumentQueue, opts: RedisWorkerOptions, handler: DocumentBatchHandler) {
    this.#queue = queue;
    this.#handler = handler;
    this.#onError = opts.onError;
    this.consumer = opts.consumer ?? `${hostname()}-${process.pid}`;
    this.batchSize = positiveInteger(opts.batchSize ?? 64, 'batchSize');
    this.blockMs = positiveInteger(opts.blockMs ?? 1000, 'blockMs');
    this.claimIdleMs = positiveInteger(opts.claimIdleMs ?? 30_000, 'claimIdleMs', true);
    this.maxDeliveries = positiveInteger(opts.maxDeliveries ?? 5, 'maxDeliveries');
    this.failureBackoffMs = positiveInteger(opts.failureBackoffMs ?? 1000, 'failureBackoffMs', true);
    this.deadLetterStream = opts.deadLetterStream ?? `${queue.stream}:dead`;
  }

  /** A snapshot of what it has done. */
  get counters(): RedisWorkerCounters {
    return { ...this.#counters };
  }

  /**
   * Reads and handles entries until {@link stop} is called or `signal` aborts; the batch in hand
   * is finished (and acknowledged when the handler resolves) first. Rejects with `store_error`
   * when Redis fails and does not come back.
   */
  run(signal?: AbortSignal): Promise<void> {
    if (this.#running) return Promise.reject(new MonitorError('usage', `Redis worker "${this.consumer}" is running already: stop it before running it again.`));
    this.#stopping = false;
    const onAbort = () => void this.stop();
    if (signal?.aborted) return Promise.resolve();
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#running = this.#loop().finally(() => {
      signal?.removeEventListener('abort', onAbort);
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops after the batch in hand; resolves when {@link run} has returned. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    // Ends a blocking read now as if it had timed out (nothing it would have read is lost); again
    // while the read has not reached the server yet.
    for (let i = 0; this.#blocked && this.#readerId !== undefined && i < 50; i++) {
      await this.#queue.client.call('CLIENT', 'UNBLOCK', String(this.#readerId), 'TIMEOUT').catch(() => {});
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.#running?.catch(() => {});
  }

  async #loop(): Promise<void> {
    const url = this.#queue.url;
    this.#reader = await this.#queue.connection();
    try {
      this.#readerId = Number(await this.#reader.call('CLIENT', 'ID'));
      while (!this.#stopping) {
        const claimed = await this.#claim();
        const fresh = claimed.length < this.batchSize && !this.#stopping ? await this.#read(this.batchSize - claimed.length, claimed.length === 0) : [];
        const batch = [...claimed, ...fresh];
        if (batch.length > 0 && !(await this.#handle(batch)) && this.failureBackoffMs > 0) await this.#sleep(this.failureBackoffMs);
      }
    } catch (e) {
      throw e instanceof MonitorError ? e : storeError(url, `reading stream "${this.#queue.stream}" as consumer "${this.consumer}"`, e);
    } finally {
      const reader = this.#reader;
      this.#reader = undefined;
      this.#readerId = undefined;
      await reader.quit().catch(() => reader.disconnect());
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  /** Claims entries idle longer than `claimIdleMs`, with their delivery counts. */
  async #claim(): Promise<Entry[]> {
    const q = this.#queue;
    const reply = (await q.client.call('XAUTOCLAIM', q.stream, q.group, this.consumer, String(this.claimIdleMs), this.#claimCursor, 'COUNT', String(this.batchSize))) as [
      string,
      [string, string[] | null][],
      string[]?,
    ];
    this.#claimCursor = reply[0];
    const claimed = reply[1].filter((e) => e !== null);
    if (claimed.length === 0) return [];
    this.#counters.reclaimed += claimed.length;
    const pipeline = q.client.pipeline();
    for (const [id] of claimed) pipeline.call('XPENDING', q.stream, q.group, id, id, '1');
    const counts = (await pipeline.exec()) ?? [];
    return claimed.map(([id, fields], i) => {
      const [err, rows] = counts[i] ?? [null, []];
      const row = err ? undefined : (rows as [string, string, number, number][])[0];
      return { id, fields, deliveries: row ? Number(row[3]) : 1 };
    });
  }

  /** New entries, waiting up to `blockMs` for some when `block`. */
  async #read(count: number, block: boolean): Promise<Entry[]> {
    const q = this.#queue;
    const reader = this.#reader as Redis;
    const args = ['GROUP', q.group, this.consumer, 'COUNT', String(count), ...(block ? ['BLOCK', String(this.blockMs)] : []), 'STREAMS', q.stream, '>'];
    let reply: [string, [string, string[] | null][]][] | null;
    this.#blocked = block;
    try {
      if (this.#stopping) return [];
      // The typed command: through call() ioredis flattens the reply of a single stream.
      reply = (await (reader.xreadgroup as unknown as (...a: string[]) => Promise<unknown>).apply(reader, args)) as typeof reply;
    } catch (e) {
      if (!messageOf(e).startsWith('NOGROUP')) throw e;
      await q.ensureGroup();
      return [];
    } finally {
      this.#blocked = false;
    }
    return (reply?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields, deliveries: 1 }));
  }

  /** Hands a batch to the handler and acknowledges it; false when the handler failed. */
  async #handle(batch: Entry[]): Promise<boolean> {
    const docs: IncomingDocument[] = [];
    const ids: string[] = [];
    const dead: { entry: Entry; reason: string }[] = [];
    for (const entry of batch) {
      const raw = fieldOf(entry.fields, 'doc');
      if (entry.deliveries > this.maxDeliveries) {
        dead.push({ entry, reason: `delivered ${entry.deliveries} times, more than maxDeliveries (${this.maxDeliveries}): the handler kept failing on it` });
        continue;
      }
      const parsed = parseEntryDocument(raw);
      if ('problem' in parsed) dead.push({ entry, reason: `not a document: ${parsed.problem}` });
      else {
        docs.push(parsed.doc);
        ids.push(entry.id);
      }
    }
    if (dead.length > 0) await this.#deadLetter(dead);
    if (docs.length === 0) return true;
    try {
      await this.#handler(docs);
    } catch (e) {
      this.#counters.failures++;
      this.#onError?.(e, ids);
      return false;
    }
    this.#counters.processed += docs.length;
    this.#counters.acknowledged += Number(await this.#queue.client.call('XACK', this.#queue.stream, this.#queue.group, ...ids));
    return true;
  }

  /** Copies entries to the dead-letter stream with their reason and acknowledges them, atomically. */
  async #deadLetter(dead: { entry: Entry; reason: string }[]): Promise<void> {
    const q = this.#queue;
    const tx = q.client.multi();
    for (const { entry, reason } of dead) {
      const doc = fieldOf(entry.fields, 'doc');
      tx.call(
        'XADD',
        this.deadLetterStream,
        '*',
        'entry',
        entry.id,
        'reason',
        reason,
        'consumer',
        this.consumer,
        'deliveries',
        String(entry.deliveries),
        ...(doc === null ? [] : ['doc', doc]),
      );
    }
    tx.call('XACK', q.stream, q.group, ...dead.map((d) => d.entry.id));
    const results = (await tx.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw storeError(q.url, `writing to dead-letter stream "${this.deadLetterStream}"`, failed[0]);
    this.#counters.deadLettered += dead.length;
    this.#counters.acknowledged += Number(results.at(-1)?.[1] ?? 0);
  }
}
