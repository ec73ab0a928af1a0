/**
 * Latencies of micro-batching that the serve tests check only for correctness: how soon a full
 * batch runs when the wait is long (10 s), how soon drain runs what is queued (wait 60 s), how
 * soon a full queue refuses a request, all on MicroBatcher alone with a runner that answers at
 * once; then how soon `tuna serve` answers 503 `overloaded` over HTTP while its queue waits for a
 * batch (bundled English model, max queue 2, wait 2 s). Each figure is the median and the worst of
 * --repeat runs, in milliseconds; the targets are far below the waits.
 *
 *   node --import tsx bench/batcher.ts [--repeat 50] [--json FILE]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bundledModelDir } from '../src/models/bundled.js';
import { MicroBatcher, QueueFullError } from '../src/serve/batcher.js';
import { startServer } from '../src/serve/server.js';
import { median } from './peak.js';

const { values: args } = parseArgs({ options: { repeat: { type: 'string', default: '50' }, json: { type: 'string' } } });
const repeat = Math.max(1, Number(args.repeat));
const report: Record<string, { medianMs: number; maxMs: number; waitMs: number }> = {};

async function time(name: string, waitMs: number, once: () => Promise<number>): Promise<void> {
  const ms: number[] = [];
  for (let r = 0; r < repeat; r++) ms.push(await once());
  const figure = { medianMs: median(ms), maxMs: Math.max(...ms), waitMs };
  report[name] = figure;
  console.log(`${name.padEnd(44)} median ${figure.medianMs.toFixed(2).padStart(7)} ms, worst ${figure.maxMs.toFixed(2).padStart(7)} ms (wait ${waitMs} ms)`);
}

const answer = async (inputs: readonly unknown[]) => inputs.map((x) => x);

await time('full batch of 8 answered', 10_000, async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 10_000 });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, (_, i) => b.submit('m', 't', 'k', answer, [i])));
  return performance.now() - t0;
});

await time('drain of one queued request', 60_000, async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 60_000 });
  const queued = b.submit('m', 't', 'k', answer, [1]);
  const t0 = performance.now();
  await b.drain();
  await queued;
  return performance.now() - t0;
});

await time('full queue refuses a request', 60_000, async () => {
  const b = new MicroBatcher({ maxBatchSize: 8, maxWaitMs: 60_000, maxQueuedInputs: 2 });
  const queued = [b.submit('m', 't', 'k', answer, [1]), b.submit('m', 't', 'k', answer, [2])];
  const t0 = performance.now();
  await b.submit('m', 't', 'k', answer, [3]).then(
    () => {
      throw new Error('a request beyond the queue limit was accepted');
    },
    (e: unknown) => {
      if (!(e instanceof QueueFullError)) throw e;
    },
  );
  const ms = performance.now() - t0;
  await b.drain();
  await Promise.all(queued);
  return ms;
});

const server = await startServer({ models: [bundledModelDir('en')], port: 0, maxBatchSize: 32, maxWaitMs: 2000, maxQueue: 2, threads: 1 });
try {
  const post = (text: string) => fetch(`${server.address}/v1/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: text }) });
  const depth = async () => (await server.metrics.queueDepth.get()).values.reduce((n, v) => n + v.value, 0);
  // Fewer rounds: each waits for the queued batch to run.
  const rounds = Math.min(repeat, 5);
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const queued = [post('first queued text'), post('second queued text')];
    while ((await depth()) < 2) await new Promise((res) => setTimeout(res, 5));
    const t0 = performance.now();
    const refused = await post('one too many');
    ms.push(performance.now() - t0);
    if (refused.status !== 503) throw new Error(`expected 503 overloaded, got ${refused.status}`);
    await refused.body?.cancel();
    for (const q of await Promise.all(queued)) await q.body?.cancel();
  }
  const figure = { medianMs: median(ms), maxMs: Math.max(...ms), waitMs: 2000 };
  report['tuna serve: 503 overloaded over HTTP'] = figure;
  console.log(
    `${'tuna serve: 503 overloaded over HTTP'.padEnd(44)} median ${figure.medianMs.toFixed(2).padStart(7)} ms, worst ${figure.maxMs.toFixed(2).padStart(7)} ms (wait 2000 ms, ${rounds} rounds)`,
  );
} finally {
  await server.close();
}

if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
