/** The feature-extraction pipeline: token vectors or pooled sentence embeddings from BERT's last hidden state. */
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openModel } from './checkpoint.js';
import { callOptions, checkChoice, checkText, checkTexts, inputField } from './inputs.js';
import { l2Normalize } from './math.js';
import type { FeatureExtractionOptions, FeatureExtractionPipeline, FeatureExtractionResult, PipelineOptions, Pooling } from './types.js';

/** Mean of the rows of `tokens` (every row is a real token: encodings are unpadded). */
export function meanPool(tokens: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(tokens[0]!.length).fill(0);
  for (const row of tokens) for (let k = 0; k < out.length; k++) out[k]! += row[k]!;
  return out.map((x) => x / tokens.length);
}

/** Loads any checkpoint's encoder as a feature-extraction pipeline (heads are ignored). */
export async function featureExtractionPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<FeatureExtractionPipeline> {
  const checkpoint = await openModel('feature-extraction', dirOrId, opts);
  const state = new PipelineState('feature-extraction', checkpoint);

  const extract = async (texts: readonly string[], rawOpts: FeatureExtractionOptions = {}, single = false): Promise<FeatureExtractionResult[]> => {
    const callOpts = callOptions<FeatureExtractionOptions>(rawOpts, { pooling: 'pooling', normalize: 'normalize', batchSize: 'batch_size' });
    const { config, tokenizer, session, maxLength, dir } = state.open();
    const pooling: Pooling = callOpts.pooling === undefined ? 'none' : checkChoice(callOpts.pooling, 'pooling', ['none', 'mean', 'cls'] as const);
    const normalize = callOpts.normalize === true;
    const batchSize = state.batchSize(callOpts);
    const encodings: Encoding[] = texts.map((raw, i) => tokenizer.encode(checkText(raw, inputField(single, i)), undefined, { maxLength }));
    const H = config.hidden_size;
    const results = new Array<FeatureExtractionResult>(texts.length);
    await runInBatches(session, encodings, { padId: tokenizer.padTokenId, batchSize, source: dir }, (indices, outputs, S) => {
      const hidden = outputs.last_hidden_state!.data as Float32Array;
      indices.forEach((i, b) => {
        const length = encodings[i]!.inputIds.length;
        const tokens = Array.from({ length }, (_, t) => Array.from(hidden.subarray((b * S + t) * H, (b * S + t + 1) * H)));
        const norm = (v: number[]) => (normalize ? l2Normalize(v) : v);
        results[i] = pooling === 'none' ? tokens.map(norm) : norm(pooling === 'cls' ? tokens[0]! : meanPool(tokens));
      });
    });
    return results;
  };

  const call = async (inputs: unknown, callOpts?: FeatureExtractionOptions) =>
    Array.isArray(inputs) ? extract(inputs, callOpts) : (await extract([inputs as string], callOpts, true))[0]!;
  const runBatch = async (inputs: readonly string[], callOpts?: FeatureExtractionOptions) => extract(checkTexts(inputs), callOpts);
  return assemblePipeline<FeatureExtractionPipeline>(state, call as never, runBatch as never);
}
