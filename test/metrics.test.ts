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
  multiLabelClassificationReport,
  pyFixed,
  reportToJson,
  tokenAccuracy,
} from '../src/metrics/index.js';

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
  assert.ok(neverPredicted.warnings.some((w) => w.includes('"b"')), 'zero division is reported');
});

test('numbers round as Python formats them (half to even on exact ties)', () => {
  assert.equal(pyFixed(0.125, 2), '0.12');
  assert.equal(pyFixed(0.375, 2), '0.38');
  assert.equal(pyFixed(0.145, 2), '0.14'); // 0.145 is stored just below the tie
  assert.equal(pyFixed(2 / 3, 4), '0.6667');
  assert.equal(pyFixed(Number.NaN, 2), 'nan');
});

test("seqeval's documented example: MISC missed by one token, PER exact", () => {
  const yTrue = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
  const yPred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
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
  assert.throws(() => entityReport([['O', 'B-PER']], [['O']]), (e: unknown) => e instanceof MetricsError && /sentence 0: 2 true tags but 1 predicted/.test((e as Error).message));
  assert.throws(() => classificationReport(['a'], ['a', 'b']), MetricsError);
});

test('the confusion matrix table lines up for short and long label names', () => {
  for (const labels of [['ham', 'spam'], ['card_arrival', 'exchange_rate', 'x']]) {
    const text = formatConfusionMatrix(confusionMatrix(labels, [...labels].reverse(), labels));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, labels.length + 1);
    assert.equal(new Set(lines.map((l) => l.length)).size, 1, text);
  }
});
