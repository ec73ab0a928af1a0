/** `tuna monitor run|ingest|replay|dashboard`: the opinion monitor. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import {
  type AlertRecord,
  type MonitorConfig,
  Monitor,
  RedisDocumentQueue,
  RedisWorker,
  createMonitorServer,
  formatAlert,
  loadMonitorConfig,
  openMonitorStore,
  readDocumentBatches,
} from '../../monitor/index.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer } from './options.js';

/** Options every monitor command takes. */
interface ConfigOptions {
  readonly config: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** Options of `tuna monitor replay`. */
export interface MonitorReplayOptions extends ConfigOptions {
  readonly input: string;
}

/** Options of `tuna monitor ingest`. */
export interface MonitorIngestOptions extends ConfigOptions {
  readonly input: string;
  readonly redis?: string;
}

/** Options of `tuna monitor run`. */
export interface MonitorRunOptions extends ConfigOptions {
  readonly redis?: string;
  readonly consumer?: string;
  readonly port?: string;
  readonly host: string;
  /** False with `--no-detect` (a worker that only ingests). */
  readonly detect: boolean;
  readonly claimIdle?: string;
}

/** Options of `tuna monitor dashboard`. */
export interface MonitorDashboardOptions {
  readonly config: string;
  readonly port: string;
  readonly host: string;
}

const threadsOf = (t: string | undefined) => (t === undefined ? {} : { threads: integer('--threads', t, 1) });

function alertLine(a: AlertRecord): string {
  return `alert #${a.id} [${a.delivery}] ${formatAlert(a)}\n`;
}

/** `tuna monitor replay --config C --input FILE`: history at full speed with its own timestamps. */
export async function monitorReplayCommand(o: MonitorReplayOptions, out: Output): Promise<void> {
  const config = await asError(() => loadMonitorConfig(o.config));
  const monitor = await asError(() => Monitor.open(config, threadsOf(o.threads)));
  try {
    let lastReport = 0;
    const r = await asError(() =>
      monitor.replay(o.input, (p) => {
        if (p.seconds - lastReport < 5) return;
        lastReport = p.seconds;
        out.stderr(`tuna monitor: ${p.accepted} documents (${(p.accepted / p.seconds).toFixed(0)}/s), up to ${new Date(p.watermark).toISOString()}, ${p.alerts} alerts\n`);
      }),
    );
    if (o.json) {
      out.stdout(`${toJson({ ...r, alerts: r.alerts })}\n`);
      return;
    }
    for (const a of r.alerts) out.stdout(alertLine(a));
    out.stdout(
      `${o.input}: ${r.accepted} documents (${r.inserted} stored, ${r.duplicates} already stored) in ${r.seconds.toFixed(1)} s ` +
        `(${r.documentsPerSecond.toFixed(0)}/s); ${r.windows} windows scored, ${r.alerts.length} alerts; database ${config.database}\n`,
    );
  } finally {
    await monitor.close();
  }
}

/** `tuna monitor ingest --config C --input FILE [--redis URL]`: onto the queue, or classified and stored here. */
export async function monitorIngestCommand(o: MonitorIngestOptions, out: Output): Promise<void> {
  const config = await asError(() => loadMonitorConfig(o.config));
  const redis = o.redis ?? config.redis?.url;
  if (redis) {
    const queue = await asError(() => RedisDocumentQueue.connect(redis, { stream: config.redis?.stream, group: config.redis?.group }));
    try {
      let n = 0;
      for await (const batch of readDocumentBatchesChecked(o.input, config)) {
        await asError(() => queue.publish(batch));
        n += batch.length;
      }
      if (o.json) out.stdout(`${toJson({ queued: n, stream: queue.stream, redis: queue.url })}\n`);
      else out.stdout(`${o.input}: ${n} documents queued on ${queue.url} stream ${queue.stream}\n`);
    } finally {
      await queue.close();
    }
    return;
  }
  const monitor = await asError(() => Monitor.open(config, threadsOf(o.threads)));
  try {
    let accepted = 0;
    let inserted = 0;
    let duplicates = 0;
    for await (const batch of readDocumentBatchesChecked(o.input, config)) {
      const r = await asError(() => monitor.ingest(batch));
      accepted += r.accepted;
      inserted += r.inserted;
      duplicates += r.duplicates;
    }
    if (o.json) out.stdout(`${toJson({ accepted, inserted, duplicates, database: config.database })}\n`);
    else out.stdout(`${o.input}: ${accepted} documents (${inserted} stored, ${duplicates} already stored) in ${config.database}\n`);
  } finally {
    await monitor.close();
  }
}

async function* readDocumentBatchesChecked(file: string, config: MonitorConfig) {
  const it = readDocumentBatches(file, config.input, 256)[Symbol.asyncIterator]();
  while (true) {
    const next = await asError(() => it.next());
    if (next.done) return;
    yield next.value;
  }
}

function untilSignal(out: Output, what: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      out.stderr(`tuna monitor ${what}: ${signal}: stopping\n`);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * `tuna monitor run --config C [--redis URL] [--port N] [--no-detect]`: a worker that consumes the
 * queue and `POST /v1/ingest`, and (unless `--no-detect`) scores closed windows and sends alerts.
 */
export async function monitorRunCommand(o: MonitorRunOptions, out: Output): Promise<void> {
  const config = await asError(() => loadMonitorConfig(o.config));
  const redisUrl = o.redis ?? config.redis?.url;
  if (!redisUrl && o.port === undefined)
    throw new CliError('usage', 'tuna monitor run needs a queue (--redis URL, or redis.url in the configuration) or --port for POST /v1/ingest, or both');
  const monitor = await asError(() => Monitor.open(config, threadsOf(o.threads)));
  const stops: (() => Promise<void>)[] = [];
  const controller = new AbortController();
  try {
    monitor.on('alert', (a: AlertRecord) => out.stderr(alertLine(a)));
    let server: ReturnType<typeof createMonitorServer> | undefined;
    if (o.port !== undefined) {
      server = createMonitorServer({
        store: monitor.store,
        windowsMs: config.windowsMs,
        ingest: (docs) => monitor.ingest(docs),
        title: config.name,
        labels: monitor.classifier.labels,
      });
      const address = await asError(() => server!.app.listen({ port: integer('--port', o.port!, 0), host: o.host }));
      out.stderr(`tuna monitor run: ${config.name}: dashboard and POST /v1/ingest on ${address}\n`);
      stops.push(() => server!.close());
    }
    let worker: RedisWorker | undefined;
    let queue: RedisDocumentQueue | undefined;
    if (redisUrl) {
      queue = await asError(() => RedisDocumentQueue.connect(redisUrl, { stream: config.redis?.stream, group: config.redis?.group }));
      worker = new RedisWorker(
        queue,
        {
          consumer: o.consumer ?? `${hostname()}-${process.pid}`,
          batchSize: config.batchSize,
          ...(o.claimIdle !== undefined ? { claimIdleMs: integer('--claim-idle', o.claimIdle, 0) } : {}),
          onError: (e) => out.stderr(`tuna monitor run: a batch failed and stays pending: ${(e as Error).message}\n`),
        },
        async (docs) => {
          await monitor.ingest(docs);
        },
      );
      out.stderr(`tuna monitor run: consuming ${queue.url} stream ${queue.stream} as ${worker.consumer} in group ${queue.group}\n`);
    }
    let timer: NodeJS.Timeout | undefined;
    if (o.detect) {
      const tick = () =>
        monitor.detect().then(
          () => undefined,
          (e) => out.stderr(`tuna monitor run: detection failed: ${(e as Error).message}\n`),
        );
      await tick();
      timer = setInterval(tick, config.detectEveryMs);
      stops.push(async () => clearInterval(timer));
    }
    const running = worker ? worker.run(controller.signal) : Promise.resolve();
    out.stderr(`tuna monitor run: ${config.database}${o.detect ? `; scoring closed windows every ${config.detectEveryMs / 1000} s` : ''}; Ctrl-C stops\n`);
    await Promise.race([untilSignal(out, 'run'), running]);
    controller.abort();
    await running.catch((e) => out.stderr(`tuna monitor run: the queue worker stopped: ${(e as Error).message}\n`));
    if (queue) stops.push(() => queue!.close());
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    await monitor.close();
  }
}

/** `tuna monitor dashboard --config C [--port N]`: the dashboard over the configured store, without models. */
export async function monitorDashboardCommand(o: MonitorDashboardOptions, out: Output): Promise<void> {
  const config = await asError(() => loadMonitorConfig(o.config));
  const store = await asError(() => openMonitorStore(config.database, { windowsMs: config.windowsMs }));
  try {
    const server = createMonitorServer({ store, windowsMs: config.windowsMs, title: config.name });
    const address = await asError(() => server.app.listen({ port: integer('--port', o.port, 0), host: o.host }));
    out.stderr(`tuna monitor dashboard: ${config.name} (${config.database}) on ${address}; Ctrl-C stops\n`);
    await untilSignal(out, 'dashboard');
    await server.close();
  } finally {
    await store.close();
  }
}

/** Adds `tuna monitor` and its subcommands to `program`. */
export function addMonitorCommands(program: Command, out: Output, state: { json: boolean }): void {
  const m = program.command('monitor').description('an opinion monitor: streams of texts classified, stored, aggregated per window, watched for shifts, alerted and charted');
  const config = '--config <file>';
  const configHelp = 'the monitor configuration (YAML or JSON)';
  m.command('replay')
    .description("process a file's history at full speed with its own timestamps: classify, store, score the windows, raise alerts")
    .requiredOption(config, configHelp)
    .requiredOption('--input <file>', 'documents: CSV/TSV with a header row, or JSON Lines (columns from the configuration: id, text, timestamp, source)')
    .option('--threads <n>', 'ONNX Runtime threads (default: the configuration, else all cores)')
    .option('--json', 'print one JSON document with the counts and the alerts')
    .action(async (opts: MonitorReplayOptions) => {
      state.json = !!opts.json;
      await monitorReplayCommand(opts, out);
    });
  m.command('ingest')
    .description('queue documents on the Redis stream (with --redis or redis.url in the configuration), else classify and store them here')
    .requiredOption(config, configHelp)
    .requiredOption('--input <file>', 'documents: CSV/TSV or JSON Lines')
    .option('--redis <url>', 'the Redis server (default: redis.url of the configuration)')
    .option('--threads <n>', 'ONNX Runtime threads')
    .option('--json', 'print one JSON document with the counts')
    .action(async (opts: MonitorIngestOptions) => {
      state.json = !!opts.json;
      await monitorIngestCommand(opts, out);
    });
  m.command('run')
    .description('a worker: consume the Redis stream (consumer group) and POST /v1/ingest, store, and score closed windows on the wall clock')
    .requiredOption(config, configHelp)
    .option('--redis <url>', 'the Redis server (default: redis.url of the configuration)')
    .option('--consumer <name>', "this worker's name in the consumer group (default: host-pid)")
    .option('--claim-idle <ms>', 'claim entries pending this long on a dead worker (default 30000)')
    .option('--port <n>', 'also serve the dashboard and POST /v1/ingest on this port (0 picks one)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--no-detect', 'only ingest; another process scores the windows')
    .option('--threads <n>', 'ONNX Runtime threads')
    .action(async (opts: MonitorRunOptions) => monitorRunCommand(opts, out));
  m.command('dashboard')
    .description('serve the dashboard over the configured database: series per dimension with alert markers, label mix, top texts, live updates')
    .requiredOption(config, configHelp)
    .option('--port <n>', 'TCP port (0 picks a free one)', '8090')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .action(async (opts: MonitorDashboardOptions) => monitorDashboardCommand(opts, out));
}
