import type { Command } from 'commander';
import { apiKeyProblem, startServer } from '../../serve/server.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { integer, number } from './options.js';

/** Defaults of the flags {@link serveCommandOptions} adds. */
const DEFAULTS = { requestTimeout: '60', headersTimeout: '20', bodyTimeout: '10', shutdownTimeout: '10', maxResponseBytes: String(32 * 1024 * 1024) } as const;

/**
 * Adds the flags of `tuna serve` that bound slow clients, the shutdown and the size of answers
 * (times in seconds).
 */
export function serveCommandOptions(c: Command): Command {
  return c
    .option('--request-timeout <s>', 'seconds a client has to send a whole request, headers and body (408 beyond, connection closed)', DEFAULTS.requestTimeout)
    .option('--headers-timeout <s>', 'seconds a client has to send the request headers (at most --request-timeout)', DEFAULTS.headersTimeout)
    .option('--body-timeout <s>', 'longest pause in a request body, in seconds (408 beyond, connection closed)', DEFAULTS.bodyTimeout)
    .option('--shutdown-timeout <s>', 'seconds to finish open requests after SIGTERM/SIGINT; then they get 503 and the connections are closed', DEFAULTS.shutdownTimeout)
    .option('--max-response-bytes <n>', 'largest answer to one request (413 response_too_large beyond)', DEFAULTS.maxResponseBytes);
}

/** Options of `tuna serve` (commander's raw strings). */
export interface ServeOptions {
  readonly model?: readonly string[];
  /** `--index NAME=DIR` (repeatable): search indexes for POST /v1/search. */
  readonly index?: readonly string[];
  /** `--adapter NAME=DIR` (repeatable): adapters of the served models. */
  readonly adapter?: readonly string[];
  readonly maxAdapters?: string;
  readonly adapterAdmin?: boolean;
  readonly host: string;
  readonly port: string;
  readonly maxBatchSize: string;
  readonly maxWaitMs: string;
  readonly maxQueue: string;
  readonly maxBodyBytes: string;
  readonly maxTextChars: string;
  readonly maxInputs: string;
  readonly apiKey?: string;
  readonly threads?: string;
  readonly log?: boolean;
  readonly revision?: string;
  readonly requestTimeout?: string;
  readonly headersTimeout?: string;
  readonly bodyTimeout?: string;
  readonly shutdownTimeout?: string;
  readonly maxResponseBytes?: string;
}

/** A duration flag in seconds (fractions allowed), as whole milliseconds. */
function milliseconds(flag: string, raw: string): number {
  const ms = Math.round(number(flag, raw, { min: 0, max: 86_400, exclusive: true }) * 1000);
  if (ms < 1) throw new CliError('usage', `${flag} must be at least 0.001 seconds, got "${raw}"`);
  return ms;
}

/** The API key from --api-key or TUNA_API_KEY (an empty TUNA_API_KEY counts as unset). @throws CliError for a key no client could send */
function apiKeyOf(o: ServeOptions): string | undefined {
  const [key, source] = o.apiKey !== undefined ? [o.apiKey, '--api-key'] : [process.env.TUNA_API_KEY || undefined, 'TUNA_API_KEY'];
  if (key === undefined) return undefined;
  const problem = apiKeyProblem(key);
  if (problem !== undefined) throw new CliError('usage', `${source} ${problem}; set it to the key clients must send${source === 'TUNA_API_KEY' ? ', or unset it' : ''}`);
  return key;
}

/**
 * `tuna serve --model DIR [--model NAME=DIR ...] [--host H] [--port N] ...`: serves the models over
 * HTTP until SIGTERM or SIGINT, then shuts down gracefully (requests already received are
 * answered, for up to --shutdown-timeout seconds) and returns. A second signal exits at once with
 * code 1.
 */
export async function serveCommand(o: ServeOptions, out: Output): Promise<void> {
  if ((!o.model || o.model.length === 0) && (!o.index || o.index.length === 0)) throw new CliError('usage', 'give at least one --model DIR (or --index NAME=DIR)');
  const apiKey = apiKeyOf(o);
  if (o.adapterAdmin && apiKey === undefined)
    throw new CliError('usage', '--adapter-admin loads files on the server, so it needs an API key: give --api-key KEY (or set TUNA_API_KEY)');
  const shutdownTimeoutMs = milliseconds('--shutdown-timeout', o.shutdownTimeout ?? DEFAULTS.shutdownTimeout);
  // A ServeConfigError (bad option, unusable model directory) is a TunaError: `tuna` reports it by its code.
  const server = await startServer({
    models: o.model ?? [],
    indexes: o.index ?? [],
    adapters: o.adapter ?? [],
    maxAdapters: o.maxAdapters === undefined ? undefined : integer('--max-adapters', o.maxAdapters, 1),
    adapterAdmin: !!o.adapterAdmin,
    host: o.host,
    port: integer('--port', o.port, 0),
    maxBatchSize: integer('--max-batch-size', o.maxBatchSize, 1),
    maxWaitMs: number('--max-wait-ms', o.maxWaitMs, { min: 0, max: 60000 }),
    maxQueue: integer('--max-queue', o.maxQueue, 1),
    maxBodyBytes: integer('--max-body-bytes', o.maxBodyBytes, 64),
    maxTextChars: integer('--max-text-chars', o.maxTextChars, 1),
    maxInputs: integer('--max-inputs', o.maxInputs, 1),
    apiKey,
    threads: o.threads === undefined ? undefined : integer('--threads', o.threads, 1),
    logger: !!o.log,
    revision: o.revision,
    requestTimeoutMs: milliseconds('--request-timeout', o.requestTimeout ?? DEFAULTS.requestTimeout),
    headersTimeoutMs: milliseconds('--headers-timeout', o.headersTimeout ?? DEFAULTS.headersTimeout),
    bodyTimeoutMs: milliseconds('--body-timeout', o.bodyTimeout ?? DEFAULTS.bodyTimeout),
    shutdownTimeoutMs,
    maxResponseBytes: integer('--max-response-bytes', o.maxResponseBytes ?? DEFAULTS.maxResponseBytes, 1024),
  });
  for (const m of server.models) out.stderr(`tuna serve: ${m.name}: ${m.tasks.join(', ')} (${m.architectures.join(', ') || 'BertModel'}, max length ${m.max_length})\n`);
  for (const a of server.adapters) out.stderr(`tuna serve: adapter ${a.name} on ${a.model}: ${a.tasks.join(', ')} (${a.method}${a.stacked ? ', stacked' : ''})\n`);
  for (const x of server.indexes) out.stderr(`tuna serve: index ${x.name}: ${x.documents} documents, ${x.retrievers.join(', ')} (model ${x.model})\n`);
  out.stderr(
    `tuna serve: listening on ${server.address} (batches of up to ${o.maxBatchSize}, waiting up to ${o.maxWaitMs} ms${apiKey ? ', API key required' : ''}); ` +
      `open ${server.address}/ in a browser, or POST /v1/${server.models[0]?.tasks[0] ?? 'search'}; Ctrl-C stops\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        out.stderr(`tuna serve: ${signal} again, exiting without waiting\n`);
        process.exit(1);
      }
      out.stderr(`tuna serve: ${signal}: finishing the requests received (for up to ${shutdownTimeoutMs / 1000} s), then exiting (send it again to exit at once)\n`);
      server.close().then((inTime) => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        if (!inTime) out.stderr(`tuna serve: requests still open after ${shutdownTimeoutMs / 1000} s were answered 503 and their connections closed\n`);
        out.stderr('tuna serve: stopped\n');
        resolve();
      }, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
