// The [UNK] share of texts under a vocabulary, and the warning that names the model to use instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AutoTokenizer } from '../src/models/auto.js';
import { bundledModelDir } from '../src/models/bundled.js';
import { UNKNOWN_RATE_WARNING, unknownTokenRate, unknownTokenWarning } from '../src/tokenizers/unknown-rate.js';

const reviews = readFileSync(new URL('./fixtures/e2e/waimai-train.csv', import.meta.url), 'utf8')
  .split('\n')
  .slice(1, 201)
  .map((l) => l.replace(/^\d,/, ''));
const english = readFileSync(new URL('./fixtures/banking77-4class-train.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text as string);

test('Chinese reviews under the bundled English vocabulary: a high [UNK] rate and a warning naming the bundled Chinese model', async () => {
  const en = await AutoTokenizer.fromPretrained(bundledModelDir('en'));
  const rate = unknownTokenRate(en, reviews);
  assert.ok(rate > 0.2, `rate ${rate}`);
  const warning = unknownTokenWarning(rate, reviews, 'models/tuna-small-en');
  assert.ok(warning);
  assert.match(warning, new RegExp(`^warning: ${(100 * rate).toFixed(1)}% of the word pieces are \\[UNK\\] with the vocabulary of models/tuna-small-en`));
  assert.match(warning, /most frequent label/);
  assert.ok(warning.includes(bundledModelDir('zh')), warning);

  const englishRate = unknownTokenRate(en, english);
  assert.ok(englishRate < 0.01, `English rate ${englishRate}`);
  assert.equal(unknownTokenWarning(englishRate, english, 'models/tuna-small-en'), undefined);
});

test('the rate counts word pieces (no special tokens) over a sample; the warning threshold is 5%', async () => {
  const zh = await AutoTokenizer.fromPretrained(bundledModelDir('zh'));
  const unk = zh.unkTokenId;
  const texts = ['好吃', '\u{1F9EA}\u{1F9EA}'];
  const pieces = texts.map((t) => zh.encode(t, undefined, { addSpecialTokens: false }).inputIds);
  const expected = pieces.flat().filter((id) => id === unk).length / pieces.flat().length;
  assert.ok(expected > 0 && expected < 1);
  assert.equal(unknownTokenRate(zh, texts), expected);
  assert.equal(unknownTokenRate(zh, texts, { sample: 1 }), 0, 'only the first text looked at');
  assert.equal(unknownTokenRate(zh, []), 0);
  assert.equal(UNKNOWN_RATE_WARNING, 0.05);
  assert.equal(unknownTokenWarning(0.05, texts, 'x'), undefined);
  assert.match(unknownTokenWarning(0.051, texts, 'x')!, /5\.1%/);
  // Chinese text that the bundled Chinese model itself does not cover: the remedy is a new tokenizer.
  assert.match(unknownTokenWarning(0.3, ['好吃好吃'], bundledModelDir('zh'))!, /tuna tokenizer train/);
});

test('a fine-tuned copy of a vocabulary for the texts language: the remedy is a new tokenizer, not another model', async () => {
  const en = await AutoTokenizer.fromPretrained(bundledModelDir('en'));
  const zh = await AutoTokenizer.fromPretrained(bundledModelDir('zh'));
  // English text with rare pieces, through an English vocabulary saved elsewhere (e.g. out/spam).
  assert.match(unknownTokenWarning(0.06, english, 'out/spam', en)!, /tuna tokenizer train/);
  // Chinese text through that English vocabulary: the bundled Chinese model is the remedy.
  assert.ok(unknownTokenWarning(0.4, reviews, 'out/spam', en)!.includes(bundledModelDir('zh')));
  assert.match(unknownTokenWarning(0.06, reviews, 'out/waimai', zh)!, /tuna tokenizer train/);
});
