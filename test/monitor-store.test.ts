// The monitor store contract, run against SQLite (a temporary file) and a real PostgreSQL server:
// idempotent writes, aggregates equal to counts recomputed here from the documents, the queries,
// alerts, state, and reopening. Then what is particular to each (files; concurrent writers).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { MonitorError } from '../src/monitor/errors.js';
import pg from 'pg';
import { openMonitorStore, PostgresMonitorStore, SqliteMonitorStore } from '../src/monitor/store/index.js';
import type { ClassifiedDocument, Dimension, MonitorStore, NewAlert, StoredDocument } from '../src/monitor/types.js';
import { freePort, startPostgres, type TestServer } from './helpers/servers.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WINDOWS = [15 * MINUTE, HOUR, DAY];
const T0 = Date.UTC(2024, 2, 1);
const LABELS = ['negative', 'neutral', 'positive'];
const SOURCES = ['news', 'forum', 'shop', undefined];
const ENTITIES = ['acme', 'globex', 'initech', 'umbrella'];

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeDocs(n: number, seed: number, prefix = 'd'): ClassifiedDocument[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = LABELS[Math.floor(r() * LABELS.length)]!;
    const source = SOURCES[Math.floor(r() * SOURCES.length)];
    const names = ENTITIES.filter(() => r() < 0.35);
    const p = 0.34 + r() * 0.66;
    const sentiment = r() < 0.2 ? null : Math.round((r() * 2 - 1) * 1000) / 1000;
    return {
      id: `${prefix}${i}`,
      text: `text ${i} about ${names.join(' and ') || 'nothing'} — "quoted", 'single', ünïcode`,
      timestamp: T0 + Math.floor(r() * 3 * DAY),
      ...(source === undefined ? {} : { source }),
      ...(i % 5 === 0 ? { meta: { row: i, tags: ['a', 'b'], nested: { ok: true } } } : {}),
      label,
      score: Math.round(p * 1e6) / 1e6,
      scores: Object.fromEntries(LABELS.map((l) => [l, l === label ? p : (1 - p) / 2])),
      sentiment,
      // An entity mentioned twice counts once.
      entities: names.flatMap((name, k) => [
        { name, text: name.toUpperCase(), type: 'ORG', score: 0.9 },
        ...(k === 0 ? [{ name, text: `${name} inc`, type: 'ORG', score: 0.8 }] : []),
      ]),
    };
  });
}

interface Expected {
  count: number;
  labels: Record<string, number>;
  sentimentSum: number;
  sentimentCount: number;
}

/** Every (dimension, value) → window length → window start → counts, computed here from the documents. */
function expectedAggregates(docs: readonly ClassifiedDocument[], windows: readonly number[]): Map<string, Map<number, Map<number, Expected>>> {
  const out = new Map<string, Map<number, Map<number, Expected>>>();
  for (const d of docs) {
    const series: [string, string][] = [
      ['all', '*'],
      ['source', d.source ?? 'unknown'],
      ['label', d.label],
      ...[...new Set(d.entities.map((e) => e.name))].map((n): [string, string] => ['entity', n]),
    ];
    for (const [dim, value] of series) {
      const key = `${dim}|${value}`;
      if (!out.has(key)) out.set(key, new Map());
      for (const w of windows) {
        const byW = out.get(key)!;
        if (!byW.has(w)) byW.set(w, new Map());
        const start = d.timestamp - (d.timestamp % w);
        const m = byW.get(w)!;
        if (!m.has(start)) m.set(start, { count: 0, labels: {}, sentimentSum: 0, sentimentCount: 0 });
        const e = m.get(start)!;
        e.count++;
        e.labels[d.label] = (e.labels[d.label] ?? 0) + 1;
        if (d.sentiment !== null) {
          e.sentimentSum += d.sentiment;
          e.sentimentCount++;
        }
      }
    }
  }
  return out;
}

async function assertAggregates(store: MonitorStore, docs: readonly ClassifiedDocument[], windows: readonly number[] = WINDOWS): Promise<void> {
  const expected = expectedAggregates(docs, windows);
  for (const [key, byW] of expected) {
    const [dimension, value] = key.split('|') as [Dimension, string];
    for (const [windowMs, m] of byW) {
      const got = await store.series({ dimension, value, windowMs });
      const starts = [...m.keys()].sort((a, b) => a - b);
      assert.deepEqual(
        got.map((g) => g.windowStart),
        starts,
        `${key} ${windowMs}: window starts`,
      );
      got.forEach((g, i) => {
        const e = m.get(starts[i]!)!;
        assert.equal(g.dimension, dimension);
        assert.equal(g.value, value);
        assert.equal(g.windowMs, windowMs);
        assert.equal(g.count, e.count, `${key} ${windowMs} ${g.windowStart}: count`);
        assert.deepEqual(g.labelCounts, e.labels, `${key} ${windowMs} ${g.windowStart}: label counts`);
        assert.equal(g.sentimentCount, e.sentimentCount);
        assert.ok(Math.abs(g.sentimentSum - e.sentimentSum) < 1e-9, `${key}: sentiment sum ${g.sentimentSum} vs ${e.sentimentSum}`);
      });
    }
  }
}

function uniqueById(docs: readonly ClassifiedDocument[]): ClassifiedDocument[] {
  const seen = new Map<string, ClassifiedDocument>();
  for (const d of docs) if (!seen.has(d.id)) seen.set(d.id, d);
  return [...seen.values()];
}

function stored(d: ClassifiedDocument): Omit<StoredDocument, 'storedAt'> {
  return { ...d, source: d.source ?? 'unknown' };
}

function withoutStoredAt(d: StoredDocument): Omit<StoredDocument, 'storedAt'> {
  const { storedAt, ...rest } = d;
  assert.ok(Number.isFinite(storedAt));
  return rest;
}

const byScore = (a: ClassifiedDocument, b: ClassifiedDocument) => b.score - a.score || b.timestamp - a.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const byTime = (a: ClassifiedDocument, b: ClassifiedDocument) => b.timestamp - a.timestamp || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function alertOf(i: number, over: Partial<NewAlert> = {}): NewAlert {
  return {
    key: `negative-share|entity|acme|up`,
    watch: 'negative-share',
    detector: 'ewma',
    metric: 'share',
    label: 'negative',
    dimension: 'entity',
    value: 'acme',
    windowMs: HOUR,
    windowStart: T0 + i * HOUR,
    windowEnd: T0 + (i + 1) * HOUR,
    observed: 0.5 + i / 100,
    expected: 0.2,
    score: 4.5,
    threshold: 3,
    direction: 'up',
    severity: 'high',
    examples: [{ id: `d${i}`, text: 'bad', label: 'negative', score: 0.97, timestamp: T0 + i * HOUR + 5 }],
    raisedAt: T0 + (i + 1) * HOUR + 1000,
    ...over,
  };
}

/** A backend under test: `open()` a new empty store; `reopen(store)` closes it and opens the same data again. */
interface Backend {
  open(windowsMs?: readonly number[]): Promise<MonitorStore>;
  reopen(store: MonitorStore, windowsMs?: readonly number[]): Promise<MonitorStore>;
}

function contract(name: string, backend: () => Backend): void {
  describe(`MonitorStore contract: ${name}`, () => {
    test('an empty store', async () => {
      const store = await backend().open();
      try {
        assert.equal(await store.documentCount(), 0);
        assert.equal(await store.latestTimestamp(), null);
        assert.deepEqual(await store.series({ dimension: 'all', value: '*', windowMs: HOUR }), []);
        assert.deepEqual(await store.values('entity', { windowMs: HOUR }), []);
        assert.deepEqual(await store.documents({}), []);
        assert.deepEqual(await store.alerts(), []);
        assert.equal(await store.lastAlert('x'), undefined);
        assert.equal(await store.getState('x'), undefined);
        assert.deepEqual(await store.write([]), { inserted: [], duplicates: [] });
      } finally {
        await store.close();
      }
    });

    test('writes are idempotent: a batch written twice and duplicates inside a batch count once', async () => {
      const store = await backend().open();
      try {
        const docs = makeDocs(40, 1);
        const batch = [...docs, docs[3]!, docs[7]!, { ...docs[3]!, label: 'positive', text: 'changed' }];
        const first = await store.write(batch);
        assert.deepEqual([...first.inserted].sort(), docs.map((d) => d.id).sort());
        assert.deepEqual([...first.duplicates].sort(), ['d3', 'd3', 'd7']);
        const second = await store.write(docs);
        assert.deepEqual(second.inserted, []);
        assert.deepEqual([...second.duplicates].sort(), docs.map((d) => d.id).sort());
        assert.equal(await store.documentCount(), 40);
        await assertAggregates(store, docs);
        // The first of the duplicates is the one kept.
        const [d3] = await store.documents({ series: { dimension: 'label', value: docs[3]!.label }, from: docs[3]!.timestamp, to: docs[3]!.timestamp + 1 });
        assert.equal(d3?.text, docs[3]!.text);
      } finally {
        await store.close();
      }
    });

    test('aggregates equal counts recomputed from the documents (windows, sources, entities, labels, sentiment)', async () => {
      const store = await backend().open();
      try {
        const docs = makeDocs(300, 2);
        // Overlapping batches in several writes.
        for (let i = 0; i < docs.length; i += 70) await store.write(docs.slice(Math.max(0, i - 10), i + 70));
        assert.equal(await store.documentCount(), 300);
        assert.equal(await store.latestTimestamp(), Math.max(...docs.map((d) => d.timestamp)));
        await assertAggregates(store, docs);
        const more = makeDocs(50, 3, 'e');
        await store.write(more);
        await assertAggregates(store, [...docs, ...more]);
      } finally {
        await store.close();
      }
    });

    test('series and values answer their time ranges and limits', async () => {
      const store = await backend().open();
      try {
        const docs = makeDocs(200, 4);
        await store.write(docs);
        const from = T0 + DAY;
        const to = T0 + 2 * DAY + 5 * HOUR;
        const inRange = docs.filter((d) => {
          const s = d.timestamp - (d.timestamp % HOUR);
          return s >= from && s < to;
        });
        const hours = await store.series({ dimension: 'all', value: '*', windowMs: HOUR, from, to });
        assert.ok(hours.length > 10);
        assert.ok(hours.every((h, i) => h.windowStart >= from && h.windowStart < to && (i === 0 || h.windowStart > hours[i - 1]!.windowStart)));
        assert.equal(
          hours.reduce((s, h) => s + h.count, 0),
          inRange.length,
        );
        assert.deepEqual(await store.series({ dimension: 'entity', value: 'nobody', windowMs: HOUR }), []);
        assert.deepEqual(await store.series({ dimension: 'all', value: '*', windowMs: 7 * MINUTE }), []);

        const entityCounts = new Map<string, number>();
        for (const d of inRange) for (const n of new Set(d.entities.map((e) => e.name))) entityCounts.set(n, (entityCounts.get(n) ?? 0) + 1);
        const expected = [...entityCounts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
        assert.deepEqual(await store.values('entity', { windowMs: HOUR, from, to }), expected);
        assert.deepEqual(await store.values('entity', { windowMs: HOUR, from, to, limit: 2 }), expected.slice(0, 2));
        const sources = await store.values('source', { windowMs: DAY });
        assert.deepEqual(sources.map((s) => s.value).sort(), ['forum', 'news', 'shop', 'unknown']);
        assert.equal(
          sources.reduce((s, v) => s + v.count, 0),
          200,
        );
        assert.deepEqual(await store.values('all', { windowMs: DAY }), [{ value: '*', count: 200 }]);
      } finally {
        await store.close();
      }
    });

    test('documents by series, label and time range, most confident or newest first', async () => {
      const store = await backend().open();
      try {
        const docs = makeDocs(150, 5);
        await store.write(docs);
        const from = T0 + 6 * HOUR;
        const to = T0 + 2 * DAY;
        const cases: { q: Parameters<MonitorStore['documents']>[0]; keep: (d: ClassifiedDocument) => boolean }[] = [
          { q: {}, keep: () => true },
          { q: { series: { dimension: 'all', value: '*' }, limit: 500 }, keep: () => true },
          { q: { series: { dimension: 'source', value: 'news' }, from, to }, keep: (d) => d.source === 'news' && d.timestamp >= from && d.timestamp < to },
          { q: { series: { dimension: 'source', value: 'unknown' }, limit: 3 }, keep: (d) => d.source === undefined },
          {
            q: { series: { dimension: 'entity', value: 'acme' }, from, to, limit: 1000 },
            keep: (d) => d.entities.some((e) => e.name === 'acme') && d.timestamp >= from && d.timestamp < to,
          },
          { q: { series: { dimension: 'entity', value: 'globex' }, label: 'negative' }, keep: (d) => d.entities.some((e) => e.name === 'globex') && d.label === 'negative' },
          { q: { series: { dimension: 'label', value: 'positive' }, order: 'time', limit: 20 }, keep: (d) => d.label === 'positive' },
          { q: { label: 'neutral', from, order: 'time', limit: 7 }, keep: (d) => d.label === 'neutral' && d.timestamp >= from },
          { q: { to: from }, keep: (d) => d.timestamp < from },
          { q: { series: { dimension: 'entity', value: 'nobody' } }, keep: () => false },
        ];
        for (const { q, keep } of cases) {
          const want = docs
            .filter(keep)
            .sort(q.order === 'time' ? byTime : byScore)
            .slice(0, q.limit ?? 10)
            .map(stored);
          const got = await store.documents(q);
          assert.deepEqual(got.map(withoutStoredAt), want, JSON.stringify(q));
        }
      } finally {
        await store.close();
      }
    });

    test('alerts: stored, updated, filtered, newest first, after an id; the last one of a key', async () => {
      const store = await backend().open();
      try {
        const a1 = await store.addAlert(alertOf(1), 'pending');
        const a2 = await store.addAlert(alertOf(2, { key: 'volume|all|*|up', metric: 'volume', label: null, dimension: 'all', value: '*', severity: 'low', examples: [] }), 'none');
        const a3 = await store.addAlert(alertOf(3), 'suppressed');
        assert.ok(a1.id < a2.id && a2.id < a3.id);
        assert.deepEqual(a1, { ...alertOf(1), id: a1.id, delivery: 'pending', attempts: 0, error: null });
        await store.updateAlertDelivery(a1.id, 'failed', 3, 'HTTP 500 from https://hooks.example/x');
        const all = await store.alerts();
        assert.deepEqual(
          all.map((a) => a.id),
          [a3.id, a2.id, a1.id],
        );
        assert.deepEqual(all[2], { ...alertOf(1), id: a1.id, delivery: 'failed', attempts: 3, error: 'HTTP 500 from https://hooks.example/x' });
        assert.equal(all[1]!.label, null);
        assert.deepEqual(
          (await store.alerts({ series: { dimension: 'entity', value: 'acme' } })).map((a) => a.id),
          [a3.id, a1.id],
        );
        assert.deepEqual(
          (await store.alerts({ afterId: a1.id })).map((a) => a.id),
          [a3.id, a2.id],
        );
        assert.deepEqual(
          (await store.alerts({ from: T0 + 2 * HOUR, to: T0 + 3 * HOUR })).map((a) => a.id),
          [a2.id],
        );
        assert.deepEqual(
          (await store.alerts({ limit: 1 })).map((a) => a.id),
          [a3.id],
        );
        assert.equal((await store.lastAlert('negative-share|entity|acme|up'))?.id, a3.id);
        assert.equal((await store.lastAlert('volume|all|*|up'))?.delivery, 'none');
        assert.equal(await store.lastAlert('nothing'), undefined);
        await assert.rejects(store.updateAlertDelivery(a3.id + 100, 'delivered', 1, null), (e: unknown) => e instanceof MonitorError);
      } finally {
        await store.close();
      }
    });

    test('state: JSON values saved, replaced and read back', async () => {
      const store = await backend().open();
      try {
        const state = { detector: 'ewma', version: 1, mean: 0.25, values: [1, 2.5, null], nested: { text: 'it\'s "quoted"' } };
        await store.setState('watch:negative|entity|acme', state);
        await store.setState('watermark', 12345);
        assert.deepEqual(await store.getState('watch:negative|entity|acme'), state);
        await store.setState('watermark', { at: 99 });
        assert.deepEqual(await store.getState('watermark'), { at: 99 });
        await store.setState('flag', false);
        assert.equal(await store.getState('flag'), false);
        assert.equal(await store.getState('missing'), undefined);
        await assert.rejects(store.setState('bad', undefined), (e: unknown) => e instanceof MonitorError && e.code === 'invalid_input');
      } finally {
        await store.close();
      }
    });

    test('reopening keeps documents, aggregates, alerts and state; ids go on', async () => {
      const b = backend();
      let store = await b.open();
      try {
        const docs = makeDocs(80, 6);
        await store.write(docs);
        const a = await store.addAlert(alertOf(1), 'delivered');
        await store.setState('k', [1, 2, 3]);
        const before = await store.documents({ order: 'time', limit: 100 });
        store = await b.reopen(store);
        assert.equal(await store.documentCount(), 80);
        assert.deepEqual(await store.documents({ order: 'time', limit: 100 }), before);
        await assertAggregates(store, docs);
        assert.deepEqual(await store.alerts(), [{ ...alertOf(1), id: a.id, delivery: 'delivered', attempts: 0, error: null }]);
        assert.deepEqual(await store.getState('k'), [1, 2, 3]);
        const again = await store.write(docs.slice(0, 10));
        assert.equal(again.inserted.length, 0);
        assert.ok((await store.addAlert(alertOf(2), 'pending')).id > a.id);
      } finally {
        await store.close();
      }
    });

    test('a window length added on reopening counts the documents stored before; every counted length stays counted', async () => {
      const b = backend();
      let store = await b.open([HOUR]);
      try {
        const docs = makeDocs(120, 14);
        await store.write(docs.slice(0, 80));
        store = await b.reopen(store, [DAY, 15 * MINUTE]);
        await assertAggregates(store, docs.slice(0, 80), WINDOWS);
        // Opened with one length only, the store still counts all three.
        store = await b.reopen(store, [HOUR]);
        await store.write(docs.slice(60));
        await assertAggregates(store, docs, WINDOWS);
      } finally {
        await store.close();
      }
    });

    test('a NUL character in a text comes back as U+FFFD; meta keeps its JSON', async () => {
      const store = await backend().open();
      try {
        const [doc] = makeDocs(1, 13);
        await store.write([{ ...doc!, text: 'a\u0000b', meta: { raw: 'x\u0000y', n: [1, { deep: null }] } }]);
        const [got] = await store.documents({});
        assert.equal(got!.text, 'a\uFFFDb');
        assert.deepEqual(got!.meta, { raw: 'x\u0000y', n: [1, { deep: null }] });
      } finally {
        await store.close();
      }
    });

    test('a document with bad fields is refused, naming the field, and nothing of its batch is stored', async () => {
      const store = await backend().open();
      try {
        const docs = makeDocs(5, 7);
        await assert.rejects(
          store.write([...docs, { ...docs[0]!, id: 'x', timestamp: Number.NaN }]),
          (e: unknown) => e instanceof MonitorError && e.code === 'invalid_input' && /documents\[5\]\.timestamp/.test(e.message),
        );
        assert.equal(await store.documentCount(), 0);
      } finally {
        await store.close();
      }
    });
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'tuna-monitor-store-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;

contract('SQLite', () => {
  const file = join(tmp, `db${++fileNo}`, 'monitor.db');
  return {
    open: async (windowsMs = WINDOWS) => new SqliteMonitorStore(file, { windowsMs }),
    reopen: async (store, windowsMs = WINDOWS) => {
      await store.close();
      return new SqliteMonitorStore(file, { windowsMs });
    },
  };
});

describe('SqliteMonitorStore files', () => {
  test('creates its directory, uses WAL and records its schema version', async () => {
    const file = join(tmp, 'nested', 'deeper', 'm.db');
    const store = new SqliteMonitorStore(file, { windowsMs: [HOUR] });
    await store.write(makeDocs(3, 8));
    await store.close();
    assert.ok(existsSync(file));
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    db.close();
  });

  test(':memory: works; a file that is not a database and a newer schema are refused naming the file', async () => {
    const mem = new SqliteMonitorStore(':memory:', { windowsMs: [HOUR] });
    await mem.write(makeDocs(4, 9));
    assert.equal(await mem.documentCount(), 4);
    await mem.close();
    const junk = join(tmp, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    assert.throws(
      () => new SqliteMonitorStore(junk, { windowsMs: [HOUR] }),
      (e: unknown) => e instanceof MonitorError && e.code === 'file_unreadable' && e.message.includes(junk),
    );
    const newer = join(tmp, 'newer.db');
    const db = new Database(newer);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(
      () => new SqliteMonitorStore(newer, { windowsMs: [HOUR] }),
      (e: unknown) => e instanceof MonitorError && e.message.includes(newer) && e.message.includes('99'),
    );
    assert.throws(
      () => new SqliteMonitorStore(join(tmp, 'w.db'), { windowsMs: [0] }),
      (e: unknown) => e instanceof MonitorError && e.code === 'invalid_config',
    );
  });

  test('two processes writing overlapping batches to one file store and count every document once', async () => {
    const file = join(tmp, 'shared.db');
    const docs = makeDocs(600, 10);
    const input = join(tmp, 'shared-docs.json');
    writeFileSync(input, JSON.stringify(docs));
    const script = join(tmp, 'writer.mts');
    const storeModule = new URL('../src/monitor/store/sqlite.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SqliteMonitorStore } from ${JSON.stringify(storeModule)};
const [file, input, from, to] = process.argv.slice(2);
const docs = JSON.parse(readFileSync(input, 'utf8')).slice(Number(from), Number(to));
const store = new SqliteMonitorStore(file, { windowsMs: ${JSON.stringify(WINDOWS)} });
// Both processes start writing together.
writeFileSync(file + '.ready-' + from, '');
while (!(existsSync(file + '.ready-0') && existsSync(file + '.ready-200'))) await new Promise((r) => setTimeout(r, 5));
let inserted = 0;
for (let i = 0; i < docs.length; i += 5) inserted += (await store.write(docs.slice(i, i + 5))).inserted.length;
await store.close();
process.stdout.write(String(inserted));
`,
    );
    const run = (from: number, to: number) =>
      new Promise<number>((resolve, reject) => {
        execFile(process.execPath, ['--import', 'tsx', script, file, input, String(from), String(to)], { cwd: process.cwd() }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(Number(stdout)),
        );
      });
    const [a, b] = await Promise.all([run(0, 400), run(200, 600)]);
    assert.equal(a + b, 600, 'each document inserted by exactly one process');
    const store = new SqliteMonitorStore(file, { windowsMs: WINDOWS });
    try {
      assert.equal(await store.documentCount(), 600);
      await assertAggregates(store, docs);
    } finally {
      await store.close();
    }
  });

  test('openMonitorStore opens a path as SQLite', async () => {
    const store = await openMonitorStore(join(tmp, 'opened', 'x.db'), { windowsMs: [HOUR] });
    assert.ok(store instanceof SqliteMonitorStore);
    await store.close();
  });
});

let server: Promise<TestServer> | undefined;
const postgres = () => (server ??= startPostgres());
after(async () => {
  if (server) await (await server).stop();
});
let databaseNo = 0;

/** A new empty database on the test server; its URL. */
async function freshDatabase(): Promise<string> {
  const { url } = await postgres();
  const name = `monitor_${++databaseNo}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return url.replace(/\/tuna$/, `/${name}`);
}

contract('PostgreSQL', () => {
  let url: Promise<string> | undefined;
  const connect = async (windowsMs: readonly number[] = WINDOWS) => PostgresMonitorStore.connect(await (url ??= freshDatabase()), { windowsMs, poolSize: 2 });
  return {
    open: connect,
    reopen: async (store, windowsMs) => {
      await store.close();
      return connect(windowsMs);
    },
  };
});

describe('PostgresMonitorStore', () => {
  test('workers starting at once create the tables once; two writers with overlapping batches store and count every document once', async () => {
    const url = await freshDatabase();
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => PostgresMonitorStore.connect(url, { windowsMs: WINDOWS, poolSize: 3 })));
    await c!.close();
    try {
      const docs = makeDocs(600, 11);
      const chunks = (from: number, to: number, size: number) =>
        Array.from({ length: Math.ceil((to - from) / size) }, (_, i) => docs.slice(from + i * size, Math.min(to, from + (i + 1) * size)));
      // A writes 0–400 forwards, B writes 200–600 backwards and reshuffled: every shared id and aggregate row is contended.
      const batchesA = chunks(0, 400, 40);
      const batchesB = chunks(200, 600, 40)
        .reverse()
        .map((batch) => [...batch].reverse());
      const writer = async (store: MonitorStore, batches: ClassifiedDocument[][]) => {
        const results = await Promise.all(batches.map((batch) => store.write([...batch, ...batch.slice(0, 3)])));
        return results.flatMap((r) => r.inserted);
      };
      const [insA, insB] = await Promise.all([writer(a!, batchesA), writer(b!, batchesB)]);
      const all = [...insA, ...insB].sort();
      assert.deepEqual(
        all,
        uniqueById(docs)
          .map((d) => d.id)
          .sort(),
        'each document inserted by exactly one writer',
      );
      assert.equal(await a!.documentCount(), 600);
      await assertAggregates(b!, docs);
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  test('openMonitorStore connects for a postgres:// or postgresql:// URL', async () => {
    const url = await freshDatabase();
    for (const u of [url, url.replace(/^postgres:/, 'postgresql:')]) {
      const store = await openMonitorStore(u, { windowsMs: [HOUR] });
      assert.ok(store instanceof PostgresMonitorStore);
      await store.write(makeDocs(2, 12, u.slice(0, 12)));
      await store.close();
    }
  });

  test('a refused connection is a store_error naming host:port, not the password', async () => {
    const port = await freePort();
    await assert.rejects(PostgresMonitorStore.connect(`postgres://monitor:s3cret-pw@127.0.0.1:${port}/tuna`, { windowsMs: [HOUR] }), (e: unknown) => {
      assert.ok(e instanceof MonitorError);
      assert.equal(e.code, 'store_error');
      assert.ok(e.message.includes(`127.0.0.1:${port}`), e.message);
      assert.ok(!e.message.includes('s3cret'), e.message);
      return true;
    });
  });
});
