// Hostile data files and labels: keys such as __proto__, huge label sets, CR-only and newline-free
// files, duplicate and doubly-named columns, devices, and long texts through the tokenizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, LabelMap, loadTextExamples, loadTokenExamples } from '../src/data/index.js';
import { TunaError } from '../src/errors.js';
import {
  classificationReport,
  entityReport,
  formatClassificationReport,
  formatConfusionMatrix,
  confusionMatrix,
  multiLabelClassificationReport,
  reportToJson,
} from '../src/metrics/index.js';
import { labelMapOf, labelSetWarning, parseLabelList, readExamples } from '../src/tasks/prepare.js';
import { learningCurveSvg } from '../src/train/curve.js';
import { CONFUSION_MATRIX_MAX_LABELS, taskReport } from '../src/tasks/reports.js';
import { aggregateTokens } from '../src/pipelines/aggregation.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { BUNDLED_EN, tempDir } from './helpers/pipeline-models.js';

const KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
/** `__proto__` as a plain string key (TypeScript reads `x.__proto__` as the prototype). */
const PROTO: string = KEYS[0]!;

async function file(name: string, text: string | Buffer): Promise<string> {
  const path = join(await tempDir('hardening-data'), name);
  writeFileSync(path, text);
  return path;
}

async function rejectsData(p: Promise<unknown>, file: string, line: number | undefined, ...patterns: RegExp[]): Promise<DataError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
  assert.equal(err.code, 'invalid_data');
  assert.equal(err.file, file);
  assert.equal(err.line, line, err.message);
  for (const p of patterns) assert.match(err.message, p);
  return err;
}

test('labels named __proto__, constructor, toString, hasOwnProperty are rows of every report like any other', () => {
  const yTrue = [...KEYS, 'a', '__proto__'];
  const yPred = [...KEYS, 'a', 'a'];
  const report = classificationReport(yTrue, yPred);
  assert.deepEqual(report.labelOrder, ['__proto__', 'a', 'constructor', 'hasOwnProperty', 'toString']);
  assert.deepEqual(Object.keys(report.labels).sort(), [...report.labelOrder].sort());
  assert.deepEqual(report.labels[PROTO], { precision: 1, recall: 0.5, 'f1-score': 2 / 3, support: 2 });
  assert.equal(report['macro avg'].support, 6);
  const json = JSON.parse(JSON.stringify(reportToJson(report)));
  for (const k of KEYS) assert.ok(Object.hasOwn(json, k), `${k} in the JSON report`);
  assert.equal(json[PROTO].support, 2);
  assert.match(formatClassificationReport(report), /__proto__\s+1\.00\s+0\.50\s+0\.67\s+2\n/);

  const multi = multiLabelClassificationReport([['__proto__', 'constructor'], ['toString']], [['__proto__'], ['toString', 'constructor']]);
  assert.deepEqual(multi.labelOrder, ['__proto__', 'constructor', 'toString']);
  assert.equal(multi.labels[PROTO]!.recall, 1);
  assert.equal(multi.labels['constructor' as string]!.support, 1);

  const entities = entityReport([['B-__proto__', 'I-__proto__', 'O', 'B-constructor']], [['B-__proto__', 'I-__proto__', 'O', 'O']]);
  assert.deepEqual(entities.labelOrder, ['__proto__', 'constructor']);
  assert.equal(entities.labels[PROTO]!['f1-score'], 1);
  assert.equal(entities.labels['constructor' as string]!.recall, 0);
  assert.ok(Object.hasOwn(JSON.parse(JSON.stringify(reportToJson(entities))), '__proto__'));
});

test('label maps, data readers and label lists keep __proto__ and friends', async () => {
  const map = LabelMap.fromExamples([...KEYS].reverse());
  assert.deepEqual(map.labels, [...KEYS].sort());
  const config = JSON.parse(JSON.stringify(map.toConfig()));
  assert.equal(config.label2id[PROTO], map.id(PROTO));
  assert.ok(LabelMap.fromConfig(config.id2label).equals(map));

  const csv = await file('keys.csv', `text,label\n${KEYS.map((k) => `a text,${k}`).join('\n')}\n`);
  assert.deepEqual(
    (await loadTextExamples(csv)).map((e) => e.label),
    KEYS,
  );
  const jsonl = await file('keys.jsonl', `${KEYS.map((k) => JSON.stringify({ text: 'a text', label: k })).join('\n')}\n`);
  assert.deepEqual(
    (await loadTextExamples(jsonl)).map((e) => e.label),
    KEYS,
  );
  // A field named after an Object.prototype member is read only when the line has it.
  const noField = await file('nofield.jsonl', '{"text": "hi", "label": "a"}\n');
  await rejectsData(loadTextExamples(noField, { columns: { text: 'constructor' } }), noField, 1, /no field "constructor"/);
  const proto = await file('proto.jsonl', '{"__proto__": "the text", "label": "a"}\n');
  assert.equal((await loadTextExamples(proto, { columns: { text: '__proto__' } }))[0]!.text, 'the text');
  const tokens = await file('keys-tokens.jsonl', `${JSON.stringify({ tokens: ['x', 'y'], ner_tags: ['B-__proto__', 'constructor'] })}\n`);
  assert.deepEqual((await loadTokenExamples(tokens))[0]!.tags, ['B-__proto__', 'constructor']);
  assert.deepEqual(parseLabelList(KEYS.join(',')), KEYS);
});

test('200,000 labels and values: reports, confusion matrix widths, curves and aggregation need no deep call stack', () => {
  const labels = Array.from({ length: 200_000 }, (_, i) => `label-${i}`);
  const report = classificationReport(labels, labels);
  assert.equal(report.accuracy, 1);
  const text = formatClassificationReport(report);
  assert.ok(text.includes('label-199999'));
  const multi = multiLabelClassificationReport(
    labels.map((l) => [l]),
    labels.map((l) => [l]),
  );
  assert.equal(multi['micro avg']!['f1-score'], 1);
  const some = labels.slice(0, 700);
  const cm = confusionMatrix(some, [...some.slice(1), some[0]!]);
  assert.equal(cm.matrix.length * cm.matrix[0]!.length, 490_000);
  assert.match(formatConfusionMatrix(cm), /#699\n/);

  const history = Array.from({ length: 200_000 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1), eval_loss: 2 / (i + 1) }));
  assert.match(learningCurveSvg(history), /^<svg/);

  const scores = Array.from({ length: 200_000 }, (_, i) => (i === 4 ? 0.9 : 0.1 / 200_000));
  const groups = aggregateTokens(
    [
      { word: 'a', scores, start: 0, end: 1, index: 1, isSubword: false },
      { word: '##b', scores, start: 1, end: 2, index: 2, isSubword: true },
    ],
    'max',
    [],
    { labelOf: (id) => (id === 4 ? 'B-X' : 'O'), joinTokens: (w) => w.join('').replace(/##/g, '') },
  ) as { entity_group: string }[];
  assert.deepEqual(
    groups.map((g) => g.entity_group),
    ['X'],
  );
});

test('a report over 5,000 labels leaves out the confusion matrix, which grows with their square', () => {
  const n = 5000;
  const labels = LabelMap.fromExamples(Array.from({ length: n }, (_, i) => `label-${String(i).padStart(4, '0')}`));
  const logits = Array.from({ length: 20 }, (_, i) => {
    const row = new Float32Array(n);
    row[i] = 1;
    return row;
  });
  const prediction = { logits, labels: logits.map((_, i) => i), numLabels: n, features: [] };
  const report = taskReport('single_label', prediction, labels);
  assert.equal(report.metrics.accuracy, 1);
  assert.ok(!('confusion_matrix' in report.json));
  assert.match(report.text, new RegExp(`confusion matrix left out: 5000 labels \\(more than ${CONFUSION_MATRIX_MAX_LABELS}\\)`));
  const few = taskReport('single_label', { ...prediction, logits: logits.map((r) => r.slice(0, 20)), numLabels: 20 }, LabelMap.fromExamples(labels.labels.slice(0, 20)));
  assert.equal((few.json.confusion_matrix as { matrix: number[][] }).matrix.length, 20);
});

test('a CR-only file is refused with line 1 and the fix; error lines quote at most a short excerpt', async () => {
  const cr = await file('mac.csv', 'text,label\rhello,a\rworld,b\r');
  const e = await rejectsData(loadTextExamples(cr), cr, 1, /carriage return alone/, /tr '\\r' '\\n'/);
  assert.ok(!e.message.includes('hello'), e.message);
  const crLong = await file('mac-long.csv', `text,label\r${'some text,a\r'.repeat(20_000)}`);
  await rejectsData(loadTextExamples(crLong), crLong, 1, /carriage return alone/);
  // CRLF files are fine, and so is a CR inside a quoted field of an LF file.
  const crlf = await file('crlf.csv', 'text,label\r\nhello,a\r\n"two\rparts",b\r\n');
  assert.deepEqual(
    (await loadTextExamples(crlf)).map((x) => x.text),
    ['hello', 'two\rparts'],
  );

  // A 2 MB file without a newline: its header is quoted in 80 characters or so.
  const wide = await file('wide.csv', 'x'.repeat(2_000_000));
  const w = await rejectsData(loadTextExamples(wide), wide, 1, /no column "text"/, /… \(2000000 characters\)/);
  assert.ok(w.message.length < 1500, `message of ${w.message.length} characters`);
  const wideJson = await file('wide.jsonl', `{"text": "${'y'.repeat(2_000_000)}`);
  assert.ok((await rejectsData(loadTextExamples(wideJson), wideJson, 1, /not valid JSON/)).message.length < 1500);
  const wideLabel = await file('wide-label.csv', `text,label\nhi,${'z'.repeat(2_000_000)}\n`);
  const labelled = await readExamples('text-classification', wideLabel, { labelList: ['a', 'b'] }).catch((x: unknown) => x);
  assert.ok(labelled instanceof DataError && labelled.line === 2 && labelled.message.length < 1500, String(labelled));
  const many = await file('many-columns.jsonl', `${JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`field${i}`, i])))}\n`);
  assert.ok((await rejectsData(loadTextExamples(many), many, 1, /no field "text"/, /50000 in all/)).message.length < 1500);
});

test('a duplicate column, one column named for two roles, and free-text labels are refused by name', async () => {
  const dup = await file('dup.csv', 'text,label,label\nhi,a,b\nyo,b,a\n');
  const d = await rejectsData(loadTextExamples(dup), dup, 1, /two columns named "label" \(columns 2 and 3\)/);
  assert.equal(d.field, 'label');
  const dupText = await file('dup-text.tsv', 'text\ttext\tlabel\nhi\tyo\ta\n');
  await rejectsData(loadTextExamples(dupText), dupText, 1, /two columns named "text" \(columns 1 and 2\)/);
  // A duplicate of a column not read is harmless.
  assert.equal((await loadTextExamples(await file('dup-other.csv', 'text,label,x,x\nhi,a,1,2\n'))).length, 1);

  const good = await file('good.csv', 'text,label\nhello,a\nworld,b\n');
  await rejectsData(loadTextExamples(good, { columns: { text: 'label' } }), good, undefined, /"label" is named as both the text column and the label column/);
  await rejectsData(loadTextExamples(good, { columns: { textPair: 'text' } }), good, undefined, /both the text column and the second text column/);
  // Unlabelled reading (predict) may read its text from a column called label.
  assert.deepEqual(
    (await loadTextExamples(good, { columns: { text: 'label' }, requireLabels: false })).map((e) => e.text),
    ['a', 'b'],
  );

  const free = await file('free.csv', `text,label\n${Array.from({ length: 300 }, (_, i) => `text ${i},reply number ${i}`).join('\n')}\n`);
  const examples = await readExamples('text-classification', free, {});
  assert.throws(
    () => labelMapOf(examples),
    (e: unknown) => e instanceof DataError && e.file === free && e.field === 'label' && /"label" has 300 distinct values among 300 labels: it looks like free text/.test(e.message),
  );
  // Many labels, each with examples enough: accepted, with a warning naming the file and column.
  const wide = await file('wide-classes.csv', `text,category\n${Array.from({ length: 4004 }, (_, i) => `text ${i},class ${i % 1001}`).join('\n')}\n`);
  const wideExamples = await readExamples('text-classification', wide, { labelColumn: 'category' });
  const wideMap = labelMapOf(wideExamples);
  assert.equal(wideMap.size, 1001);
  assert.match(labelSetWarning(wideExamples, wideMap)!, /wide-classes\.csv: "category" has 1001 distinct labels \(4\.0 examples per label/);
  assert.equal(labelSetWarning(examples, LabelMap.fromExamples(['a', 'b'])), undefined);
});

test('devices and missing or unreadable data files are refused with the file named', async () => {
  const dir = await tempDir('hardening-devices');
  const zero = join(dir, 'zero.csv');
  symlinkSync('/dev/zero', zero);
  await assert.rejects(loadTextExamples(zero), (e: unknown) => e instanceof TunaError && e.code === 'file_unreadable' && /zero\.csv .*is a character device/.test(e.message));
  const zeroConll = join(dir, 'zero.conll');
  symlinkSync('/dev/zero', zeroConll);
  await assert.rejects(loadTokenExamples(zeroConll), (e: unknown) => e instanceof TunaError && e.code === 'file_unreadable');
  const zeroList = join(dir, 'labels.txt');
  symlinkSync('/dev/zero', zeroList);
  assert.throws(
    () => parseLabelList(zeroList),
    (e: unknown) => e instanceof TunaError && e.code === 'file_unreadable' && e.file === zeroList,
  );
  await assert.rejects(loadTextExamples(`${dir}.csv`), (e: unknown) => e instanceof TunaError && e.code === 'file_not_found' && e.file === `${dir}.csv`);
  await assert.rejects(loadTextExamples(join(dir, 'loop.csv')), (e: unknown) => e instanceof TunaError && e.file === join(dir, 'loop.csv'));
  symlinkSync(join(dir, 'loop.csv'), join(dir, 'loop.csv'));
  await assert.rejects(loadTextExamples(join(dir, 'loop.csv')), (e: unknown) => e instanceof TunaError && e.code === 'file_system' && /symbolic-link loop/.test(e.message));
});

test('a long text is tokenized only as far as truncation keeps: same ids and offsets as tokenizing all of it', async () => {
  const tok = await BertTokenizer.fromDirectory(BUNDLED_EN);
  let seed = 12345;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pieces = [
    'word',
    'Über',
    'e\u0301',
    ' ',
    '   ',
    '\n',
    '\t',
    '.',
    ',',
    '!',
    '[CLS]',
    '[MASK]',
    '中',
    '文',
    '\u0000',
    '\u200b',
    'ΑΣ',
    '_',
    '😀',
    'x'.repeat(150),
    '\u0301',
    '[',
    ']',
    '##',
  ];
  const pieceOf = () => pieces[Math.floor(random() * pieces.length)]!;
  const randomText = () => {
    let t = '';
    const n = Math.floor(random() * 3000);
    for (let i = 0; i < n; i++) t += random() < 0.02 ? ' '.repeat(700) : pieceOf();
    return t;
  };
  for (let n = 0; n < 300; n++) {
    const text = randomText();
    const pair = n % 3 === 0 ? randomText() : undefined;
    const maxLength = 5 + Math.floor(random() * 40);
    const cut = tok.encode(text, pair, { maxLength });
    // The whole text tokenized, then cut by the same rule (left truncation reads the whole text).
    const whole = tok.encode(text, pair, { maxLength, truncationSide: 'left' });
    const plainA = tok.encode(text, undefined, { truncation: false, addSpecialTokens: false });
    const plainB = pair === undefined ? undefined : tok.encode(pair, undefined, { truncation: false, addSpecialTokens: false });
    const keptA = cut.sequenceIds.filter((s) => s === 0).length;
    const keptB = cut.sequenceIds.filter((s) => s === 1).length;
    assert.equal(cut.inputIds.length, whole.inputIds.length, JSON.stringify({ n, maxLength }));
    assert.equal(keptA, whole.sequenceIds.filter((s) => s === 0).length, `kept of the first text, case ${n}`);
    assert.deepEqual(
      cut.inputIds.filter((_, i) => cut.sequenceIds[i] === 0),
      plainA.inputIds.slice(0, keptA),
      `case ${n}`,
    );
    assert.deepEqual(
      cut.offsets.filter((_, i) => cut.sequenceIds[i] === 0),
      plainA.offsets.slice(0, keptA),
    );
    assert.deepEqual(
      cut.wordIds.filter((_, i) => cut.sequenceIds[i] === 0),
      plainA.wordIds.slice(0, keptA),
    );
    if (plainB)
      assert.deepEqual(
        cut.inputIds.filter((_, i) => cut.sequenceIds[i] === 1),
        plainB.inputIds.slice(0, keptB),
      );
  }
});

test('a 5 MB text costs memory and time for its first tokens only; a 5 MB word is one [UNK]', async () => {
  const tok = await BertTokenizer.fromDirectory(BUNDLED_EN);
  const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(120_000);
  assert.ok(prose.length > 5_000_000);
  const t0 = performance.now();
  const enc = tok.encode(prose, undefined, { maxLength: 32 });
  const ms = performance.now() - t0;
  assert.equal(enc.inputIds.length, 32);
  const head = tok.encode(prose.slice(0, 2000), undefined, { maxLength: 32 });
  assert.deepEqual(enc.inputIds, head.inputIds);
  assert.deepEqual(enc.offsets, head.offsets);
  assert.ok(ms < 200, `${ms.toFixed(0)} ms for the first 32 tokens of 5 MB`);

  const word = 'a'.repeat(5_000_000);
  const unk = tok.encode(`${word} end`, undefined, { maxLength: 8 });
  assert.deepEqual(unk.tokens, ['[CLS]', '[UNK]', 'end', '[SEP]']);
  assert.deepEqual(unk.offsets[1], [0, 5_000_000]);
  assert.deepEqual(unk.inputIds, tok.encode(`${word} end`, undefined, { truncation: false }).inputIds);
  // Removed characters are no word: the first real word after them is the first token.
  const control = tok.encode(`${'\u0000'.repeat(3_000_000)} the end`, undefined, { maxLength: 8 });
  assert.deepEqual(control.tokens, ['[CLS]', 'the', 'end', '[SEP]']);
  assert.deepEqual(control.offsets[1], [3_000_001, 3_000_004]);
  // Pairs: two long texts share the room as a complete tokenization shares it (odd room: the longer gets the odd token).
  const longer = 'one two three four five six seven eight nine ten '.repeat(50_000);
  const shorter = longer.slice(0, longer.length - 50);
  const pair = tok.encode(shorter, longer, { maxLength: 12 });
  const complete = tok.encode(shorter.slice(0, 100), longer.slice(0, 100), { maxLength: 12 });
  assert.equal(pair.inputIds.length, 12);
  assert.deepEqual([pair.sequenceIds.filter((s) => s === 0).length, pair.sequenceIds.filter((s) => s === 1).length], [4, 5]);
  assert.deepEqual([complete.sequenceIds.filter((s) => s === 0).length, complete.sequenceIds.filter((s) => s === 1).length], [4, 5]);
  const swapped = tok.encode(longer, shorter, { maxLength: 12 });
  assert.deepEqual([swapped.sequenceIds.filter((s) => s === 0).length, swapped.sequenceIds.filter((s) => s === 1).length], [5, 4]);
});
