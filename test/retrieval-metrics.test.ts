/**
 * Retrieval metrics against sentence-transformers' InformationRetrievalEvaluator.compute_metrics on
 * the same rankings (test/fixtures/retrieval, made by tools/make-retrieval-fixtures.py): ties,
 * queries with 0, 1 or many relevant documents, lists shorter than the cutoffs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TunaError } from '../src/errors.js';
import { readQrels } from '../src/retrieval/beir.js';
import { type Rankings, formatRetrievalReport, retrievalMetrics, retrievalMetricsJson } from '../src/retrieval/metrics.js';

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/retrieval/${name}`, import.meta.url));

type Hit = { id: string; score: number };
const rankingsJson = JSON.parse(readFileSync(fx('rankings.json'), 'utf8')) as Record<string, Hit[]>;
const expected = JSON.parse(readFileSync(fx('expected.json'), 'utf8')) as {
  options: Record<string, number[]>;
  withoutRelevant: number;
  metrics: Record<string, number>;
};
const rankings: Rankings = new Map(Object.entries(rankingsJson));
const qrels = await readQrels(fx('qrels.tsv'));

function assertClose(actual: Record<string, number>, want: Record<string, number>): void {
  for (const [key, value] of Object.entries(want)) {
    assert.ok(key in actual, `missing ${key}`);
    assert.ok(Math.abs(actual[key]! - value) <= 1e-9, `${key}: ${actual[key]} vs sentence-transformers ${value}`);
  }
}

test('metrics equal sentence-transformers InformationRetrievalEvaluator on the same rankings', () => {
  const m = retrievalMetrics(rankings, qrels, expected.options);
  assert.equal(m.queries, expected.metrics.queries);
  assert.equal(m.withoutRelevant, expected.withoutRelevant);
  const json = retrievalMetricsJson(m);
  assertClose(json, expected.metrics);
  // The qrels are graded, so graded nDCG comes by default at the nDCG cutoffs.
  assert.deepEqual([...m.ndcgGraded.keys()], expected.options.ndcgAt);
});

test('the order of the hits given does not matter: ties are broken by ascending id, by code point', () => {
  const reversed: Rankings = new Map([...rankings].map(([q, hits]) => [q, [...hits].reverse()]));
  assertClose(retrievalMetricsJson(retrievalMetrics(reversed, qrels, expected.options)), expected.metrics);
  // Four tied hits: by code point d10 < d9 < U+FF58 < U+1D4B3 (UTF-16 units would put U+1D4B3 before U+FF58).
  const tie = new Map([['q-tie', rankingsJson['q-tie']!]]);
  const tieQrels = new Map([['q-tie', new Map([['\u{1d4b3}', 1]])]]);
  const m = retrievalMetrics(tie, tieQrels, { mrrAt: [10] });
  assert.equal(m.mrr.get(10), 1 / 4);
});

test('defaults: nDCG@10, MRR@10, MAP@100, Recall@1/5/10/100, Precision and Accuracy@1/3/5/10; no graded nDCG for binary qrels', () => {
  const binary = new Map([...qrels].map(([q, docs]) => [q, new Map([...docs].map(([d, g]) => [d, g > 0 ? 1 : 0]))]));
  const json = retrievalMetricsJson(retrievalMetrics(rankings, binary));
  assert.deepEqual(Object.keys(json).sort(), [
    'accuracy@1',
    'accuracy@10',
    'accuracy@3',
    'accuracy@5',
    'map@100',
    'mrr@10',
    'ndcg@10',
    'precision@1',
    'precision@10',
    'precision@3',
    'precision@5',
    'queries',
    'recall@1',
    'recall@10',
    'recall@100',
    'recall@5',
  ]);
  assertClose(json, { 'ndcg@10': expected.metrics['ndcg@10']!, 'map@100': expected.metrics['map@100']!, 'recall@100': expected.metrics['recall@100']! });
});

test('graded nDCG: gains are the grades, the ideal ordering is the sorted grades', () => {
  const r = new Map([
    [
      'q',
      [
        { id: 'a', score: 3 },
        { id: 'b', score: 2 },
        { id: 'c', score: 1 },
      ],
    ],
  ]);
  const g = new Map([
    [
      'q',
      new Map([
        ['a', 1],
        ['c', 3],
        ['x', 2],
        ['n', 0],
      ]),
    ],
  ]);
  const m = retrievalMetrics(r, g, { ndcgGradedAt: [2, 10], ndcgAt: [10] });
  const dcg = 1 / Math.log2(2) + 0 + 3 / Math.log2(4);
  const idcg = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
  assert.ok(Math.abs(m.ndcgGraded.get(10)! - dcg / idcg) < 1e-12);
  assert.ok(Math.abs(m.ndcgGraded.get(2)! - 1 / (3 + 2 / Math.log2(3))) < 1e-12);
  // Binary nDCG sees three relevant documents, two of them retrieved at ranks 1 and 3.
  assert.ok(Math.abs(m.ndcg.get(10)! - (1 + 0.5) / (1 + 1 / Math.log2(3) + 0.5)) < 1e-12);
});

test('the report is a table of the metrics with the number of queries', () => {
  const text = formatRetrievalReport(retrievalMetrics(rankings, qrels));
  const lines = text.split('\n');
  assert.equal(lines[0], '14 queries evaluated (2 without a relevant document left out)');
  assert.match(lines[1]!, /^\s+@1\s+@3\s+@5\s+@10\s+@100$/);
  assert.match(text, new RegExp(`\\nnDCG\\s+${expected.metrics['ndcg@10']!.toFixed(4)}\\n`));
  assert.match(text, /\nMAP\s+\d\.\d{4}\n/);
  assert.match(text, /\nRecall(\s+\d\.\d{4}){4}\n/);
});

test('bad cutoffs, bad rankings and rankings without a judged query are refused', () => {
  const refuses = (f: () => unknown, code: string, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof TunaError && e.code === code, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  refuses(() => retrievalMetrics(rankings, qrels, { ndcgAt: [0] }), 'invalid_option', /ndcgAt holds 0; cutoffs are whole numbers of 1 or more/);
  refuses(() => retrievalMetrics(rankings, qrels, { recallAt: [2.5] }), 'invalid_option', /recallAt holds 2\.5/);
  const twice = new Map([
    [
      'q-tie',
      [
        { id: 'd9', score: 1 },
        { id: 'd9', score: 0.5 },
      ],
    ],
  ]);
  refuses(() => retrievalMetrics(twice, qrels), 'invalid_input', /query "q-tie" lists document "d9" twice/);
  refuses(() => retrievalMetrics(new Map([['q-tie', [{ id: 'd9', score: Number.NaN }]]]), qrels), 'invalid_input', /gives document "d9" the score NaN/);
  refuses(
    () => retrievalMetrics(new Map([['q-none', []]]), qrels),
    'invalid_input',
    /the one ranked query has no relevant document \(grade above 0\) in the qrels\. Check that the queries and the qrels use the same query ids/,
  );
  refuses(() => retrievalMetrics(new Map(), qrels), 'invalid_input', /the rankings hold no query/);
});

test('a query with an empty ranking counts as a miss', () => {
  const m = retrievalMetrics(new Map([['q-tie', []]]), qrels, { recallAt: [10] });
  assert.equal(m.queries, 1);
  assert.equal(m.recall.get(10), 0);
  assert.equal(m.ndcg.get(10), 0);
  assert.equal(m.map.get(100), 0);
});
