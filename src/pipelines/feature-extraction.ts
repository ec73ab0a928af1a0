/**
 * The feature-extraction pipeline: token vectors, or sentence embeddings pooled inside the ONNX
 * graph. A sentence-transformers model directory (modules.json) is run with its own pooling,
 * Dense modules, normalisation and prompts; a plain checkpoint pools by the mean of its tokens.
 */
import { readConfig } from '../io/checkpoint.js';
import { resolveModel } from '../io/hub.js';
import type { Value } from '../onnx/graph.js';
import type { HostTensor } from '../runtime/tensor.js';
import { type SentenceLayout, embeddingDimension, readSentenceLayout } from '../sentence/layout.js';
import { defaultLayout, encodeWithPrompt, poolingMaskFeed, promptTokenCount, resolvePrompt } from '../sentence/model.js';
import { POOLING_MASK_INPUT, adoptDenseParameters, sentenceEmbedding } from '../sentence/pooling.js';
import { TunaError } from '../errors.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import { callOptions, checkChoice, checkText, checkTexts, inputField } from './inputs.js';
import { l2Normalize } from './math.js';
import type { FeatureExtractionOptions, FeatureExtractionPipeline, FeatureExtractionResult, PipelineOptions, Pooling } from './types.js';

/** Mean of the rows of `tokens` (every row is a real token: encodings are unpadded). */
export function meanPool(tokens: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(tokens[0]!.length).fill(0);
  for (const row of tokens) for (let k = 0; k < out.length; k++) out[k]! += row[k]!;
  return out.map((x) => x / tokens.length);
}

/** How a call pools (see {@link Pooling}). */
export type SentencePooling = Pooling;

/** Options of a feature-extraction call. */
export type SentenceFeatureExtractionOptions = FeatureExtractionOptions;

/** What the feature-extraction pipeline adds to the common pipeline properties. */
export interface SentenceEmbeddingInfo {
  /** The model's sentence-transformers modules and prompts (mean pooling for a plain checkpoint). */
  readonly sentenceLayout: SentenceLayout;
  /** Whether the directory is a sentence-transformers model (has modules.json). */
  readonly isSentenceTransformer: boolean;
  /** Size of a pooled embedding with `pooling: 'model'`. */
  readonly embeddingDimension: number;
}

/** A feature-extraction pipeline with the sentence-embedding options and properties. */
export type SentenceFeatureExtractionPipeline = FeatureExtractionPipeline & SentenceEmbeddingInfo;

const OPTION_NAMES = { pooling: 'pooling', normalize: 'normalize', batchSize: 'batch_size', promptName: 'prompt_name', prompt: 'prompt' } as const;

/** Loads any checkpoint's encoder as a feature-extraction pipeline (heads are ignored). */
export async function featureExtractionPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<SentenceFeatureExtractionPipeline> {
  const dir = await resolveModel(dirOrId, opts.hub);
  const found = await readSentenceLayout(dir);
  let layout: SentenceLayout | undefined = found;
  const raw = await readConfig(dir);
  const positionLimit = typeof raw.max_position_embeddings === 'number' ? raw.max_position_embeddings : 512;
  const checkpoint = await openModel('feature-extraction', dir, opts, {}, (ctx, buildHead) => {
    const head = buildHead();
    const hidden = head.outputs.last_hidden_state!;
    const g = ctx.scope.g;
    const attentionMask = g.inputs.find((v) => v.name === 'attention_mask');
    if (!attentionMask) throw new TunaError('internal', 'the encoder graph has no attention_mask input');
    const size = hidden.shape.at(-1) as number;
    layout ??= defaultLayout(size);
    if (layout.pooling.dimension !== size) {
      throw new TunaError('invalid_model', `${dir}: 1_Pooling/config.json pools vectors of ${layout.pooling.dimension}, but the model's hidden size is ${size}`, {
        file: dir,
        field: 'embedding_dimension',
      });
    }
    adoptDenseParameters(ctx.scope.store, layout.dense);
    const poolingMask: Value | undefined = layout.pooling.includePrompt ? undefined : g.input(POOLING_MASK_INPUT, 'float32', attentionMask.shape);
    const embedding = sentenceEmbedding(ctx, { hidden, attentionMask, poolingMask }, layout, { normalize: false, maxPositions: positionLimit });
    return { last_hidden_state: hidden, sentence_embedding: embedding };
  });
  const state = new PipelineState('feature-extraction', checkpoint);
  const theLayout = layout ?? defaultLayout(checkpoint.config.hidden_size);
  const isSentenceTransformer = found !== undefined;
  // A sentence_bert_config.json of sentence-transformers before 6 carries the length limit.
  const maxLength = opts.maxLength === undefined && found?.maxSeqLength !== undefined ? Math.min(found.maxSeqLength, checkpoint.maxLength) : checkpoint.maxLength;

  const extract = async (texts: readonly string[], rawOpts: SentenceFeatureExtractionOptions = {}, single = false): Promise<FeatureExtractionResult[]> => {
    const callOpts = callOptions<SentenceFeatureExtractionOptions>(rawOpts, OPTION_NAMES);
    const { tokenizer, session, dir: source } = state.open();
    const pooling: SentencePooling =
      callOpts.pooling === undefined ? (isSentenceTransformer ? 'model' : 'none') : checkChoice(callOpts.pooling, 'pooling', ['none', 'model', 'mean', 'cls'] as const);
    if (callOpts.normalize !== undefined && typeof callOpts.normalize !== 'boolean') {
      throw new PipelineError('invalid_option', `normalize must be true or false, got ${JSON.stringify(callOpts.normalize)}`, { field: 'normalize' });
    }
    const normalize = callOpts.normalize ?? (pooling === 'model' && theLayout.normalize);
    let prompt: string;
    try {
      prompt = resolvePrompt(theLayout, callOpts);
    } catch (e) {
      if (e instanceof TunaError) throw new PipelineError('invalid_option', e.message, { field: e.field });
      throw e;
    }
    const batchSize = state.batchSize(callOpts);
    const checked = texts.map((raw, i) => checkText(raw, inputField(single, i)));
    const encodings = encodeWithPrompt(tokenizer, checked, prompt, maxLength);
    const promptTokens = theLayout.pooling.includePrompt ? 0 : promptTokenCount(tokenizer, prompt);
    const results = new Array<FeatureExtractionResult>(texts.length);
    const norm = (v: number[]) => (normalize ? l2Normalize(v) : v);
    const extraFeeds = theLayout.pooling.includePrompt
      ? undefined
      : (indices: readonly number[], S: number): Record<string, HostTensor> => ({
          [POOLING_MASK_INPUT]: poolingMaskFeed(
            indices.map((i) => encodings[i]!),
            S,
            promptTokens,
          ),
        });
    await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, source, extraFeeds }, (indices, outputs, S) => {
      if (pooling === 'model' || (pooling === 'mean' && !isSentenceTransformer)) {
        const pooled = outputs.sentence_embedding!;
        const D = pooled.dims[1]!;
        const data = pooled.data as Float32Array;
        indices.forEach((i, b) => {
          results[i] = norm(Array.from(data.subarray(b * D, (b + 1) * D)));
        });
        return;
      }
      const hidden = outputs.last_hidden_state!.data as Float32Array;
      const H = outputs.last_hidden_state!.dims[2]!;
      indices.forEach((i, b) => {
        const length = encodings[i]!.inputIds.length;
        const tokens = Array.from({ length }, (_, t) => Array.from(hidden.subarray((b * S + t) * H, (b * S + t + 1) * H)));
        results[i] = pooling === 'none' ? tokens.map(norm) : norm(pooling === 'cls' ? tokens[0]! : meanPool(tokens));
      });
    });
    return results;
  };

  const call = async (inputs: unknown, callOpts?: SentenceFeatureExtractionOptions) =>
    Array.isArray(inputs) ? extract(inputs, callOpts) : (await extract([inputs as string], callOpts, true))[0]!;
  const runBatch = async (inputs: readonly string[], callOpts?: SentenceFeatureExtractionOptions) => extract(checkTexts(inputs), callOpts);
  const info: SentenceEmbeddingInfo = { sentenceLayout: theLayout, isSentenceTransformer, embeddingDimension: embeddingDimension(theLayout) };
  return assemblePipeline<SentenceFeatureExtractionPipeline>(state, call as never, runBatch as never, { ...info, maxLength });
}
