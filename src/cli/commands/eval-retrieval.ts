/**
 * `tuna eval --task retrieval`: ranks every judged query of a BEIR collection against its corpus
 * (an in-memory index, exact dense search) and prints nDCG, MRR, MAP, recall, precision and
 * accuracy at their cutoffs, as sentence-transformers' InformationRetrievalEvaluator reports them.
 */
import { readBeirCorpus, readBeirQueries, readQrels } from '../../retrieval/beir.js';
import { type Rankings, formatRetrievalReport, retrievalMetrics, retrievalMetricsJson } from '../../retrieval/metrics.js';
import { type IndexDocument, SearchIndex } from '../../retrieval/index.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer } from './options.js';
import { loadReranker, searchOptionsOf } from './search.js';

/** Options of `tuna eval --task retrieval`. */
export interface RetrievalEvalOptions {
  readonly model: string;
  readonly corpus?: string;
  readonly queries?: string;
  readonly qrels?: string;
  readonly retriever?: string;
  readonly fusion?: string;
  readonly alpha?: string;
  readonly rerank?: string;
  readonly rerankTopK?: string;
  readonly topK?: string;
  readonly queryPromptName?: string;
  readonly documentPromptName?: string;
  readonly batchSize?: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/** A prompt-name flag as a build option: `none` for no prompt, else the name; unset keeps the default. */
function promptFlag(key: 'documentPromptName' | 'queryPromptName', v: string | undefined): Record<string, string | null> {
  return v === undefined ? {} : { [key]: v === 'none' ? null : v };
}

/** `tuna eval --task retrieval --model M --corpus C --queries Q --qrels R [--retriever ...] [--json]`. */
export async function evalRetrievalCommand(o: RetrievalEvalOptions, out: Output): Promise<void> {
  for (const [flag, v] of [
    ['--corpus', o.corpus],
    ['--queries', o.queries],
    ['--qrels', o.qrels],
  ] as const) {
    if (v === undefined) throw new CliError('usage', `--task retrieval needs ${flag} (BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv)`);
  }
  const topK = integer('--top-k', o.topK ?? '100', 1);
  const search = searchOptionsOf({ retriever: o.retriever ?? 'dense', fusion: o.fusion, alpha: o.alpha, rerankTopK: o.rerankTopK });
  const load = {
    ...(o.threads === undefined ? {} : { threads: integer('--threads', o.threads, 1) }),
    ...(o.batchSize === undefined ? {} : { batchSize: integer('--batch-size', o.batchSize, 1) }),
  };
  const corpus = await asError(() => readBeirCorpus(o.corpus!));
  const queries = await asError(() => readBeirQueries(o.queries!));
  const qrels = await asError(() => readQrels(o.qrels!));
  // As BEIR does: the queries with judgements are ranked.
  const judged = queries.filter((q) => qrels.has(q.id));
  const known = new Set(queries.map((q) => q.id));
  const unknown = [...qrels.keys()].filter((id) => !known.has(id));
  if (unknown.length)
    out.stderr(`tuna: ${unknown.length} quer${unknown.length === 1 ? 'y' : 'ies'} of ${o.qrels} not in ${o.queries} (${unknown.slice(0, 5).join(', ')}): left out\n`);
  if (judged.length === 0) throw new CliError('invalid_data', `no query of ${o.queries} has judgements in ${o.qrels}; check that the query ids match`, { file: o.qrels });
  const documents: IndexDocument[] = corpus.map((d) => (d.title ? { id: d.id, title: d.title, text: d.text } : { id: d.id, text: d.text }));
  const started = performance.now();
  const index = await asError(() =>
    SearchIndex.build({
      model: o.model,
      documents,
      ann: false,
      bm25: search.retriever !== 'dense',
      ...promptFlag('documentPromptName', o.documentPromptName),
      ...promptFlag('queryPromptName', o.queryPromptName),
      ...load,
    }),
  );
  const reranker = o.rerank === undefined ? undefined : await loadReranker(o.rerank, load);
  try {
    const built = performance.now();
    const hits = await asError(() =>
      index.searchMany(
        judged.map((q) => q.text),
        { ...search, topK, exact: true, returnDocuments: false, ...(reranker ? { rerank: reranker.rerank } : {}) },
      ),
    );
    const rankings: Rankings = new Map(judged.map((q, i) => [q.id, hits[i]!.map((h) => ({ id: h.id, score: h.score }))]));
    const metrics = retrievalMetrics(rankings, qrels);
    const seconds = { index: (built - started) / 1000, search: (performance.now() - built) / 1000 };
    const what = `${search.retriever}${search.retriever === 'hybrid' ? ` (${search.fusion})` : ''}${reranker ? `, reranked by ${o.rerank}` : ''}`;
    if (o.json) {
      out.stdout(
        `${toJson({
          task: 'retrieval',
          model: o.model,
          retriever: search.retriever,
          ...(reranker ? { rerank: o.rerank } : {}),
          documents: corpus.length,
          ...retrievalMetricsJson(metrics),
          index_seconds: Math.round(seconds.index * 1000) / 1000,
          search_seconds: Math.round(seconds.search * 1000) / 1000,
        })}\n`,
      );
    } else {
      out.stdout(`retrieval: ${what}, ${corpus.length} documents, model ${o.model}\n${formatRetrievalReport(metrics)}\n`);
    }
    out.stderr(`tuna: indexed in ${seconds.index.toFixed(2)} s, ${judged.length} queries ranked in ${seconds.search.toFixed(2)} s\n`);
  } finally {
    await reranker?.dispose();
    await index.dispose();
  }
}

/**
 * Checks the flags of `tuna eval` without `--task retrieval`: a classification task (or none),
 * `--data` given, and no flag that only retrieval reads.
 */
export function checkClassificationEval(o: { task?: string; data?: string } & RetrievalEvalOptions): void {
  if (o.task !== undefined && !['text-classification', 'token-classification'].includes(o.task)) {
    throw new CliError('usage', `--task must be retrieval, text-classification or token-classification, got "${o.task}"`);
  }
  const retrievalOnly = Object.entries({ '--corpus': o.corpus, '--queries': o.queries, '--qrels': o.qrels, '--rerank': o.rerank, '--alpha': o.alpha })
    .filter(([, v]) => v !== undefined)
    .map(([flag]) => flag);
  if (retrievalOnly.length) throw new CliError('usage', `${retrievalOnly.join(', ')} belong to --task retrieval; add --task retrieval, or leave them out`);
  if (o.data === undefined) throw new CliError('usage', "required option '--data <file>' not specified (or give --task retrieval with --corpus, --queries and --qrels)");
}
