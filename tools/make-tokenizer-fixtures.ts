/**
 * Expected tokenizations from transformers.js (Hugging Face's JavaScript tokenizers, an
 * implementation independent of tuna) for two small vocabularies, written to
 * test/fixtures/tokenizer/. Truncation is not taken from it: transformers.js cuts the sequence after
 * adding [CLS]/[SEP] (dropping the final [SEP]), where Hugging Face's tokenizers truncate first, so
 * truncation is tested by hand in test/tokenizer.test.ts. transformers.js is not a dependency of
 * tuna; install it anywhere:
 *
 *   (cd /tmp/tjs && npm i @huggingface/transformers --ignore-scripts)
 *   TRANSFORMERS_JS=/tmp/tjs/node_modules/@huggingface/transformers/dist/transformers.node.mjs \
 *     node --import tsx tools/make-tokenizer-fixtures.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const out = fileURLToPath(new URL('../test/fixtures/tokenizer/', import.meta.url));
const tjs = await import(process.env.TRANSFORMERS_JS ?? '@huggingface/transformers');

export const CORPUS = [
  'Hello, WORLD!!',
  'Héllo naïve café, résumé.',
  "don't stop; U.S.A. isn't (quite) here",
  '我爱北京天安门',
  'BERT在2018年发布, with 110M parameters!',
  'emoji 🙂 and ™ symbols',
  'tabs\tand\nnewlines\r\nand\u0000control\u0007chars',
  '',
  '   ',
  'a'.repeat(120) + ' short',
  'hello [MASK] world [SEP] again',
  'The quick brown fox jumps over the lazy dog. '.repeat(6),
  'unaffable unbelievable playing played',
  'Ｆｕｌｌｗｉｄｔｈ ａｎｄ ｅｎ–dash — em',
  'e\u0301cole (decomposed accent)',
];
export const PAIRS: [string, string][] = [
  ['How old are you?', "I'm 6 years old"],
  ['短い文', 'a much longer second sentence with many words in it for truncation'],
];

function vocabFor(cased: boolean): string[] {
  const words = new Set<string>();
  const base = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let c = 33; c < 127; c++) {
    const ch = String.fromCharCode(c);
    if (!cased && ch >= 'A' && ch <= 'Z') continue;
    words.add(ch);
    words.add(`##${ch}`);
  }
  const extra = 'hello world don t stop u s a isn quite here with parameters emoji and symbols tabs newlines control chars short again the quick brown fox jumps over lazy dog un ##aff ##able ##believ play ##ing ##ed how old are you i m years much longer second sentence many words in it for truncation café naive résumé école decomposed accent dash em en'.split(' ');
  for (const w of extra) words.add(cased ? w : w.toLowerCase());
  if (cased) for (const w of ['Hello', 'WORLD', 'BERT', 'The', 'How', 'I', 'M']) words.add(w);
  for (const c of '我爱北京天安门在年发布短い文é–—') words.add(c);
  return [...base, ...words];
}

for (const [name, cased] of [['uncased', false], ['cased', true]] as const) {
  const dir = `${out}${name}/`;
  const tuna = new BertTokenizer(vocabFor(cased), { lowercase: !cased, modelMaxLength: 64 });
  await tuna.save(dir);
  const json = JSON.parse(await readFile(`${dir}tokenizer.json`, 'utf8'));
  const config = JSON.parse(await readFile(`${dir}tokenizer_config.json`, 'utf8'));
  const ref = new tjs.BertTokenizer(json, config);
  const cases: unknown[] = [];
  for (const text of CORPUS) {
    const enc = ref(text, { add_special_tokens: true });
    cases.push({ text, input_ids: Array.from(enc.input_ids.data, Number), token_type_ids: Array.from(enc.token_type_ids.data, Number) });
  }
  for (const [a, b] of PAIRS) {
    const enc = ref(a, { text_pair: b });
    cases.push({ text: a, pair: b, input_ids: Array.from(enc.input_ids.data, Number), token_type_ids: Array.from(enc.token_type_ids.data, Number) });
  }
  await writeFile(`${dir}expected.json`, JSON.stringify({ source: 'transformers.js BertTokenizer', cases }, null, 1) + '\n');
  console.log('wrote', name, cases.length, 'cases');
}
