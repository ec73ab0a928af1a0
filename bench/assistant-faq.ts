/**
 * FAQ answering of the assistant on StackFAQ (../shared/datasets/stackfaq, see its SOURCE.md),
 * scored as `tuna assistant eval --faq-data` scores it: accuracy@1 (the best entry is the query's
 * own), nDCG@10 of the FAQ ranking and the share of queries the FAQ threshold answers.
 *
 * - FAQ: one entry per thread (all 125, train and test threads alike): the thread's question, and
 *   its first answer as the answer; id `t007`.
 * - Queries: the paraphrases of the 50 test threads of bench/stackfaq.ts's split by thread (seed 14).
 * - The bot: two placeholder intents (one epoch; the FAQ does not depend on them), the bundled
 *   English model as the FAQ's sentence model, the 100 CLINC150 `oos_val` messages as out-of-scope
 *   examples, so the automatic FAQ threshold is tuned on messages that are no FAQ question.
 * - One trained version; the retrievers bm25, dense and hybrid are the same index searched three
 *   ways (the manifest's `faq.retriever` set in a copy of the version).
 *
 *   npx tsx bench/assistant-faq.ts [--threads 2]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MANIFEST, Nlu, evaluateFaq, resolveConfig, trainAssistant } from '../src/apps/assistant/index.js';
import { readStackFaq, splitThreads } from './stackfaq.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    clinc: { type: 'string', default: new URL('../../shared/datasets/clinc150/data_full.json', import.meta.url).pathname },
  },
});
const threads = Number(args.threads);
const threadsAll = readStackFaq();
const { test } = splitThreads(threadsAll);
const faqId = (n: number) => `t${String(n).padStart(3, '0')}`;
const queries = test.flatMap((t) => t.paraphrases.map((text) => ({ text, faqId: faqId(t.number) })));
const oos = (JSON.parse(readFileSync(args.clinc!, 'utf8')) as { oos_val: [string, string][] }).oos_val.map(([t]) => t);

const dir = mkdtempSync(join(tmpdir(), 'tuna-assistant-faq-'));
const faqFile = join(dir, 'faq.jsonl');
writeFileSync(faqFile, threadsAll.map((t) => JSON.stringify({ id: faqId(t.number), question: t.question, answer: t.answers[0] })).join('\n'));
const config = await resolveConfig(
  {
    name: 'stackfaq',
    intents: [
      { name: 'greeting', response: 'Hello!', examples: ['hello', 'hi there', 'good morning'] },
      { name: 'thanks', response: 'You are welcome.', examples: ['thank you', 'thanks a lot', 'many thanks'] },
    ],
    out_of_scope: { examples: oos },
    faq: { file: faqFile, retriever: 'hybrid' },
    database: join(dir, 'conversations.db'),
    training: { epochs: 1, batch_size: 8, validation_split: 0.34, max_length: 32, threads },
  },
  join(dir, 'bot.yaml'),
);
const t0 = performance.now();
const trained = await trainAssistant(config, join(dir, 'model'), { log: (s) => process.stderr.write(`  ${s}\n`) });
const trainSeconds = (performance.now() - t0) / 1000;

const results: Record<string, { accuracy_at_1: number; ndcg_at_10: number; answered: number; seconds: number }> = {};
for (const retriever of ['bm25', 'dense', 'hybrid'] as const) {
  const v = join(dir, `version-${retriever}`);
  cpSync(trained.dir, v, { recursive: true });
  writeFileSync(join(v, MANIFEST), JSON.stringify({ ...trained.manifest, faq: { ...trained.manifest.faq!, retriever } }));
  const nlu = await Nlu.load(v, { threads });
  const started = performance.now();
  try {
    const r = await evaluateFaq(nlu, queries);
    results[retriever] = { accuracy_at_1: r.accuracy_at_1, ndcg_at_10: r.ndcg_at_10, answered: r.answered, seconds: (performance.now() - started) / 1000 };
  } finally {
    await nlu.dispose();
  }
  const r = results[retriever]!;
  console.log(
    `${retriever.padEnd(6)}  accuracy@1 ${(100 * r.accuracy_at_1).toFixed(1)}%  nDCG@10 ${r.ndcg_at_10.toFixed(4)}  answered ${(100 * r.answered).toFixed(1)}%  (${r.seconds.toFixed(1)} s)`,
  );
}
const out = {
  benchmark: 'assistant FAQ answering on StackFAQ (tuna assistant eval --faq-data semantics)',
  data: 'stackExchange-FAQ.json: FAQ = 125 threads (question, first answer); queries = paraphrases of the 50 test threads (bench/stackfaq.ts split, seed 14)',
  faq_entries: threadsAll.length,
  queries: queries.length,
  model: config.faq.model,
  faq_threshold: trained.manifest.thresholds.faq,
  faq_threshold_method: trained.manifest.thresholds.faq_method,
  threads,
  train_seconds: trainSeconds,
  results,
  load_average: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
  created: new Date().toISOString(),
};
writeFileSync(new URL('./results/assistant-faq.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `FAQ threshold ${out.faq_threshold.toFixed(4)} (${out.faq_threshold_method}); ${queries.length} queries, ${threadsAll.length} entries; bench/results/assistant-faq.json`,
);
rmSync(dir, { recursive: true, force: true });
