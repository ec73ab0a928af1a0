// Search indexes (dense, BM25, hybrid, reranking) and retrieval evaluation.
export {
  SearchIndex,
  RETRIEVERS,
  isIndexDirectory,
  type BuildIndexOptions,
  type IndexInfo,
  type IndexModelOptions,
  type OpenIndexOptions,
  type Reranker,
  type Retriever,
  type SaveOptions,
  type SaveStep,
  type SearchHit,
  type SearchOptions,
} from './search-index.js';
export { type CorpusFields, type IndexDocument, checkDocuments, documentText, readCorpus } from './documents.js';
export { RetrievalError, type RetrievalErrorCode } from './errors.js';
export { reciprocalRankFusion, weightedFusion, type Ranked } from './fusion.js';
export { type AnnParameters, type Bm25Parameters, type DenseMetric, type IndexManifest, INDEX_FORMAT, INDEX_FORMAT_VERSION, MANIFEST_FILE, modelFingerprint } from './manifest.js';
export { BM25_TOKENIZER, type WordTokenizer, wordTokenizer } from './tokenize.js';
export { DEFAULT_ANN } from './dense.js';
export { DEFAULT_BM25 } from './bm25.js';
export { type BeirDocument, type BeirQuery, type Qrels, readBeirCorpus, readBeirQueries, readQrels } from './beir.js';
export { type Rankings, type RetrievalMetricOptions, type RetrievalMetrics, formatRetrievalReport, retrievalMetrics, retrievalMetricsJson } from './metrics.js';
