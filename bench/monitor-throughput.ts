/**
 * How many documents a second the opinion monitor classifies and stores with a given sentiment
 * model (SQLite unless said otherwise; no entity model, no watches):
 *
 * (a) in process: `Monitor.ingest` in chunks of 256, ONNX Runtime threads 1 and 2, batch sizes 32
 *     and 64;
 * (b) through Redis: `tuna monitor ingest --redis` fills a stream with `--docs` documents, then
 *     `tuna monitor run --redis URL --no-detect` workers (child processes) empty it into one SQLite
 *     file: one worker with 2 threads, then two workers with 1 thread each, timed until the store
 *     holds every document (from the workers' start, and from the first and the last worker being
 *     ready, so model loading is left out; the rate is counted from the first);
 * (c) two workers (1 thread each) into PostgreSQL (a fresh local cluster; skipped with
 *     `--no-postgres` or when PostgreSQL is not installed).
 *
 *   npm run bench:monitor-throughput -- --model DIR [--docs 4000 --inprocess-docs 2000 --no-postgres]
 *
 * DIR is a text classifier, e.g. the negative/positive one `tuna train ... --train sst2` makes.
 * Texts are SST-2 sentences; redis-server (and PostgreSQL for (c)) must be installed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type IncomingDocument, Monitor, type MonitorStore, loadLabelledTexts, openMonitorStore, parseMonitorConfig } from '../src/monitor/index.js';
import { type TestServer, startPostgres, startRedis } from '../test/helpers/servers.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    docs: { type: 'string', default: '4000' },
    'inprocess-docs': { type: 'string', default: '2000' },
    data: { type: 'string', default: '/work/shared/datasets/sst2/train_full.tsv' },
    'no-postgres': { type: 'boolean', default: false },
    'no-redis': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '900' },
    out: { type: 'string', default: 'bench/results/monitor-throughput.json' },
  },
});
if (!args.model) {
  console.error('monitor-throughput: --model DIR is required: a text classifier (train one with `tuna train ... --train sst2`)');
  process.exit(2);
}
const MODEL = args.model;
const N = Number(args.docs);
const N_IN = Number(args['inprocess-docs']);
const TIMEOUT_MS = Number(args.timeout) * 1000;
const BIN = new URL('../bin/tuna.js', import.meta.url).pathname;
const T0 = Date.UTC(2024, 0, 1);
const SOURCES = ['news', 'forum', 'social'];

const work = mkdtempSync(join(tmpdir(), 'tuna-monitor-throughput-'));

async function documents(n: number, prefix: string): Promise<IncomingDocument[]> {
  const texts = (await loadLabelledTexts(args.data!, { labelNames: ['negative', 'positive'] })).filter((t) => t.text.split(/\s+/).length >= 4);
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    text: texts[(i * 7919) % texts.length]!.text,
    timestamp: T0 + Math.floor((i / n) * 100 * 3_600_000),
    source: SOURCES[i % SOURCES.length]!,
  }));
}

function configObject(name: string, database: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, model: MODEL, windows: ['1h'], watches: [], database, ...extra };
}

interface InProcess {
  threads: number;
  batchSize: number;
  documents: number;
  seconds: number;
  documentsPerSecond: number;
}

async function inProcess(threads: number, batchSize: number, docs: IncomingDocument[]): Promise<InProcess> {
  const config = parseMonitorConfig(
    configObject(`in-${threads}-${batchSize}`, join(work, `in-${threads}-${batchSize}.db`), { batch_size: batchSize, threads }),
    join(work, 'm.json'),
  );
  const monitor = await Monitor.open(config);
  try {
    await monitor.ingest(docs.slice(0, batchSize).map((d) => ({ ...d, id: `warm-${d.id}` })));
    const started = performance.now();
    for (let i = 0; i < docs.length; i += 256) await monitor.ingest(docs.slice(i, i + 256));
    const seconds = (performance.now() - started) / 1000;
    const stored = (await monitor.store.documentCount()) - batchSize;
    if (stored !== docs.length) throw new Error(`in-process: ${stored} documents stored, ${docs.length} expected`);
    return { threads, batchSize, documents: docs.length, seconds, documentsPerSecond: docs.length / seconds };
  } finally {
    await monitor.close();
  }
}

function tuna(argv: string[]): Promise<{ stdout: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...argv], { maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      err ? reject(new Error(`tuna ${argv.join(' ')}: ${stderr || err.message}`)) : resolve({ stdout, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

function ready(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (d) => {
      seen += d;
      if (/Ctrl-C stops/.test(seen)) resolve(performance.now());
    });
    child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready:\n${seen}`)));
  });
}

interface QueueRun {
  name: string;
  database: 'sqlite' | 'postgres';
  workers: number;
  threadsPerWorker: number;
  batchSize: number;
  documents: number;
  enqueueSeconds: number;
  /** From spawning the workers until the store holds every document. */
  secondsFromStart: number;
  /** From the first worker being ready (models loaded, consuming) until the store holds every document. */
  secondsFromReady: number;
  /** From the last worker being ready until the store holds every document. */
  secondsFromLastReady: number;
  documentsPerSecond: number;
}

async function queueRun(
  name: string,
  redis: TestServer,
  input: string,
  workers: number,
  threads: number,
  database: string,
  openStore: () => Promise<MonitorStore>,
): Promise<QueueRun> {
  const batchSize = 32;
  const file = join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(configObject(name, database, { batch_size: batchSize, redis: { url: redis.url, stream: `bench:${name}`, group: 'bench' } })));
  const enqueue = await tuna(['monitor', 'ingest', '--config', file, '--input', input, '--redis', redis.url, '--json']);
  const queued = JSON.parse(enqueue.stdout) as { queued: number };
  if (queued.queued !== N) throw new Error(`${name}: ${queued.queued} documents queued, ${N} expected`);
  const started = performance.now();
  const children = Array.from({ length: workers }, (_, k) =>
    spawn(process.execPath, [BIN, 'monitor', 'run', '--config', file, '--redis', redis.url, '--no-detect', '--threads', String(threads), '--consumer', `w${k + 1}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const readyAt = Promise.all(children.map(ready));
  let store: MonitorStore | undefined;
  try {
    const readyTimes = await readyAt;
    const firstReady = Math.min(...readyTimes);
    const lastReady = Math.max(...readyTimes);
    store = await openStore();
    const until = started + TIMEOUT_MS;
    let count = 0;
    while ((count = await store.documentCount()) < N) {
      if (performance.now() > until) throw new Error(`${name}: ${count} of ${N} documents stored after ${TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const done = performance.now();
    const secondsFromReady = (done - firstReady) / 1000;
    return {
      name,
      database: database.startsWith('postgres') ? 'postgres' : 'sqlite',
      workers,
      threadsPerWorker: threads,
      batchSize,
      documents: N,
      enqueueSeconds: enqueue.seconds,
      secondsFromStart: (done - started) / 1000,
      secondsFromReady,
      secondsFromLastReady: (done - lastReady) / 1000,
      documentsPerSecond: N / secondsFromReady,
    };
  } finally {
    await store?.close();
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

async function main(): Promise<void> {
  console.log(`monitor-throughput: model ${MODEL}, ${cpus().length} cores`);
  const inDocs = await documents(N_IN, 'in');
  const inRuns: InProcess[] = [];
  for (const threads of [1, 2]) {
    for (const batchSize of [32, 64]) {
      const r = await inProcess(threads, batchSize, inDocs);
      inRuns.push(r);
      console.log(`  in process, threads ${threads}, batch ${batchSize}: ${r.documents} documents in ${r.seconds.toFixed(1)} s, ${r.documentsPerSecond.toFixed(0)} documents/s`);
    }
  }

  const queueRuns: QueueRun[] = [];
  const skipped: string[] = [];
  if (!args['no-redis']) {
    const redis = await startRedis();
    try {
      const docs = await documents(N, 'q');
      const input = join(work, 'documents.jsonl');
      writeFileSync(input, `${docs.map((d) => JSON.stringify({ ...d, timestamp: new Date(d.timestamp).toISOString() })).join('\n')}\n`);
      const sqlite = (name: string) => {
        const db = join(work, `${name}.db`);
        return [db, () => openMonitorStore(db, { windowsMs: [3_600_000] })] as const;
      };
      const runs: [string, number, number][] = [
        ['sqlite-1x2', 1, 2],
        ['sqlite-2x1', 2, 1],
      ];
      for (const [name, workers, threads] of runs) {
        const [db, open] = sqlite(name);
        const r = await queueRun(name, redis, input, workers, threads, db, open);
        queueRuns.push(r);
        console.log(report(r));
      }
      if (!args['no-postgres']) {
        let pg: TestServer | undefined;
        try {
          pg = await startPostgres();
        } catch (e) {
          skipped.push(`postgres: ${(e as Error).message}`);
          console.log(`  PostgreSQL skipped: ${(e as Error).message}`);
        }
        if (pg) {
          try {
            const url = pg.url;
            const r = await queueRun('postgres-2x1', redis, input, 2, 1, url, () => openMonitorStore(url, { windowsMs: [3_600_000] }));
            queueRuns.push(r);
            console.log(report(r));
          } finally {
            await pg.stop();
          }
        }
      }
    } finally {
      await redis.stop();
    }
  }

  const result = {
    bench: 'monitor-throughput',
    date: new Date().toISOString(),
    model: MODEL,
    cores: cpus().length,
    inProcess: inRuns,
    queue: queueRuns,
    skipped,
  };
  await mkdir(dirname(args.out!), { recursive: true });
  await writeFile(args.out!, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${args.out}`);
}

function report(r: QueueRun): string {
  return (
    `  Redis → ${r.workers} worker${r.workers > 1 ? 's' : ''} × ${r.threadsPerWorker} thread${r.threadsPerWorker > 1 ? 's' : ''} → ${r.database}: ` +
    `${r.documents} documents queued in ${r.enqueueSeconds.toFixed(1)} s; stored ${r.secondsFromReady.toFixed(1)} s after the first worker was ready ` +
    `(${r.secondsFromLastReady.toFixed(1)} s after the last, ${r.secondsFromStart.toFixed(1)} s after their start): ${r.documentsPerSecond.toFixed(0)} documents/s`
  );
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
}
