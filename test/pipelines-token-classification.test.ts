// token-classification end to end on a hand-built checkpoint whose logits are fixed per token (see
// test/helpers/pipeline-models.ts), so expected entities, scores and offsets follow by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipeline, PipelineError, type EntityGroup, type TokenClassificationPipeline } from '../src/index.js';
import { tempDir, writeSequenceClassifier, writeTokenLogitModel } from './helpers/pipeline-models.js';

const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'john', 'lives', 'in', 'wash', '##ing', '##ton', 'and', 'new', 'york', 'is', 'big', '.'];
const O = [4, 0, 0, 0, 0];
const LOGITS: Record<string, number[]> = {
  john: [0, 4, 0, 0, 0],
  wash: [0, 0, 0, 3, 0],
  '##ing': [0, 0, 5, 0, 0],
  '##ton': [0, 0, 0, 3, 0],
  new: [0, 0, 0, 3, 0],
  york: [0, 0, 0, 0, 3],
  ...Object.fromEntries(['lives', 'in', 'and', 'is', 'big', '.', '[UNK]'].map((t) => [t, O])),
};
/** Softmax probability of the largest logit when the other four are 0. */
const p = (z: number) => Math.exp(z) / (Math.exp(z) + 4);
const near = (a: number, b: number) => Math.abs(a - b) < 1e-5;

const TEXT = 'John lives in Washington and New York is big.';
let dir: string;
let ner: TokenClassificationPipeline;

test.before(async () => {
  dir = await writeTokenLogitModel(await tempDir('ner'), VOCAB, LABELS, LOGITS, { maxPositions: 64 });
  ner = await pipeline('token-classification', dir, { threads: 1 });
});
test.after(() => ner.dispose());

// An entity group's word is the group as written in the text (transformers.js names, tuna's spelling).
const summary = (groups: EntityGroup[]) => groups.map((g) => [g.entity_group, TEXT.slice(g.start, g.end), g.word]);

test('each strategy on a word whose sub-tokens disagree (wash=B-LOC, ##ing=I-PER, ##ton=B-LOC)', async () => {
  assert.deepEqual(summary(await ner(TEXT, { aggregationStrategy: 'simple' })), [
    ['PER', 'John', 'John'],
    ['LOC', 'Wash', 'Wash'],
    ['PER', 'ing', 'ing'],
    ['LOC', 'ton', 'ton'],
    ['LOC', 'New York', 'New York'],
  ]);
  const first = await ner(TEXT, { aggregationStrategy: 'first' });
  assert.deepEqual(summary(first), [
    ['PER', 'John', 'John'],
    ['LOC', 'Washington', 'Washington'],
    ['LOC', 'New York', 'New York'],
  ]);
  assert.ok(near(first[1]!.score, p(3)), 'first: the score of wash');
  const max = await ner(TEXT, { aggregationStrategy: 'max' });
  assert.deepEqual(summary(max)[1], ['PER', 'Washington', 'Washington']);
  assert.ok(near(max[1]!.score, p(5)), 'max: the score of ##ing');
  const average = await ner(TEXT, { aggregationStrategy: 'average' });
  assert.deepEqual(summary(average)[1], ['LOC', 'Washington', 'Washington']);
  // B-LOC probabilities: wash p(3), ##ing 1/(e^5+4), ##ton p(3).
  assert.ok(near(average[1]!.score, (2 * p(3) + 1 / (Math.exp(5) + 4)) / 3), 'average: mean B-LOC probability');
  const newYork = first[2]!;
  assert.ok(near(newYork.score, p(3)), 'group score: mean of the word scores');
});

test("'none' gives every non-O token with its index, token and offsets", async () => {
  const tokens = await ner(TEXT);
  assert.deepEqual(
    tokens.map((t) => [t.entity, t.index, t.word, TEXT.slice(t.start, t.end)]),
    [
      ['B-PER', 1, 'john', 'John'],
      ['B-LOC', 4, 'wash', 'Wash'],
      ['I-PER', 5, '##ing', 'ing'],
      ['B-LOC', 6, '##ton', 'ton'],
      ['B-LOC', 8, 'new', 'New'],
      ['I-LOC', 9, 'york', 'York'],
    ],
  );
  assert.ok(near(tokens[0]!.score, p(4)));
  assert.equal((await ner(TEXT, { ignoreLabels: [] })).length, 12, 'every token of the text when nothing is ignored');
});

test('offsets are UTF-16 indices into the original string; unknown words keep their text', async () => {
  const text = '😀 Über john  in\tNEW YORK';
  const groups = await ner(text, { aggregationStrategy: 'simple' });
  for (const g of groups) assert.equal(g.word, text.slice(g.start, g.end));
  assert.deepEqual(
    groups.map((g) => text.slice(g.start, g.end)),
    ['john', 'NEW YORK'],
  );
  assert.equal(groups[0]!.start, 8, 'the emoji counts two code units');
  const tokens = await ner(text, { ignoreLabels: [] });
  assert.equal(tokens[0]!.word, '😀', 'an [UNK] token reports the original text');
  assert.deepEqual(
    tokens.map((t) => text.slice(t.start, t.end)),
    ['😀', 'Über', 'john', 'in', 'NEW', 'YORK'],
  );
});

test('strided windows find the same entities as one window, including those beyond the first window', async () => {
  const long = Array.from({ length: 4 }, () => TEXT).join(' ');
  const wide = await ner(long, { aggregationStrategy: 'first' });
  assert.equal(wide.length, 12, 'the whole text fits 64 positions: 3 entities per sentence');
  // Expected spans, found independently in the text.
  const expected: [string, number][] = [];
  let from = 0;
  for (let k = 0; k < 4; k++) {
    for (const word of ['John', 'Washington', 'New York']) {
      const at = long.indexOf(word, from);
      expected.push([word, at]);
      from = at + 1;
    }
  }
  assert.deepEqual(
    wide.map((g) => [long.slice(g.start, g.end), g.start]),
    expected,
  );
  const narrow = await pipeline('token-classification', dir, { maxLength: 12, threads: 1 });
  try {
    const truncated = await narrow(long, { aggregationStrategy: 'first' });
    // 10 tokens fit: john lives in wash ##ing ##ton and new york is
    assert.deepEqual(
      truncated.map((g) => g.start),
      expected.slice(0, 3).map(([, at]) => at),
      'without a stride, the text is cut at maxLength',
    );
    for (const stride of [3, 5]) {
      const windows = await narrow(long, { aggregationStrategy: 'first', stride });
      assert.deepEqual(
        windows.map((g) => [g.entity_group, g.start, g.end, g.word]),
        wide.map((g) => [g.entity_group, g.start, g.end, g.word]),
        `stride ${stride}`,
      );
      for (const [a, b] of windows.map((g, i) => [g.score, wide[i]!.score])) assert.ok(near(a!, b!));
    }
    const short = 'John lives in New York.';
    assert.deepEqual(await narrow(short, { aggregationStrategy: 'simple', stride: 4 }), await narrow(short, { aggregationStrategy: 'simple' }));
    await assert.rejects(narrow(long, { stride: 3 }), (e: PipelineError) => e.code === 'invalid_option' && e.field === 'stride');
    await assert.rejects(narrow(long, { aggregationStrategy: 'first', stride: 10 }), /stride must be an integer from 0 to 9/);
  } finally {
    await narrow.dispose();
  }
});

test('batches: one result per input in order, independent of batch size', async () => {
  const texts = ['New York is big.', TEXT, 'john', 'in wash', 'and john and new york and john'];
  const one = await ner.runBatch(texts, { aggregationStrategy: 'simple', batchSize: 1 });
  const all = await ner(texts, { aggregationStrategy: 'simple', batchSize: 32 });
  assert.deepEqual(all, one);
  for (const [i, t] of texts.entries()) assert.deepEqual(await ner(t, { aggregationStrategy: 'simple' }), one[i]);
  assert.deepEqual(await ner.runBatch([]), []);
});

test('errors: empty text, bad options, a sequence classifier', async () => {
  await assert.rejects(ner(['fine', '  ']), (e: PipelineError) => e instanceof PipelineError && e.code === 'invalid_input' && e.field === 'inputs[1]' && /empty/.test(e.message));
  await assert.rejects(ner(TEXT, { aggregationStrategy: 'longest' as never }), /aggregationStrategy must be one of 'none', 'simple', 'first', 'average', 'max'/);
  const cls = await writeSequenceClassifier(await tempDir('ner-cls'), { 0: 'neg', 1: 'pos' });
  await assert.rejects(pipeline('token-classification', cls), (e: PipelineError) => {
    assert.equal(e.code, 'wrong_task');
    assert.match(e.message, /token-classification needs a token-classification head \(BertForTokenClassification\), but the checkpoint is a BertForSequenceClassification/);
    assert.match(e.message, /pipeline\('text-classification', \.\.\.\)/);
    return true;
  });
  assert.equal(ner.task, 'token-classification');
  assert.equal(ner.model, dir);
  assert.deepEqual(Object.values(ner.config.id2label), LABELS);
  assert.equal(ner.tokenizer.idToToken(5), 'john');
});
