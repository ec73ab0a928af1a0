/**
 * The monitor's Redis queue against a real redis-server: publish and consume, two workers sharing
 * a stream, handler failures retried then dead-lettered, invalid entries dead-lettered, a graceful
 * stop, an unreachable server, and durability when a worker process is killed mid-batch.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { IncomingDocument } from '../src/monitor/types.js';
import { MonitorError } from '../src/monitor/errors.js';
import { RedisDocumentQueue, type RedisWorkerCounters, RedisWorker } from '../src/monitor/queue/index.js';
import { SqliteMonitorStore } from '../src/monitor/store/index.js';
import { freePort, startRedis } from './helpers/servers.js';

type Redis = Awaited<ReturnType<typeof startRedis>>;

const T0 = Date.UTC(2026, 0, 5);

function docs(n: number, prefix = 'd'): IncomingDocument[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, text: `text ${i}`, timestamp: T0 + i * 1000, source: 'feed', meta: { i } }));
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A worker process (test/helpers/monitor-queue-worker.ts) and the JSON events it prints. */
interface WorkerProcess {
  readonly child: ChildProcess;
  readonly events: Record<string, unknown>[];
  stderr: string;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./helpers/monitor-queue-worker.ts', import.meta.url));

function startWorker(args: Record<string, unknown>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: WorkerProcess = { child, events: [], stderr: '' };
  let buffer = '';
  child.stdout?.on('data', (d) => {
    buffer += d;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      proc.events.push(JSON.parse(buffer.slice(0, nl)));
      buffer = buffer.slice(nl + 1);
    }
  });
  child.stderr?.on('data', (d) => (proc.stderr += d));
  return proc;
}

function exited(p: WorkerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.child.once('exit', () => resolve()));
}

async function stopWorker(p: WorkerProcess): Promise<RedisWorkerCounters> {
  p.child.kill('SIGTERM');
  await exited(p);
  const done = p.events.find((e) => e.event === 'done');
  assert.ok(done, `worker ended without its counters (exit ${p.child.exitCode}):\n${p.stderr}`);
  return done.counters as RedisWorkerCounters;
}

let seq = 0;
const streamName = () => `test:docs:${++seq}`;

describe('Redis document queue', () => {
  let redis: Redis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it('publishes documents and a worker hands them to the handler in order, acknowledged', async () => {
    const queue = await RedisDocumentQueue.connect(redis.url, { stream: streamName() });
    try {
      const sent = docs(5);
      const ids = await queue.publish(sent);
      assert.equal(ids.length, 5);
      assert.ok(ids.every((id) => /^\d+-\d+$/.test(id)));
      const seen: IncomingDocument[] = [];
      const worker = new RedisWorker(queue, { consumer: 'w1', blockMs: 100 }, async (batch) => {
        seen.push(...batch);
      });
      const running = worker.run();
      await until(() => seen.length === 5, 'five documents');
      await worker.stop();
      await running;
      assert.deepEqual(seen, sent);
      assert.deepEqual(worker.counters, { processed: 5, acknowledged: 5, reclaimed: 0, deadLettered: 0, failures: 0 });
      const info = await queue.info();
      assert.equal(info.length, 5);
      assert.equal(info.pending, 0);
      assert.equal(info.lag, 0);
      assert.deepEqual(
        info.consumers.map((c) => [c.name, c.pending]),
        [['w1', 0]],
      );
      await assert.rejects(queue.publish([{ id: '', text: 'x', timestamp: 1 }]), (e: unknown) => e instanceof MonitorError && e.code === 'invalid_input');
    } finally {
      await queue.close();
    }
  });

  it('trims the stream to about maxLength entries', async () => {
    const queue = await RedisDocumentQueue.connect(redis.url, { stream: streamName(), maxLength: 10 });
    try {
      for (let i = 0; i < 5; i++) await queue.publish(docs(100, `b${i}-`));
      const { length } = await queue.info();
      assert.ok(length < 500 && length >= 10, `length ${length}`);
    } finally {
      await queue.close();
    }
  });

  it('two workers share one stream and together see each document once', async () => {
    const queue = await RedisDocumentQueue.connect(redis.url, { stream: streamName() });
    try {
      const seen = new Map<string, string[]>();
      const make = (name: string) =>
        new RedisWorker(queue, { consumer: name, batchSize: 16, blockMs: 100 }, async (batch) => {
          for (const d of batch) seen.set(d.id, [...(seen.get(d.id) ?? []), name]);
          await new Promise((r) => setTimeout(r, 5));
        });
      const a = make('a');
      const b = make('b');
      const running = [a.run(), b.run()];
      await queue.publish(docs(400));
      await until(() => seen.size === 400, 'all documents');
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all(running);
      assert.ok(
        [...seen.values()].every((by) => by.length === 1),
        'a document was seen twice',
      );
      assert.equal(a.counters.processed + b.counters.processed, 400);
      assert.ok(a.counters.processed > 0 && b.counters.processed > 0, `a ${a.counters.processed}, b ${b.counters.processed}`);
      assert.equal((await queue.info()).pending, 0);
    } finally {
      await queue.close();
    }
  });

  it('retries a failed batch and dead-letters an entry delivered more than maxDeliveries times', async () => {
    const queue = await RedisDocumentQueue.connect(redis.url, { stream: streamName() });
    try {
      await queue.publish([{ id: 'flaky', text: 'ok later', timestamp: T0 }]);
      const calls = new Map<string, number>();
      const errors: string[] = [];
      const worker = new RedisWorker(
        queue,
        { consumer: 'w', blockMs: 50, claimIdleMs: 50, maxDeliveries: 3, failureBackoffMs: 10, onError: (e, ids) => errors.push(`${(e as Error).message} ${ids.join()}`) },
        async (batch) => {
          for (const d of batch) calls.set(d.id, (calls.get(d.id) ?? 0) + 1);
          if (batch.some((d) => d.id === 'poison' || (d.id === 'flaky' && calls.get('flaky') === 1))) throw new Error('store down');
        },
      );
      const running = worker.run();
      await until(() => worker.counters.processed === 1, 'the flaky document');
      assert.equal(calls.get('flaky'), 2);
      await queue.publish([{ id: 'poison', text: 'always fails', timestamp: T0 }]);
      await until(() => worker.counters.deadLettered === 1, 'the poison document set aside');
      await worker.stop();
      await running;
      assert.equal(calls.get('poison'), 3);
      assert.equal(worker.counters.failures, 4);
      assert.equal(worker.counters.reclaimed, 4);
      assert.ok(errors.every((e) => e.startsWith('store down')));
      const [dead, ...rest] = await queue.deadLetters();
      assert.equal(rest.length, 0);
      assert.ok(dead);
      assert.equal(dead.deliveries, 4);
      assert.equal(dead.consumer, 'w');
      assert.match(dead.reason, /delivered 4 times, more than maxDeliveries \(3\)/);
      assert.equal(JSON.parse(dead.doc ?? '').id, 'poison');
      assert.equal((await queue.info()).pending, 0);
    } finally {
      await queue.close();
    }
  });

  it('dead-letters entries that are not documents and handles the valid ones', async () => {
    const stream = streamName();
    const queue = await RedisDocumentQueue.connect(redis.url, { stream });
    try {
      const raw = queue.client;
      const bad = [
        ['doc', '{not json'],
        ['doc', JSON.stringify({ id: 'x', timestamp: T0 })],
        ['doc', JSON.stringify({ id: 'y', text: 'no time' })],
        ['doc', JSON.stringify(['array'])],
        ['other', 'field'],
      ];
      const badIds: string[] = [];
      for (const fields of bad) badIds.push(String(await raw.call('XADD', stream, '*', ...fields)));
      await queue.publish([{ id: 'good', text: 'fine', timestamp: T0 }]);
      const seen: string[] = [];
      const worker = new RedisWorker(queue, { consumer: 'w', blockMs: 50, deadLetterStream: `${stream}:bad` }, async (batch) => {
        seen.push(...batch.map((d) => d.id));
      });
      const running = worker.run();
      await until(() => worker.counters.acknowledged === 6, 'six entries acknowledged');
      await worker.stop();
      await running;
      assert.deepEqual(seen, ['good']);
      assert.equal(worker.counters.deadLettered, 5);
      const dead = await queue.deadLetters({ stream: `${stream}:bad` });
      assert.deepEqual(
        dead.map((d) => d.entryId),
        badIds,
      );
      const reasons = dead.map((d) => d.reason);
      assert.match(reasons[0] ?? '', /not valid JSON/);
      assert.match(reasons[1] ?? '', /"text" is missing/);
      assert.match(reasons[2] ?? '', /"timestamp" is missing/);
      assert.match(reasons[3] ?? '', /not a JSON object/);
      assert.match(reasons[4] ?? '', /no "doc" field/);
      assert.equal(dead[0]?.doc, '{not json');
      assert.equal((await queue.info()).pending, 0);
    } finally {
      await queue.close();
    }
  });

  it('stops gracefully: the batch in hand is finished and acknowledged', async () => {
    const queue = await RedisDocumentQueue.connect(redis.url, { stream: streamName() });
    try {
      await queue.publish(docs(10));
      let started!: () => void;
      const inHand = new Promise<void>((r) => (started = r));
      const stored: string[] = [];
      const worker = new RedisWorker(queue, { consumer: 'w', batchSize: 4, blockMs: 5000 }, async (batch) => {
        started();
        await new Promise((r) => setTimeout(r, 200));
        stored.push(...batch.map((d) => d.id));
      });
      const controller = new AbortController();
      const running = worker.run(controller.signal);
      await inHand;
      controller.abort();
      await running;
      assert.deepEqual(stored, ['d0', 'd1', 'd2', 'd3']);
      const info = await queue.info();
      assert.equal(info.pending, 0);
      assert.equal(info.lag, 6);
      // An idle worker blocked in a long read stops at once.
      const emptyQueue = await RedisDocumentQueue.connect(redis.url, { stream: streamName() });
      const idleWorker = new RedisWorker(emptyQueue, { consumer: 'idle', blockMs: 10_000 }, async () => {});
      const idleRun = idleWorker.run();
      await new Promise((r) => setTimeout(r, 200));
      const t = Date.now();
      await idleWorker.stop();
      await idleRun;
      assert.ok(Date.now() - t < 2000, `stop took ${Date.now() - t} ms`);
      assert.equal(idleWorker.counters.processed, 0);
      await emptyQueue.close();
    } finally {
      await queue.close();
    }
  });

  it('fails with store_error naming the URL without its password when Redis is unreachable', async () => {
    const port = await freePort();
    const t = Date.now();
    await assert.rejects(RedisDocumentQueue.connect(`redis://tuna:s3cret@127.0.0.1:${port}`, { connectTimeoutMs: 1000 }), (e: unknown) => {
      assert.ok(e instanceof MonitorError);
      assert.equal(e.code, 'store_error');
      assert.match(e.message, new RegExp(`redis://tuna:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
    assert.ok(Date.now() - t < 3000, `took ${Date.now() - t} ms`);
  });

  it('a running worker fails with store_error when its Redis server goes away', async () => {
    const own = await startRedis();
    const queue = await RedisDocumentQueue.connect(own.url, { stream: streamName() });
    try {
      const worker = new RedisWorker(queue, { consumer: 'w', blockMs: 100 }, async () => {});
      const running = worker.run();
      await queue.publish(docs(3));
      await until(() => worker.counters.acknowledged === 3, 'three documents');
      own.process.kill('SIGKILL');
      const t = Date.now();
      await assert.rejects(running, (e: unknown) => e instanceof MonitorError && e.code === 'store_error' && e.message.includes(own.url));
      assert.ok(Date.now() - t < 8000, `gave up after ${Date.now() - t} ms`);
      await assert.rejects(queue.info(), (e: unknown) => e instanceof MonitorError && e.code === 'store_error');
    } finally {
      await queue.close();
      await own.stop();
    }
  });

  it('stores every document exactly once when a worker process is killed mid-batch', async () => {
    const stream = streamName();
    const dir = mkdtempSync(join(tmpdir(), 'tuna-queue-'));
    const file = join(dir, 'monitor.sqlite');
    const queue = await RedisDocumentQueue.connect(redis.url, { stream });
    const workers: WorkerProcess[] = [];
    try {
      const n = 2000;
      const sent = Array.from({ length: n }, (_, i) => ({ id: `doc-${i}`, text: i % 3 === 0 ? `good news ${i}` : `bad news ${i}`, timestamp: T0 + i * 1000 }));
      for (let i = 0; i < n; i += 500) await queue.publish(sent.slice(i, i + 500));
      const common = { url: redis.url, stream, file, batchSize: 64 };
      // The victim takes a batch, stores half of it and holds the rest; it is killed meanwhile.
      const victim = startWorker({ ...common, consumer: 'victim', claimIdleMs: 30_000, holdMs: 60_000 });
      workers.push(victim);
      await until(() => victim.events.some((e) => e.held === true), `the victim's first batch\n${victim.stderr}`, 15_000);
      const steady = startWorker({ ...common, consumer: 'steady', claimIdleMs: 30_000 });
      workers.push(steady);
      await until(() => steady.events.some((e) => e.event === 'batch'), `the steady worker's first batch\n${steady.stderr}`, 15_000);
      victim.child.kill('SIGKILL');
      await exited(victim);
      const pendingOnVictim = (await queue.info()).consumers.find((c) => c.name === 'victim')?.pending;
      assert.equal(pendingOnVictim, 64);
      const replacement = startWorker({ ...common, consumer: 'replacement', claimIdleMs: 300 });
      workers.push(replacement);
      await until(
        async () => {
          const info = await queue.info();
          return info.pending === 0 && info.lag === 0;
        },
        'an empty pending list',
        15_000,
      );
      const [steadyCounters, replacementCounters] = await Promise.all([stopWorker(steady), stopWorker(replacement)]);
      assert.ok(replacementCounters.reclaimed >= 64, `reclaimed ${replacementCounters.reclaimed}`);
      assert.equal(steadyCounters.deadLettered + replacementCounters.deadLettered, 0);
      // The victim acknowledged nothing, so the survivors acknowledged every entry.
      assert.equal(steadyCounters.acknowledged + replacementCounters.acknowledged, n);

      const store = new SqliteMonitorStore(file, { windowsMs: [60_000, 3_600_000] });
      try {
        assert.equal(await store.documentCount(), n);
        const stored = await store.documents({ limit: 2 * n });
        assert.deepEqual(stored.map((d) => d.id).sort(), sent.map((d) => d.id).sort());
        for (const windowMs of [60_000, 3_600_000]) {
          const all = await store.series({ dimension: 'all', value: '*', windowMs });
          assert.equal(
            all.reduce((sum, w) => sum + w.count, 0),
            n,
            `all-documents count over ${windowMs} ms windows`,
          );
          const positive = await store.series({ dimension: 'label', value: 'positive', windowMs });
          assert.equal(
            positive.reduce((sum, w) => sum + w.count, 0),
            Math.ceil(n / 3),
          );
        }
      } finally {
        await store.close();
      }
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
      await Promise.all(workers.map(exited));
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
