/**
 * Latency per message of `tuna assistant serve`: the fixture bot (test/fixtures/assistant/bot.yaml:
 * 4 intents, 32 examples, 3 FAQ entries) trained on the bundled English model, served by
 * `tuna assistant serve` in its own process (SQLite file, hybrid FAQ), and `POST /v1/chat` timed
 * from this process at 1 and at 32 concurrent sessions; each session sends its messages one after
 * the other (the intents' examples, the FAQ questions and a message that is neither, in turn).
 *
 *   npx tsx bench/assistant-latency.ts [--messages 640] [--threads 1]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, trainAssistant } from '../src/apps/assistant/index.js';

const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '640' }, threads: { type: 'string', default: '1' } },
});
const total = Number(args.messages);
const threads = Number(args.threads);
const FIXTURE = new URL('../test/fixtures/assistant/bot.yaml', import.meta.url).pathname;
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

const dir = mkdtempSync(join(tmpdir(), 'tuna-assistant-latency-'));
const c = await loadConfig(FIXTURE);
const config = { ...c, database: join(dir, 'conversations.db'), training: { ...c.training, threads } };
const t0 = performance.now();
const trained = await trainAssistant(config, join(dir, 'model'));
const trainSeconds = (performance.now() - t0) / 1000;
const texts = [...config.intents.flatMap((i) => i.examples), ...config.faq.entries.map((e) => e.question), 'can you tell me a joke about penguins'];

const bin = new URL('../bin/tuna.js', import.meta.url).pathname;
const server: ChildProcess = spawn(process.execPath, [bin, 'assistant', 'serve', '--model', join(dir, 'model'), '--port', '0', '--no-watch', '--threads', String(threads)], {
  stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise<string>((resolve, reject) => {
  let err = '';
  server.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    const m = /listening on (http:\/\/\S+);/.exec(err);
    if (m) resolve(m[1]!);
  });
  server.once('exit', (code) => reject(new Error(`tuna assistant serve exited (${code}): ${err}`)));
});

async function send(session: string, text: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_id: session, text }) });
  if (res.status !== 200) throw new Error(`POST /v1/chat: ${res.status} ${await res.text()}`);
  await res.json();
  return performance.now() - started;
}

const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

async function run(sessions: number, label: string) {
  const perSession = Math.ceil(total / sessions);
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      for (let i = 0; i < perSession; i++) latencies.push(await send(`${label}-${s}`, texts[(s * 7 + i) % texts.length]!));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { sessions, messages: latencies.length, p50_ms: percentile(latencies, 0.5), p99_ms: percentile(latencies, 0.99), messages_per_s: latencies.length / seconds };
}

try {
  await run(4, 'warmup');
  const loadBefore = loadAverage();
  const one = await run(1, 'one');
  const many = await run(32, 'many');
  const results = [one, many];
  for (const r of results) {
    console.log(
      `${String(r.sessions).padStart(2)} session(s): p50 ${r.p50_ms.toFixed(1)} ms, p99 ${r.p99_ms.toFixed(1)} ms, ${r.messages_per_s.toFixed(0)} messages/s (${r.messages} messages)`,
    );
  }
  const out = {
    benchmark: 'assistant latency per message, POST /v1/chat of tuna assistant serve',
    bot: 'test/fixtures/assistant/bot.yaml (4 intents, 32 examples, 3 FAQ entries, hybrid retriever) on the bundled tuna-small-en, SQLite store',
    model: trained.manifest.base_model,
    threads,
    train_seconds: trainSeconds,
    results,
    load_average_before: loadBefore,
    load_average_after: loadAverage(),
    cores: (await import('node:os')).cpus().length,
    created: new Date().toISOString(),
  };
  writeFileSync(new URL('./results/assistant-latency.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`load average ${out.load_average_before.join(' ')} -> ${out.load_average_after.join(' ')}; bench/results/assistant-latency.json`);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
