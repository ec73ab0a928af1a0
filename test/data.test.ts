// Data files: every reader on real samples, every kind of bad input stopping with file, line and
// problem, label maps, splits, batching and the alignment of word labels to sub-tokens.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DataError,
  IGNORE_INDEX,
  LabelMap,
  collate,
  formatOf,
  loadTextExamples,
  loadTokenExamples,
  planBatches,
  readTextExamples,
  shuffle,
  stratifiedSplit,
  textFeatures,
  tokenFeatures,
} from '../src/data/index.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-data-'));
after(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

/** Asserts that `p` rejects with a DataError for `path` at `line` whose message matches `re`. */
async function rejectsAt(p: Promise<unknown>, path: string, line: number | undefined, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `a DataError, got ${String(e)}`);
    assert.equal(e.file, path);
    assert.equal(e.line, line, e.message);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`${path}${line === undefined ? '' : `:${line}`}: `), e.message);
    return true;
  });
}

test('real samples: banking77 JSONL, waimai_10k CSV with a column override, CoNLL-2003', async () => {
  const banking = await loadTextExamples(fixture('banking77-4class-train.jsonl'));
  assert.equal(banking.length, 320);
  assert.equal(banking[0]!.line, 1);
  const waimai = await loadTextExamples(fixture('e2e/waimai-train.csv'), { columns: { text: 'review' } });
  assert.equal(waimai.length, 400);
  assert.deepEqual(new Set(waimai.map((e) => e.label)), new Set(['0', '1']));
  assert.ok(
    waimai.some((e) => e.text.includes(',')),
    'quoted fields with commas survive',
  );
  const conll = await loadTokenExamples(fixture('e2e/conll-train.conll'));
  assert.equal(conll.length, 400);
  assert.deepEqual(conll[0]!.tokens.slice(0, 3), ['EU', 'rejects', 'German']);
  assert.deepEqual(conll[0]!.tags!.slice(0, 3), ['B-ORG', 'O', 'B-MISC']);
  assert.equal(conll[1]!.line, conll[0]!.tokens.length + 2);
});

test('formats: TSV without quoting, BOM and CRLF, pairs, JSONL tokens, multi-label cells and arrays', async () => {
  const tsv = file('pairs.tsv', '\ufefftext\ttext_pair\tlabel\r\nsays "hi"\tand "bye\tyes\r\nno\tpair\tno\r\n');
  const ex = await loadTextExamples(tsv);
  assert.deepEqual(
    ex.map((e) => [e.text, e.textPair, e.label]),
    [
      ['says "hi"', 'and "bye', 'yes'],
      ['no', 'pair', 'no'],
    ],
  );
  const multi = await loadTextExamples(file('multi.csv', 'text,label\n"good food, slow",food|speed\n'), { multiLabelSeparator: '|' });
  assert.deepEqual(multi[0]!.label, ['food', 'speed']);
  const arr = await loadTextExamples(file('multi.jsonl', '{"text": "x", "label": ["a", "b"]}\n{"text": "y", "label": 3}\n'), { multiLabelSeparator: ',' });
  assert.deepEqual(
    arr.map((e) => e.label),
    [['a', 'b'], ['3']],
  );
  const tok = await loadTokenExamples(file('ner.jsonl', '{"tokens": ["Paris", "is"], "ner_tags": ["B-LOC", "O"]}\n'));
  assert.deepEqual(tok[0]!.tags, ['B-LOC', 'O']);
  assert.equal(formatOf('a.ndjson'), 'jsonl');
});

test('bad input: each problem names the file, the line and what to do', async () => {
  await rejectsAt(loadTextExamples(join(work, 'nope.csv')), join(work, 'nope.csv'), undefined, /no such file/);
  const empty = file('empty.csv', '');
  await rejectsAt(loadTextExamples(empty), empty, undefined, /empty/);
  const headerOnly = file('header.csv', 'text,label\n');
  await rejectsAt(loadTextExamples(headerOnly), headerOnly, undefined, /no examples/);
  const noColumn = file('nocol.csv', 'sentence,label\nhello,a\n');
  await rejectsAt(loadTextExamples(noColumn), noColumn, 1, /no column "text".*columns: sentence, label.*--text-column/);
  const noLabel = file('nolabel.csv', 'text,category\nhello,a\n');
  await rejectsAt(loadTextExamples(noLabel), noLabel, 1, /no column "label".*--label-column/);
  const quote = file('quote.csv', 'text,label\nfine,a\n"broken,b\nmore,c\n');
  await rejectsAt(loadTextExamples(quote), quote, 3, /quoted field is never closed/); // the line where the quote opens
  const fields = file('fields.csv', 'text,label\na,b\na,b,c\n');
  await rejectsAt(loadTextExamples(fields), fields, 3, /different number of fields/);
  const bytes = new Uint8Array([...Buffer.from('text,label\nok,a\nbad '), 0xc3, 0x28, ...Buffer.from(',b\n')]);
  const utf8 = file('latin.csv', bytes);
  await rejectsAt(loadTextExamples(utf8), utf8, 3, /not valid UTF-8/);
  const json = file('bad.jsonl', '{"text": "a", "label": "x"}\n{"text": "b", label: "y"}\n');
  await rejectsAt(loadTextExamples(json), json, 2, /not valid JSON/);
  const notObject = file('array.jsonl', '["a", "x"]\n');
  await rejectsAt(loadTextExamples(notObject), notObject, 1, /expected a JSON object/);
  const wrongType = file('type.jsonl', '{"text": 5, "label": "x"}\n');
  await rejectsAt(loadTextExamples(wrongType), wrongType, 1, /"text" must be a string/);
  const emptyText = file('blank.csv', 'text,label\n   ,a\n');
  await rejectsAt(loadTextExamples(emptyText), emptyText, 2, /empty text/);
  const missingLabel = file('unlabelled.jsonl', '{"text": "a"}\n');
  await rejectsAt(loadTextExamples(missingLabel), missingLabel, 1, /no "label"/);
  assert.equal((await loadTextExamples(missingLabel, { requireLabels: false }))[0]!.label, undefined);
  const conll = file('bad.conll', 'Paris NNP B-LOC\nis VBZ O\n\nRome B-LOC\n');
  await rejectsAt(loadTokenExamples(conll), conll, 4, /2 field\(s\) where every line so far had 3/);
  const lengths = file('len.jsonl', '{"tokens": ["a", "b"], "tags": ["O"]}\n');
  await rejectsAt(loadTokenExamples(lengths), lengths, 1, /2 words but 1 tags/);
  await rejectsAt(loadTextExamples(file('x.xlsx', 'x')), join(work, 'x.xlsx'), undefined, /cannot tell the format/);
  await rejectsAt(loadTextExamples(conll), conll, undefined, /token-classification/);
});

test('labels: sorted and stable, unknown labels at evaluation name the file and line', () => {
  const m = LabelMap.fromExamples(['b', 'a', ['c', 'a']]);
  assert.deepEqual(m.labels, ['a', 'b', 'c']);
  assert.deepEqual(m.toConfig(), { id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } });
  assert.ok(LabelMap.fromConfig(m.toConfig().id2label).equals(m));
  assert.throws(
    () => m.id('zzz', { file: 'test.csv', line: 7 }),
    (e: unknown) => e instanceof DataError && /^test\.csv:7: label "zzz" is not one of the model's 3 labels \(a, b, c\)/.test((e as Error).message),
  );
});

test('splits and order: seeded shuffles, stratified validation keeps every class in training', () => {
  const items = Array.from({ length: 103 }, (_, i) => ({ i, y: i % 10 === 0 ? 'rare' : i % 2 ? 'odd' : 'even' }));
  assert.deepEqual(shuffle(items, 1), shuffle(items, 1));
  assert.notDeepEqual(shuffle(items, 1), shuffle(items, 2));
  const { train, validation } = stratifiedSplit(items, (x) => x.y, 0.2, 3);
  assert.equal(train.length + validation.length, items.length);
  for (const cls of ['rare', 'odd', 'even']) {
    const all = items.filter((x) => x.y === cls).length;
    const held = validation.filter((x) => x.y === cls).length;
    assert.ok(Math.abs(held - all * 0.2) <= 1, `${cls}: ${held} of ${all}`);
  }
  assert.deepEqual(
    stratifiedSplit(items, (x) => x.y, 0.2, 3),
    { train, validation },
  );
  assert.equal(stratifiedSplit([{ y: 'solo' }], (x) => x.y, 0.5, 0).train.length, 1);
});

test('batches: every example once, length grouping cuts padding, collate pads dynamically', () => {
  const lengths = Array.from({ length: 200 }, (_, i) => 5 + ((i * 37) % 60));
  for (const groupByLength of [false, true]) {
    const plan = planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4, groupByLength });
    assert.deepEqual(
      plan.flat().sort((a, b) => a - b),
      [...lengths.keys()],
    );
  }
  const padding = (plan: number[][]) => plan.reduce((t, b) => t + b.length * Math.max(...b.map((i) => lengths[i]!)) - b.reduce((s, i) => s + lengths[i]!, 0), 0);
  assert.ok(
    padding(planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4, groupByLength: true })) < padding(planBatches(lengths, { batchSize: 16, shuffle: true, seed: 4 })) / 3,
  );
  assert.equal(planBatches(lengths, { batchSize: 16, dropLast: true }).length, 12);

  const f = (n: number, label: number) => ({ inputIds: Int32Array.from({ length: n }, (_, i) => i + 10), tokenTypeIds: new Int32Array(n), labels: label, line: 1 });
  const b = collate([f(3, 1), f(5, 0)], [0, 1], { padId: 0, task: 'single_label' });
  assert.deepEqual(b.input_ids!.dims, [2, 5]);
  assert.deepEqual([...(b.input_ids!.data as BigInt64Array)].map(Number), [10, 11, 12, 0, 0, 10, 11, 12, 13, 14]);
  assert.deepEqual([...(b.attention_mask!.data as BigInt64Array)].map(Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
  assert.deepEqual([...(b.labels!.data as BigInt64Array)].map(Number), [1, 0]);
  assert.deepEqual(collate([f(3, 1)], [0], { padId: 0, task: 'single_label', padToMultipleOf: 8 }).input_ids!.dims, [1, 8]);
});

test('features: texts truncated, word labels on the first sub-token only, streaming stays in bounded memory', async () => {
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

  const big = join(work, 'big.jsonl');
  const line = JSON.stringify({ text: 'a moderately long review text '.repeat(4), label: 'x' }) + '\n';
  writeFileSync(big, line.repeat(200_000));
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  let peak = 0;
  for await (const e of readTextExamples(big)) {
    n++;
    if (n % 20000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    assert.ok(e.text);
  }
  assert.equal(n, 200_000);
  assert.ok(peak < 64e6, `heap grew by ${(peak / 1e6).toFixed(1)} MB while streaming a ${((line.length * 2e5) / 1e6).toFixed(0)} MB file`);
});
