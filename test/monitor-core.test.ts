// The monitor's configuration, document reading and window watcher, on a real SQLite store with
// documents whose predictions are given (the classifier is tested in monitor-run.test.ts).
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type ClassifiedDocument,
  MonitorError,
  SqliteMonitorStore,
  Watcher,
  derivedId,
  loadMonitorConfig,
  parseMonitorConfig,
  parseTimestamp,
  polarityFor,
  readDocumentBatches,
} from '../src/monitor/index.js';

const dir = tempDirSync('monitor-core');
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1);

function configFile(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

test('a configuration: defaults filled in, paths resolved against its directory, durations parsed', async () => {
  const c = await loadMonitorConfig(
    configFile(
      'ok.yaml',
      `model: ./models/sentiment
windows: [1d, 1h]
watches:
  - name: volume
    metric: volume
    detector: seasonal
  - name: negative-share
    metric: share
    label: negative
    window: 1d
    dimensions: [entity]
    detector: page-hinkley
    settings: { lambda: 4, minCount: 8 }
alerts:
  cooldown: 2h
  targets: [{ url: "http://127.0.0.1:9/hook", min_severity: medium }]
database: ./data/monitor.db
`,
    ),
  );
  assert.equal(c.model, join(dir, 'models/sentiment'));
  assert.equal(c.database, join(dir, 'data/monitor.db'));
  assert.deepEqual(c.windowsMs, [HOUR, 24 * HOUR]);
  assert.equal(c.watches[0]!.windowMs, HOUR);
  assert.deepEqual(c.watches[0]!.dimensions, ['all', 'source', 'entity']);
  assert.equal(c.watches[0]!.detector.detector, 'seasonal');
  assert.equal(c.watches[1]!.windowMs, 24 * HOUR);
  assert.equal(c.watches[1]!.detector.kind, 'share');
  assert.equal((c.watches[1]!.detector as { lambda: number }).lambda, 4);
  assert.equal(c.watches[1]!.detector.minCount, 8);
  assert.equal(c.alerts.cooldownMs, 2 * HOUR);
  assert.deepEqual(c.alerts.targets, [{ url: 'http://127.0.0.1:9/hook', minSeverity: 'medium' }]);
  assert.deepEqual(c.input, { id: 'id', text: 'text', timestamp: 'timestamp', source: 'source' });
  assert.equal(c.redis, null);
});

test('configuration errors name the file and the field', async () => {
  const cases: [string, RegExp][] = [
    ['windows: [1h]\n', /bad\.yaml: model: is required/],
    ['model: m\nwindows: [hourly]\n', /windows\[0\]: must be a duration such as 30s, 15m, 1h or 1d/],
    ['model: m\nwatches: [{ name: s, metric: share, detector: ewma }]\n', /watches\[0\]\.label is required for a share metric/],
    ['model: m\nwatches: [{ name: s, metric: volume, window: 1d, detector: ewma }]\n', /watches\[0\]\.window: 1d is not one of the configured windows \(1h\)/],
    ['model: m\nwatches: [{ name: s, metric: volume, detector: ewma, settings: { alpha: 2 } }]\n', /alpha must be at most 1/],
    ['model: m\nwatches: [{ name: s, metric: volume, detector: kalman }]\n', /watches\[0\]\.detector: must be one of ewma, robust-z, page-hinkley, cusum, seasonal/],
    ['model: m\nmodle: x\n', /modle: is not a known field \(known: name, model,/],
    ['model: m\nwatches:\n  - name: a\n    metric: volume\n    detector: ewma\n  - name: a\n    metric: volume\n    detector: cusum\n', /watches\[1\]\.name: "a" is used twice/],
    ['model: m\nredis: { url: "http://x" }\n', /redis\.url: must be a redis:\/\/ or rediss:\/\/ URL/],
    ['model: [unclosed\n', /bad\.yaml, line \d+: not valid YAML/],
    ['model: m\nentities: { types: [ORG] }\n', /entities needs a model \(a token-classification checkpoint\) or keywords/],
  ];
  for (const [text, message] of cases) {
    const file = configFile('bad.yaml', text);
    await assert.rejects(loadMonitorConfig(file), (e: unknown) => {
      assert.ok(e instanceof MonitorError, `${text}: ${String(e)}`);
      assert.equal(e.code, 'invalid_config');
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => parseMonitorConfig({ model: 'm', batch_size: 0 }, 'obj.json'), /obj\.json: batch_size: must be >= 1/);
});

test('label polarities: known sentiment names, a configured map, none for other labels', () => {
  assert.deepEqual(polarityFor(['negative', 'positive'], null), { negative: -1, positive: 1 });
  assert.deepEqual(polarityFor(['NEG', 'neutral', 'POS'], null), { NEG: -1, neutral: 0, POS: 1 });
  assert.equal(polarityFor(['LABEL_0', 'LABEL_1'], null), null);
  assert.deepEqual(polarityFor(['LABEL_0', 'LABEL_1'], { LABEL_0: -1, LABEL_1: 1 }), { LABEL_0: -1, LABEL_1: 1 });
});

test('timestamps: ISO 8601 with and without a zone, dates, epoch seconds and milliseconds', () => {
  assert.equal(parseTimestamp('2024-05-01T13:00:00Z'), Date.UTC(2024, 4, 1, 13));
  assert.equal(parseTimestamp('2024-05-01T15:00:00+02:00'), Date.UTC(2024, 4, 1, 13));
  assert.equal(parseTimestamp('2024-05-01 13:00'), Date.UTC(2024, 4, 1, 13));
  assert.equal(parseTimestamp('2024-05-01'), Date.UTC(2024, 4, 1));
  assert.equal(parseTimestamp(1714568400), Date.UTC(2024, 4, 1, 13));
  assert.equal(parseTimestamp('1714568400000'), Date.UTC(2024, 4, 1, 13));
  assert.equal(parseTimestamp('yesterday'), null);
  assert.equal(parseTimestamp(''), null);
});

test('document files: CSV and JSON Lines in batches, derived ids for rows without one, errors with the line', async () => {
  const csv = join(dir, 'docs.csv');
  writeFileSync(csv, 'id,text,timestamp,source,lang\na1,"good, very good",2024-05-01T13:00:00Z,news,en\n,plain,1714568400,,en\n');
  const batches: unknown[] = [];
  for await (const b of readDocumentBatches(csv, undefined, 1)) batches.push(b);
  assert.equal(batches.length, 2);
  assert.deepEqual(batches[0], [{ id: 'a1', text: 'good, very good', timestamp: Date.UTC(2024, 4, 1, 13), source: 'news', meta: { lang: 'en' } }]);
  assert.deepEqual(batches[1], [{ id: derivedId('plain', Date.UTC(2024, 4, 1, 13), undefined), text: 'plain', timestamp: Date.UTC(2024, 4, 1, 13), meta: { lang: 'en' } }]);

  const jsonl = join(dir, 'docs.jsonl');
  writeFileSync(jsonl, '{"id": 7, "body": "x", "at": "2024-05-01"}\n\n{"id": 8, "body": "y", "at": "soon"}\n');
  const fields = { id: 'id', text: 'body', timestamp: 'at', source: 'source' };
  await assert.rejects(
    (async () => {
      for await (const _ of readDocumentBatches(jsonl, fields)) void _;
    })(),
    (e: unknown) => e instanceof MonitorError && e.code === 'invalid_data' && /docs\.jsonl, line 3: "at" is "soon", not a time/.test(e.message),
  );
  const noText = join(dir, 'notext.csv');
  writeFileSync(noText, 'id,text,timestamp\n1,,2024-05-01\n');
  await assert.rejects(
    (async () => {
      for await (const _ of readDocumentBatches(noText)) void _;
    })(),
    /notext\.csv, line 2: "text" is missing or empty/,
  );
});

/** A document with a given prediction. */
function doc(id: number, hour: number, label: 'negative' | 'positive', entity: string | null, source = 'news'): ClassifiedDocument {
  const p = label === 'negative' ? 0.9 : 0.1;
  return {
    id: `d${id}`,
    text: `${label} text ${id} about ${entity ?? 'nothing'}`,
    timestamp: T0 + hour * HOUR + ((id * 7919) % HOUR),
    source,
    label,
    score: 0.9,
    scores: { negative: p, positive: 1 - p },
    sentiment: 1 - 2 * p,
    entities: entity ? [{ name: entity, text: entity, type: 'ORG', score: 0.99 }] : [],
  };
}

/** 72 hours: 20 documents an hour, 10% negative; from hour 60 documents about acme turn 70% negative; at hour 66 the volume triples. */
function stream(): ClassifiedDocument[] {
  const docs: ClassifiedDocument[] = [];
  let id = 0;
  for (let h = 0; h < 72; h++) {
    const n = h === 66 ? 60 : 20;
    for (let i = 0; i < n; i++) {
      const entity = i % 2 === 0 ? 'acme' : 'globex';
      const negativeShare = entity === 'acme' && h >= 60 ? 0.7 : 0.1;
      const negative = (i * 37 + h * 11) % 100 < negativeShare * 100;
      docs.push(doc(id++, h, negative ? 'negative' : 'positive', entity));
    }
  }
  return docs;
}

const WATCHES = parseMonitorConfig(
  {
    model: 'm',
    watches: [
      { name: 'negative-share', metric: 'share', label: 'negative', dimensions: ['entity'], detector: 'ewma', settings: { warmup: 12, threshold: 4, cooldown: 6, minCount: 5 } },
      { name: 'volume', metric: 'volume', dimensions: ['all'], detector: 'robust-z', settings: { minPoints: 12, threshold: 6, direction: 'up', cooldown: 6 } },
    ],
  },
  'watch.json',
).watches;

test('the watcher scores closed windows once, raises the share shift of one entity and the volume spike, with examples', async () => {
  const store = new SqliteMonitorStore(join(dir, 'watch.db'), { windowsMs: [HOUR] });
  const docs = stream();
  await store.write(docs.filter((d) => d.timestamp < T0 + 48 * HOUR));
  const watcher = new Watcher(store, WATCHES, { examples: 2, now: () => 42 });
  const first = await watcher.advance(T0 + 48 * HOUR);
  // 48 hourly windows for each of two entities (share) and one `all` series (volume).
  assert.equal(first.windows, 48 * 3);
  assert.deepEqual(first.alerts, []);
  assert.equal((await watcher.advance(T0 + 48 * HOUR + 10)).windows, 0, 'no window is scored twice');

  await store.write(docs.filter((d) => d.timestamp >= T0 + 48 * HOUR));
  // A restarted watcher carries on from the stored state.
  const again = new Watcher(store, WATCHES, { examples: 2, now: () => 42 });
  const round = await again.advance(T0 + 72 * HOUR);
  assert.equal(round.windows, 24 * 3);
  const share = round.alerts.filter((a) => a.watch === 'negative-share');
  assert.ok(share.length >= 1, JSON.stringify(round.alerts.map((a) => [a.watch, a.value, (a.windowStart - T0) / HOUR])));
  assert.ok(
    share.every((a) => a.value === 'acme' && a.direction === 'up' && a.windowStart >= T0 + 60 * HOUR),
    'only acme, only after its change',
  );
  const a = share[0]!;
  assert.equal(a.windowStart, T0 + 60 * HOUR, 'detected in the first changed window');
  assert.equal(a.key, 'negative-share|entity|acme|up');
  assert.equal(a.metric, 'share');
  assert.equal(a.label, 'negative');
  assert.ok(a.observed >= 0.6 && a.expected <= 0.2, `${a.observed} vs ${a.expected}`);
  assert.equal(a.examples.length, 2);
  assert.ok(a.examples.every((e) => e.label === 'negative' && e.text.includes('acme')));
  assert.equal(a.raisedAt, 42);
  const volume = round.alerts.filter((x) => x.watch === 'volume');
  assert.deepEqual(
    volume.map((x) => [(x.windowStart - T0) / HOUR, x.observed, x.dimension, x.value]),
    [[66, 60, 'all', '*']],
  );
  await store.close();
});

test('volume windows without documents count as zero: a silent hour is a drop', async () => {
  const store = new SqliteMonitorStore(':memory:', { windowsMs: [HOUR] });
  const docs = stream().filter((d) => d.timestamp < T0 + 40 * HOUR || d.timestamp >= T0 + 41 * HOUR);
  await store.write(docs.filter((d) => d.timestamp < T0 + 48 * HOUR));
  const watches = parseMonitorConfig(
    { model: 'm', watches: [{ name: 'drop', metric: 'volume', dimensions: ['all'], detector: 'ewma', settings: { warmup: 12, threshold: 4, direction: 'down' } }] },
    'w.json',
  ).watches;
  const round = await new Watcher(store, watches).advance(T0 + 48 * HOUR);
  assert.deepEqual(
    round.alerts.map((a) => [(a.windowStart - T0) / HOUR, a.observed, a.direction]),
    [[40, 0, 'down']],
  );
  await store.close();
});

test('the bundled example: its configuration is valid and its news file reads', async () => {
  const example = new URL('../examples/monitor/', import.meta.url).pathname;
  const c = await loadMonitorConfig(join(example, 'monitor.yaml'));
  assert.deepEqual(Object.keys(c.entities?.keywords ?? {}), ['acme', 'globex', 'initech', 'umbrella']);
  assert.deepEqual(
    c.watches.map((w) => [w.name, w.metric, w.detector.detector]),
    [
      ['volume', 'volume', 'robust-z'],
      ['negative-share', 'share', 'ewma'],
    ],
  );
  let n = 0;
  let last = 0;
  for await (const batch of readDocumentBatches(join(example, 'news.jsonl'), c.input)) {
    for (const d of batch) {
      assert.ok(d.timestamp >= last, 'in time order');
      last = d.timestamp;
      n++;
    }
  }
  assert.equal(n, 740);
});
