/**
 * Load benchmark of `tuna serve`: throughput and p50/p99 latency of POST /v1/classify with short
 * texts at rising concurrency, with micro-batching and without (--max-batch-size 1), the server
 * in its own process and autocannon generating load from this one. A soak mode runs one load for
 * a long time and samples the server's resident memory to show it stays flat.
 *
 *   npm run bench:serve [-- --duration 10 --concurrency 1,4,16,64 --threads N --model DIR]
 *   npm run bench:serve -- --soak 300 [--soak-concurrency 64]
 *
 * Without --model the classifier is the bundled English encoder with a fresh 3-label head (the
 * same compute as a fine-tuned one). --threads defaults to the number of cores, as tuna serve does.
 * --json FILE writes the figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { bundledModelDir } from '../src/models/bundled.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,4,16,64' },
    threads: { type: 'string', default: String(availableParallelism()) },
    'max-batch-size': { type: 'string', default: '32' },
    'max-wait-ms': { type: 'string', default: '0' },
    soak: { type: 'string' },
    'soak-concurrency': { type: 'string', default: '64' },
    'sample-every': { type: 'string', default: '5' },
    json: { type: 'string' },
  },
});

const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));

/** Short texts of 4 to 12 words, as chat messages or search queries are. */
const TEXTS = [
  'where is my parcel',
  'I was charged twice this month',
  'cancel my subscription please',
  'the app crashes when I open the camera',
  'how do I change my delivery address',
  'great service, thanks a lot',
  'my card was declined at the shop today',
  'can I get a refund for the broken item',
  'the package arrived damaged and late',
  'what are your opening hours on Sunday',
  'I forgot my password and cannot log in',
  'please send the invoice to my work email',
  'the driver left the box at the wrong door',
  'is there a discount for students',
  'the screen went black after the update',
  'thank you, the problem is solved now',
];

async function defaultModel(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-bench-serve-'));
  const en = bundledModelDir('en');
  const model = await AutoModelForSequenceClassification.fromPretrained(en, { id2label: { 0: 'billing', 1: 'shipping', 2: 'other' }, seed: 1 });
  await model.savePretrained(dir);
  await model.dispose();
  await (await BertTokenizer.fromDirectory(en)).save(dir);
  return dir;
}

interface Server {
  readonly child: ChildProcess;
  readonly base: string;
}

/** Starts `tuna serve` in a child process and resolves once it listens. */
function startServer(model: string, maxBatchSize: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--model', `bench=${model}`, '--port', '0', '--threads', args.threads!, '--max-batch-size', String(maxBatchSize), '--max-wait-ms', args['max-wait-ms']!],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve({ child, base: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`tuna serve exited with ${code}: ${stderr}`)));
  });
}

async function stopServer(s: Server): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', (code) => resolve(code)));
  s.child.kill('SIGTERM');
  return exited;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** One autocannon run of POST /v1/classify, each request carrying the next short text. */
async function load(base: string, connections: number, seconds: number) {
  let i = 0;
  return autocannon({
    url: base,
    connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: '/v1/classify',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ inputs: TEXTS[i++ % TEXTS.length] }) }),
      },
    ],
  });
}

interface Point {
  readonly concurrency: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly meanBatch: number;
}

async function sweep(model: string, maxBatchSize: number, levels: readonly number[], seconds: number): Promise<Point[]> {
  const server = await startServer(model, maxBatchSize);
  const points: Point[] = [];
  try {
    await load(server.base, 8, Number(args.warmup));
    for (const c of levels) {
      const [count0, sum0] = [await metric(server.base, 'tuna_batch_size_count'), await metric(server.base, 'tuna_batch_size_sum')];
      const r = await load(server.base, c, seconds);
      const [count1, sum1] = [await metric(server.base, 'tuna_batch_size_count'), await metric(server.base, 'tuna_batch_size_sum')];
      const p: Point = {
        concurrency: c,
        rps: r['2xx'] / r.duration,
        p50: r.latency.p50,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
        meanBatch: (sum1 - sum0) / Math.max(1, count1 - count0),
      };
      points.push(p);
      console.log(
        `  ${maxBatchSize === 1 ? 'no batching' : `batch <= ${maxBatchSize}`}  c=${String(c).padStart(3)}  ${p.rps.toFixed(0).padStart(6)} req/s  ` +
          `p50 ${p.p50.toFixed(1).padStart(6)} ms  p99 ${p.p99.toFixed(1).padStart(6)} ms  mean batch ${p.meanBatch.toFixed(1).padStart(5)}  errors ${p.errors}`,
      );
    }
  } finally {
    const code = await stopServer(server);
    if (code !== 0) console.log(`  server exited with code ${code}`);
  }
  return points;
}

/** The knee: the lowest concurrency reaching 90% of the best throughput. */
function knee(points: readonly Point[]): Point {
  const best = Math.max(...points.map((p) => p.rps));
  return points.find((p) => p.rps >= 0.9 * best)!;
}

async function soak(model: string, seconds: number, connections: number): Promise<Record<string, unknown>> {
  const server = await startServer(model, Number(args['max-batch-size']));
  try {
    await load(server.base, connections, Number(args.warmup));
    const samples: { t: number; rssMiB: number }[] = [];
    const every = Number(args['sample-every']) * 1000;
    const t0 = Date.now();
    const sample = async () => samples.push({ t: (Date.now() - t0) / 1000, rssMiB: (await metric(server.base, 'process_resident_memory_bytes')) / 2 ** 20 });
    await sample();
    const timer = setInterval(() => void sample(), every);
    const r = await load(server.base, connections, seconds);
    clearInterval(timer);
    await sample();
    const rss = samples.map((s) => s.rssMiB);
    const half = samples.slice(Math.floor(samples.length / 2));
    const slope =
      linearSlope(
        half.map((s) => s.t),
        half.map((s) => s.rssMiB),
      ) * 60;
    const result = {
      seconds,
      connections,
      requests: r['2xx'],
      rps: r['2xx'] / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.timeouts + r.non2xx,
      rssStartMiB: rss[0],
      rssEndMiB: rss.at(-1),
      rssMinMiB: Math.min(...rss),
      rssMaxMiB: Math.max(...rss),
      secondHalfSlopeMiBPerMin: slope,
      samples,
    };
    console.log(
      `soak: ${seconds} s at ${connections} connections: ${result.requests} requests, ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, errors ${result.errors}\n` +
        `  server RSS: start ${rss[0]!.toFixed(1)} MiB, end ${rss.at(-1)!.toFixed(1)} MiB, min ${result.rssMinMiB.toFixed(1)}, max ${result.rssMaxMiB.toFixed(1)}; ` +
        `second-half trend ${slope >= 0 ? '+' : ''}${slope.toFixed(2)} MiB/min (${samples.length} samples)`,
    );
    return result;
  } finally {
    await stopServer(server);
  }
}

function linearSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const model = args.model ?? (await defaultModel());
console.log(
  `tuna serve benchmark: POST /v1/classify, short texts (4-12 words), model ${args.model ?? 'tuna-small-en + 3-label head (4 layers x 256)'}, ` +
    `${args.threads} ONNX Runtime thread(s), max wait ${args['max-wait-ms']} ms, server and load generator in separate processes`,
);

const report: Record<string, unknown> = {};
if (args.soak) {
  report.soak = await soak(model, Number(args.soak), Number(args['soak-concurrency']));
} else {
  const levels = args.concurrency!.split(',').map(Number);
  const seconds = Number(args.duration);
  const batched = await sweep(model, Number(args['max-batch-size']), levels, seconds);
  const single = await sweep(model, 1, levels, seconds);
  const kb = knee(batched);
  const ku = knee(single);
  const bestB = Math.max(...batched.map((p) => p.rps));
  const bestU = Math.max(...single.map((p) => p.rps));
  console.log(
    `\nbest throughput: ${bestB.toFixed(0)} req/s batched vs ${bestU.toFixed(0)} unbatched (${(bestB / bestU).toFixed(2)}x)\n` +
      `knee (lowest concurrency within 90% of the best): batched c=${kb.concurrency} ${kb.rps.toFixed(0)} req/s p99 ${kb.p99.toFixed(1)} ms; ` +
      `unbatched c=${ku.concurrency} ${ku.rps.toFixed(0)} req/s p99 ${ku.p99.toFixed(1)} ms`,
  );
  for (const b of batched) {
    const u = single.find((p) => p.concurrency === b.concurrency)!;
    console.log(`  c=${String(b.concurrency).padStart(3)}: throughput x${(b.rps / u.rps).toFixed(2)}, p99 ${b.p99.toFixed(1)} vs ${u.p99.toFixed(1)} ms`);
  }
  Object.assign(report, { batched, unbatched: single, kneeBatched: kb, kneeUnbatched: ku, speedup: bestB / bestU });
}
if (args.json)
  await writeFile(
    args.json,
    JSON.stringify({ threads: Number(args.threads), maxBatchSize: Number(args['max-batch-size']), maxWaitMs: Number(args['max-wait-ms']), ...report }, null, 2) + '\n',
  );
