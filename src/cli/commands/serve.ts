import { startServer } from '../../serve/server.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { integer, number } from './options.js';

/** Options of `tuna serve` (commander's raw strings). */
export interface ServeOptions {
  readonly model?: readonly string[];
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
}

/**
 * `tuna serve --model DIR [--model NAME=DIR ...] [--host H] [--port N] ...`: serves the models over
 * HTTP until SIGTERM or SIGINT, then shuts down gracefully (requests already received are
 * answered) and returns. A second signal exits at once with code 1.
 */
export async function serveCommand(o: ServeOptions, out: Output): Promise<void> {
  if (!o.model || o.model.length === 0) throw new CliError('usage', 'give at least one --model DIR');
  const apiKey = o.apiKey ?? (process.env.TUNA_API_KEY || undefined);
  // A ServeConfigError (bad option, unusable model directory) is a TunaError: `tuna` reports it by its code.
  const server = await startServer({
    models: o.model,
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
  });
  for (const m of server.models) out.stderr(`tuna serve: ${m.name}: ${m.tasks.join(', ')} (${m.architectures.join(', ') || 'BertModel'}, max length ${m.max_length})\n`);
  out.stderr(
    `tuna serve: listening on ${server.address} (batches of up to ${o.maxBatchSize}, waiting up to ${o.maxWaitMs} ms${apiKey ? ', API key required' : ''}); ` +
      `open ${server.address}/ in a browser, or POST /v1/${server.models[0]!.tasks[0]}; Ctrl-C stops\n`,
  );
  await new Promise<void>((resolve, reject) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        out.stderr(`tuna serve: ${signal} again, exiting without waiting\n`);
        process.exit(1);
      }
      out.stderr(`tuna serve: ${signal}: finishing the requests received, then exiting (send it again to exit at once)\n`);
      server.close().then(() => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        out.stderr('tuna serve: stopped\n');
        resolve();
      }, reject);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
