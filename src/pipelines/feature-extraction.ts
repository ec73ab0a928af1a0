/** The feature-extraction pipeline: token vectors or pooled sentence embeddings from BERT's last hidden state. */
import type { BertConfig } from '../models/bert/config.js';
import { bertInputs, bertModel } from '../models/bert/modeling.js';
import type { BuildContext } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineState, assemblePipeline } from './assemble.js';
import { runInBatches } from './batching.js';
import { openCheckpoint } from './checkpoint.js';
import { checkChoice, checkText, checkTexts, inputField } from './inputs.js';
import { l2Normalize } from './math.js';
import type { FeatureExtractionOptions, FeatureExtractionPipeline, FeatureExtractionResult, PipelineOptions, Pooling } from './types.js';

/** The encoder alone (BertModel without pooler): output `last_hidden_state` [batch, sequence, hidden]. */
function encoderOnly(ctx: BuildContext, config: BertConfig): Record<string, Value> {
  return { last_hidden_state: bertModel(ctx, config, '', bertInputs(ctx.scope.g), false).sequenceOutput };
}

/** Mean of the rows of `tokens` (every row is a real token: encodings are unpadded). */
export function meanPool(tokens: readonly (readonly number[])[]): number[] {
  const out = new Array<number>(tokens[0]!.length).fill(0);
  for (const row of tokens) for (let k = 0; k < out.length; k++) out[k]! += row[k]!;
  return out.map((x) => x / tokens.length);
}

/** Loads any BERT checkpoint's encoder as a feature-extraction pipeline (heads are ignored). */
export async function featureExtractionPipeline(dirOrId: string, opts: PipelineOptions = {}): Promise<FeatureExtractionPipeline> {
  const checkpoint = await openCheckpoint('feature-extraction', dirOrId, opts, encoderOnly);
  const state = new PipelineState('feature-extraction', checkpoint);

  const extract = async (texts: readonly string[], callOpts: FeatureExtractionOptions = {}, single = false): Promise<FeatureExtractionResult[]> => {
    const { config, tokenizer, model, maxLength } = state.open();
    const pooling: Pooling = callOpts.pooling === undefined ? 'none' : checkChoice(callOpts.pooling, 'pooling', ['none', 'mean', 'cls'] as const);
    const normalize = callOpts.normalize === true;
    const batchSize = state.batchSize(callOpts);
    const encodings: Encoding[] = texts.map((raw, i) => tokenizer.encode(checkText(raw, inputField(single, i)), undefined, { maxLength }));
    const H = config.hidden_size;
    const results = new Array<FeatureExtractionResult>(texts.length);
    await runInBatches(model, encodings, { padId: tokenizer.padTokenId, batchSize }, (indices, outputs, S) => {
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
