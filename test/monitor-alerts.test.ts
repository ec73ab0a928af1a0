/**
 * The alert dispatcher against a real HTTP receiver and a real SQLite store: the webhook body,
 * retries on 5xx and timeouts, no retry on 4xx, an unreachable target, cooldown by window time,
 * severity breaking through, per-target minimum severity; and the one-line summary.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AlertDispatcher, type AlertPayload, formatAlert } from '../src/monitor/alerts.js';
import { MonitorError } from '../src/monitor/errors.js';
import { SqliteMonitorStore } from '../src/monitor/store/index.js';
import type { NewAlert } from '../src/monitor/types.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1, 13);

function alert(over: Partial<NewAlert> = {}): NewAlert {
  return {
    key: 'negative-share|entity|acme|up',
    watch: 'negative-share',
    detector: 'page-hinkley',
    metric: 'share',
    label: 'negative',
    dimension: 'entity',
    value: 'acme',
    windowMs: HOUR,
    windowStart: T0,
    windowEnd: T0 + HOUR,
    observed: 0.62,
    expected: 0.21,
    score: 9.4,
    threshold: 5,
    direction: 'up',
    severity: 'high',
    examples: [{ id: 'd1', text: 'acme support is awful', label: 'negative', score: 0.98, timestamp: T0 + 720_000 }],
    raisedAt: T0 + HOUR + 5000,
    ...over,
  };
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: AlertPayload;
}

/** A webhook receiver whose answer per request is scripted by path. */
class Receiver {
  readonly received: Received[] = [];
  /** Per path: the answers to give in turn (the last one repeats); default 200. */
  readonly script = new Map<string, ({ status: number; headers?: Record<string, string> } | 'hang')[]>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  count(path: string): number {
    return this.received.filter((r) => r.path === path).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.received.push({ path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as AlertPayload });
      const answers = this.script.get(path) ?? [];
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer === 'hang') return;
      const { status, headers } = answer ?? { status: 200 };
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status < 300 ? 'ok' : `status ${status}`);
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

describe('AlertDispatcher', () => {
  const receiver = new Receiver();
  let dir: string;
  let store: SqliteMonitorStore;
  const fast = { retries: 3, backoffMs: 20, maxBackoffMs: 200, timeoutMs: 1000 };

  before(async () => {
    await receiver.start();
    dir = mkdtempSync(join(tmpdir(), 'tuna-alerts-'));
  });
  after(async () => {
    await store?.close();
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await store?.close();
    store = new SqliteMonitorStore(join(dir, `m-${Math.random().toString(36).slice(2)}.db`), { windowsMs: [HOUR] });
  });

  it('posts the documented JSON body and stores the alert as delivered', async () => {
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/ok'), headers: { authorization: 'Bearer s3cret' }, name: 'ops' }], cooldownMs: 0, ...fast });
    const rec = await d.dispatch(alert());
    await d.close();
    assert.equal(rec.delivery, 'delivered');
    assert.equal(rec.attempts, 1);
    assert.equal(rec.error, null);
    const got = receiver.received.filter((r) => r.path === '/ok');
    assert.equal(got.length, 1);
    const r = got[0] as Received;
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, 'Bearer s3cret');
    assert.deepEqual(r.body, {
      id: rec.id,
      key: 'negative-share|entity|acme|up',
      watch: 'negative-share',
      detector: 'page-hinkley',
      severity: 'high',
      metric: 'share',
      label: 'negative',
      series: { dimension: 'entity', value: 'acme' },
      direction: 'up',
      window: { start: '2024-05-01T13:00:00.000Z', end: '2024-05-01T14:00:00.000Z', ms: HOUR },
      observed: 0.62,
      expected: 0.21,
      score: 9.4,
      threshold: 5,
      examples: [{ id: 'd1', text: 'acme support is awful', label: 'negative', score: 0.98, timestamp: '2024-05-01T13:12:00.000Z' }],
      raisedAt: '2024-05-01T14:00:05.000Z',
      text: 'HIGH: share of negative for entity "acme" 0.62 vs expected 0.21 in 2024-05-01 13:00–14:00 UTC (page-hinkley)',
    });
    const [stored] = await store.alerts();
    assert.equal(stored?.id, rec.id);
    assert.equal(stored?.delivery, 'delivered');
    assert.equal(stored?.attempts, 1);
  });

  it('retries 5xx answers: 500, 500, 200 is delivered after 3 attempts', async () => {
    receiver.script.set('/flaky', [{ status: 500 }, { status: 503 }, { status: 200 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/flaky') }], cooldownMs: 0, ...fast });
    const rec = await d.dispatch(alert());
    await d.close();
    assert.equal(rec.delivery, 'delivered');
    assert.equal(rec.attempts, 3);
    assert.equal(receiver.count('/flaky'), 3);
    const [stored] = await store.alerts();
    assert.equal(stored?.delivery, 'delivered');
    assert.equal(stored?.attempts, 3);
  });

  it('honours Retry-After on 429, capped by maxBackoffMs', async () => {
    receiver.script.set('/busy', [{ status: 429, headers: { 'retry-after': '120' } }, { status: 200 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/busy') }], cooldownMs: 0, ...fast, maxBackoffMs: 300 });
    const t = performance.now();
    const rec = await d.dispatch(alert());
    const took = performance.now() - t;
    assert.equal(rec.delivery, 'delivered');
    assert.equal(rec.attempts, 2);
    assert.ok(took >= 280 && took < 5000, `waited ${took} ms`);
  });

  it('does not retry a 400 and stores the failure', async () => {
    receiver.script.set('/bad', [{ status: 400 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/bad'), name: 'chat' }], cooldownMs: 0, ...fast });
    const rec = await d.dispatch(alert());
    assert.equal(rec.delivery, 'failed');
    assert.equal(rec.attempts, 1);
    assert.equal(receiver.count('/bad'), 1);
    assert.match(rec.error ?? '', /webhook "chat": HTTP 400 Bad Request: status 400 \(not retried/);
    const [stored] = await store.alerts();
    assert.equal(stored?.delivery, 'failed');
    assert.equal(stored?.error, rec.error);
  });

  it('retries a timed-out attempt', async () => {
    receiver.script.set('/slow', ['hang', { status: 200 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/slow') }], cooldownMs: 0, ...fast, timeoutMs: 300 });
    const rec = await d.dispatch(alert());
    assert.equal(rec.delivery, 'delivered');
    assert.equal(rec.attempts, 2);
    assert.equal(receiver.count('/slow'), 2);
  });

  it('fails after the retries when every attempt times out, naming the timeout', async () => {
    receiver.script.set('/dead', ['hang']);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/dead') }], cooldownMs: 0, ...fast, retries: 1, timeoutMs: 200 });
    const rec = await d.dispatch(alert());
    assert.equal(rec.delivery, 'failed');
    assert.equal(rec.attempts, 2);
    assert.match(rec.error ?? '', /no answer within 200 ms \(after 2 attempts\)/);
  });

  it('stores an unreachable target as failed with the network error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const d = new AlertDispatcher(store, { targets: [{ url: `http://127.0.0.1:${port}/hook` }], cooldownMs: 0, ...fast, retries: 2 });
    const rec = await d.dispatch(alert());
    assert.equal(rec.delivery, 'failed');
    assert.equal(rec.attempts, 3);
    assert.match(rec.error ?? '', new RegExp(`webhook "127.0.0.1:${port}": fetch failed: connect ECONNREFUSED`));
    const [stored] = await store.alerts();
    assert.equal(stored?.delivery, 'failed');
    assert.equal(stored?.attempts, 3);
    assert.equal(stored?.error, rec.error);
  });

  it('suppresses a duplicate key within the cooldown (by window time) and sends it after', async () => {
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/cool') }], cooldownMs: 3 * HOUR, ...fast });
    const at = (h: number) => alert({ windowStart: T0 + h * HOUR, windowEnd: T0 + (h + 1) * HOUR, raisedAt: Date.now() });
    const first = await d.dispatch(at(0));
    const dup = await d.dispatch(at(2));
    const otherKey = await d.dispatch({ ...at(2), key: 'negative-share|entity|globex|up', value: 'globex' });
    const later = await d.dispatch(at(5));
    await d.close();
    assert.deepEqual([first.delivery, dup.delivery, otherKey.delivery, later.delivery], ['delivered', 'suppressed', 'delivered', 'delivered']);
    assert.equal(dup.attempts, 0);
    assert.equal(receiver.count('/cool'), 3);
    const stored = await store.alerts();
    assert.equal(stored.length, 4);
    assert.equal(stored.find((a) => a.id === dup.id)?.delivery, 'suppressed');
  });

  it('lets a higher severity through the cooldown, not an equal or lower one', async () => {
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/sev') }], cooldownMs: 6 * HOUR, ...fast });
    const at = (h: number, severity: NewAlert['severity']) => alert({ windowStart: T0 + h * HOUR, windowEnd: T0 + (h + 1) * HOUR, severity });
    const got = [];
    for (const [h, s] of [
      [0, 'low'],
      [1, 'medium'],
      [2, 'medium'],
      [3, 'high'],
      [4, 'low'],
    ] as const) {
      got.push((await d.dispatch(at(h, s))).delivery);
    }
    await d.close();
    assert.deepEqual(got, ['delivered', 'delivered', 'suppressed', 'delivered', 'suppressed']);
    assert.equal(receiver.count('/sev'), 3);
  });

  it('sends each target only the severities it wants; none when no target wants one', async () => {
    const d = new AlertDispatcher(store, {
      targets: [
        { url: receiver.url('/all'), name: 'all' },
        { url: receiver.url('/pager'), minSeverity: 'high', name: 'pager' },
      ],
      cooldownMs: 0,
      ...fast,
    });
    const low = await d.dispatch(alert({ severity: 'low' }));
    const high = await d.dispatch(alert({ severity: 'high', windowStart: T0 + HOUR }));
    assert.equal(low.delivery, 'delivered');
    assert.equal(low.attempts, 1);
    assert.equal(high.delivery, 'delivered');
    assert.equal(high.attempts, 2);
    assert.deepEqual(
      receiver.received.filter((r) => r.path === '/pager').map((r) => r.body.severity),
      ['high'],
    );
    assert.deepEqual(
      receiver.received.filter((r) => r.path === '/all').map((r) => r.body.severity),
      ['low', 'high'],
    );
    const pagerOnly = new AlertDispatcher(store, { targets: [{ url: receiver.url('/pager2'), minSeverity: 'medium' }], cooldownMs: 0, ...fast });
    const none = await pagerOnly.dispatch(alert({ severity: 'low', key: 'other' }));
    assert.equal(none.delivery, 'none');
    assert.equal(none.attempts, 0);
    assert.equal(receiver.count('/pager2'), 0);
  });

  it('one failing target of two makes the alert failed, with that target named', async () => {
    receiver.script.set('/gone', [{ status: 404 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/fine') }, { url: receiver.url('/gone'), name: 'gone' }], cooldownMs: 0, ...fast });
    const rec = await d.dispatch(alert());
    assert.equal(rec.delivery, 'failed');
    assert.equal(rec.attempts, 2);
    assert.match(rec.error ?? '', /^webhook "gone": HTTP 404/);
  });

  it('close() waits for a delivery in flight and refuses new alerts', async () => {
    receiver.script.set('/later', [{ status: 503 }, { status: 200 }]);
    const d = new AlertDispatcher(store, { targets: [{ url: receiver.url('/later') }], cooldownMs: 0, ...fast, backoffMs: 150 });
    const pending = d.dispatch(alert());
    await d.close();
    assert.equal(receiver.count('/later'), 2);
    const [stored] = await store.alerts();
    assert.equal(stored?.delivery, 'delivered');
    assert.equal((await pending).attempts, 2);
    await assert.rejects(d.dispatch(alert()), (e: unknown) => e instanceof MonitorError && e.code === 'disposed');
  });

  it('checks its options, naming the field', () => {
    const bad: [unknown, string][] = [
      [{ targets: [{ url: 'not a url' }], cooldownMs: 0 }, 'alerts.targets[0].url'],
      [{ targets: [{ url: 'ftp://x/y' }], cooldownMs: 0 }, 'alerts.targets[0].url'],
      [{ targets: [{ url: 'http://x/', minSeverity: 'urgent' }], cooldownMs: 0 }, 'alerts.targets[0].minSeverity'],
      [{ targets: [], cooldownMs: -1 }, 'alerts.cooldownMs'],
      [{ targets: [], cooldownMs: 0, retries: 1.5 }, 'alerts.retries'],
      [{ targets: [], cooldownMs: 0, timeoutMs: 0 }, 'alerts.timeoutMs'],
    ];
    for (const [options, field] of bad) {
      assert.throws(
        () => new AlertDispatcher(store, options as never),
        (e: unknown) => e instanceof MonitorError && e.code === 'invalid_config' && e.field === field,
        field,
      );
    }
  });
});

describe('formatAlert', () => {
  it('writes the one-line summary of share and volume alerts', () => {
    assert.equal(formatAlert(alert()), 'HIGH: share of negative for entity "acme" 0.62 vs expected 0.21 in 2024-05-01 13:00–14:00 UTC (page-hinkley)');
    assert.equal(
      formatAlert(alert({ metric: 'volume', label: null, dimension: 'all', value: '*', observed: 340, expected: 120.44, severity: 'medium', detector: 'ewma' })),
      'MEDIUM: volume for all documents 340 vs expected 120.4 in 2024-05-01 13:00–14:00 UTC (ewma)',
    );
    const day = Date.UTC(2024, 4, 1);
    assert.equal(
      formatAlert(
        alert({ metric: 'volume', label: null, dimension: 'source', value: 'forum', windowStart: day, windowEnd: day + 24 * HOUR, severity: 'low', observed: 12, expected: 40 }),
      ),
      'LOW: volume for source "forum" 12 vs expected 40 in 2024-05-01 00:00–2024-05-02 00:00 UTC (page-hinkley)',
    );
  });
});
