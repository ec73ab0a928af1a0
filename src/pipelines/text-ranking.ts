/**
 * The text-ranking pipeline: a cross-encoder (a sequence classifier reading a query and a passage
 * as one input) that scores pairs and ranks documents against a query, as sentence-transformers'
 * CrossEncoder `predict` and `rank` do. The activation on the logits comes from the model's
 * CrossEncoder config (Sigmoid for one label by default, else Identity).
 */
import { numLabels } from '../models/registry.js';
import { readCrossEncoderLayout } from '../sentence/cross-encoder-layout.js';
import { activate, rankDocuments } from '../sentence/cross-encoder.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { callOptions, checkInteger, checkText } from './inputs.js';
import type { PipelineOptions, TextRankingOptions, TextRankingPipeline, TextRankingPredictOptions, TextRankingResult } from './types.js';

/** Call options and their snake_case spellings. */
const RANK_OPTIONS = { topK: 'top_k', returnDocuments: 'return_documents', batchSize: 'batch_size' } as const;
const PREDICT_OPTIONS = { applyActivation: 'apply_activation', batchSize: 'batch_size' } as const;

function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new PipelineError('invalid_option', `${field} must be true or false, got ${JSON.stringify(value)}`, { field });
  return value;
}

/** Checks `pairs` for `predict`: a list of [query, passage] text pairs. */
function checkPairs(pairs: unknown): [string, string][] {
  if (!Array.isArray(pairs)) throw new PipelineError('invalid_input', 'predict takes a list of [query, passage] pairs', { field: 'inputs' });
  return pairs.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) {
      throw new PipelineError('invalid_input', `inputs[${i}] must be a [query, passage] pair of two texts`, { field: `inputs[${i}]` });
    }
    return [checkText(p[0], `inputs[${i}][0]`), checkText(p[1], `inputs[${i}][1]`)];
  });
}

/**
 * Loads a cross-encoder (a sequence-classification checkpoint, usually with one label, in
 * sentence-transformers' CrossEncoder layout or a plain Hugging Face one) as a text-ranking pipeline.
 */
export async function textRankingPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<TextRankingPipeline> {
  const checkpoint = await openModel('text-ranking', dirOrId, opts);
  const n = numLabels(checkpoint.config);
  let layout: Awaited<ReturnType<typeof readCrossEncoderLayout>>;
  try {
    layout = await readCrossEncoderLayout(checkpoint.dir, n);
  } catch (e) {
    await checkpoint.session.release();
    throw e;
  }
  const state = new PipelineState('text-ranking', checkpoint);

  /** Logits of every pair, after the activation when `activation` is true: one row per pair. */
  const score = async (pairs: readonly (readonly [string, string])[], batchSize: number, activation: boolean): Promise<number[][]> => {
    const { tokenizer, session, maxLength, dir } = state.open();
    const encodings: Encoding[] = pairs.map(([q, p]) => tokenizer.encode(q, p, { maxLength, truncation: 'longest_first' }));
    const rows = new Array<number[]>(pairs.length);
    await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, source: dir }, (indices, outputs) => {
      const logits = outputs.logits!.data as Float32Array;
      indices.forEach((i, b) => {
        const row = Array.from(logits.subarray(b * n, (b + 1) * n));
        rows[i] = activation ? row.map((x) => activate(x, layout.activation)) : row;
      });
    });
    return rows;
  };

  const rank = async (query: unknown, documents: unknown, rawOpts?: TextRankingOptions): Promise<TextRankingResult[]> => {
    const o = callOptions<TextRankingOptions>(rawOpts, RANK_OPTIONS);
    if (n !== 1) {
      throw new PipelineError('wrong_task', `${state.info.dir}: ranking needs a model with one label (a relevance score); this one has ${n}. Use predict() for its scores`, {
        field: 'task',
      });
    }
    const q = checkText(query, 'query');
    if (!Array.isArray(documents)) throw new PipelineError('invalid_input', 'documents must be a list of texts', { field: 'documents' });
    const docs = documents.map((d, i) => checkText(d, `documents[${i}]`));
    const topK = o.topK === undefined || o.topK === null ? undefined : checkInteger(o.topK, 'topK', 1);
    const returnDocuments = o.returnDocuments === undefined ? false : checkBoolean(o.returnDocuments, 'returnDocuments');
    const rows = await score(
      docs.map((d) => [q, d] as const),
      state.batchSize(o),
      true,
    );
    return rankDocuments(
      rows.map((r) => r[0]!),
      { ...(topK === undefined ? {} : { topK }), ...(returnDocuments ? { documents: docs } : {}) },
    );
  };

  const predict = async (pairs: unknown, rawOpts?: TextRankingPredictOptions): Promise<number[] | number[][]> => {
    const o = callOptions<TextRankingPredictOptions>(rawOpts, PREDICT_OPTIONS);
    const applyActivation = o.applyActivation === undefined ? true : checkBoolean(o.applyActivation, 'applyActivation');
    const rows = await score(checkPairs(pairs), state.batchSize(o), applyActivation);
    return n === 1 ? rows.map((r) => r[0]!) : rows;
  };

  const runBatch = async (inputs: unknown, o?: TextRankingOptions): Promise<TextRankingResult[][]> => {
    if (!Array.isArray(inputs)) throw new PipelineError('invalid_input', 'runBatch takes a list of {query, documents} objects', { field: 'inputs' });
    const out: TextRankingResult[][] = [];
    for (const input of inputs as { query?: unknown; documents?: unknown }[]) out.push(await rank(input?.query, input?.documents, o));
    return out;
  };
  const pipe = assemblePipeline<TextRankingPipeline>(state, (() => undefined) as never, runBatch as never, {
    predict,
    activation: layout.activation,
    numLabels: n,
  });
  // Calling the pipeline takes two arguments, (query, documents[, options]).
  const call = (query: unknown, documents: unknown, o?: TextRankingOptions) => rank(query, documents, o);
  const { run: _run, length: _length, name: _name, ...properties } = Object.getOwnPropertyDescriptors(pipe);
  Object.defineProperties(call, { ...properties, run: { value: call, enumerable: true } });
  return call as unknown as TextRankingPipeline;
}
