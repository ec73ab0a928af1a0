import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BertTokenizer, type Encoding } from '../src/tokenizers/bert-tokenizer.js';
import { BertNormalizer } from '../src/tokenizers/normalizer.js';

// The reference implementation reports no offsets, so they are checked here: by hand on chosen
// inputs, and over the whole fixture corpus by re-normalising each token's original span.
const dirOf = (name: string) => fileURLToPath(new URL(`./fixtures/tokenizer/${name}/`, import.meta.url));
const spans = (text: string, e: Encoding) => e.offsets.map(([s, t]) => text.slice(s, t));

test('offsets map tokens back to the original text after lower-casing, accent stripping and CJK splitting', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('uncased'));
  const text = 'Héllo, 我爱 WORLD!';
  const e = tok.encode(text);
  assert.deepEqual(e.tokens, ['[CLS]', 'hello', ',', '我', '爱', 'world', '!', '[SEP]']);
  assert.deepEqual(e.offsets, [
    [0, 0],
    [0, 5],
    [5, 6],
    [7, 8],
    [8, 9],
    [10, 15],
    [15, 16],
    [0, 0],
  ]);
  assert.deepEqual(spans(text, e), ['', 'Héllo', ',', '我', '爱', 'WORLD', '!', '']);
  assert.deepEqual(e.wordIds, [null, 0, 1, 2, 3, 4, 5, null]);

  // Sub-word pieces get their own ranges; a decomposed accent belongs to its base letter.
  const sub = 'U\u0308naffable';
  const p = tok.encode(sub, undefined, { addSpecialTokens: false });
  assert.deepEqual(p.tokens, ['un', '##aff', '##able']);
  assert.deepEqual(spans(sub, p), ['U\u0308n', 'aff', 'able']);
  assert.deepEqual(p.wordIds, [0, 0, 0]);

  // İ decomposes into I + U+0307; the mark is stripped and 'i' points at İ.
  const turkish = 'İs';
  assert.deepEqual(spans(turkish, tok.encode(turkish, undefined, { addSpecialTokens: false })), ['İ', 's']);
});

test('offsets in cased mode: characters beyond U+FFFF, removed control characters, special tokens in text, CJK', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const emoji = 'emoji🙂🙂 x\u0000y';
  const e = tok.encode(emoji, undefined, { addSpecialTokens: false });
  assert.deepEqual(e.tokens, ['emoji', '##🙂', '##🙂', 'x', '##y']);
  assert.deepEqual(e.offsets, [
    [0, 5],
    [5, 7],
    [7, 9],
    [10, 11],
    [12, 13],
  ]);
  assert.deepEqual(e.wordIds, [0, 0, 0, 1, 1]);

  const mask = 'hello [MASK] world';
  const m = tok.encode(mask);
  assert.deepEqual(m.tokens, ['[CLS]', 'hello', '[MASK]', 'world', '[SEP]']);
  assert.deepEqual(spans(mask, m), ['', 'hello', '[MASK]', 'world', '']);
  assert.deepEqual(m.wordIds, [null, 0, 1, 2, null]);

  const zh = 'BERT在2018年发布';
  const z = tok.encode(zh, undefined, { addSpecialTokens: false });
  assert.deepEqual(z.tokens, ['BERT', '在', '2', '##0', '##1', '##8', '年', '发', '布']);
  assert.deepEqual(spans(zh, z), ['BERT', '在', '2', '0', '1', '8', '年', '发', '布']);
  assert.deepEqual(z.wordIds, [0, 1, 2, 2, 2, 2, 3, 4, 5]);

  const long = 'x ' + 'q'.repeat(101) + ' y';
  const u = tok.encode(long, undefined, { addSpecialTokens: false });
  assert.deepEqual(u.tokens, ['x', '[UNK]', 'y']);
  assert.deepEqual(u.offsets, [
    [0, 1],
    [2, 103],
    [104, 105],
  ]);
});

test('pairs: offsets index each text separately and word ids restart with the second text', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const e = tok.encode('Hello WORLD', 'naïve café');
  assert.deepEqual(e.tokens, ['[CLS]', 'Hello', 'WORLD', '[SEP]', 'naïve', 'café', '[SEP]']);
  assert.deepEqual(e.offsets, [
    [0, 0],
    [0, 5],
    [6, 11],
    [0, 0],
    [0, 5],
    [6, 10],
    [0, 0],
  ]);
  assert.deepEqual(e.wordIds, [null, 0, 1, null, 0, 1, null]);
  assert.deepEqual(e.sequenceIds, [null, 0, 0, null, 1, 1, null]);
  const t = tok.encode('Hello WORLD', 'naïve café', { maxLength: 5 });
  assert.deepEqual(t.offsets, [
    [0, 0],
    [0, 5],
    [0, 0],
    [0, 5],
    [0, 0],
  ]);
});

test('word ids for a NER-style example: one label per word via its first sub-token, spans give the words back', async () => {
  const tok = await BertTokenizer.fromDirectory(dirOf('cased'));
  const text = 'John lives in New-York, 北京.';
  const words = ['John', 'lives', 'in', 'New', '-', 'York', ',', '北', '京', '.'];
  const tags = ['B-PER', 'O', 'O', 'B-LOC', 'I-LOC', 'I-LOC', 'O', 'B-LOC', 'I-LOC', 'O'];
  const e = tok.encode(text);
  assert.deepEqual(e.tokens, ['[CLS]', 'J', '##o', '##h', '##n', 'l', '##i', '##v', '##e', '##s', 'in', 'New', '-', 'York', ',', '北', '京', '.', '[SEP]']);
  assert.deepEqual(e.wordIds, [null, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, null]);
  // Label alignment as in token-classification training: the first sub-token of a word gets its tag.
  const aligned = e.wordIds.map((w, i) => (w !== null && e.wordIds[i - 1] !== w ? tags[w]! : null));
  assert.deepEqual(
    aligned.filter((t) => t !== null),
    tags,
  );
  assert.equal(aligned.filter((t) => t !== null).length, words.length);
  for (let w = 0; w < words.length; w++) {
    const idx = e.wordIds.flatMap((x, i) => (x === w ? [i] : []));
    const start = e.offsets[idx[0]!]![0];
    const end = e.offsets[idx.at(-1)!]![1];
    assert.equal(text.slice(start, end), words[w]);
  }
});

test('over the whole fixture corpus, every token span re-normalises to the token', async () => {
  for (const name of ['uncased', 'cased']) {
    const tok = await BertTokenizer.fromDirectory(dirOf(name));
    const normalizer = new BertNormalizer(tok.options);
    const added = new Set(tok.addedTokens.map((t) => t.id));
    const { cases } = JSON.parse(await readFile(join(dirOf(name), 'expected.json'), 'utf8')) as { cases: { text: string; pair?: string }[] };
    let checked = 0;
    for (const c of cases) {
      const e = tok.encode(c.text, c.pair);
      let previousStart = -1;
      for (let i = 0; i < e.inputIds.length; i++) {
        const seq = e.sequenceIds[i];
        if (seq === null) {
          assert.deepEqual(e.offsets[i], [0, 0]);
          continue;
        }
        const source = seq === 0 ? c.text : c.pair!;
        const [s, t] = e.offsets[i]!;
        assert.ok(0 <= s && s < t && t <= source.length, `${name} ${JSON.stringify(c.text)} token ${i}: [${s}, ${t})`);
        if (e.sequenceIds[i - 1] === seq) assert.ok(s >= previousStart, 'offsets go forward');
        previousStart = s;
        const id = e.inputIds[i]!;
        if (id === tok.unkTokenId || added.has(id)) continue;
        const piece = e.tokens[i]!.startsWith('##') && e.wordIds[i] === e.wordIds[i - 1] ? e.tokens[i]!.slice(2) : e.tokens[i]!;
        assert.equal(normalizer.normalizeString(source.slice(s, t)).trim(), piece, `${name} ${JSON.stringify(source)}: ${e.tokens[i]} at [${s}, ${t})`);
        checked++;
      }
    }
    assert.ok(checked > 400, `${checked} tokens checked`);
  }
});
