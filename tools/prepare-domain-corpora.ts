// Unlabelled in-domain text for the bundled models' second pre-training stage: the texts of the
// labelled sets in ../shared/datasets with their labels dropped, in `tuna pretrain`'s input format
// (one text per line, a blank line every 64 lines). Every text a benchmark scores is left out:
//
// - English (en-domain.txt): SST-2 train_full.tsv without the 1,000 rows tools/pretraining-gain.ts
//   tests on (the first after a shuffle with seed 7) and without any text of dev.tsv (the test set of
//   bench/fewshot and bench/peft); CLINC150's train and val utterances (in-scope and out-of-scope,
//   never its test); banking77's train.csv; CoNLL-2003's train.txt sentences.
// - Chinese (zh-domain.txt): waimai_10k.csv without its 1,000 test rows (first after a shuffle with
//   seed 7, as in tools/pretraining-gain.ts and bench/fewshot); ChnSentiCorp_htl_all.csv.
//
//   node --import tsx tools/prepare-domain-corpora.ts ../shared/datasets /tmp/corpora/text
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTextExamples, shuffle } from '../src/data/index.js';

const [datasets = '', out = ''] = process.argv.slice(2);
if (!datasets || !out) {
  console.error('usage: node --import tsx tools/prepare-domain-corpora.ts DATASETS_DIR OUTPUT_DIR');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const texts = async (file: string, text: string, label = 'label') => (await loadTextExamples(file, { columns: { text, label }, onBadRow: 'skip' })).map((e) => e.text.trim());
const heldOutOfGain = async (file: string, text: string) =>
  new Set(
    shuffle(await loadTextExamples(file, { columns: { text, label: 'label' } }), 7)
      .slice(0, 1000)
      .map((e) => e.text.trim()),
  );

function write(name: string, lines: Iterable<string>, excluded: Set<string>): void {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const raw of lines) {
    const line = raw.replace(/\s+/g, ' ').trim();
    if (line.length < 2 || excluded.has(line) || seen.has(line)) continue;
    seen.add(line);
    kept.push(line);
  }
  const docs: string[] = [];
  for (let i = 0; i < kept.length; i += 64) docs.push(kept.slice(i, i + 64).join('\n'));
  writeFileSync(join(out, name), docs.join('\n\n') + '\n');
  console.log(`${name}: ${kept.length} distinct texts (${excluded.size} held-out texts excluded)`);
}

// ------------------------------------------------------------------ English
const sst2 = join(datasets, 'sst2');
const enExcluded = new Set(
  [...(await heldOutOfGain(join(sst2, 'train_full.tsv'), 'sentence')), ...(await texts(join(sst2, 'dev.tsv'), 'sentence'))].map((t) => t.replace(/\s+/g, ' ')),
);
const clinc = JSON.parse(readFileSync(join(datasets, 'clinc150', 'data_full.json'), 'utf8')) as Record<string, [string, string][]>;
const clincTexts = ['train', 'val', 'oos_train', 'oos_val'].flatMap((split) => (clinc[split] ?? []).map(([text]) => text));
const banking = await texts(join(datasets, 'banking77', 'train.csv'), 'text', 'category');
const conll: string[] = [];
let words: string[] = [];
for (const line of readFileSync(join(datasets, 'conll2003', 'train.txt'), 'utf8').split('\n')) {
  const token = line.split(' ')[0] ?? '';
  if (!token || token === '-DOCSTART-') {
    if (words.length) conll.push(words.join(' '));
    words = [];
  } else words.push(token);
}
if (words.length) conll.push(words.join(' '));
write('en-domain.txt', [...(await texts(join(sst2, 'train_full.tsv'), 'sentence')), ...clincTexts, ...banking, ...conll], enExcluded);

// ------------------------------------------------------------------ Chinese
const waimai = join(datasets, 'waimai10k', 'waimai_10k.csv');
const zhExcluded = await heldOutOfGain(waimai, 'review');
write(
  'zh-domain.txt',
  [...(await texts(waimai, 'review')), ...(await texts(join(datasets, 'chnsenticorp_htl', 'ChnSentiCorp_htl_all.csv'), 'review'))],
  new Set([...zhExcluded].map((t) => t.replace(/\s+/g, ' '))),
);
