/**
 * The monitor store under a dashboard's load: fills a store with N documents spread over 90 days
 * (5 sources, 50 entities with a skewed popularity, 3 labels, windows of 15 minutes, 1 hour and
 * 1 day), written in chronological batches as the worker writes them, and prints the write rate;
 * then times (p50/p99 over repeated runs) the queries a dashboard makes: a 30-day hourly series,
 * the top entities, the top documents of a window, alerts.
 *
 *   npm run bench:monitor-query [-- --docs 1000000 --batch 1000 --runs 50 --file /tmp/m.db]
 *   npm run bench:monitor-query -- --docs 200000 --postgres postgres://user@host:5432/db
 *
 * The SQLite file (default: a new temporary one) is deleted at the end unless --keep is given;
 * with --postgres the monitor tables of that database are dropped first.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresMonitorStore, SqliteMonitorStore } from '../src/monitor/store/index.js';
import type { ClassifiedDocument, MonitorStore, NewAlert } from '../src/monitor/types.js';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '50' },
    file: { type: 'string' },
    postgres: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(args.docs);
const BATCH = Number(args.batch);
const RUNS = Number(args.runs);
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WINDOWS = [15 * MINUTE, HOUR, DAY];
const DAYS = 90;
const T0 = Date.UTC(2024, 0, 1);
const SOURCES = ['news', 'forum', 'reviews', 'social', 'support'];
const ENTITIES = Array.from({ length: 50 }, (_, i) => `entity ${String(i).padStart(2, '0')}`);
const LABELS = ['negative', 'neutral', 'positive'];

let seed = 12345;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
/** Entity i is picked with weight 1 / (i + 1). */
const entityWeights = ENTITIES.map((_, i) => 1 / (i + 1));
const weightSum = entityWeights.reduce((a, b) => a + b, 0);
const pickEntity = () => {
  let r = rand() * weightSum;
  for (let i = 0; i < ENTITIES.length; i++) if ((r -= entityWeights[i]!) <= 0) return ENTITIES[i]!;
  return ENTITIES[ENTITIES.length - 1]!;
};

function makeDoc(i: number): ClassifiedDocument {
  const timestamp = T0 + Math.floor(((i + rand()) / N) * DAYS * DAY);
  const label = LABELS[Math.floor(rand() * 3)]!;
  const p = 0.34 + rand() * 0.66;
  const names = [...new Set(Array.from({ length: Math.floor(rand() * 3) }, pickEntity))];
  return {
    id: `doc-${i}`,
    text: `Document ${i}: what people say about ${names.join(' and ') || 'things'} today, with a few more words to make it realistic.`,
    timestamp,
    source: SOURCES[Math.floor(rand() * SOURCES.length)]!,
    meta: { row: i },
    label,
    score: p,
    scores: Object.fromEntries(LABELS.map((l) => [l, l === label ? p : (1 - p) / 2])),
    sentiment: label === 'positive' ? p : label === 'negative' ? -p : 0,
    entities: names.map((name) => ({ name, text: name, type: 'ORG', score: 0.9 })),
  };
}

function alertOf(i: number): NewAlert {
  const entity = ENTITIES[i % 10]!;
  const windowStart = T0 + (i % (DAYS * 24)) * HOUR;
  return {
    key: `negative-share|entity|${entity}|up`,
    watch: 'negative-share',
    detector: 'ewma',
    metric: 'share',
    label: 'negative',
    dimension: 'entity',
    value: entity,
    windowMs: HOUR,
    windowStart,
    windowEnd: windowStart + HOUR,
    observed: 0.6,
    expected: 0.3,
    score: 4,
    threshold: 3,
    direction: 'up',
    severity: 'medium',
    examples: [{ id: `doc-${i}`, text: 'example', label: 'negative', score: 0.9, timestamp: windowStart }],
    raisedAt: windowStart + HOUR,
  };
}

async function openStore(): Promise<{ store: MonitorStore; what: string; cleanup: () => void; size: () => Promise<string> }> {
  if (args.postgres) {
    const c = new pg.Client({ connectionString: args.postgres });
    await c.connect();
    for (const t of ['documents', 'document_entities', 'aggregates', 'label_counts', 'alerts', 'state', 'schema']) await c.query(`DROP TABLE IF EXISTS monitor_${t}`);
    await c.end();
    const store = await PostgresMonitorStore.connect(args.postgres, { windowsMs: WINDOWS, poolSize: 4 });
    const size = async () => {
      const c2 = new pg.Client({ connectionString: args.postgres });
      await c2.connect();
      const r = await c2.query<{ s: string }>('SELECT pg_size_pretty(pg_database_size(current_database())) AS s');
      await c2.end();
      return r.rows[0]!.s;
    };
    return { store, what: `PostgreSQL ${store.server}`, cleanup: () => {}, size };
  }
  const dir = args.file ? undefined : mkdtempSync(join(tmpdir(), 'tuna-bench-monitor-'));
  const file = args.file ?? join(dir!, 'monitor.db');
  const store = new SqliteMonitorStore(file, { windowsMs: WINDOWS });
  return {
    store,
    what: `SQLite ${file}`,
    cleanup: () => {
      if (dir && !args.keep) rmSync(dir, { recursive: true, force: true });
    },
    size: async () => {
      let bytes = 0;
      for (const f of [file, `${file}-wal`]) {
        try {
          bytes += statSync(f).size;
        } catch {}
      }
      return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    },
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function time(name: string, fn: () => Promise<unknown>): Promise<void> {
  await fn();
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const out = await fn();
    ms.push(performance.now() - t);
    rows = Array.isArray(out) ? out.length : 1;
  }
  ms.sort((a, b) => a - b);
  console.log(`${name.padEnd(58)} p50 ${quantile(ms, 0.5).toFixed(2).padStart(8)} ms   p99 ${quantile(ms, 0.99).toFixed(2).padStart(8)} ms   (${rows} rows)`);
}

const { store, what, cleanup, size } = await openStore();
console.log(`${what}: ${N.toLocaleString('en')} documents over ${DAYS} days, batches of ${BATCH}, windows ${WINDOWS.map((w) => `${w / MINUTE} min`).join(', ')}`);
try {
  const started = performance.now();
  let last = started;
  for (let i = 0; i < N; i += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => makeDoc(i + k));
    await store.write(docs);
    if (performance.now() - last > 10_000) {
      last = performance.now();
      console.log(`  ${(i + docs.length).toLocaleString('en')} written, ${(((i + docs.length) / (last - started)) * 1000).toFixed(0)} docs/s`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`write: ${N.toLocaleString('en')} documents in ${seconds.toFixed(1)} s = ${(N / seconds).toFixed(0)} docs/s`);
  for (let i = 0; i < 2000; i++) await store.addAlert(alertOf(i), 'delivered');
  const end = T0 + DAYS * DAY;
  const from30 = end - 30 * DAY;
  const lastHour = end - HOUR;
  const top = ENTITIES[0]!;
  const rare = ENTITIES[49]!;
  console.log(`documents stored: ${(await store.documentCount()).toLocaleString('en')}; 2,000 alerts; ${RUNS} runs per query`);
  await time('series all, 30 days of hourly windows', () => store.series({ dimension: 'all', value: '*', windowMs: HOUR, from: from30, to: end }));
  await time(`series entity "${top}", 30 days hourly`, () => store.series({ dimension: 'entity', value: top, windowMs: HOUR, from: from30, to: end }));
  await time('series source "news", 90 days of 15-min windows', () => store.series({ dimension: 'source', value: 'news', windowMs: 15 * MINUTE }));
  await time("values('entity'), 30 days of daily windows, top 20", () => store.values('entity', { windowMs: DAY, from: from30, to: end, limit: 20 }));
  await time("values('entity'), 30 days of hourly windows, top 20", () => store.values('entity', { windowMs: HOUR, from: from30, to: end, limit: 20 }));
  await time("values('source'), all days", () => store.values('source', { windowMs: DAY }));
  await time('documents: top 10 of the last hour (all)', () => store.documents({ from: lastHour, to: end }));
  await time(`documents: top 10 of an hour of entity "${top}"`, () => store.documents({ series: { dimension: 'entity', value: top }, from: lastHour, to: end }));
  await time(`documents: top 10 negative of a day of entity "${rare}"`, () =>
    store.documents({ series: { dimension: 'entity', value: rare }, label: 'negative', from: end - DAY, to: end }),
  );
  await time('documents: newest 20 of source "forum"', () => store.documents({ series: { dimension: 'source', value: 'forum' }, order: 'time', limit: 20 }));
  await time('documents: top 10 of 30 days (all)', () => store.documents({ from: from30, to: end }));
  await time('alerts: newest 100', () => store.alerts({ limit: 100 }));
  await time(`alerts: entity "${ENTITIES[3]}", newest 50`, () => store.alerts({ series: { dimension: 'entity', value: ENTITIES[3]! }, limit: 50 }));
  await time('alerts: after an id (live view)', () => store.alerts({ afterId: 1990 }));
  await time('lastAlert(key)', () => store.lastAlert(`negative-share|entity|${ENTITIES[5]}|up`));
  await time('latestTimestamp()', () => store.latestTimestamp());
  await time('documentCount()', () => store.documentCount());
  console.log(`store size: ${await size()}`);
} finally {
  await store.close();
  cleanup();
}
