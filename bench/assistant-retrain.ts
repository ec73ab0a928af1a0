/**
 * Retraining benchmark of the assistant on CLINC150: a bot of 149 intents (20 training examples
 * each, the `oos_val` messages as out-of-scope examples) is trained once; then feedback is stored
 * as a served bot would get it: corrections of the misclassified `val` messages, and a 150th
 * intent named by feedback with its examples. `retrainAssistant` is timed, and both versions are
 * evaluated on the CLINC150 test split (in-scope accuracy of the classifier and with the
 * out-of-scope rule, out-of-scope recall, the new intent's accuracy).
 *
 *   npx tsx bench/assistant-retrain.ts [--epochs 8] [--mode head|full] [--retrain-epochs N] [--corrections 150] [--new-examples 10] [--threads 2]
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Nlu, SqliteStore, evaluateIntents, resolveConfig, trainAssistant } from '../src/apps/assistant/index.js';
import { retrainAssistant } from '../src/apps/assistant/retrain.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '8' },
    mode: { type: 'string', default: 'head' },
    'retrain-epochs': { type: 'string' },
    corrections: { type: 'string', default: '150' },
    'new-examples': { type: 'string', default: '10' },
    threads: { type: 'string', default: '2' },
    data: { type: 'string', default: new URL('../../shared/datasets/clinc150/data_full.json', import.meta.url).pathname },
  },
});
const threads = Number(args.threads);
type Pair = [string, string];
const data = JSON.parse(readFileSync(args.data!, 'utf8')) as Record<'train' | 'val' | 'test' | 'oos_val' | 'oos_test', Pair[]>;
const allIntents = [...new Set(data.train.map(([, l]) => l))].sort();
const NEW = allIntents[allIntents.length - 1]!;
const initial = allIntents.filter((i) => i !== NEW);
const perIntent = new Map<string, string[]>();
for (const [t, l] of data.train) {
  const list = perIntent.get(l) ?? [];
  if (list.length < 20) list.push(t);
  perIntent.set(l, list);
}

const dir = mkdtempSync(join(tmpdir(), 'tuna-retrain-bench-'));
const modelDir = join(dir, 'model');
const database = join(dir, 'conversations.db');
const config = await resolveConfig(
  {
    name: 'clinc150',
    intents: initial.map((name) => ({ name, response: `(${name})`, examples: perIntent.get(name) })),
    out_of_scope: { examples: data.oos_val.map(([t]) => t) },
    database,
    training: { epochs: Number(args.epochs), batch_size: 32, learning_rate: 5e-4, max_length: 32, threads },
  },
  join(dir, 'bot.yaml'),
);

const log = (s: string) => process.stderr.write(`  ${s}\n`);
let t0 = performance.now();
const first = await trainAssistant(config, modelDir, { log });
const trainSeconds = (performance.now() - t0) / 1000;

const testIn = data.test.map(([text, label]) => ({ text, label }));
const testOos = data.oos_test.map(([text]) => ({ text, label: 'oos' }));
async function measure(nlu: Nlu) {
  const known = new Set(nlu.manifest.intents);
  const r = await evaluateIntents(nlu, [...testIn.filter((d) => known.has(d.label)), ...testOos]);
  const newTest = testIn.filter((d) => d.label === NEW);
  const top = await nlu.understandMany(newTest.map((d) => d.text));
  const argmaxAll = (r.in_scope_accuracy_without_rule * r.in_scope + top.filter((u) => u.top.intent === NEW).length * (known.has(NEW) ? 0 : 1)) / testIn.length;
  return {
    intents: known.size,
    old_intents_accuracy: r.in_scope_accuracy_without_rule,
    old_intents_accuracy_with_rule: r.in_scope_accuracy,
    oos_recall: r.oos_recall,
    mcc: r.mcc,
    new_intent_accuracy: top.filter((u) => u.top.intent === NEW).length / newTest.length,
    all_150_accuracy: known.has(NEW) ? (r.in_scope_accuracy_without_rule * r.in_scope) / testIn.length : argmaxAll,
  };
}

// Feedback as the service stores it: the user message, the reply with its intent, the feedback.
let nlu = await Nlu.load(modelDir, { threads });
const before = await measure(nlu);
const val = data.val.filter(([, l]) => l !== NEW);
const understood = await nlu.understandMany(val.map(([t]) => t));
const wrong = val.map((v, i) => ({ text: v[0], gold: v[1], predicted: understood[i]!.top.intent })).filter((w) => w.gold !== w.predicted);
await nlu.dispose();
const store = new SqliteStore(database);
let session = 0;
const feedback = async (text: string, predicted: string, intent: string) => {
  const sessionId = `s${session++}`;
  await store.session(sessionId);
  await store.addMessage({ sessionId, role: 'user', text });
  const reply = await store.addMessage({ sessionId, role: 'assistant', text: `(${predicted})`, intent: predicted, modelVersion: '1' });
  await store.addFeedback({ messageId: reply.id, helpful: false, intent });
};
const corrections = wrong.slice(0, Number(args.corrections));
for (const w of corrections) await feedback(w.text, w.predicted, w.gold);
const newExamples = data.train.filter(([, l]) => l === NEW).slice(0, Number(args['new-examples']));
for (const [t] of newExamples) await feedback(t, initial[0]!, NEW);
await store.close();

t0 = performance.now();
const mode = args.mode === 'full' ? 'full' : 'head';
const r = await retrainAssistant(config, modelDir, { log, mode, ...(args['retrain-epochs'] ? { epochs: Number(args['retrain-epochs']) } : {}) });
const retrainSeconds = (performance.now() - t0) / 1000;
nlu = await Nlu.load(modelDir, { threads });
const after = await measure(nlu);
await nlu.dispose();
rmSync(dir, { recursive: true, force: true });

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const row = (name: string, m: typeof before) =>
  `${name.padEnd(26)} ${String(m.intents).padStart(7)} ${pct(m.old_intents_accuracy).padStart(9)} ${pct(m.old_intents_accuracy_with_rule).padStart(9)} ${pct(m.oos_recall).padStart(9)} ${m.mcc.toFixed(3).padStart(6)} ${pct(m.new_intent_accuracy).padStart(9)} ${pct(m.all_150_accuracy).padStart(9)}`;
console.log(
  `CLINC150 retrain, ${threads} threads: ${corrections.length} corrections (of ${wrong.length} misclassified val messages), new intent "${NEW}" with ${newExamples.length} examples`,
);
console.log(`first training: ${first.manifest.training.steps} steps, ${args.epochs} epochs, ${trainSeconds.toFixed(1)} s`);
console.log(
  `retrain (${mode}): ${r.manifest.training.steps} steps, ${r.manifest.training.epochs} epochs, ${retrainSeconds.toFixed(1)} s in all (fine-tuning ${r.manifest.training.seconds.toFixed(1)} s)`,
);
console.log(`${'test split'.padEnd(26)} intents  149 acc  149+rule  oos rec    MCC   new acc  150 acc`);
console.log(row(`version ${first.version}`, before));
console.log(row(`version ${r.version} (retrained)`, after));
