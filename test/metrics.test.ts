// Metrics against independent references: scikit-learn's classification_report and confusion_matrix
// (tools/make-metrics-fixtures.py, Debian's python3-sklearn), seqeval's documented example, and a
// separate CoNLL-rule chunk reader in the same tools script for entity scores.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  classificationReport,
  confusionMatrix,
  entityReport,
  extractEntities,
  extractStrictEntities,
  formatClassificationReport,
  formatConfusionMatrix,
  formatEntityReport,
  MetricsError,
  checkScheme,
  detectScheme,
  multiLabelClassificationReport,
  pyFixed,
  reportToJson,
  tokenAccuracy,
} from '../src/metrics/index.js';

import { LabelMap } from '../src/data/index.js';
import { resolveEntityScoring, taskReport, wordTagPairs } from '../src/tasks/reports.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/metrics/${name}`, import.meta.url), 'utf8'));
const sk = load('sklearn.json');

function assertClose(actual: unknown, expected: unknown, path = ''): void {
  if (typeof expected === 'number' || expected === null) {
    const a = actual as number;
    if (expected === null) assert.ok(Number.isNaN(a), `${path}: expected NaN, got ${a}`);
    else assert.ok(Math.abs(a - expected) <= 1e-12, `${path}: ${a} != ${expected}`);
    return;
  }
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${path}: keys`);
  for (const k of Object.keys(e)) assertClose(a[k], e[k], `${path}.${k}`);
}

test('single-label reports equal scikit-learn: numbers, text layout and confusion matrix', () => {
  assert.ok(sk.single.length >= 16);
  for (const [i, c] of sk.single.entries()) {
    const report = classificationReport(c.y_true, c.y_pred, { labels: c.labels, zeroDivision: c.zero_division });
    assertClose(reportToJson(report), c.dict, `case ${i}`);
    assert.equal(formatClassificationReport(report, c.digits), c.text, `case ${i} text`);
    assert.deepEqual(confusionMatrix(c.y_true, c.y_pred, c.confusion.labels), c.confusion);
  }
});

test('multi-label reports equal scikit-learn (micro, macro, weighted and samples averages)', () => {
  for (const [i, c] of sk.multi.entries()) {
    const report = multiLabelClassificationReport(c.y_true, c.y_pred, { labels: c.labels, zeroDivision: c.zero_division });
    assertClose(reportToJson(report), c.dict, `case ${i}`);
    assert.equal(formatClassificationReport(report, c.digits), c.text, `case ${i} text`);
  }
});

test("scikit-learn's documented classification_report example", () => {
  const yTrue = ['class 0', 'class 1', 'class 2', 'class 2', 'class 2'];
  const yPred = ['class 0', 'class 0', 'class 2', 'class 2', 'class 1'];
  const r = classificationReport(yTrue, yPred);
  assert.equal(
    formatClassificationReport(r),
    [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n'),
  );
  assert.deepEqual(r.warnings, []);
  const neverPredicted = classificationReport(['a', 'b'], ['a', 'a']);
  assert.equal(neverPredicted.labels.b!.precision, 0);
  assert.ok(
    neverPredicted.warnings.some((w) => w.includes('"b"')),
    'zero division is reported',
  );
});

test('numbers round as Python formats them (half to even on exact ties)', () => {
  assert.equal(pyFixed(0.125, 2), '0.12');
  assert.equal(pyFixed(0.375, 2), '0.38');
  assert.equal(pyFixed(0.145, 2), '0.14'); // 0.145 is stored just below the tie
  assert.equal(pyFixed(2 / 3, 4), '0.6667');
  assert.equal(pyFixed(Number.NaN, 2), 'nan');
});

test("seqeval's documented example: MISC missed by one token, PER exact", () => {
  const yTrue = [
    ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const yPred = [
    ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const r = entityReport(yTrue, yPred);
  assert.equal(r['micro avg']!['f1-score'], 0.5);
  assert.equal(tokenAccuracy(yTrue, yPred), 0.8);
  assert.equal(
    formatEntityReport(r),
    [
      '              precision    recall  f1-score   support',
      '',
      '        MISC       0.00      0.00      0.00         1',
      '         PER       1.00      1.00      1.00         1',
      '',
      '   micro avg       0.50      0.50      0.50         2',
      '   macro avg       0.50      0.50      0.50         2',
      'weighted avg       0.50      0.50      0.50         2',
      '',
    ].join('\n'),
  );
});

test('entity scores on random BIO and BIOES sequences equal the independent CoNLL-rule reader', () => {
  const cases = load('entities.json') as {
    scheme: string;
    y_true: string[][];
    y_pred: string[][];
    types: Record<string, { tp: number; predicted: number; support: number }>;
    micro: { tp: number; predicted: number; support: number };
  }[];
  for (const [i, c] of cases.entries()) {
    const r = entityReport(c.y_true, c.y_pred, { zeroDivision: 0 });
    assert.deepEqual(r.labelOrder, Object.keys(c.types).sort(), `case ${i} types`);
    for (const [type, n] of Object.entries(c.types)) {
      const s = r.labels[type]!;
      assert.equal(s.support, n.support, `case ${i} ${type} support`);
      assert.ok(Math.abs(s.precision - (n.predicted ? n.tp / n.predicted : 0)) < 1e-12, `case ${i} ${type} precision`);
      assert.ok(Math.abs(s.recall - (n.support ? n.tp / n.support : 0)) < 1e-12, `case ${i} ${type} recall`);
    }
    const m = r['micro avg']!;
    assert.equal(m.support, c.micro.support);
    assert.ok(Math.abs(m.precision - (c.micro.predicted ? c.micro.tp / c.micro.predicted : 0)) < 1e-12, `case ${i} micro precision`);
  }
});

test('lenient and strict entity reading', () => {
  assert.deepEqual(extractEntities(['I-PER', 'I-PER', 'O', 'B-LOC', 'I-ORG']), [
    { type: 'PER', start: 0, end: 2 },
    { type: 'LOC', start: 3, end: 4 },
    { type: 'ORG', start: 4, end: 5 },
  ]);
  assert.deepEqual(extractEntities(['B-PER', 'E-PER', 'S-LOC', 'B-ORG']), [
    { type: 'PER', start: 0, end: 2 },
    { type: 'LOC', start: 2, end: 3 },
    { type: 'ORG', start: 3, end: 4 },
  ]);
  // Strict BIO: an entity must open with B-; a stray I- is no entity.
  assert.deepEqual(extractStrictEntities(['I-PER', 'B-LOC', 'I-LOC', 'O', 'B-ORG'], 'BIO'), [
    { type: 'LOC', start: 1, end: 3 },
    { type: 'ORG', start: 4, end: 5 },
  ]);
  // Strict BIOES: B- must close with E-; S- stands alone.
  assert.deepEqual(extractStrictEntities(['B-PER', 'I-PER', 'E-PER', 'B-LOC', 'O', 'S-ORG'], 'BIOES'), [
    { type: 'PER', start: 0, end: 3 },
    { type: 'ORG', start: 5, end: 6 },
  ]);
  const strict = entityReport([['I-PER', 'O']], [['I-PER', 'O']], { mode: 'strict', scheme: 'BIO', zeroDivision: 0 });
  assert.equal(strict.support, 0);
});

test('mismatched inputs are refused with the sentence named', () => {
  assert.throws(
    () => entityReport([['O', 'B-PER']], [['O']]),
    (e: unknown) => e instanceof MetricsError && /sentence 0: 2 true tags but 1 predicted/.test((e as Error).message),
  );
  assert.throws(() => classificationReport(['a'], ['a', 'b']), MetricsError);
});

test('the confusion matrix table lines up for short and long label names', () => {
  for (const labels of [
    ['ham', 'spam'],
    ['card_arrival', 'exchange_rate', 'x'],
  ]) {
    const text = formatConfusionMatrix(confusionMatrix(labels, [...labels].reverse(), labels));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, labels.length + 1);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1, text);
  }
});

test("strict mode equals seqeval's strict reading (seqeval/scheme.py) for IOB2, IOE2, IOBES and BILOU", () => {
  // Random tag sequences and the entities seqeval's Tokens(...).entities found in them
  // (fixtures/metrics/make-seqeval-strict.py, run on seqeval's own scheme.py).
  const cases = load('seqeval-strict.json') as { scheme: 'IOB2' | 'IOE2' | 'IOBES' | 'BILOU'; tags: string[]; entities: [string, number, number][] }[];
  assert.equal(cases.length, 600);
  for (const c of cases) {
    const got = extractStrictEntities(c.tags, c.scheme).map((e) => [e.type, e.start, e.end]);
    assert.deepEqual(got, c.entities, `${c.scheme} ${c.tags.join(' ')}`);
  }
  assert.deepEqual(extractStrictEntities(['I-PER', 'E-PER', 'O', 'E-LOC'], 'IOE2'), [
    { type: 'PER', start: 0, end: 2 },
    { type: 'LOC', start: 3, end: 4 },
  ]);
  assert.deepEqual(extractStrictEntities(['B-PER', 'L-PER', 'U-LOC', 'B-ORG', 'O'], 'BILOU'), [
    { type: 'PER', start: 0, end: 2 },
    { type: 'LOC', start: 2, end: 3 },
  ]);
});

test('schemes: detected from the tags; a tag outside the scheme is refused before scoring', () => {
  assert.equal(detectScheme(['O', 'B-PER', 'I-PER']), 'IOB2');
  assert.equal(detectScheme(['O', 'B-PER', 'E-PER', 'S-LOC']), 'IOBES');
  assert.equal(detectScheme(['O', 'I-PER', 'E-PER']), 'IOE2');
  assert.equal(detectScheme(['O', 'B-PER', 'L-PER', 'U-LOC']), 'BILOU');
  assert.throws(
    () => checkScheme(['O', 'B-PER', 'S-LOC'], 'IOB2'),
    (e: unknown) => e instanceof MetricsError && /tag "S-LOC" does not belong to the IOB2 scheme \(prefixes I, O, B\)/.test((e as Error).message),
  );
  assert.throws(() => extractStrictEntities(['B-PER', 'E-PER'], 'BIO'), MetricsError);
  const labels = LabelMap.fromExamples([['O', 'B-PER', 'E-PER', 'S-PER', 'I-PER']]);
  assert.deepEqual(resolveEntityScoring({ mode: 'strict' }, labels), { mode: 'strict', scheme: 'IOBES' });
  assert.deepEqual(resolveEntityScoring({ mode: 'strict', scheme: 'BIOES' }, labels), { mode: 'strict', scheme: 'IOBES' });
  assert.deepEqual(resolveEntityScoring({}, labels), { mode: 'default' });
  assert.throws(() => resolveEntityScoring({ mode: 'strict', scheme: 'BILOU' }, labels), /tag "E-PER" does not belong to the BILOU scheme/);
});

test('token reports: entities cut off by truncation count as missed (support = the entities of the data); strict or lenient as asked', () => {
  const labels = LabelMap.fromExamples([['O', 'B-PER', 'I-PER']]);
  const id = (t: string) => labels.id(t);
  const n = labels.size;
  // Six words, gold B-PER I-PER O B-PER O B-PER; the features kept [CLS] + words 0..2 (word 1 in two pieces) + [SEP].
  const gold = ['B-PER', 'I-PER', 'O', 'B-PER', 'O', 'B-PER'];
  const wordIds = Int32Array.from([-1, 0, 1, 1, 2, -1]);
  const tokenLabels = Int32Array.from([-100, id('B-PER'), id('I-PER'), -100, id('O'), -100]);
  const predictedTags = ['O', 'B-PER', 'I-PER', 'I-PER', 'O', 'O'];
  const logits = new Float32Array(wordIds.length * n);
  predictedTags.forEach((t, k) => (logits[k * n + id(t)] = 5));
  const feature = { inputIds: new Int32Array(6), tokenTypeIds: new Int32Array(6), labels: tokenLabels, wordIds, wordLabels: Int32Array.from(gold.map(id)), line: 1 };
  const p = { logits: [logits], labels: [tokenLabels], numLabels: n, features: [feature] };
  const { yTrue, yPred } = wordTagPairs(p, labels);
  assert.deepEqual(yTrue, [gold]);
  assert.deepEqual(yPred, [['B-PER', 'I-PER', 'O', 'O', 'O', 'O']]);
  const report = taskReport('token', p, labels);
  const entity = report.json.entity as Record<string, { support: number; recall: number }>;
  assert.equal(entity['micro avg']!.support, 3, 'all three gold entities, two of them past the cut');
  assert.ok(Math.abs(entity['micro avg']!.recall - 1 / 3) < 1e-12);
  // Without the full gold tags (features from elsewhere) only the words the model saw are scored.
  const seen = taskReport('token', { ...p, features: [{ ...feature, wordLabels: undefined }] }, labels).json.entity as Record<string, { support: number }>;
  assert.equal(seen['micro avg']!.support, 1);
  // Strict mode: an entity opened by I- is none.
  const strictP = { ...p, features: [{ ...feature, wordLabels: Int32Array.from(['I-PER', 'I-PER', 'O', 'B-PER', 'O', 'O'].map(id)) }] };
  const lenient = taskReport('token', strictP, labels);
  const strict = taskReport('token', strictP, labels, { mode: 'strict', scheme: 'IOB2' });
  assert.equal((lenient.json.entity as Record<string, { support: number }>)['micro avg']!.support, 2);
  assert.equal((strict.json.entity as Record<string, { support: number }>)['micro avg']!.support, 1);
  assert.match(strict.text, /^entities \(strict IOB2, seqeval-style\)/);
});
