/**
 * A search index: documents, their embeddings by a sentence model (exact search, and an HNSW graph
 * for approximate search), a BM25 index, hybrid ranking and optional cross-encoder reranking; kept
 * in a directory that every save replaces atomically.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join, resolve } from 'node:path';
import { packageVersion } from '../io/version.js';
import { TunaError } from '../errors.js';
import { syncDirectory, writeFileAtomic } from '../io/atomic.js';
import { LOCK_FILE, lockOutputDir } from '../train/output-dir.js';
import { readConfig } from '../io/checkpoint.js';
import { resolveModel } from '../io/hub.js';
import { embeddingDimension, readSentenceLayout } from '../sentence/layout.js';
import { type SentenceFeatureExtractionPipeline, featureExtractionPipeline } from '../pipelines/feature-extraction.js';
import type { PipelineOptions } from '../pipelines/types.js';
import { Bm25Index, DEFAULT_BM25 } from './bm25.js';
import { AnnIndex, DEFAULT_ANN, VectorMatrix } from './dense.js';
import { type IndexDocument, checkDocuments, documentText } from './documents.js';
import { RetrievalError } from './errors.js';
import { reciprocalRankFusion, weightedFusion } from './fusion.js';
import {
  type AnnParameters,
  type Bm25Parameters,
  type DenseMetric,
  INDEX_FORMAT,
  INDEX_FORMAT_VERSION,
  type IndexManifest,
  MANIFEST_FILE,
  type ManifestFile,
  modelFingerprint,
  readManifest,
  sha256,
} from './manifest.js';
import { BM25_TOKENIZER } from './tokenize.js';

/** Which ranking a search uses. */
export type Retriever = 'dense' | 'bm25' | 'hybrid';

/** The retrievers in the order help texts list them. */
export const RETRIEVERS: readonly Retriever[] = ['dense', 'bm25', 'hybrid'];

/** The files of a generation directory. */
const FILES = { documents: 'documents.jsonl', vectors: 'vectors.f32', keys: 'keys.u64', ann: 'ann.usearch', bm25: 'bm25.json' } as const;

/** The steps of a save, in order; {@link SaveOptions.onStep} is called after each. */
export type SaveStep = 'documents' | 'vectors' | 'ann' | 'bm25' | 'generation' | 'manifest' | 'cleanup';

/**
 * A cross-encoder that scores (query, document) pairs, best first: what
 * `pipeline('text-ranking', dir)` returns.
 */
export type Reranker = (
  query: string,
  documents: string[],
  options: { topK?: number; returnDocuments?: boolean },
) => Promise<readonly { readonly corpus_id: number; readonly score: number }[]>;

/** Loading settings of the index's sentence model. */
export interface IndexModelOptions {
  /** ONNX Runtime threads of the model (default: all cores). */
  readonly threads?: number;
  /** Texts per model run (default 32). */
  readonly batchSize?: number;
  /** Download settings when the model is a Hub id. */
  readonly hub?: PipelineOptions['hub'];
}

/** Options of {@link SearchIndex.build}. */
export interface BuildIndexOptions extends IndexModelOptions {
  /** The sentence model: a sentence-transformers directory, any checkpoint directory, or a Hub id. */
  readonly model: string;
  /** The documents (ids distinct); may be empty. */
  readonly documents: readonly IndexDocument[];
  /** `cos` (default: vectors normalised to unit length, scored by cosine) or `ip` (the model's raw vectors, dot product). */
  readonly metric?: DenseMetric;
  /** The HNSW graph for approximate search: true (default, {@link DEFAULT_ANN}), settings, or false (exact search only). */
  readonly ann?: boolean | Partial<AnnParameters>;
  /** The BM25 index: true (default, {@link DEFAULT_BM25}), settings, or false. */
  readonly bm25?: boolean | Partial<Bm25Parameters>;
  /** The model's prompt for documents (default `document` when the model has it; null: none). */
  readonly documentPromptName?: string | null;
  /** The model's prompt for queries (default `query` when the model has it; null: none). */
  readonly queryPromptName?: string | null;
  /** Called as documents are embedded. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options of {@link SearchIndex.open}. */
export interface OpenIndexOptions extends IndexModelOptions {
  /**
   * The model to embed queries with, when it is not where the index was built (a moved model, a
   * Hub id); it must be the model the index was built with.
   */
  readonly model?: string;
}

/** Options of {@link SearchIndex.search}. */
export interface SearchOptions {
  /** Hits returned (default 10). */
  readonly topK?: number;
  /** `dense` (default), `bm25` or `hybrid` (both, fused). */
  readonly retriever?: Retriever;
  /** Dense search by scoring every vector (the reference), even when the index has an HNSW graph. */
  readonly exact?: boolean;
  /** Hybrid fusion: `rrf` (default: reciprocal rank fusion) or `weighted` (min-max-normalised scores, see {@link alpha}). */
  readonly fusion?: 'rrf' | 'weighted';
  /** The k of reciprocal rank fusion (default 60). */
  readonly rrfK?: number;
  /** Weighted fusion: the dense score's weight, BM25's is 1 - alpha (default 0.5). */
  readonly alpha?: number;
  /** Hits each retriever contributes to a hybrid ranking (default max(100, topK)). */
  readonly candidates?: number;
  /** Reranks the first hits with a cross-encoder (`pipeline('text-ranking', dir)`). */
  readonly rerank?: Reranker;
  /** Hits reranked (default 50; at least topK). */
  readonly rerankTopK?: number;
  /** Whether hits carry the document's text, title and metadata (default true). */
  readonly returnDocuments?: boolean;
}

/** One hit of a search. */
export interface SearchHit {
  readonly id: string;
  /** Dense: cosine (or dot product); bm25: BM25; hybrid: the fused score; reranked: the cross-encoder's. */
  readonly score: number;
  readonly text?: string;
  readonly title?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Options of {@link SearchIndex.save}. */
export interface SaveOptions {
  /** Replace an index in a directory other than the one this index was opened from or last saved to. */
  readonly overwrite?: boolean;
  /** Called after each step of the save; an error thrown here stops it there (the previous index stays as it was). */
  readonly onStep?: (step: SaveStep) => void | Promise<void>;
}

/** What {@link SearchIndex.info} reports. */
export interface IndexInfo {
  readonly directory: string | undefined;
  readonly documents: number;
  readonly dimension: number;
  readonly metric: DenseMetric;
  readonly normalized: boolean;
  readonly model: { readonly source: string; readonly path: string; readonly fingerprint: string };
  readonly prompts: { readonly document: string | null; readonly query: string | null };
  readonly ann: (AnnParameters & { readonly library: string }) | null;
  readonly bm25: (Bm25Parameters & { readonly library: string; readonly tokenizer: string }) | null;
  readonly generation: number;
  /** Bytes of each file of the saved generation. */
  readonly files: Readonly<Record<string, number>>;
  readonly created: string;
  readonly updated: string;
}

/** The package versions recorded in a manifest. */
const LIBRARIES = { ann: 'usearch 2.26', bm25: 'minisearch 7.2' };

type Settings = Omit<IndexManifest, 'generation' | 'directory' | 'files' | 'documents' | 'nextKey' | 'updated' | 'tuna'>;

function positiveInt(name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new RetrievalError('invalid_option', `${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`, { field: name });
  return v;
}

function annSettings(a: BuildIndexOptions['ann']): AnnParameters | null {
  if (a === false) return null;
  const p = { ...DEFAULT_ANN, ...(typeof a === 'object' ? a : {}) };
  return {
    connectivity: positiveInt('ann.connectivity', p.connectivity, 2),
    expansionAdd: positiveInt('ann.expansionAdd', p.expansionAdd),
    expansionSearch: positiveInt('ann.expansionSearch', p.expansionSearch),
  };
}

function bm25Settings(b: BuildIndexOptions['bm25']): Bm25Parameters | null {
  if (b === false) return null;
  const p = { ...DEFAULT_BM25, ...(typeof b === 'object' ? b : {}) };
  for (const [k, v] of Object.entries({ k1: p.k1, b: p.b, d: p.d })) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (k === 'b' && v > 1))
      throw new RetrievalError('invalid_option', `bm25.${k} must be a number >= 0${k === 'b' ? ' and <= 1' : ''}, got ${JSON.stringify(v)}`, { field: `bm25.${k}` });
  }
  try {
    new Intl.Segmenter(p.locale);
  } catch (e) {
    throw new RetrievalError('invalid_option', `bm25.locale ${JSON.stringify(p.locale)} is no locale (e.g. zh, en, ja)`, { field: 'bm25.locale', cause: e });
  }
  return p;
}

/** The bytes of a float32 matrix or of uint64 keys, little-endian. */
function littleEndian(values: Float32Array | BigUint64Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.byteLength);
  values.forEach((v: number | bigint, i: number) => (typeof v === 'bigint' ? out.writeBigUInt64LE(v, i * 8) : out.writeFloatLE(v, i * 4)));
  return out;
}

/** Little-endian bytes as a Float32Array (a copy, aligned). */
function float32s(bytes: Buffer): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (endianness() === 'LE') new Uint8Array(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/**
 * A search index over documents.
 *
 * ```ts
 * import { SearchIndex } from 'tuna';
 *
 * const index = await SearchIndex.build({ model: 'out/faq-model', documents: [{ id: 'a1', title: 'Passwords', text: 'Open Settings, then ...' }] });
 * await index.save('faq-index');
 * const again = await SearchIndex.open('faq-index');
 * await again.search('how do I reset my password?', { topK: 5, retriever: 'hybrid' });
 * // [{ id: 'a1', score: 0.0328, title: 'Passwords', text: 'Open Settings, then ...' }, ...]
 * await again.add([{ id: 'a2', text: '...' }]);   // a known id replaces its document
 * await again.delete(['a1']);
 * await again.save();                           // atomic: readers see the old index or the new one
 * await again.dispose();
 * ```
 *
 * Dense search embeds the query with the model the index was built with (its `query` prompt when
 * it has one; documents get its `document` prompt) and ranks by cosine; `exact: true` scores every
 * vector instead of walking the HNSW graph. BM25 uses a tokenizer that segments Chinese into words.
 */
export class SearchIndex {
  private docs: IndexDocument[] = [];
  private rowOf = new Map<string, number>();
  private rowOfKey = new Map<number, number>();
  private readonly vectors: VectorMatrix;
  private nextKey = 0;
  private generation = 0;
  private savedFiles: Record<string, number> = {};
  private created: string;
  private updated: string;
  private embedderPromise: Promise<SentenceFeatureExtractionPipeline> | undefined;
  private disposed = false;

  private constructor(
    private readonly settings: Settings,
    private ann: AnnIndex | null,
    private readonly bm25: Bm25Index | null,
    private directory: string | undefined,
    private readonly modelDir: string | undefined,
    private readonly modelOptions: IndexModelOptions,
  ) {
    this.vectors = new VectorMatrix(settings.dimension);
    this.created = settings.created;
    this.updated = settings.created;
  }

  /**
   * Embeds `documents` with `model` and builds the index in memory (write it with {@link save}).
   *
   * @throws RetrievalError `invalid_input` for a document without id or text, or two with one id;
   *   `invalid_option` for bad settings or a prompt name the model does not have.
   */
  static async build(opts: BuildIndexOptions): Promise<SearchIndex> {
    if (opts === null || typeof opts !== 'object' || typeof opts.model !== 'string' || opts.model === '') {
      throw new RetrievalError('invalid_option', 'model must be a sentence model directory or Hub id', { field: 'model' });
    }
    const documents = checkDocuments(opts.documents);
    const metric = opts.metric ?? 'cos';
    if (metric !== 'cos' && metric !== 'ip') throw new RetrievalError('invalid_option', `metric must be cos or ip, got ${JSON.stringify(metric)}`, { field: 'metric' });
    const ann = annSettings(opts.ann);
    const bm25 = bm25Settings(opts.bm25);
    const modelOptions = { threads: opts.threads, batchSize: opts.batchSize, hub: opts.hub };
    const dir = await resolveModel(opts.model, opts.hub);
    const embedder = await featureExtractionPipeline(dir, pipelineOptions(modelOptions));
    try {
      const prompts = embedder.sentenceLayout.prompts;
      const promptName = (field: string, given: string | null | undefined, fallback: string): string | null => {
        if (given === undefined) return Object.hasOwn(prompts, fallback) ? fallback : null;
        if (given === null) return null;
        if (!Object.hasOwn(prompts, given)) {
          const names = Object.keys(prompts);
          throw new RetrievalError(
            'invalid_option',
            `${field}: the model has no prompt ${JSON.stringify(given)}; its prompts are ${names.length ? names.map((n) => JSON.stringify(n)).join(', ') : 'none'}`,
            { field },
          );
        }
        return given;
      };
      const now = new Date().toISOString();
      const settings: Settings = {
        format: INDEX_FORMAT,
        version: INDEX_FORMAT_VERSION,
        created: now,
        model: { source: opts.model, path: resolve(dir), fingerprint: await modelFingerprint(dir) },
        dimension: embedder.embeddingDimension,
        metric,
        normalized: metric === 'cos',
        prompts: { document: promptName('documentPromptName', opts.documentPromptName, 'document'), query: promptName('queryPromptName', opts.queryPromptName, 'query') },
        ann: ann && { library: LIBRARIES.ann, ...ann },
        bm25: bm25 && { library: LIBRARIES.bm25, tokenizer: BM25_TOKENIZER, ...bm25 },
      };
      const index = new SearchIndex(settings, ann && new AnnIndex(settings.dimension, ann), bm25 && Bm25Index.create(bm25), undefined, dir, modelOptions);
      index.embedderPromise = Promise.resolve(embedder);
      const step = Math.max(1, (opts.batchSize ?? 32) * 8);
      for (let i = 0; i < documents.length; i += step) {
        await index.insert(documents.slice(i, i + step));
        opts.onProgress?.(Math.min(i + step, documents.length), documents.length);
      }
      return index;
    } catch (e) {
      await embedder.dispose();
      throw e;
    }
  }

  /**
   * Opens an index directory. Every file is checked against the sizes and SHA-256 digests in
   * its manifest; the model is loaded at the first dense search.
   *
   * @throws RetrievalError `file_not_found` (no index there, or a file of it missing),
   *   `file_unreadable` (a corrupt file, named: rebuild the index), `invalid_model` (`model` is not
   *   the model the index was built with).
   */
  static async open(dir: string, opts: OpenIndexOptions = {}): Promise<SearchIndex> {
    const m = await readManifest(dir);
    const genDir = join(dir, m.directory);
    const read = async (name: string): Promise<Buffer> => {
      const file = join(genDir, name);
      const want = m.files[name];
      if (want === undefined)
        throw new RetrievalError('file_unreadable', `${join(dir, MANIFEST_FILE)} is corrupt: it lists no ${name}; rebuild the index`, { file: join(dir, MANIFEST_FILE) });
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
        throw new RetrievalError(
          missing ? 'file_not_found' : 'file_unreadable',
          `${file} ${missing ? 'is missing' : `cannot be read (${(e as Error).message})`}: the index is damaged; rebuild the index`,
          {
            file,
            cause: e,
          },
        );
      }
      if (bytes.length !== want.bytes || sha256(bytes) !== want.sha256) {
        const why = bytes.length !== want.bytes ? `${bytes.length} bytes where the manifest says ${want.bytes}` : 'its SHA-256 differs from the manifest';
        throw new RetrievalError('file_unreadable', `${file} is corrupt (${why}); rebuild the index`, { file });
      }
      return bytes;
    };
    const corrupt = (name: string, why: string) =>
      new RetrievalError('file_unreadable', `${join(genDir, name)} is corrupt (${why}); rebuild the index`, { file: join(genDir, name) });
    const N = m.documents;
    const D = m.dimension;
    const docs: IndexDocument[] = [];
    const docText = (await read(FILES.documents)).toString('utf8');
    for (const [i, line] of docText.split('\n').entries()) {
      if (line === '') continue;
      let d: IndexDocument;
      try {
        d = JSON.parse(line) as IndexDocument;
      } catch {
        throw corrupt(FILES.documents, `line ${i + 1} is not JSON`);
      }
      if (typeof d?.id !== 'string' || typeof d.text !== 'string') throw corrupt(FILES.documents, `line ${i + 1} is no {id, text} document`);
      docs.push(d);
    }
    if (docs.length !== N) throw corrupt(FILES.documents, `${docs.length} documents where the manifest says ${N}`);
    const vectorBytes = await read(FILES.vectors);
    if (vectorBytes.length !== N * D * 4) throw corrupt(FILES.vectors, `${vectorBytes.length} bytes, not ${N} x ${D} float32 values`);
    const keyBytes = await read(FILES.keys);
    if (keyBytes.length !== N * 8) throw corrupt(FILES.keys, `${keyBytes.length} bytes, not ${N} keys`);
    let ann: AnnIndex | null = null;
    if (m.ann) {
      await read(FILES.ann);
      try {
        ann = AnnIndex.load(join(genDir, FILES.ann), D, m.ann);
      } catch (e) {
        throw corrupt(FILES.ann, (e as Error).message);
      }
      if (ann.size !== N) throw corrupt(FILES.ann, `${ann.size} vectors where the manifest says ${N}`);
    }
    let bm25: Bm25Index | null = null;
    if (m.bm25) {
      const json = (await read(FILES.bm25)).toString('utf8');
      try {
        bm25 = Bm25Index.fromJSON(json, m.bm25);
      } catch (e) {
        throw corrupt(FILES.bm25, (e as Error).message);
      }
      if (bm25.size !== N) throw corrupt(FILES.bm25, `${bm25.size} documents where the manifest says ${N}`);
    }
    let modelDir: string | undefined;
    if (opts.model !== undefined) {
      modelDir = await resolveModel(opts.model, opts.hub);
      const dimension = await modelDimension(modelDir);
      if (dimension !== undefined && dimension !== m.dimension) {
        throw new RetrievalError(
          'invalid_model',
          `${opts.model} makes ${dimension}-dimensional embeddings, but ${dir} holds ${m.dimension}-dimensional vectors (built with ${m.model.source}); search the index with the model it was built with, or rebuild the index with this one`,
          { field: 'model' },
        );
      }
      const fingerprint = await modelFingerprint(modelDir);
      if (fingerprint !== m.model.fingerprint) {
        throw new RetrievalError(
          'invalid_model',
          `${dir} was built with the model ${m.model.source} (${m.model.path}); ${opts.model} is another model (its configuration or weight sizes differ). Search the index with the model it was built with, or rebuild the index with this one`,
          { field: 'model' },
        );
      }
    }
    const { generation: _g, directory: _d, files, documents: _n, nextKey, updated, tuna: _t, ...settings } = m;
    const index = new SearchIndex(settings, ann, bm25, dir, modelDir, { threads: opts.threads, batchSize: opts.batchSize, hub: opts.hub });
    const keys = new BigUint64Array(N);
    new Uint8Array(keys.buffer).set(keyBytes);
    if (endianness() !== 'LE') for (let i = 0; i < N; i++) keys[i] = keyBytes.readBigUInt64LE(i * 8);
    index.docs = docs;
    index.vectors.append(Array.from(keys, Number), float32s(vectorBytes));
    index.reindex();
    index.nextKey = nextKey;
    index.generation = m.generation;
    index.updated = updated;
    index.savedFiles = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.bytes]));
    return index;
  }

  /** Documents in the index. */
  get size(): number {
    return this.docs.length;
  }

  /** The embedding size. */
  get dimension(): number {
    return this.settings.dimension;
  }

  /** Whether the index has an HNSW graph (approximate dense search). */
  get hasAnn(): boolean {
    return this.ann !== null;
  }

  /** Whether the index has BM25. */
  get hasBm25(): boolean {
    return this.bm25 !== null;
  }

  /** The document with this id, if any. */
  get(id: string): IndexDocument | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.docs[r];
  }

  /** What the index holds and how it was built. */
  info(): IndexInfo {
    return {
      directory: this.directory,
      documents: this.size,
      dimension: this.settings.dimension,
      metric: this.settings.metric,
      normalized: this.settings.normalized,
      model: this.settings.model,
      prompts: this.settings.prompts,
      ann: this.settings.ann,
      bm25: this.settings.bm25,
      generation: this.generation,
      files: { ...this.savedFiles },
      created: this.created,
      updated: this.updated,
    };
  }

  /**
   * Adds documents (embedding them); a document whose id is in the index already replaces it.
   *
   * @returns the ids added and the ids replaced.
   * @throws RetrievalError `invalid_input` for a document without id or text, or two with one id.
   */
  async add(documents: readonly IndexDocument[]): Promise<{ added: number; replaced: string[] }> {
    this.checkOpen();
    const docs = checkDocuments(documents);
    const replaced = docs.filter((d) => this.rowOf.has(d.id)).map((d) => d.id);
    await this.insert(docs);
    return { added: docs.length - replaced.length, replaced };
  }

  /** Removes documents by id; ids not in the index are reported, not an error. */
  async delete(ids: readonly string[]): Promise<{ deleted: string[]; missing: string[] }> {
    this.checkOpen();
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw new RetrievalError('invalid_input', 'ids must be an array of strings', { field: 'ids' });
    const unique = [...new Set(ids)];
    const deleted = unique.filter((id) => this.rowOf.has(id));
    this.remove(deleted);
    if (deleted.length) this.updated = new Date().toISOString();
    const gone = new Set(deleted);
    return { deleted, missing: unique.filter((id) => !gone.has(id)) };
  }

  /** The best hits for one query. See {@link SearchOptions}. */
  async search(query: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
    return (await this.searchMany([query], opts))[0]!;
  }

  /**
   * The best hits for each query, in order (queries are embedded together).
   *
   * @throws RetrievalError `invalid_input` for a blank query, `invalid_option` for bad options or a
   *   retriever the index lacks (BM25 left out at build), `invalid_model` when the model found is
   *   not the one the index was built with.
   */
  async searchMany(queries: readonly string[], opts: SearchOptions = {}): Promise<SearchHit[][]> {
    this.checkOpen();
    if (!Array.isArray(queries)) throw new RetrievalError('invalid_input', 'queries must be an array of strings', { field: 'queries' });
    queries.forEach((q, i) => {
      if (typeof q !== 'string' || q.trim() === '') throw new RetrievalError('invalid_input', `queries[${i}] must be a non-blank string`, { field: `queries[${i}]` });
    });
    const topK = positiveInt('topK', opts.topK ?? 10);
    const retriever = opts.retriever ?? 'dense';
    if (!RETRIEVERS.includes(retriever))
      throw new RetrievalError('invalid_option', `retriever must be one of ${RETRIEVERS.join(', ')}, got ${JSON.stringify(retriever)}`, { field: 'retriever' });
    if (retriever !== 'dense' && !this.bm25)
      throw new RetrievalError('invalid_option', `retriever ${retriever} needs BM25, which this index was built without; use dense, or rebuild the index with BM25`, {
        field: 'retriever',
      });
    const fusion = opts.fusion ?? 'rrf';
    if (fusion !== 'rrf' && fusion !== 'weighted') throw new RetrievalError('invalid_option', `fusion must be rrf or weighted, got ${JSON.stringify(fusion)}`, { field: 'fusion' });
    const alpha = opts.alpha ?? 0.5;
    if (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))
      throw new RetrievalError('invalid_option', `alpha must be a number from 0 to 1, got ${JSON.stringify(alpha)}`, { field: 'alpha' });
    const rrfK = opts.rrfK ?? 60;
    if (typeof rrfK !== 'number' || !(rrfK >= 0)) throw new RetrievalError('invalid_option', `rrfK must be a number >= 0, got ${JSON.stringify(rrfK)}`, { field: 'rrfK' });
    if (opts.rerank !== undefined && typeof opts.rerank !== 'function')
      throw new RetrievalError('invalid_option', 'rerank must be a cross-encoder pipeline (text-ranking)', { field: 'rerank' });
    const rerankTopK = opts.rerank ? Math.max(topK, positiveInt('rerankTopK', opts.rerankTopK ?? 50)) : topK;
    const depth = rerankTopK;
    const candidates = retriever === 'hybrid' ? Math.max(depth, positiveInt('candidates', opts.candidates ?? 100)) : depth;
    const exact = opts.exact ?? false;
    const returnDocuments = opts.returnDocuments ?? true;

    const queryVectors = retriever === 'bm25' || this.size === 0 ? undefined : await this.embed(queries, this.settings.prompts.query);
    const out: SearchHit[][] = [];
    for (const [qi, query] of queries.entries()) {
      const dense = () => this.denseSearch(queryVectors!.subarray(qi * this.dimension, (qi + 1) * this.dimension), candidates, exact);
      const lexical = () => this.bm25!.search(query, candidates).map((h) => ({ row: this.rowOfKey.get(h.key)!, score: h.score }));
      let ranked: { row: number; score: number }[];
      if (this.size === 0) ranked = [];
      else if (retriever === 'dense') ranked = dense();
      else if (retriever === 'bm25') ranked = lexical();
      else {
        const d = dense();
        const b = lexical();
        ranked =
          fusion === 'rrf'
            ? reciprocalRankFusion([d.map((x) => x.row), b.map((x) => x.row)], rrfK).map((x) => ({ row: x.item, score: x.score }))
            : weightedFusion(
                d.map((x) => ({ item: x.row, score: x.score })),
                b.map((x) => ({ item: x.row, score: x.score })),
                alpha,
              ).map((x) => ({ row: x.item, score: x.score }));
      }
      ranked = ranked.slice(0, depth);
      if (opts.rerank && ranked.length > 0) {
        const texts = ranked.map((r) => documentText(this.docs[r.row]!));
        const scored = await opts.rerank(query, texts, { topK: texts.length, returnDocuments: false });
        ranked = scored.map((s) => {
          const r = ranked[s.corpus_id];
          if (r === undefined) throw new TunaError('internal', `the reranker returned corpus_id ${s.corpus_id} for ${texts.length} documents`);
          return { row: r.row, score: s.score };
        });
      }
      out.push(ranked.slice(0, topK).map((r) => this.hit(r.row, r.score, returnDocuments)));
    }
    return out;
  }

  /**
   * Writes the index to `dir` (default: where it was opened or last saved). The files go into a
   * new generation subdirectory, flushed to disk, and then `manifest.json` is replaced by an atomic
   * rename to point at it; older generations are removed after. A crash at any point leaves the
   * previous index readable.
   *
   * A save holds the directory's lock file (`.tuna-lock`, as training runs do), so two processes
   * never write one index at once; and a save into the directory the index came from is refused
   * when another process saved a newer generation there since, instead of silently dropping that
   * process's changes.
   *
   * @throws RetrievalError `output_exists` when `dir` holds something other than this index (an
   *   unrelated non-empty directory, or another index without `overwrite`); `conflict` when another
   *   process saved the index after this one opened or last saved it.
   * @throws TunaError `output_locked` while another live process is saving into `dir`.
   */
  async save(dir?: string, opts: SaveOptions = {}): Promise<string> {
    this.checkOpen();
    const target = dir ?? this.directory;
    if (target === undefined) throw new RetrievalError('invalid_option', 'this index has no directory yet: give the directory to save it to', { field: 'dir' });
    const lock = await lockOutputDir(target);
    try {
      return await this.saveLocked(target, opts);
    } finally {
      await lock.release();
    }
  }

  private async saveLocked(target: string, opts: SaveOptions): Promise<string> {
    const same = this.directory !== undefined && resolve(target) === resolve(this.directory);
    const entries = (await readdir(target)).filter((e) => e !== LOCK_FILE);
    const isIndex = entries.includes(MANIFEST_FILE);
    if (!same && entries.length > 0) {
      if (!isIndex) throw new RetrievalError('output_exists', `${target} is not empty and holds no search index; save the index to a new or empty directory`, { file: target });
      if (!opts.overwrite)
        throw new RetrievalError('output_exists', `${target} holds a search index already; choose another directory, or replace it (overwrite)`, { file: target });
    }
    const step = async (s: SaveStep) => opts.onStep?.(s);
    await mkdir(target, { recursive: true });
    let previous = 0;
    if (isIndex)
      previous = await readManifest(target).then(
        (m) => m.generation,
        () => 0,
      );
    if (same && isIndex && previous !== this.generation) {
      throw new RetrievalError(
        'conflict',
        `${target}: another process saved generation ${previous} of this index after this one read generation ${this.generation}; saving now would drop its changes. Open the index again and repeat the changes`,
        { file: target },
      );
    }
    for (const e of entries) {
      const n = /^gen-(\d+)$/.exec(e)?.[1];
      if (n !== undefined) previous = Math.max(previous, Number(n));
    }
    const generation = previous + 1;
    const name = `gen-${String(generation).padStart(6, '0')}`;
    const genDir = join(target, name);
    const files: Record<string, ManifestFile> = {};
    const write = async (file: string, bytes: Uint8Array) => {
      await writeFileAtomic(join(genDir, file), bytes);
      files[file] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
    };
    let committed = false;
    try {
      await rm(genDir, { recursive: true, force: true });
      await mkdir(genDir);
      const lines = this.docs.map(
        (d) =>
          `${JSON.stringify(d)
            .replace(/\u2028/g, '\\u2028')
            .replace(/\u2029/g, '\\u2029')}\n`,
      );
      await write(FILES.documents, Buffer.from(lines.join(''), 'utf8'));
      await step('documents');
      await write(FILES.vectors, littleEndian(this.vectors.rows()));
      await write(FILES.keys, littleEndian(BigUint64Array.from(this.vectors.keys, (k) => BigInt(k))));
      await step('vectors');
      if (this.ann) {
        const file = join(genDir, FILES.ann);
        this.ann.save(file);
        const fh = await open(file, 'r+');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
        const bytes = await readFile(file);
        files[FILES.ann] = { bytes: bytes.length, sha256: sha256(bytes) };
        await step('ann');
      }
      if (this.bm25) {
        await write(FILES.bm25, Buffer.from(await this.bm25.toJSON(), 'utf8'));
        await step('bm25');
      }
      await syncDirectory(genDir);
      await step('generation');
      const manifest: IndexManifest = {
        ...this.settings,
        created: this.created,
        generation,
        directory: name,
        updated: this.updated,
        tuna: packageVersion(),
        documents: this.size,
        nextKey: this.nextKey,
        files,
      };
      await writeFileAtomic(join(target, MANIFEST_FILE), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8'));
      committed = true;
      await step('manifest');
    } finally {
      if (!committed) await rm(genDir, { recursive: true, force: true }).catch(() => {});
    }
    // Older generations (and those of saves that died midway) are no longer referenced.
    for (const e of await readdir(target)) {
      if (e !== name && (/^gen-\d+$/.test(e) || /^\..+\.[0-9a-f]{12}\.tmp$/.test(e))) await rm(join(target, e), { recursive: true, force: true });
    }
    await step('cleanup');
    this.directory = target;
    this.generation = generation;
    this.savedFiles = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.bytes]));
    return target;
  }

  /**
   * Loads the sentence model now rather than at the first dense search, checking that it is the
   * model the index was built with.
   *
   * @throws RetrievalError `invalid_model` as {@link searchMany} does.
   */
  async loadModel(): Promise<void> {
    this.checkOpen();
    await this.embedder();
  }

  /** Frees the model's ONNX Runtime session. The index cannot be used after. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const p = this.embedderPromise;
    this.embedderPromise = undefined;
    if (p)
      await p.then(
        (e) => e.dispose(),
        () => {},
      );
  }

  // ------------------------------------------------------------------ internals

  private checkOpen(): void {
    if (this.disposed) throw new RetrievalError('disposed', 'the search index was disposed; open it again');
  }

  /** The sentence model, loaded once and checked against the manifest. */
  private embedder(): Promise<SentenceFeatureExtractionPipeline> {
    this.embedderPromise ??= (async () => {
      const m = this.settings.model;
      const dir = this.modelDir ?? (existsSync(m.path) ? m.path : await resolveModel(m.source, this.modelOptions.hub));
      const fingerprint = await modelFingerprint(dir);
      if (fingerprint !== m.fingerprint) {
        throw new RetrievalError(
          'invalid_model',
          `the model at ${dir} has changed since the index${this.directory ? ` ${this.directory}` : ''} was built (its configuration or weight sizes differ); rebuild the index, or give the model it was built with`,
          { field: 'model' },
        );
      }
      const e = await featureExtractionPipeline(dir, pipelineOptions(this.modelOptions));
      if (e.embeddingDimension !== this.settings.dimension) {
        await e.dispose();
        throw new RetrievalError(
          'invalid_model',
          `the model at ${dir} makes ${e.embeddingDimension}-dimensional embeddings, but the index holds ${this.settings.dimension}-dimensional vectors; rebuild the index`,
          {
            field: 'model',
          },
        );
      }
      return e;
    })();
    const p = this.embedderPromise;
    p.catch(() => {
      if (this.embedderPromise === p) this.embedderPromise = undefined;
    });
    return p;
  }

  /** Embeddings of `texts` as one row-major matrix. */
  private async embed(texts: readonly string[], promptName: string | null): Promise<Float32Array> {
    const embedder = await this.embedder();
    const rows = (await embedder.runBatch(
      texts as string[],
      {
        pooling: 'model',
        normalize: this.settings.normalized,
        ...(promptName === null ? {} : { promptName }),
      } as never,
    )) as unknown as number[][];
    const D = this.dimension;
    const out = new Float32Array(texts.length * D);
    rows.forEach((r, i) => {
      if (r.length !== D)
        throw new RetrievalError('invalid_model', `the model made a ${r.length}-dimensional embedding; the index holds ${D}-dimensional vectors. Rebuild the index`, {
          field: 'model',
        });
      out.set(r, i * D);
    });
    return out;
  }

  /** Embeds and appends documents; ids already present are replaced. */
  private async insert(docs: readonly IndexDocument[]): Promise<void> {
    if (docs.length === 0) return;
    const vectors = await this.embed(
      docs.map((d) => documentText(d)),
      this.settings.prompts.document,
    );
    this.remove(docs.filter((d) => this.rowOf.has(d.id)).map((d) => d.id));
    const keys = docs.map(() => this.nextKey++);
    const first = this.docs.length;
    this.docs.push(...docs);
    this.vectors.append(keys, vectors);
    docs.forEach((d, i) => {
      this.rowOf.set(d.id, first + i);
      this.rowOfKey.set(keys[i]!, first + i);
    });
    this.ann?.add(keys, vectors);
    this.bm25?.add(docs.map((d, i) => ({ key: keys[i]!, content: documentText(d) })));
    this.updated = new Date().toISOString();
  }

  private remove(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const rows = new Set(ids.map((id) => this.rowOf.get(id)!));
    const keys = [...rows].map((r) => this.vectors.keys[r]!);
    this.ann?.remove(keys);
    this.bm25?.remove(keys);
    this.vectors.removeRows(rows);
    this.docs = this.docs.filter((_, r) => !rows.has(r));
    this.reindex();
  }

  private reindex(): void {
    this.rowOf = new Map(this.docs.map((d, r) => [d.id, r]));
    this.rowOfKey = new Map(this.vectors.keys.map((k, r) => [k, r]));
  }

  private denseSearch(q: Float32Array, k: number, exact: boolean): { row: number; score: number }[] {
    if (exact || !this.ann) return this.vectors.exactSearch(q, k);
    const hits: { row: number; score: number }[] = [];
    for (const h of this.ann.search(q, k)) {
      const row = this.rowOfKey.get(h.key);
      if (row !== undefined) hits.push({ row, score: h.score });
    }
    return hits;
  }

  private hit(row: number, score: number, withDocument: boolean): SearchHit {
    const d = this.docs[row]!;
    if (!withDocument) return { id: d.id, score };
    return { id: d.id, score, text: d.text, ...(d.title === undefined ? {} : { title: d.title }), ...(d.metadata === undefined ? {} : { metadata: d.metadata }) };
  }
}

function pipelineOptions(o: IndexModelOptions): PipelineOptions {
  return {
    ...(o.threads === undefined ? {} : { threads: o.threads }),
    ...(o.batchSize === undefined ? {} : { batchSize: o.batchSize }),
    ...(o.hub === undefined ? {} : { hub: o.hub }),
  };
}

/** The embedding size of a model directory, from its module configs (or config.json's hidden size); undefined when unreadable. */
async function modelDimension(dir: string): Promise<number | undefined> {
  try {
    const layout = await readSentenceLayout(dir);
    if (layout) return embeddingDimension(layout);
    const config = await readConfig(dir);
    return typeof config.hidden_size === 'number' ? config.hidden_size : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir` holds a search index (a manifest.json). */
export async function isIndexDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}
