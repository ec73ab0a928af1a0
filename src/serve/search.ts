/**
 * `POST /v1/search` and `GET /v1/indexes`: search indexes served by name, their queries embedded
 * in micro-batches by the index's own model, optionally reranked by a served cross-encoder.
 */
import { basename, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTunaError } from '../errors.js';
import { formatBytes } from '../io/files.js';
import type { TextRankingPipeline } from '../pipelines/types.js';
import { RETRIEVERS, type Reranker, type Retriever, SearchIndex, type SearchOptions } from '../retrieval/index.js';
import type { MicroBatcher } from './batcher.js';
import { ServeConfigError, ServeError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { LoadedModel } from './models.js';
import { estimateJsonBytes } from './response.js';
import type { JsonSchema, RequestLimits } from './tasks.js';
import { blankTextError } from './validation.js';

/** An index to serve: its directory and the name requests select it by. */
export interface IndexSpec {
  /** Name in requests (`"index": name`) and in `GET /v1/indexes`; default: the directory's base name. */
  readonly name?: string;
  readonly dir: string;
}

/** What `GET /v1/indexes` says about one index. */
export interface IndexSummary {
  readonly name: string;
  readonly documents: number;
  readonly dimension: number;
  /** The model the index embeds queries with. */
  readonly model: string;
  /** The retrievers the index has (`bm25` and `hybrid` need its BM25 index). */
  readonly retrievers: readonly Retriever[];
  /** Whether dense search walks an HNSW graph by default (else it scores every vector). */
  readonly ann: boolean;
}

/** One served index. */
export interface LoadedIndex {
  readonly info: IndexSummary;
  readonly dir: string;
  readonly index: SearchIndex;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const NAME_RULE = 'an index name is 1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Parses an index value, `DIR` or `NAME=DIR`, by the rules of model values. @throws ServeConfigError */
export function parseIndexSpec(value: string): IndexSpec {
  const eq = value.indexOf('=');
  if (eq < 0 || /[/\\]/.test(value.slice(0, eq))) return { dir: value };
  const name = value.slice(0, eq);
  const dir = value.slice(eq + 1);
  if (!NAME.test(name)) throw new ServeConfigError(`index name ${JSON.stringify(name)} in ${JSON.stringify(value)} is not valid: ${NAME_RULE}`, { option: value });
  if (dir.trim() === '') throw new ServeConfigError(`${JSON.stringify(value)} names index ${JSON.stringify(name)} but gives no directory after "="`, { option: value });
  return { name, dir };
}

/**
 * Opens every index and loads its model (so that a wrong or missing model stops the server at
 * start, not at the first query).
 *
 * @throws ServeConfigError naming the index for a bad name, two indexes of one name, a directory
 *   that is no index, a damaged file or a model that does not fit.
 */
export async function loadIndexes(specs: readonly IndexSpec[], opts: { threads?: number; batchSize: number }): Promise<LoadedIndex[]> {
  const names = specs.map((s) => s.name ?? basename(resolve(s.dir)));
  names.forEach((name, i) => {
    if (!NAME.test(name))
      throw new ServeConfigError(`index name ${JSON.stringify(name)} (for ${specs[i]!.dir}) is not valid: ${NAME_RULE}; name it with NAME=DIR`, { option: specs[i]!.dir });
    const first = names.indexOf(name);
    if (first !== i)
      throw new ServeConfigError(`two indexes are named ${JSON.stringify(name)} (${specs[first]!.dir} and ${specs[i]!.dir}); name them apart with --index NAME=DIR`, {
        option: specs[i]!.dir,
      });
  });
  const loaded: LoadedIndex[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      let index: SearchIndex;
      try {
        index = await SearchIndex.open(spec.dir, { threads: opts.threads, batchSize: opts.batchSize });
      } catch (e) {
        throw new ServeConfigError(`cannot open the index ${spec.dir}: ${(e as Error).message}`, { option: spec.dir, cause: e });
      }
      const info = index.info();
      loaded.push({
        dir: spec.dir,
        index,
        info: {
          name: names[i]!,
          documents: info.documents,
          dimension: info.dimension,
          model: info.model.source,
          retrievers: index.hasBm25 ? RETRIEVERS : ['dense'],
          ann: index.hasAnn,
        },
      });
      try {
        await index.loadModel();
      } catch (e) {
        throw new ServeConfigError(`cannot load the model of the index ${spec.dir}: ${(e as Error).message}`, { option: spec.dir, cause: e });
      }
    }
  } catch (e) {
    await disposeIndexes(loaded);
    throw e;
  }
  return loaded;
}

/** Frees the indexes' models. */
export async function disposeIndexes(indexes: readonly LoadedIndex[]): Promise<void> {
  for (const x of indexes) await x.index.dispose();
}

/** A request body of `POST /v1/search`, after schema validation. */
interface SearchBody {
  readonly index?: string;
  readonly query?: string;
  readonly queries?: readonly string[];
  readonly parameters?: {
    readonly top_k?: number;
    readonly retriever?: Retriever;
    readonly exact?: boolean;
    readonly fusion?: 'rrf' | 'weighted';
    readonly alpha?: number;
    readonly rerank?: string | boolean;
    readonly rerank_top_k?: number;
    readonly return_documents?: boolean;
  };
}

/** JSON schema of the body of `POST /v1/search`. */
export function searchRequestSchema(limits: RequestLimits): JsonSchema {
  const text = { type: 'string', minLength: 1, maxLength: limits.maxTextChars };
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      index: { type: 'string', minLength: 1, maxLength: 200 },
      query: text,
      queries: { type: 'array', minItems: 1, maxItems: limits.maxInputs, items: text },
      parameters: {
        type: 'object',
        additionalProperties: false,
        properties: {
          top_k: { type: 'integer', minimum: 1, maximum: 1000 },
          retriever: { type: 'string', enum: RETRIEVERS },
          exact: { type: 'boolean' },
          fusion: { type: 'string', enum: ['rrf', 'weighted'] },
          alpha: { type: 'number', minimum: 0, maximum: 1 },
          rerank: { type: ['string', 'boolean'], minLength: 1, maxLength: 200 },
          rerank_top_k: { type: 'integer', minimum: 1, maximum: 1000 },
          return_documents: { type: 'boolean' },
        },
      },
    },
  };
}

/** What the search routes need from the server. */
export interface SearchRouteContext {
  readonly indexes: readonly LoadedIndex[];
  readonly models: readonly LoadedModel[];
  readonly batcher: MicroBatcher;
  readonly metrics: ServeMetrics;
  readonly limits: RequestLimits;
  readonly maxResponseBytes: number;
}

/** The index a request names, or the first one. */
function pickIndex(indexes: readonly LoadedIndex[], name: string | undefined): LoadedIndex {
  if (indexes.length === 0) throw new ServeError('unsupported_task', 'this server serves no search index; start it with --index NAME=DIR');
  if (name === undefined) return indexes[0]!;
  const found = indexes.find((x) => x.info.name === name);
  if (!found)
    throw new ServeError('unknown_model', `no index named ${JSON.stringify(name)}; the indexes are ${indexes.map((x) => JSON.stringify(x.info.name)).join(', ')}`, {
      field: 'index',
    });
  return found;
}

/** The cross-encoder `parameters.rerank` names (`true`: the first model serving rerank). */
function pickReranker(models: readonly LoadedModel[], which: string | boolean): Reranker | undefined {
  if (which === false) return undefined;
  const serving = models.filter((m) => m.pipelines.has('rerank'));
  const model = which === true ? serving[0] : models.find((m) => m.info.name === which);
  if (model === undefined || !model.pipelines.has('rerank')) {
    const names = serving.map((m) => JSON.stringify(m.info.name));
    const what = which === true ? 'no model here serves rerank' : `no model named ${JSON.stringify(which)} serves rerank`;
    throw new ServeError(
      which === true || models.some((m) => m.info.name === which) ? 'unsupported_task' : 'unknown_model',
      `${what}; ${names.length ? `the cross-encoders are ${names.join(', ')}` : 'start the server with a cross-encoder (--model NAME=DIR)'}`,
      {
        field: 'parameters.rerank',
      },
    );
  }
  const ranker = model.pipelines.get('rerank') as TextRankingPipeline;
  return (query, documents, options) => ranker(query, documents, options);
}

/** Request parameter names of search options, for error fields. */
const PARAMETER_OF: Readonly<Record<string, string>> = {
  topK: 'top_k',
  retriever: 'retriever',
  exact: 'exact',
  fusion: 'fusion',
  alpha: 'alpha',
  rerankTopK: 'rerank_top_k',
  rerank: 'rerank',
};

/** Registers `POST /v1/search` and `GET /v1/indexes`. */
export function registerSearchRoutes(app: FastifyInstance, ctx: SearchRouteContext): void {
  app.get('/v1/indexes', async () => ({ indexes: ctx.indexes.map((x) => x.info) }));
  app.route<{ Body: SearchBody }>({
    method: 'POST',
    url: '/v1/search',
    schema: { body: searchRequestSchema(ctx.limits) },
    handler: async (request, reply) => search(request, reply),
  });

  async function search(request: FastifyRequest<{ Body: SearchBody }>, reply: FastifyReply): Promise<unknown> {
    const body = request.body;
    if ((body.query === undefined) === (body.queries === undefined)) {
      throw new ServeError('invalid_request', 'give "query" (one text) or "queries" (a list of texts), not both', { field: body.query === undefined ? 'query' : 'queries' });
    }
    const single = body.query !== undefined;
    const queries = single ? [body.query!] : [...body.queries!];
    queries.forEach((q, i) => {
      if (q.trim() === '') throw blankTextError(single ? 'query' : `queries[${i}]`);
    });
    const target = pickIndex(ctx.indexes, body.index);
    const p = body.parameters ?? {};
    const retriever = p.retriever ?? 'dense';
    if (retriever !== 'dense' && !target.index.hasBm25) {
      throw new ServeError('invalid_parameter', `parameters.retriever ${retriever} needs BM25, which the index ${JSON.stringify(target.info.name)} was built without; use dense`, {
        field: 'parameters.retriever',
      });
    }
    if (p.alpha !== undefined && p.fusion !== 'weighted')
      throw new ServeError('invalid_parameter', 'parameters.alpha weighs the scores of "fusion": "weighted"; give that too', { field: 'parameters.alpha' });
    if (p.rerank_top_k !== undefined && (p.rerank === undefined || p.rerank === false)) {
      throw new ServeError('invalid_parameter', 'parameters.rerank_top_k needs parameters.rerank (a cross-encoder served here, or true for the first)', {
        field: 'parameters.rerank_top_k',
      });
    }
    const rerank = p.rerank === undefined ? undefined : pickReranker(ctx.models, p.rerank);
    const options: SearchOptions = {
      topK: p.top_k ?? 10,
      retriever,
      exact: p.exact ?? false,
      fusion: p.fusion ?? 'rrf',
      ...(p.alpha === undefined ? {} : { alpha: p.alpha }),
      ...(rerank ? { rerank, rerankTopK: p.rerank_top_k ?? 50 } : {}),
      returnDocuments: p.return_documents ?? true,
    };
    const key = JSON.stringify({ ...options, rerank: p.rerank ?? false });
    const run = (batch: readonly unknown[]) => target.index.searchMany(batch as string[], options);
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort();
    };
    reply.raw.once('close', onClose);
    ctx.metrics.inFlight.inc({ route: '/v1/search' });
    try {
      // A lane of its own per index: queries of concurrent requests with equal options are embedded together.
      const results = await ctx.batcher.submit(`index ${target.info.name}`, 'search', key, run, queries, gone.signal);
      const value = single ? results[0] : results;
      const bytes = estimateJsonBytes(value);
      if (bytes > ctx.maxResponseBytes) {
        throw new ServeError(
          'response_too_large',
          `the answer would be about ${formatBytes(bytes)}, more than the ${formatBytes(ctx.maxResponseBytes)} this server sends per request; ask for fewer hits (top_k), fewer queries, or "return_documents": false`,
        );
      }
      return value;
    } catch (e) {
      throw searchError(e, single);
    } finally {
      ctx.metrics.inFlight.dec({ route: '/v1/search' });
      reply.raw.off('close', onClose);
    }
  }
}

/** A failure of a search as the ServeError sent back, with the request's field names. */
function searchError(e: unknown, single: boolean): unknown {
  if (!isTunaError(e) || e instanceof ServeError) return e;
  const field = e.field === undefined ? undefined : single ? e.field.replace(/^queries\[\d+\]/, 'query') : e.field;
  switch (e.code) {
    case 'cancelled':
      return new ServeError('cancelled', 'the client went away', { cause: e });
    case 'overloaded':
      return new ServeError('overloaded', `the server is overloaded: ${e.message}; retry later`, { cause: e });
    case 'invalid_input':
      return new ServeError('invalid_request', e.message, { field, cause: e });
    case 'invalid_option': {
      const parameter = field === undefined ? undefined : (PARAMETER_OF[field] ?? field);
      return new ServeError('invalid_parameter', e.message, { field: parameter === undefined ? undefined : `parameters.${parameter}`, cause: e });
    }
    case 'disposed':
      return new ServeError('unavailable', 'the server is shutting down', { cause: e });
    default:
      return new ServeError(e.code, e.message, { field, cause: e });
  }
}
