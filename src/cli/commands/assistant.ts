/** `tuna assistant init|train|retrain|serve|eval`: the customer-service assistant. */
import type { Command } from 'commander';
import {
  type AssistantManifest,
  Nlu,
  createAssistantServer,
  evaluateFaq,
  evaluateIntents,
  initAssistant,
  loadConfig,
  readFaqQueries,
  readLabelled,
  retrainAssistant,
  trainAssistant,
} from '../../apps/assistant/index.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer } from './options.js';

/** Options of `tuna assistant train`. */
export interface AssistantTrainOptions {
  readonly config: string;
  readonly output: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** Options of `tuna assistant serve`. */
export interface AssistantServeOptions {
  readonly model: string;
  readonly port: string;
  readonly host: string;
  readonly database?: string;
  readonly threads?: string;
  readonly adminKey?: string;
  readonly watch?: boolean;
}

/** Options of `tuna assistant retrain`. */
export interface AssistantRetrainOptions {
  readonly config: string;
  readonly model: string;
  readonly mode?: string;
  readonly epochs?: string;
  readonly database?: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** Options of `tuna assistant eval`. */
export interface AssistantEvalOptions {
  readonly model: string;
  readonly data?: string;
  readonly faqData?: string;
  readonly threads?: string;
  readonly json?: boolean;
}

const threadsOf = (t: string | undefined) => (t === undefined ? {} : { threads: integer('--threads', t, 1) });

/** `tuna assistant init DIR`. */
export async function assistantInitCommand(dir: string, opts: { force?: boolean }, out: Output): Promise<void> {
  const files = await asError(() => initAssistant(dir, { overwrite: !!opts.force }));
  out.stdout(`wrote ${files.join(', ')}\nnext: tuna assistant train --config ${files[0]} --output ${dir}/model\n`);
}

/** `tuna assistant train --config FILE --output DIR`. */
/** What else sends a message out of scope in this version: the class, the similarity rule (empty without them). */
function outOfScopeLine(m: AssistantManifest): string {
  const parts = [
    ...(m.out_of_scope_class ? [`the ${m.out_of_scope_class} class wins`] : []),
    ...(m.thresholds.similarity !== undefined ? [`the [CLS] vector's cosine to the nearest intent centroid < ${m.thresholds.similarity.toFixed(3)}`] : []),
  ];
  return parts.length ? `  out of scope also when ${parts.join(', or ')}\n` : '';
}

export async function assistantTrainCommand(o: AssistantTrainOptions, out: Output): Promise<void> {
  const threads = threadsOf(o.threads);
  const config = await asError(() => loadConfig(o.config));
  const cfg = threads.threads === undefined ? config : { ...config, training: { ...config.training, threads: threads.threads } };
  const r = await asError(() => trainAssistant(cfg, o.output, { log: (s) => out.stderr(`${s}\n`) }));
  const m = r.manifest;
  if (o.json) {
    out.stdout(`${toJson({ version: r.version, dir: r.dir, temperature: m.temperature, thresholds: m.thresholds, calibration: m.calibration, training: m.training })}\n`);
    return;
  }
  out.stdout(
    `version ${r.version} of ${m.name} in ${r.dir}\n` +
      `  intents: ${m.intents.length}; validation accuracy ${(100 * m.calibration.accuracy).toFixed(1)}% on ${m.calibration.validation_examples} examples\n` +
      `  temperature ${m.temperature.toFixed(3)}: NLL ${m.calibration.nll_before.toFixed(4)} -> ${m.calibration.nll_after.toFixed(4)}, ECE ${m.calibration.ece_before.toFixed(4)} -> ${m.calibration.ece_after.toFixed(4)}\n` +
      `  direct answers need confidence >= ${m.thresholds.confidence.toFixed(3)} and margin >= ${m.thresholds.margin.toFixed(3)} (${m.thresholds.method})\n` +
      outOfScopeLine(m) +
      (m.faq ? `  FAQ: ${m.faq.entries} entries, answers need a match score >= ${m.thresholds.faq.toFixed(3)} (${m.thresholds.faq_method})\n` : '') +
      `  trained in ${m.training.seconds.toFixed(1)} s (${m.training.steps} steps)\n`,
  );
}

/** `tuna assistant retrain --config FILE --model DIR`: the next version from the current one and the stored feedback. */
export async function assistantRetrainCommand(o: AssistantRetrainOptions, out: Output): Promise<void> {
  const threads = threadsOf(o.threads);
  const config = await asError(() => loadConfig(o.config));
  const cfg = {
    ...config,
    ...(o.database ? { database: o.database } : {}),
    training: { ...config.training, ...(threads.threads !== undefined ? { threads: threads.threads } : {}) },
  };
  const epochs = o.epochs === undefined ? {} : { epochs: integer('--epochs', o.epochs, 1) };
  if (o.mode !== undefined && o.mode !== 'head' && o.mode !== 'full') throw new CliError('usage', `--mode must be head or full, got "${o.mode}"`);
  const mode = o.mode === 'full' ? 'full' : 'head';
  const r = await asError(() => retrainAssistant(cfg, o.model, { log: (s) => out.stderr(`${s}\n`), mode, ...epochs }));
  const m = r.manifest;
  if (o.json) {
    out.stdout(
      `${toJson({ version: r.version, from: r.from, dir: r.dir, seconds: r.seconds, feedback: r.feedback, thresholds: m.thresholds, calibration: m.calibration, training: m.training })}\n`,
    );
    return;
  }
  out.stdout(
    `version ${r.version} of ${m.name} (from version ${r.from}) in ${r.dir}, now current\n` +
      `  feedback: ${r.feedback.corrections} corrections, ${r.feedback.confirmations} confirmations, new intents: ${r.feedback.newIntents.join(', ') || 'none'}, ${r.feedback.outOfScope.length} unhelpful replies\n` +
      `  intents: ${m.intents.length}; validation accuracy ${(100 * m.calibration.accuracy).toFixed(1)}%; direct answers need confidence >= ${m.thresholds.confidence.toFixed(3)} and margin >= ${m.thresholds.margin.toFixed(3)}\n` +
      outOfScopeLine(m) +
      `  retrained in ${r.seconds.toFixed(1)} s (${m.training.steps} steps)\n`,
  );
}

/** `tuna assistant serve --model DIR [--port N]`: serves until SIGINT/SIGTERM. */
export async function assistantServeCommand(o: AssistantServeOptions, out: Output): Promise<void> {
  const port = integer('--port', o.port, 0);
  const adminKey = o.adminKey ?? process.env.TUNA_ADMIN_KEY;
  const server = await asError(() =>
    createAssistantServer({
      model: o.model,
      ...(o.database ? { database: o.database } : {}),
      ...threadsOf(o.threads),
      ...(adminKey ? { adminKey } : {}),
      watch: o.watch !== false,
      log: (s) => out.stderr(`tuna assistant: ${s}\n`),
    }),
  );
  const address = await server.app.listen({ port, host: o.host });
  const m = server.dialogue.nlu.manifest;
  out.stderr(
    `tuna assistant: ${m.name} version ${m.version} (${m.intents.length} intents${m.faq ? `, ${m.faq.entries} FAQ entries` : ''}) listening on ${address}; POST /v1/chat; Ctrl-C stops\n`,
  );
  await new Promise<void>((resolve, reject) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      out.stderr(`tuna assistant: ${signal}: stopping\n`);
      server.close().then(resolve, reject);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `tuna assistant eval --model DIR --data FILE [--faq-data FILE] [--json]`. */
export async function assistantEvalCommand(o: AssistantEvalOptions, out: Output): Promise<void> {
  if (!o.data && !o.faqData) throw new CliError('usage', 'give --data (labelled messages) or --faq-data (FAQ queries), or both');
  const nlu = await asError(() => Nlu.load(o.model, threadsOf(o.threads)));
  try {
    const result: Record<string, unknown> = { model: nlu.dir, version: nlu.version };
    if (o.data) {
      const data = await asError(() => readLabelled(o.data!));
      const r = await asError(() => evaluateIntents(nlu, data));
      const { report_text, ...rest } = r;
      result.intents = rest;
      if (!o.json) {
        out.stdout(
          `${o.data}: ${r.examples} messages (${r.in_scope} in scope, ${r.out_of_scope} out of scope)\n` +
            `  in-scope accuracy     ${(100 * r.in_scope_accuracy).toFixed(2)}%  (classifier alone: ${(100 * r.in_scope_accuracy_without_rule).toFixed(2)}%)\n` +
            `  out-of-scope precision ${(100 * r.oos_precision).toFixed(2)}%  recall ${(100 * r.oos_recall).toFixed(2)}%\n` +
            `  Matthews correlation  ${r.mcc.toFixed(4)} (in vs out of scope); clarification questions ${(100 * r.clarification_rate).toFixed(2)}%\n\n${report_text}\n`,
        );
      }
    }
    if (o.faqData) {
      const queries = await asError(() => readFaqQueries(o.faqData!));
      const r = await asError(() => evaluateFaq(nlu, queries));
      result.faq = r;
      if (!o.json)
        out.stdout(
          `${o.faqData}: ${r.queries} FAQ queries: accuracy@1 ${(100 * r.accuracy_at_1).toFixed(2)}%, nDCG@10 ${r.ndcg_at_10.toFixed(4)}, answered ${(100 * r.answered).toFixed(2)}%\n`,
        );
    }
    if (o.json) out.stdout(`${toJson(result)}\n`);
  } finally {
    await nlu.dispose();
  }
}

/** Adds `tuna assistant` and its subcommands to `program`. */
export function addAssistantCommands(program: Command, out: Output, state: { json: boolean }): void {
  const a = program.command('assistant').description('a customer-service assistant: intents with out-of-scope detection, FAQ answers, handoff, stored conversations');
  a.command('init')
    .description('write an example bot (bot.yaml, out_of_scope.txt, faq.csv) into a directory')
    .argument('<dir>', 'the directory (created if needed)')
    .option('--force', 'overwrite the files if they are there')
    .action(async (dir: string, opts: { force?: boolean }) => assistantInitCommand(dir, opts, out));
  a.command('train')
    .description('fine-tune the intent classifier, calibrate it, tune the out-of-scope rule and index the FAQ; writes DIR/versions/N and points DIR/current at it')
    .requiredOption('--config <file>', 'the bot configuration (YAML or JSON)')
    .requiredOption('--output <dir>', 'the model directory')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON document with the version, calibration and thresholds')
    .action(async (opts: AssistantTrainOptions) => {
      state.json = !!opts.json;
      await assistantTrainCommand(opts, out);
    });
  a.command('serve')
    .description('serve the assistant over HTTP: POST /v1/chat {session_id, text}, POST /v1/feedback {message_id, helpful, intent?}, GET /metrics')
    .requiredOption('--model <dir>', 'the model directory (its current version) or a version directory')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--database <file>', 'the SQLite file or postgres:// URL (default: the database of the configuration)')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--admin-key <key>', 'serve POST /admin/reload for "Authorization: Bearer <key>" (default: TUNA_ADMIN_KEY)')
    .option('--no-watch', 'do not switch to a new current version by itself (only on POST /admin/reload)')
    .action(async (opts: AssistantServeOptions) => assistantServeCommand(opts, out));
  a.command('retrain')
    .description('continue training the current version with the stored feedback (corrections, new intents, unhelpful replies); writes DIR/versions/N+1 and makes it current')
    .requiredOption('--config <file>', 'the bot configuration (YAML or JSON)')
    .requiredOption('--model <dir>', 'the model directory')
    .option('--mode <mode>', 'head: fit the classification head on the current encoder (seconds); full: continue fine-tuning the whole classifier', 'head')
    .option('--epochs <n>', 'epochs (default: 30 for head, 2 for full)')
    .option('--database <file>', 'the SQLite file or postgres:// URL with the feedback (default: the database of the configuration)')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON document with the version, feedback, calibration and thresholds')
    .action(async (opts: AssistantRetrainOptions) => {
      state.json = !!opts.json;
      await assistantRetrainCommand(opts, out);
    });
  a.command('eval')
    .description('in-scope accuracy, out-of-scope precision and recall, Matthews correlation and a per-intent report; FAQ accuracy@1 and nDCG@10')
    .requiredOption('--model <dir>', 'the model directory or a version directory')
    .option('--data <file>', 'labelled messages (CSV/TSV/JSONL, text and label; label oos for out-of-scope messages)')
    .option('--faq-data <file>', 'FAQ queries (JSON Lines: {"text", "faq_id"})')
    .option('--threads <n>', 'ONNX Runtime threads (default: all cores)')
    .option('--json', 'print one JSON document')
    .action(async (opts: AssistantEvalOptions) => {
      state.json = !!opts.json;
      await assistantEvalCommand(opts, out);
    });
}
