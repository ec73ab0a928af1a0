/**
 * Out-of-scope benchmark of the assistant on CLINC150 (data_full.json): a bot of all 150 intents
 * with the first N training examples of each, trained from the bundled English model; the
 * out-of-scope rule tuned on `oos_val` (with --oos-class, `oos_train` and `oos_val` together are
 * split like an intent's examples: the training part is an explicit out-of-scope class, the rest
 * tunes the rule); scored on the test split with its 1,000 `oos_test` messages: in-scope
 * accuracy of the classifier alone and with the rule, out-of-scope recall and precision, MCC.
 * Appends its figures to bench/results/assistant-clinc.json under --name.
 *
 * With --clinc-validation, CLINC150's own split instead: all training examples train (and
 * `oos_train` the class), `val` and `oos_val` tune (the configuration's `validation_file`).
 * With --similarity, the rule also refuses messages whose [CLS] vector is far from every intent
 * centroid (`out_of_scope.similarity`).
 *
 *   npx tsx bench/assistant-clinc.ts [--per-intent 100] [--epochs 5] [--oos-class] [--similarity] [--clinc-validation] [--max-accuracy-drop 0.02] [--threads 2] [--name NAME] [--keep MODEL_DIR]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Nlu, evaluateIntents, resolveConfig, trainAssistant } from '../src/apps/assistant/index.js';

const { values: args } = parseArgs({
  options: {
    'per-intent': { type: 'string', default: '100' },
    epochs: { type: 'string', default: '5' },
    'oos-class': { type: 'boolean', default: false },
    similarity: { type: 'boolean', default: false },
    'clinc-validation': { type: 'boolean', default: false },
    'max-accuracy-drop': { type: 'string', default: '0.02' },
    'learning-rate': { type: 'string', default: '5e-4' },
    threads: { type: 'string', default: '2' },
    name: { type: 'string' },
    keep: { type: 'string' },
    data: { type: 'string', default: new URL('../../shared/datasets/clinc150/data_full.json', import.meta.url).pathname },
  },
});
const threads = Number(args.threads);
const perIntentLimit = Number(args['per-intent']);
type Pair = [string, string];
const data = JSON.parse(readFileSync(args.data!, 'utf8')) as Record<'train' | 'val' | 'test' | 'oos_train' | 'oos_val' | 'oos_test', Pair[]>;
const perIntent = new Map<string, string[]>();
for (const [t, l] of data.train) {
  const list = perIntent.get(l) ?? [];
  if (list.length < perIntentLimit) list.push(t);
  perIntent.set(l, list);
}
const intents = [...perIntent.keys()].sort();

const dir = mkdtempSync(join(tmpdir(), 'tuna-clinc-bench-'));
// With --clinc-validation, CLINC150's own protocol: every training example trains, `val` and
// `oos_val` calibrate and tune (validation_file), `oos_train` is the out-of-scope examples.
const clincValidation = args['clinc-validation'];
if (clincValidation) {
  const rows = [...data.val.map(([text, label]) => ({ text, label })), ...data.oos_val.map(([text]) => ({ text, label: 'oos' }))];
  writeFileSync(join(dir, 'validation.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}
const oosExamples = clincValidation ? data.oos_train : [...(args['oos-class'] ? data.oos_train : []), ...data.oos_val];
const modelDir = args.keep ?? join(dir, 'model');
const config = await resolveConfig(
  {
    name: 'clinc150',
    intents: intents.map((name) => ({ name, response: `(${name})`, examples: perIntent.get(name) })),
    out_of_scope: {
      // With the class, oos_train and oos_val are split like an intent's examples (80/20).
      examples: oosExamples.map(([t]) => t),
      ...(args['oos-class'] ? { class: true } : {}),
      ...(args.similarity ? { similarity: true } : {}),
    },
    ...(clincValidation ? { validation_file: 'validation.jsonl' } : {}),
    thresholds: { max_accuracy_drop: Number(args['max-accuracy-drop']) },
    database: join(dir, 'conversations.db'),
    training: { epochs: Number(args.epochs), batch_size: 32, learning_rate: Number(args['learning-rate']), max_length: 32, threads },
  },
  join(dir, 'bot.yaml'),
);

const log = (s: string) => process.stderr.write(`  ${s}\n`);
const t0 = performance.now();
const trained = await trainAssistant(config, modelDir, { log });
const trainSeconds = (performance.now() - t0) / 1000;
const nlu = await Nlu.load(modelDir, { threads });
const r = await evaluateIntents(nlu, [...data.test.map(([text, label]) => ({ text, label })), ...data.oos_test.map(([text]) => ({ text, label: 'oos' }))]);
await nlu.dispose();
rmSync(dir, { recursive: true, force: true });

const figures = {
  per_intent: perIntentLimit,
  epochs: Number(args.epochs),
  learning_rate: Number(args['learning-rate']),
  oos_class: args['oos-class'],
  similarity: args.similarity,
  clinc_validation: clincValidation,
  max_accuracy_drop: Number(args['max-accuracy-drop']),
  train_examples: trained.manifest.training.examples,
  train_seconds: trainSeconds,
  thresholds: trained.manifest.thresholds,
  temperature: trained.manifest.temperature,
  in_scope_accuracy_without_rule: r.in_scope_accuracy_without_rule,
  in_scope_accuracy: r.in_scope_accuracy,
  oos_recall: r.oos_recall,
  oos_precision: r.oos_precision,
  mcc: r.mcc,
  clarification_rate: r.clarification_rate,
  threads,
  load_average: loadavg().map((x) => Math.round(x * 100) / 100),
  created: new Date().toISOString(),
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log(
  `CLINC150, ${perIntentLimit} examples per intent, ${args.epochs} epochs${args['oos-class'] ? ', an out-of-scope class' : ''}${args.similarity ? ', the similarity rule' : ''}${clincValidation ? ', tuned on val/oos_val' : ''}: trained in ${trainSeconds.toFixed(0)} s`,
);
console.log(
  `in-scope accuracy ${pct(r.in_scope_accuracy)} (classifier alone ${pct(r.in_scope_accuracy_without_rule)}); out-of-scope recall ${pct(r.oos_recall)}, precision ${pct(r.oos_precision)}; MCC ${r.mcc.toFixed(3)}`,
);
const out = new URL('./results/assistant-clinc.json', import.meta.url).pathname;
const all = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
all[args.name ?? `${perIntentLimit}-per-intent${args['oos-class'] ? '-oos-class' : ''}${args.similarity ? '-similarity' : ''}${clincValidation ? '-clinc-validation' : ''}`] =
  figures;
writeFileSync(out, `${JSON.stringify(all, null, 2)}\n`);
