/** `tuna search --index DIR --query Q`: the best documents of an index for each query. */
import { pipeline } from '../../pipelines/pipeline.js';
import { RETRIEVERS, type Reranker, type Retriever, SearchIndex, type SearchOptions } from '../../retrieval/index.js';
import { CliError } from '../errors.js';
import type { Output } from '../output.js';
import { asError, choice, integer, number } from './options.js';

/** Options of `tuna search`. */
export interface SearchCommandOptions {
  readonly index: string;
  readonly query?: string[];
  readonly topK: string;
  readonly retriever: string;
  readonly exact?: boolean;
  readonly fusion: string;
  readonly alpha?: string;
  readonly rerank?: string;
  readonly rerankTopK: string;
  readonly model?: string;
  readonly batchSize?: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** JSON for one line of JSON Lines output: U+2028/U+2029 escaped. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Loads a cross-encoder as a {@link Reranker}; call `dispose` after. */
export async function loadReranker(model: string, opts: { threads?: number; batchSize?: number }): Promise<{ rerank: Reranker; dispose(): Promise<void> }> {
  const ranker = await asError(() => pipeline('text-ranking', model, opts));
  return { rerank: ranker as unknown as Reranker, dispose: () => ranker.dispose() };
}

/** Search options from the flags shared by `tuna search` and `tuna eval --task retrieval`. */
export function searchOptionsOf(o: { retriever: string; fusion?: string; alpha?: string; rerankTopK?: string }): SearchOptions {
  const retriever = choice('--retriever', o.retriever, RETRIEVERS) as Retriever;
  const fusion = choice('--fusion', o.fusion ?? 'rrf', ['rrf', 'weighted'] as const);
  if (o.alpha !== undefined && fusion !== 'weighted') throw new CliError('usage', '--alpha weighs the scores of --fusion weighted; give --fusion weighted too');
  return {
    retriever,
    fusion,
    ...(o.alpha === undefined ? {} : { alpha: number('--alpha', o.alpha, { min: 0, max: 1 }) }),
    ...(o.rerankTopK === undefined ? {} : { rerankTopK: integer('--rerank-top-k', o.rerankTopK, 1) }),
  };
}

/** One line of text per hit: rank, score, id, title and the start of the text. */
function hitLine(rank: number, hit: { id: string; score: number; title?: string; text?: string }): string {
  const text = (hit.text ?? '').replace(/\s+/g, ' ');
  const shown = text.length > 80 ? `${text.slice(0, 79)}…` : text;
  return `  ${String(rank).padStart(3)}. ${hit.score.toFixed(4)}  ${hit.id}  ${hit.title ? `${hit.title} | ` : ''}${shown}`;
}

/**
 * `tuna search --index DIR --query Q [--query Q2 ...] [--top-k 10] [--retriever dense|bm25|hybrid]
 * [--exact] [--rerank MODEL] [--json]`: with `--json`, one line per query,
 * `{"query", "hits": [{"id", "score", "title"?, "text"}]}`; otherwise a ranked list per query.
 */
export async function searchCommand(o: SearchCommandOptions, out: Output): Promise<void> {
  if (!o.query || o.query.length === 0) throw new CliError('usage', 'give at least one --query');
  for (const q of o.query) if (q.trim() === '') throw new CliError('usage', '--query is empty; give a text with at least one non-space character');
  const topK = integer('--top-k', o.topK, 1);
  const opts = searchOptionsOf(o);
  const load = {
    ...(o.threads === undefined ? {} : { threads: integer('--threads', o.threads, 1) }),
    ...(o.batchSize === undefined ? {} : { batchSize: integer('--batch-size', o.batchSize, 1) }),
  };
  const index = await asError(() => SearchIndex.open(o.index, { ...load, ...(o.model === undefined ? {} : { model: o.model }) }));
  const reranker = o.rerank === undefined ? undefined : await loadReranker(o.rerank, load);
  try {
    const started = performance.now();
    const results = await asError(() => index.searchMany(o.query!, { ...opts, topK, exact: !!o.exact, ...(reranker ? { rerank: reranker.rerank } : {}) }));
    const ms = performance.now() - started;
    const lines: string[] = [];
    o.query.forEach((q, i) => {
      const hits = results[i]!;
      if (o.json) lines.push(jsonLine({ query: q, hits }));
      else {
        lines.push(`${q}`);
        if (hits.length === 0) lines.push('  (no hits)');
        hits.forEach((h, r) => lines.push(hitLine(r + 1, h)));
      }
    });
    out.stdout(`${lines.join('\n')}\n`);
    out.stderr(
      `tuna: ${o.query.length} quer${o.query.length === 1 ? 'y' : 'ies'} over ${index.size} documents (${opts.retriever}${opts.retriever !== 'bm25' ? (o.exact || !index.hasAnn ? ', exact' : ', HNSW') : ''}${reranker ? `, reranked by ${o.rerank}` : ''}) in ${ms.toFixed(1)} ms\n`,
    );
  } finally {
    await reranker?.dispose();
    await index.dispose();
  }
}
