/**
 * Tokenizer throughput: sentences per second of BertTokenizer.encodeBatch, one thread, on the
 * 10k short mixed-script sentences of the tokenizer test (cased fixture vocabulary; the target is
 * well under a second for all of them), and on SST-2's training sentences with the bundled
 * English model's vocabulary when ../shared/datasets/sst2 is at hand.
 *
 *   node --import tsx bench/tokenizer.ts [--repeat 5] [--json FILE]
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { median } from './peak.js';

const { values: args } = parseArgs({ options: { repeat: { type: 'string', default: '5' }, json: { type: 'string' } } });
const repeat = Math.max(1, Number(args.repeat));

/** Median wall time of encoding `texts` in one batch (after a warm-up batch). */
function measure(tok: BertTokenizer, texts: readonly string[], maxLength: number): { ms: number; perSecond: number } {
  tok.encodeBatch(texts.slice(0, 500), { maxLength });
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    const out = tok.encodeBatch(texts, { maxLength });
    times.push(performance.now() - t0);
    if (out.length !== texts.length) throw new Error(`encoded ${out.length} of ${texts.length} texts`);
  }
  const ms = median(times);
  return { ms, perSecond: texts.length / (ms / 1000) };
}

const report: Record<string, { texts: number; ms: number; perSecond: number }> = {};

const cased = await BertTokenizer.fromDirectory(fileURLToPath(new URL('../test/fixtures/tokenizer/cased/', import.meta.url)));
const base = [
  'The quick brown fox jumps over the lazy dog.',
  'Hello, WORLD!! How old are you?',
  "don't stop; U.S.A. isn't (quite) here",
  '我爱北京天安门, BERT在2018年发布',
  'Héllo naïve café, résumé.',
];
const short = Array.from({ length: 10000 }, (_, i) => `${base[i % base.length]} item ${i}`);
const s = measure(cased, short, 64);
report.short = { texts: short.length, ...s };
console.log(
  `10k short sentences (cased fixture vocabulary, max length 64): ${s.ms.toFixed(0)} ms, ${Math.round(s.perSecond).toLocaleString('en')} sentences/s (target: under 1000 ms)`,
);

const sst2 = fileURLToPath(new URL('../../shared/datasets/sst2/train_full.tsv', import.meta.url));
if (existsSync(sst2)) {
  const lines = readFileSync(sst2, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  // A header row, then sentence<TAB>label.
  const texts = lines.slice(1).map((l) => l.split('\t')[0]!);
  const en = await BertTokenizer.fromDirectory(fileURLToPath(new URL('../models/tuna-small-en/', import.meta.url)));
  const r = measure(en, texts, 128);
  report.sst2 = { texts: texts.length, ...r };
  console.log(
    `SST-2 training sentences (${texts.length.toLocaleString('en')}, tuna-small-en vocabulary, max length 128): ${r.ms.toFixed(0)} ms, ${Math.round(r.perSecond).toLocaleString('en')} sentences/s`,
  );
} else {
  console.log(`SST-2 not found at ${sst2}; skipped that corpus`);
}

if (args.json) await writeFile(args.json, JSON.stringify(report, null, 2) + '\n');
