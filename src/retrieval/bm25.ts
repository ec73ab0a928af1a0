/** Full-text search with BM25 (MiniSearch), over a tokenizer that handles Chinese. */
import MiniSearch from 'minisearch';
import type { KeyScore } from './dense.js';
import type { Bm25Parameters } from './manifest.js';
import { wordTokenizer } from './tokenize.js';

/** Default BM25 settings: plain BM25 (no BM25+ term floor), k1 1.2, b 0.75. */
export const DEFAULT_BM25: Bm25Parameters = { k1: 1.2, b: 0.75, d: 0, locale: 'zh' };

interface Bm25Doc {
  readonly key: number;
  readonly content: string;
}

/** A BM25 index of documents by key. */
export class Bm25Index {
  private search_: MiniSearch<Bm25Doc>;

  private constructor(
    readonly parameters: Bm25Parameters,
    json?: string,
  ) {
    const options = Bm25Index.options(parameters);
    this.search_ = json === undefined ? new MiniSearch<Bm25Doc>(options) : MiniSearch.loadJSON<Bm25Doc>(json, options);
  }

  private static options(p: Bm25Parameters) {
    const tokenize = wordTokenizer(p.locale);
    // Each distinct query word counts once.
    const queryTokenize = (text: string) => [...new Set(tokenize(text))];
    return {
      idField: 'key',
      fields: ['content'],
      storeFields: [],
      tokenize,
      // The tokenizer has lower-cased and dropped punctuation already.
      processTerm: (term: string) => term,
      searchOptions: { tokenize: queryTokenize, processTerm: (term: string) => term, bm25: { k: p.k1, b: p.b, d: p.d }, combineWith: 'OR' as const },
    };
  }

  /** An empty index. */
  static create(parameters: Bm25Parameters = DEFAULT_BM25): Bm25Index {
    return new Bm25Index(parameters);
  }

  /** An index from the JSON {@link toJSON} gave. @throws whatever MiniSearch throws for bad JSON */
  static fromJSON(json: string, parameters: Bm25Parameters): Bm25Index {
    return new Bm25Index(parameters, json);
  }

  get size(): number {
    return this.search_.documentCount;
  }

  add(docs: readonly Bm25Doc[]): void {
    this.search_.addAll(docs);
  }

  remove(keys: readonly number[]): void {
    for (const k of keys) if (this.search_.has(k)) this.search_.discard(k);
  }

  /**
   * The `k` best keys for `query` by BM25: the sum over the query's distinct words of
   * idf × tf (k1 + 1) / (tf + k1 (1 - b + b · len / avglen)), idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
   * where a document's length `len` is its number of distinct words (as MiniSearch counts it).
   */
  search(query: string, k: number): KeyScore[] {
    const hits = this.search_.search(query);
    // MiniSearch multiplies the sum by the number of query words matched; plain BM25 does not.
    return hits
      .map((h) => ({ key: h.id as number, score: h.score / (h.queryTerms.length || 1) }))
      .sort((a, b) => b.score - a.score || a.key - b.key)
      .slice(0, k);
  }

  /** The index as JSON text (after discarded documents are vacuumed). */
  async toJSON(): Promise<string> {
    if (this.search_.isVacuuming) await this.search_.vacuum();
    if (this.search_.dirtCount > 0) await this.search_.vacuum({ batchSize: 100000, batchWait: 0 });
    return JSON.stringify(this.search_);
  }
}
