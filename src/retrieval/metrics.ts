/**
 * Retrieval metrics over ranked lists, as sentence-transformers' `InformationRetrievalEvaluator`
 * computes them (its `compute_metrics`), so figures compare one to one:
 *
 * - Relevance is binary: a document is relevant to a query when its qrels grade is above 0.
 * - Each query's hits are ordered by score, highest first, ties broken by ascending document id
 *   (compared by Unicode code points, as Python compares strings), whatever order they came in.
 * - Only queries with at least one relevant document count; the others are left out of every
 *   average (and counted in {@link RetrievalMetrics.withoutRelevant}). A query the retriever
 *   found nothing for must still be in the rankings, with an empty list, to count (as a miss).
 * - A list shorter than k is not padded: Precision@k divides by k, Recall@k by the number of
 *   relevant documents, MAP@k by min(k, relevant documents), nDCG@k's ideal ranking puts
 *   min(k, relevant documents) relevant documents first.
 *
 * Graded nDCG (`ndcgGraded`) is the one pytrec_eval (trec_eval's `ndcg_cut`) reports for BEIR:
 * the gain of a document is its grade (grades of 0 or less gain nothing), discounted by
 * log2(rank + 1), over the ideal ordering of the query's grades. It uses the ordering above
 * (trec_eval breaks ties by descending id) and averages over the same queries.
 */
import { TunaError } from '../errors.js';
import type { Qrels } from './beir.js';

/** Query id -> its hits, best first (the order is recomputed from the scores; see the module). */
export type Rankings = ReadonlyMap<string, readonly { readonly id: string; readonly score: number }[]>;

/** The cutoffs each metric is computed at. */
export interface RetrievalMetricOptions {
  /** nDCG (binary relevance) cutoffs; default [10]. */
  ndcgAt?: number[];
  /** Mean reciprocal rank cutoffs; default [10]. */
  mrrAt?: number[];
  /** Mean average precision cutoffs; default [100]. */
  mapAt?: number[];
  /** Recall cutoffs; default [1, 5, 10, 100]. */
  recallAt?: number[];
  /** Precision cutoffs; default [1, 3, 5, 10] (sentence-transformers' default). */
  precisionAt?: number[];
  /** Accuracy (a relevant document in the top k) cutoffs; default [1, 3, 5, 10] (sentence-transformers' default). */
  accuracyAt?: number[];
  /**
   * Graded-relevance nDCG cutoffs; default: the nDCG cutoffs when the qrels hold a grade other
   * than 0 and 1, none otherwise.
   */
  ndcgGradedAt?: number[];
}

/** The metrics of a set of rankings, each a map cutoff k -> mean over the evaluated queries. */
export interface RetrievalMetrics {
  /** Queries evaluated: in the rankings, with at least one relevant document in the qrels. */
  readonly queries: number;
  /** Queries in the rankings without a relevant document in the qrels, left out of the averages. */
  readonly withoutRelevant: number;
  readonly ndcg: ReadonlyMap<number, number>;
  readonly mrr: ReadonlyMap<number, number>;
  readonly map: ReadonlyMap<number, number>;
  readonly recall: ReadonlyMap<number, number>;
  readonly precision: ReadonlyMap<number, number>;
  readonly accuracy: ReadonlyMap<number, number>;
  /** Graded-relevance nDCG (empty unless asked for or the qrels are graded). */
  readonly ndcgGraded: ReadonlyMap<number, number>;
}

/** The metric families in report order: field, flat JSON name, printed name. */
const METRICS = [
  ['ndcg', 'ndcg', 'nDCG'],
  ['ndcgGraded', 'ndcg_graded', 'nDCG (graded)'],
  ['mrr', 'mrr', 'MRR'],
  ['map', 'map', 'MAP'],
  ['recall', 'recall', 'Recall'],
  ['precision', 'precision', 'Precision'],
  ['accuracy', 'accuracy', 'Accuracy'],
] as const;

type MetricField = (typeof METRICS)[number][0];

function cutoffs(option: string, value: number[] | undefined, fallback: number[]): number[] {
  const ks = value ?? fallback;
  if (!Array.isArray(ks)) throw new TunaError('invalid_option', `${option} must be an array of cutoffs such as [1, 10], not ${typeof ks}`, { field: option });
  for (const k of ks) {
    if (!Number.isSafeInteger(k) || k < 1) {
      throw new TunaError('invalid_option', `${option} holds ${String(k)}; cutoffs are whole numbers of 1 or more (like 10 for @10)`, { field: option });
    }
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/** Python's string order (by code point), not JavaScript's (by UTF-16 unit). */
function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral characters) sort above every other BMP unit by code point.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function graded(qrels: Qrels): boolean {
  for (const docs of qrels.values()) for (const g of docs.values()) if (g !== 0 && g !== 1) return true;
  return false;
}

/** Discounted cumulative gain of `gains` (in rank order) over the first `k`. */
function dcg(gains: readonly number[], k: number): number {
  let sum = 0;
  const n = Math.min(gains.length, k);
  for (let i = 0; i < n; i++) sum += gains[i]! / Math.log2(i + 2);
  return sum;
}

/**
 * nDCG, MRR, MAP, Recall, Precision and Accuracy at the asked cutoffs, averaged over the queries of
 * `rankings` that have a relevant document in `qrels` (see the module for the exact semantics).
 *
 * @throws TunaError `invalid_option` for a cutoff that is not a whole number ≥ 1; `invalid_input`
 *   for a ranking with a non-numeric score or a document listed twice, and when no query of the
 *   rankings has a relevant document in the qrels.
 */
export function retrievalMetrics(rankings: Rankings, qrels: Qrels, opts: RetrievalMetricOptions = {}): RetrievalMetrics {
  const ndcgAt = cutoffs('ndcgAt', opts.ndcgAt, [10]);
  const ks: Record<MetricField, number[]> = {
    ndcg: ndcgAt,
    ndcgGraded: cutoffs('ndcgGradedAt', opts.ndcgGradedAt, graded(qrels) ? ndcgAt : []),
    mrr: cutoffs('mrrAt', opts.mrrAt, [10]),
    map: cutoffs('mapAt', opts.mapAt, [100]),
    recall: cutoffs('recallAt', opts.recallAt, [1, 5, 10, 100]),
    precision: cutoffs('precisionAt', opts.precisionAt, [1, 3, 5, 10]),
    accuracy: cutoffs('accuracyAt', opts.accuracyAt, [1, 3, 5, 10]),
  };
  const sums = Object.fromEntries(METRICS.map(([field]) => [field, new Map(ks[field].map((k) => [k, 0]))])) as Record<MetricField, Map<number, number>>;
  const add = (field: MetricField, k: number, v: number) => sums[field].set(k, sums[field].get(k)! + v);

  let queries = 0;
  let withoutRelevant = 0;
  for (const [queryId, hits] of rankings) {
    const judged = qrels.get(queryId);
    const relevant = new Set<string>();
    if (judged) for (const [doc, grade] of judged) if (grade > 0) relevant.add(doc);
    if (relevant.size === 0) {
      withoutRelevant++;
      continue;
    }
    queries++;
    const seen = new Set<string>();
    for (const hit of hits) {
      if (typeof hit.score !== 'number' || Number.isNaN(hit.score)) {
        throw new TunaError('invalid_input', `the ranking of query "${queryId}" gives document "${hit.id}" the score ${String(hit.score)}; scores must be numbers`, {
          field: queryId,
        });
      }
      if (seen.has(hit.id)) {
        throw new TunaError('invalid_input', `the ranking of query "${queryId}" lists document "${hit.id}" twice. Each document may appear once per query`, { field: queryId });
      }
      seen.add(hit.id);
    }
    const top = [...hits].sort((a, b) => b.score - a.score || compareCodePoints(a.id, b.id));
    const rel = top.map((h) => (relevant.has(h.id) ? 1 : 0));
    const nRel = relevant.size;

    for (const k of ks.accuracy) add('accuracy', k, rel.slice(0, k).includes(1) ? 1 : 0);
    for (const k of ks.precision) add('precision', k, countOnes(rel, k) / k);
    for (const k of ks.recall) add('recall', k, countOnes(rel, k) / nRel);
    for (const k of ks.mrr) {
      const first = rel.slice(0, k).indexOf(1);
      add('mrr', k, first < 0 ? 0 : 1 / (first + 1));
    }
    for (const k of ks.ndcg) add('ndcg', k, dcg(rel, k) / dcg(new Array<number>(nRel).fill(1), k));
    for (const k of ks.map) {
      let correct = 0;
      let sum = 0;
      const n = Math.min(rel.length, k);
      for (let i = 0; i < n; i++) {
        if (rel[i]) {
          correct++;
          sum += correct / (i + 1);
        }
      }
      add('map', k, sum / Math.min(k, nRel));
    }
    if (ks.ndcgGraded.length) {
      const gains = top.map((h) => Math.max(0, judged?.get(h.id) ?? 0));
      const ideal = [...judged!.values()].filter((g) => g > 0).sort((a, b) => b - a);
      for (const k of ks.ndcgGraded) add('ndcgGraded', k, dcg(gains, k) / dcg(ideal, k));
    }
  }
  if (queries === 0) {
    const why =
      rankings.size === 0
        ? 'the rankings hold no query'
        : `${rankings.size === 1 ? 'the one ranked query has no' : `none of the ${rankings.size} ranked queries has a`} relevant document (grade above 0) in the qrels`;
    throw new TunaError('invalid_input', `cannot compute retrieval metrics: ${why}. Check that the queries and the qrels use the same query ids`);
  }
  const mean = (m: Map<number, number>) => new Map([...m].map(([k, v]) => [k, v / queries]));
  return {
    queries,
    withoutRelevant,
    ndcg: mean(sums.ndcg),
    ndcgGraded: mean(sums.ndcgGraded),
    mrr: mean(sums.mrr),
    map: mean(sums.map),
    recall: mean(sums.recall),
    precision: mean(sums.precision),
    accuracy: mean(sums.accuracy),
  };
}

function countOnes(rel: readonly number[], k: number): number {
  let n = 0;
  const end = Math.min(rel.length, k);
  for (let i = 0; i < end; i++) n += rel[i]!;
  return n;
}

/**
 * The metrics as flat keys, named as sentence-transformers names them without the score-function
 * prefix (`ndcg@10`, `mrr@10`, `map@100`, `recall@1`, `precision@1`, `accuracy@1`, `ndcg_graded@10`),
 * plus `queries` (the number of queries evaluated).
 */
export function retrievalMetricsJson(m: RetrievalMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, name] of METRICS) for (const [k, v] of m[field]) out[`${name}@${k}`] = v;
  out.queries = m.queries;
  return out;
}

/**
 * A table for people: one row per metric, one column per cutoff, four decimals, with the number of
 * queries evaluated (and of those left out for lack of a relevant document) above it.
 */
export function formatRetrievalReport(m: RetrievalMetrics): string {
  const rows = METRICS.filter(([field]) => m[field].size > 0);
  const ks = [...new Set(rows.flatMap(([field]) => [...m[field].keys()]))].sort((a, b) => a - b);
  const head = ['', ...ks.map((k) => `@${k}`)];
  const body = rows.map(([field, , label]) => [label, ...ks.map((k) => (m[field].has(k) ? m[field].get(k)!.toFixed(4) : ''))]);
  const widths = head.map((_, c) => Math.max(...[head, ...body].map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  const left = m.withoutRelevant ? ` (${m.withoutRelevant} without a relevant document left out)` : '';
  return [`${m.queries} quer${m.queries === 1 ? 'y' : 'ies'} evaluated${left}`, line(head), ...body.map(line)].join('\n');
}
