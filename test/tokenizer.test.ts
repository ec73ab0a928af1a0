import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer, TokenizerError } from '../src/tokenizers/bert-tokenizer.js';

// Expected ids from transformers.js (tools/make-tokenizer-fixtures.ts).
const dirOf = (name: string) => fileURLToPath(new URL(`./fixtures/tokenizer/${name}/`, import.meta.url));

interface Case { text: string; pair?: string; max_length?: number; input_ids: number[]; token_type_ids?: number[] }

for (const name of ['uncased', 'cased']) {
  test(`${name}: ids and type ids equal transformers.js on the fixture corpus`, async () => {
    const { cases } = JSON.parse(await readFile(join(dirOf(name), 'expected.json'), 'utf8')) as { cases: Case[] };
    // Once from tokenizer.json, once from vocab.txt + tokenizer_config.json only.
    const vocabOnly = await mkdtemp(join(tmpdir(), 'tuna-vocab-'));
    for (const f of ['vocab.txt', 'tokenizer_config.json']) await copyFile(join(dirOf(name), f), join(vocabOnly, f));
    for (const tok of [await BertTokenizer.fromDirectory(dirOf(name)), await BertTokenizer.fromDirectory(vocabOnly)]) {
      for (const c of cases) {
        const enc = tok.encode(c.text, c.pair, c.max_length ? { maxLength: c.max_length, truncation: 'longest_first' } : {});
        assert.deepEqual(enc.inputIds, c.input_ids, `${JSON.stringify(c.text)} ${c.pair ?? ''} ${c.max_length ?? ''}: ${enc.tokens.join(' ')}`);
        if (c.token_type_ids) assert.deepEqual(enc.tokenTypeIds, c.token_type_ids);
      }
    }
  });
}

test('offsets point back into the original text, also after lowercasing, accents and CJK', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const text = 'Héllo, 我爱 WORLD!';
  const enc = tok.encode(text);
  assert.deepEqual(enc.tokens, ['[CLS]', 'hello', ',', '我', '爱', 'world', '!', '[SEP]']);
  assert.deepEqual(enc.offsets.map(([s, e]) => text.slice(s, e)), ['', 'Héllo', ',', '我', '爱', 'WORLD', '!', '']);
  assert.deepEqual(enc.wordIds, [null, 0, 1, 2, 3, 4, 5, null]);
  const pieces = tok.encode('Jumps');
  assert.deepEqual(pieces.tokens, ['[CLS]', 'jumps', '[SEP]']);
  const sub = tok.encode('Unaffable');
  assert.deepEqual(sub.tokens, ['[CLS]', 'un', '##aff', '##able', '[SEP]']);
  assert.deepEqual(sub.offsets.slice(1, 4).map(([s, e]) => 'Unaffable'.slice(s, e)), ['Un', 'aff', 'able']);
  assert.deepEqual(sub.wordIds, [null, 0, 0, 0, null]);
});

test('cased mode does not NFC-normalise (like the fast tokenizer)', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const composed = tok.encode('\u00e9cole').tokens;
  const decomposed = tok.encode('e\u0301cole').tokens;
  assert.notDeepEqual(composed, decomposed);
});

test('truncation strategies, padding, batches and decode', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const a = 'the quick brown fox jumps';
  const b = 'over the lazy dog';
  const single = tok.encode('the quick brown fox jumps over the lazy dog', undefined, { maxLength: 6 });
  assert.deepEqual(single.tokens, ['[CLS]', 'the', 'quick', 'brown', 'fox', '[SEP]']);
  const longest = tok.encode(a, b, { maxLength: 8 });
  assert.deepEqual(longest.tokens, ['[CLS]', 'the', 'quick', 'brown', '[SEP]', 'over', 'the', '[SEP]']);
  assert.deepEqual(longest.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1, 1]);
  const first = tok.encode(a, b, { maxLength: 8, truncation: 'only_first' });
  assert.deepEqual(first.tokens, ['[CLS]', 'the', '[SEP]', 'over', 'the', 'lazy', 'dog', '[SEP]']);
  const second = tok.encode(a, b, { maxLength: 9, truncation: 'only_second' });
  assert.deepEqual(second.tokens, ['[CLS]', 'the', 'quick', 'brown', 'fox', 'jumps', '[SEP]', 'over', '[SEP]']);
  assert.throws(() => tok.encode(a, b, { maxLength: 4, truncation: 'only_second' }), TokenizerError);
  const padded = tok.encode('hello', undefined, { maxLength: 6, padding: 'max_length' });
  assert.deepEqual(padded.attentionMask, [1, 1, 1, 0, 0, 0]);
  assert.deepEqual(padded.inputIds.slice(3), [tok.padTokenId, tok.padTokenId, tok.padTokenId]);
  const left = tok.encode('hello', undefined, { maxLength: 5, padding: 'max_length', paddingSide: 'left' });
  assert.deepEqual(left.attentionMask, [0, 0, 1, 1, 1]);
  const batch = tok.encodeBatch(['hello', ['how old are you?', 'i']]);
  assert.equal(batch[0]!.inputIds.length, batch[1]!.inputIds.length);
  assert.equal(tok.decode(tok.encode("hello, world! don't").inputIds, { skipSpecialTokens: true }), "hello, world! don't");
});

test('save then load gives identical encodings; bad files give clear errors', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const dir = await mkdtemp(join(tmpdir(), 'tuna-tok-'));
  await tok.save(dir);
  const again = await BertTokenizer.fromDirectory(dir);
  assert.equal(again.options.modelMaxLength, 64);
  for (const t of ['Hello, WORLD!!', 'BERT在2018年发布']) assert.deepEqual(again.encode(t), tok.encode(t));
  const empty = await mkdtemp(join(tmpdir(), 'tuna-tok-empty-'));
  await assert.rejects(BertTokenizer.fromDirectory(empty), /no vocab\.txt or tokenizer\.json/);
  await writeFile(join(empty, 'vocab.txt'), 'a\nb\n');
  await assert.rejects(BertTokenizer.fromDirectory(empty), /no \[UNK\] token/);
  await writeFile(join(empty, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: {} } }));
  await assert.rejects(BertTokenizer.fromDirectory(empty), /is not WordPiece/);
});
