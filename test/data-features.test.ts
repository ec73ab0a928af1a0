import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DataError, IGNORE_INDEX, LabelMap, type TokenExample, loadTextExamples, loadTokenExamples, textFeatures, tokenFeatures } from '../src/data/index.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/data/${name}`, import.meta.url));
// A character-level uncased vocabulary (plus a few whole words such as "hello", "world").
const tokenizer = await BertTokenizer.fromDirectory(fileURLToPath(new URL('./fixtures/tokenizer/uncased/', import.meta.url)));
const idsOf = (tokens: string[]) => tokens.map((t) => tokenizer.tokenToId(t)!);

test('encodeWords: each word tokenized on its own; word ids index the given words, offsets are per word', () => {
  const enc = tokenizer.encodeWords(['U.S.', 'Hello']);
  assert.deepEqual(enc.tokens, ['[CLS]', 'u', '.', 's', '.', 'hello', '[SEP]']);
  assert.deepEqual(enc.wordIds, [null, 0, 0, 0, 0, 1, null]);
  assert.deepEqual(enc.offsets, [
    [0, 0],
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
    [0, 5],
    [0, 0],
  ]);
  assert.deepEqual(enc.inputIds, idsOf(enc.tokens));
  assert.deepEqual(enc.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(enc.specialTokensMask, [1, 0, 0, 0, 0, 0, 1]);
  // A word with a space inside is still one word; an empty word makes no tokens.
  const spaced = tokenizer.encodeWords(['New York', '', 'Hello']);
  assert.deepEqual(spaced.tokens, ['[CLS]', 'n', '##e', '##w', 'y', '##o', '##r', '##k', 'hello', '[SEP]']);
  assert.deepEqual(spaced.wordIds, [null, 0, 0, 0, 0, 0, 0, 0, 2, null]);
  assert.deepEqual(spaced.offsets.slice(4, 5), [[4, 5]]);
  // The same tokens as encoding the joined text, whose word ids count pre-tokenized pieces instead.
  assert.deepEqual(tokenizer.encode('U.S. Hello').inputIds, enc.inputIds);
  assert.deepEqual(tokenizer.encode('U.S. Hello').wordIds, [null, 0, 1, 2, 3, 4, null]);
});

test('encodeWords: truncation and special tokens as in encode', () => {
  assert.deepEqual(tokenizer.encodeWords(['U.S.', 'Hello'], { maxLength: 4 }).wordIds, [null, 0, 0, null]);
  assert.deepEqual(tokenizer.encodeWords(['Hello', 'world'], { maxLength: 4 }).tokens, ['[CLS]', 'hello', 'world', '[SEP]']);
  const bare = tokenizer.encodeWords(['Hello', 'world'], { addSpecialTokens: false });
  assert.deepEqual(bare.tokens, ['hello', 'world']);
  assert.deepEqual(bare.wordIds, [0, 1]);
  const padded = tokenizer.encodeWords(['Hello'], { maxLength: 5, padding: 'max_length' });
  assert.deepEqual(padded.tokens, ['[CLS]', 'hello', '[SEP]', '[PAD]', '[PAD]']);
  assert.deepEqual(padded.wordIds, [null, 0, null, null, null]);
});

test('textFeatures: ids and type ids from the tokenizer, truncated; class ids from the label map', async () => {
  const ex = await loadTextExamples(fx('banking77-train-sample.csv'), { columns: { label: 'category' } });
  const labels = LabelMap.fromExamples(ex.map((e) => e.label!));
  const features = textFeatures(tokenizer, ex, labels, { maxLength: 16 });
  assert.equal(features.length, ex.length);
  const first = features[0]!;
  assert.deepEqual([...first.inputIds], tokenizer.encode(ex[0]!.text, undefined, { maxLength: 16 }).inputIds);
  assert.equal(first.inputIds.length, 16);
  assert.equal(first.inputIds[0], tokenizer.clsTokenId);
  assert.equal(first.inputIds[15], tokenizer.sepTokenId);
  assert.equal(first.labels, labels.id('card_arrival'));
  assert.equal(first.line, 2);
  assert.equal(first.file, fx('banking77-train-sample.csv'));
  assert.deepEqual(
    features.map((f) => f.labels),
    ex.map((e) => labels.id(e.label as string)),
  );
  assert.ok(features.every((f) => f.inputIds.length <= 16 && f.tokenTypeIds.every((t) => t === 0)));

  // Pairs: token type 1 on the second text and its [SEP].
  const pairs = await loadTextExamples(fx('pairs.jsonl'));
  const [pf] = textFeatures(tokenizer, pairs, LabelMap.fromExamples(['no', 'yes']), { maxLength: 64 });
  const enc = tokenizer.encode(pairs[0]!.text, pairs[0]!.textPair);
  assert.deepEqual([...pf!.inputIds], enc.inputIds);
  assert.deepEqual([...pf!.tokenTypeIds], enc.tokenTypeIds);
  assert.equal(pf!.tokenTypeIds.at(-1), 1);
  assert.equal(pf!.labels, 1);

  // No label map (or no labels): features without labels, for prediction.
  assert.ok(textFeatures(tokenizer, ex.slice(0, 2), undefined, { maxLength: 16 }).every((f) => f.labels === undefined));
});

test('textFeatures: multi-label 0/1 vectors; unknown labels and several labels on a single-label task are DataErrors', async () => {
  const ex = await loadTextExamples(fx('multi-label.csv'), { multiLabelSeparator: '|', requireLabels: false });
  const labels = LabelMap.fromExamples(ex.filter((e) => e.label).map((e) => e.label!));
  const features = textFeatures(tokenizer, ex, labels, { maxLength: 32, multiLabel: true });
  assert.deepEqual(labels.labels, ['cold', 'good', 'late']);
  assert.deepEqual(features[0]!.labels, new Float32Array([1, 0, 1]));
  assert.equal(features[1]!.labels, undefined);
  assert.deepEqual(features[2]!.labels, new Float32Array([0, 1, 0]));
  assert.throws(
    () => textFeatures(tokenizer, ex, labels, { maxLength: 32 }),
    (e: unknown) => e instanceof DataError && e.line === 2 && /2 labels \(cold, late\) for a single-label task/.test(e.message) && /--multi-label/.test(e.message),
  );

  const unknown = await loadTextExamples(fx('bad/unknown-label.jsonl'));
  const model = LabelMap.fromConfig({ '0': 'card_arrival', '1': 'exchange_rate' });
  assert.throws(
    () => textFeatures(tokenizer, unknown, model, { maxLength: 32 }),
    (e: unknown) =>
      e instanceof DataError &&
      e.message === `${fx('bad/unknown-label.jsonl')}:2: label "greeting" is not one of the model's 2 labels (card_arrival, exchange_rate); retrain with it or fix the data`,
  );
});

test('tokenFeatures: the tag on the first sub-token of each word, -100 on the rest and on [CLS]/[SEP]', async () => {
  const sentences = await loadTokenExamples(fx('conll2003-train-sample.txt'));
  const tags = LabelMap.fromExamples(sentences.map((s) => s.tags!));
  const [f] = tokenFeatures(tokenizer, [sentences[1]!], tags, { maxLength: 64 }); // Peter Blackburn
  const enc = tokenizer.encodeWords(['Peter', 'Blackburn']);
  assert.deepEqual([...f!.inputIds], enc.inputIds);
  assert.deepEqual(enc.tokens.slice(0, 7), ['[CLS]', 'p', '##e', '##t', '##e', '##r', 'b']);
  const per = tags.id('B-PER');
  const iper = tags.id('I-PER');
  const ig = IGNORE_INDEX;
  // p ##e ##t ##e ##r, b ##l ##a ##c ##k ##b ##u ##r ##n
  assert.deepEqual([...(f!.labels as Int32Array)], [ig, per, ig, ig, ig, ig, iper, ig, ig, ig, ig, ig, ig, ig, ig, ig]);
  assert.deepEqual([...f!.wordIds!], [-1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1]);
  assert.equal(f!.line, 13);

  const [all] = tokenFeatures(tokenizer, [sentences[1]!], tags, { maxLength: 64, labelAllTokens: true });
  assert.deepEqual([...(all!.labels as Int32Array)], [ig, per, per, per, per, per, iper, iper, iper, iper, iper, iper, iper, iper, iper, ig]);
});

test('tokenFeatures: words cut by truncation are dropped; unknown tags name the word; no map means no labels', () => {
  const s: TokenExample = { tokens: ['Hello', 'U.S.', 'world'], tags: ['O', 'B-LOC', 'O'], line: 5 };
  const tags = LabelMap.fromExamples(['B-LOC', 'O']);
  const [f] = tokenFeatures(tokenizer, [s], tags, { maxLength: 5 });
  // [CLS] hello u . [SEP]: "U.S." is cut after two pieces, "world" is gone.
  assert.deepEqual([...f!.wordIds!], [-1, 0, 1, 1, -1]);
  assert.deepEqual([...(f!.labels as Int32Array)], [IGNORE_INDEX, tags.id('O'), tags.id('B-LOC'), IGNORE_INDEX, IGNORE_INDEX]);
  assert.equal(tokenFeatures(tokenizer, [s], undefined, { maxLength: 5 })[0]!.labels, undefined);
  assert.throws(
    () => tokenFeatures(tokenizer, [{ ...s, file: 'ner.conll', tags: ['O', 'B-GPE', 'O'] }], tags, { maxLength: 16 }),
    (e: unknown) =>
      e instanceof DataError && e.file === 'ner.conll' && e.line === 5 && /^ner\.conll:5: label "B-GPE" of word 2 \("U\.S\."\) is not one of the model's 2 labels/.test(e.message),
  );
  assert.throws(() => tokenFeatures(tokenizer, [{ ...s, tags: ['O'] }], tags, { maxLength: 16 }), /3 words but 1 tags/);
});

test('features: texts truncated, word labels on the first sub-token only', async () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'u', '.', 's', 'hello', 'world', '##s', 'paris'];
  const tok = new BertTokenizer(vocab);
  const enc = tok.encodeWords(['U.S.', 'Hello']);
  assert.deepEqual(enc.tokens, ['[CLS]', 'u', '.', 's', '.', 'hello', '[SEP]']);
  assert.deepEqual(enc.wordIds, [null, 0, 0, 0, 0, 1, null]);
  const labels = LabelMap.fromExamples(['B-LOC', 'O']);
  const [feat] = tokenFeatures(tok, [{ tokens: ['U.S.', 'Hello', 'worlds'], tags: ['B-LOC', 'O', 'O'], file: 'f', line: 1 }], labels, { maxLength: 32 });
  assert.deepEqual([...(feat!.labels as Int32Array)], [IGNORE_INDEX, 0, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 1, 1, IGNORE_INDEX, IGNORE_INDEX]);
  const [cut] = tokenFeatures(tok, [{ tokens: ['hello', 'world', 'paris'], tags: ['O', 'O', 'B-LOC'], file: 'f', line: 1 }], labels, { maxLength: 4 });
  assert.equal(cut!.inputIds.length, 4);
  assert.deepEqual([...(cut!.labels as Int32Array)], [IGNORE_INDEX, 1, 1, IGNORE_INDEX]);
  const [text] = textFeatures(tok, [{ text: 'hello world hello world', label: 'O', file: 'f', line: 1 }], labels, { maxLength: 4 });
  assert.equal(text!.inputIds.length, 4);
  assert.equal(text!.labels, 1);
  assert.throws(() => tokenFeatures(tok, [{ tokens: ['x'], tags: ['B-PER'], file: 'dev.conll', line: 9 }], labels, { maxLength: 8 }), /dev\.conll:9: label "B-PER"/);
});
