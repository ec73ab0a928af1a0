// The monitor end to end with real models: a sequence classifier on the bundled English model
// (seeded random head: its predictions are arbitrary but fixed, so the stream's label shift is
// built from what it predicts) and a token classifier that tags two company names, replaying a
// file into SQLite, alerting a real webhook; then the CLI: `tuna monitor replay`, and `tuna
// monitor run` consuming a real Redis stream fed by `tuna monitor ingest` and POST /v1/ingest.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pipeline, readSafetensors, writeSafetensors } from '../src/index.js';
import { DocumentClassifier, Monitor, SqliteMonitorStore, loadMonitorConfig } from '../src/monitor/index.js';
import { tempDir, writeSequenceClassifier, writeTokenLogitModel } from './helpers/pipeline-models.js';
import { type TestServer, startRedis } from './helpers/servers.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 4, 1);
const BIN = new URL('../bin/tuna.js', import.meta.url).pathname;
const SST2 = '/work/shared/datasets/sst2/dev.tsv';

let dir = '';
let sentiment = '';
let ner = '';
const hooks: unknown[] = [];
let hookServer: ReturnType<typeof createServer>;
let hookUrl = '';
let redis: TestServer;

/** Sentences of SST-2's dev split. */
async function sentences(n: number): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(SST2, 'utf8'))
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t')[0]!.trim())
    .filter((s) => s.length > 0 && !/acme|globex/i.test(s))
    .slice(0, n);
}

/**
 * Moves the classifier's bias so that the median of `texts` sits on the decision boundary: a
 * random head predicts one label for nearly every text, this one predicts each label for half.
 */
async function balanceClassifier(model: string, texts: readonly string[]): Promise<void> {
  const classifier = await pipeline('text-classification', model, { threads: 1 });
  const results = await classifier.runBatch(texts, { topK: null });
  await classifier.dispose();
  const margins = results.map((r) => Math.log(r.find((l) => l.label === 'negative')!.score / r.find((l) => l.label === 'positive')!.score)).sort((a, b) => a - b);
  const median = margins[Math.floor(margins.length / 2)]!;
  const file = join(model, 'model.safetensors');
  const { tensors } = await readSafetensors(file);
  const bias = tensors.get('classifier.bias')!.data as Float32Array;
  bias[0] = bias[0]! - median;
  await writeSafetensors(file, tensors, { format: 'pt' });
}

before(async () => {
  dir = await tempDir('monitor-run');
  sentiment = await writeSequenceClassifier(join(dir, 'sentiment'), { 0: 'negative', 1: 'positive' });
  const pool = await sentences(240);
  await balanceClassifier(sentiment, [...pool.map((s) => `acme : ${s}`), ...pool.map((s) => `globex : ${s}`)]);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'acme', 'globex', ':'];
  ner = await writeTokenLogitModel(join(dir, 'ner'), vocab, ['O', 'B-ORG', 'I-ORG'], { acme: [0, 6, 0], globex: [0, 6, 0] });
  hookServer = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as { port: number }).port}/hook`;
  redis = await startRedis();
});

after(async () => {
  await new Promise((r) => hookServer?.close(r));
  await redis?.stop();
});

function writeConfig(name: string, extra = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
model: ${sentiment}
entities: { model: ${ner}, types: [ORG] }
windows: [1h]
watches:
  - name: negative-share
    metric: share
    label: negative
    dimensions: [entity]
    detector: ewma
    settings: { warmup: 12, threshold: 3, cooldown: 4, minCount: 4 }
alerts:
  cooldown: 6h
  retries: 1
  targets: [{ url: "${hookUrl}" }]
database: ${join(dir, `${name}.db`)}
threads: 1
${extra}`,
  );
  return file;
}

/**
 * 48 hours, 12 documents an hour, half about acme and half about globex; the texts acme's
 * documents are drawn from turn from 15% predicted negative to 80% at hour 36.
 */
async function buildStream(): Promise<{ file: string; count: number }> {
  const pool = await sentences(240);
  const classifier = await pipeline('text-classification', sentiment, { threads: 1 });
  const byEntity: Record<string, { negative: string[]; positive: string[] }> = {};
  for (const entity of ['acme', 'globex']) {
    const texts = pool.map((s) => `${entity} : ${s}`);
    const labels = await classifier.runBatch(texts);
    byEntity[entity] = { negative: texts.filter((_, i) => labels[i]![0]!.label === 'negative'), positive: texts.filter((_, i) => labels[i]![0]!.label === 'positive') };
    assert.ok(byEntity[entity]!.negative.length >= 20 && byEntity[entity]!.positive.length >= 20, `the classifier predicts both labels for ${entity}`);
  }
  await classifier.dispose();
  const lines: string[] = [];
  let k = 0;
  for (let h = 0; h < 48; h++) {
    for (let i = 0; i < 12; i++) {
      const entity = i % 2 === 0 ? 'acme' : 'globex';
      const share = entity === 'acme' && h >= 36 ? 0.8 : 0.15;
      const negative = ((i * 37 + h * 13) % 20) / 20 < share;
      const texts = byEntity[entity]![negative ? 'negative' : 'positive'];
      lines.push(
        JSON.stringify({
          id: `doc-${k}`,
          text: texts[(k * 7) % texts.length],
          timestamp: new Date(T0 + h * HOUR + i * 300_000).toISOString(),
          source: i % 3 === 0 ? 'wire' : 'forum',
        }),
      );
      k++;
    }
  }
  const file = join(dir, 'stream.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, count: lines.length };
}

let stream: { file: string; count: number };

test('replay: classified, entities found, stored once, the shift of one entity alerted to the webhook', async () => {
  stream = await buildStream();
  const config = await loadMonitorConfig(writeConfig('replay'));
  const monitor = await Monitor.open(config);
  try {
    const r = await monitor.replay(stream.file);
    assert.equal(r.accepted, stream.count);
    assert.equal(r.inserted, stream.count);
    assert.equal(r.duplicates, 0);
    const keys = r.alerts.map((a) => `${a.key}@${(a.windowStart - T0) / HOUR}`);
    const shares = (await monitor.store.series({ dimension: 'entity', value: 'acme', windowMs: HOUR })).map((w) => (w.labelCounts.negative ?? 0) / w.count);
    assert.ok(r.alerts.length >= 1, `an alert; acme's negative share per hour: ${shares.map((x) => x.toFixed(2)).join(' ')}`);
    assert.ok(
      r.alerts.every((a) => a.value === 'acme' && a.direction === 'up'),
      keys.join(', '),
    );
    const firstHour = (r.alerts[0]!.windowStart - T0) / HOUR;
    assert.ok(firstHour >= 36 && firstHour <= 39, `detected within 3 hours of the change, at hour ${firstHour}`);
    assert.equal(r.alerts[0]!.delivery, 'delivered');
    assert.ok(r.alerts[0]!.examples.length > 0 && r.alerts[0]!.examples.every((e) => e.label === 'negative' && e.text.startsWith('acme')));

    const sent = hooks as { key: string; severity: string; series: { value: string }; text: string }[];
    assert.equal(sent.length, r.alerts.filter((a) => a.delivery === 'delivered').length);
    assert.equal(sent[0]!.key, 'negative-share|entity|acme|up');
    assert.match(sent[0]!.text, /share of negative for entity "acme"/);

    const store = monitor.store;
    assert.equal(await store.documentCount(), stream.count);
    const [stored] = await store.documents({ order: 'time', limit: 1 });
    assert.deepEqual(
      stored!.entities.map((e) => [e.name, e.type]),
      [[stored!.text.split(' ')[0], 'ORG']],
    );
    assert.ok(stored!.sentiment !== null && Math.abs(stored!.sentiment - (stored!.scores.positive! - stored!.scores.negative!)) < 1e-6);
    const acme = await store.series({ dimension: 'entity', value: 'acme', windowMs: HOUR });
    assert.equal(acme.length, 48);
    assert.ok(acme.every((w) => w.count === 6));

    // The same file again: every document is a duplicate, nothing is counted or alerted twice.
    const again = await monitor.replay(stream.file);
    assert.equal(again.inserted, 0);
    assert.equal(again.duplicates, stream.count);
    assert.equal(again.alerts.length, 0);
    assert.equal(await store.documentCount(), stream.count);
  } finally {
    await monitor.close();
  }
});

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, TUNA_THREADS: '1' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('tuna monitor replay --json, and its errors', async () => {
  const r = await run(['monitor', 'replay', '--config', writeConfig('cli'), '--input', stream.file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.inserted, stream.count);
  assert.ok(out.alerts.length >= 1 && out.alerts.every((a: { value: string }) => a.value === 'acme'));
  const bad = await run(['monitor', 'replay', '--config', writeConfig('bad', 'detect_every: soon\n'), '--input', stream.file]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /bad\.yaml: detect_every: must be a duration such as 30s, 15m, 1h or 1d/);
  assert.doesNotMatch(bad.stderr, /at .*\.ts:\d+/);
});

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stderr!.on('data', (d) => {
      seen += d;
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

test('tuna monitor run consumes the Redis stream that tuna monitor ingest fills, serves POST /v1/ingest, and stops on SIGTERM', async () => {
  const config = writeConfig('worker', `redis: { url: "${redis.url}", stream: "test:docs" }\n`);
  const worker = spawn(process.execPath, [BIN, 'monitor', 'run', '--config', config, '--port', '0', '--no-detect', '--consumer', 'w1'], {
    env: { ...process.env, TUNA_THREADS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const [, url] = await waitForLine(worker, /dashboard and POST \/v1\/ingest on (http:\/\/\S+)/);
    await waitForLine(worker, /Ctrl-C stops/);
    const ingest = await run(['monitor', 'ingest', '--config', config, '--input', stream.file, '--json']);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.deepEqual(JSON.parse(ingest.stdout), { queued: stream.count, stream: 'test:docs', redis: redis.url });
    const posted = await fetch(`${url}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        documents: [
          { id: 'doc-0', text: 'acme : again', timestamp: T0 },
          { id: 'extra-1', text: 'globex : a new one', timestamp: T0 + HOUR },
        ],
      }),
    });
    assert.equal(posted.status, 200);
    const body = (await posted.json()) as { accepted: number; inserted: number; duplicates: number };
    assert.equal(body.accepted, 2);
    const store = new SqliteMonitorStore(join(dir, 'worker.db'), { windowsMs: [HOUR] });
    try {
      const until = Date.now() + 30_000;
      while ((await store.documentCount()) < stream.count + 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      assert.equal(await store.documentCount(), stream.count + 1, 'every queued document once, plus the one new posted document');
      const all = await store.series({ dimension: 'all', value: '*', windowMs: HOUR });
      assert.equal(
        all.reduce((s, w) => s + w.count, 0),
        stream.count + 1,
      );
    } finally {
      await store.close();
    }
  } finally {
    const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('the classifier keeps the label probabilities and a sentiment from the label names; keyword entities', async () => {
  const c = await DocumentClassifier.load({ model: sentiment, threads: 1 });
  try {
    assert.deepEqual(c.labels, ['negative', 'positive']);
    assert.deepEqual(c.polarity, { negative: -1, positive: 1 });
    const [d] = await c.classify([{ id: 'x', text: 'a fine film', timestamp: 0 }]);
    assert.ok(Math.abs(d!.scores.negative! + d!.scores.positive! - 1) < 1e-6);
    assert.equal(d!.label, d!.scores.negative! > d!.scores.positive! ? 'negative' : 'positive');
    assert.deepEqual(d!.entities, []);
  } finally {
    await c.dispose();
  }
  const k = await DocumentClassifier.load({ model: sentiment, threads: 1, entities: { keywords: { Acme: ['Acme', 'Acme Corp.'], 'Globex Inc': ['globex'] } } });
  try {
    const docs = await k.classify([
      { id: '1', text: 'Shares of ACME CORP. fell; Globex rose.', timestamp: 0 },
      { id: '2', text: 'Acmeville and subglobex are other words', timestamp: 0 },
    ]);
    assert.deepEqual(docs[0]!.entities, [
      { name: 'acme', text: 'ACME CORP.', type: 'KEYWORD', score: 1 },
      { name: 'globex inc', text: 'Globex', type: 'KEYWORD', score: 1 },
    ]);
    assert.deepEqual(docs[1]!.entities, []);
  } finally {
    await k.dispose();
  }
});
