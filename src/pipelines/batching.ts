/** Length-sorted batches of encodings and the model inputs of one batch (dynamic padding). */
import type { ForwardModel } from '../nn/forward.js';
import { hostTensor, type HostTensor } from '../runtime/tensor.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { PipelineError } from './errors.js';

/**
 * Groups item indices into batches of at most `batchSize`, items of similar length together (sorted
 * by length, ties in input order), so that padding to each batch's longest item wastes little.
 */
export function lengthSortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  const order = [...lengths.keys()].sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** `input_ids`, `attention_mask` and `token_type_ids` [batch, longest] of unpadded encodings; padding uses `padId`. */
export function batchInputs(encodings: readonly Encoding[], padId: number): { feeds: Record<string, HostTensor>; sequenceLength: number } {
  const B = encodings.length;
  const S = Math.max(...encodings.map((e) => e.inputIds.length));
  const ids = new BigInt64Array(B * S).fill(BigInt(padId));
  const mask = new BigInt64Array(B * S);
  const types = new BigInt64Array(B * S);
  encodings.forEach((e, b) => {
    for (let t = 0; t < e.inputIds.length; t++) {
      ids[b * S + t] = BigInt(e.inputIds[t]!);
      mask[b * S + t] = BigInt(e.attentionMask[t]!);
      types[b * S + t] = BigInt(e.tokenTypeIds[t]!);
    }
  });
  return {
    feeds: {
      input_ids: hostTensor('int64', ids, [B, S]),
      attention_mask: hostTensor('int64', mask, [B, S]),
      token_type_ids: hostTensor('int64', types, [B, S]),
    },
    sequenceLength: S,
  };
}

/** Checks a batch-size option. */
export function checkBatchSize(n: number, field = 'batchSize'): number {
  if (!Number.isInteger(n) || n < 1) throw new PipelineError('invalid_option', `${field} must be a positive integer, got ${String(n)}`, { field });
  return n;
}

/**
 * Runs `model` over `encodings` in length-sorted batches of at most `batchSize` and hands each
 * batch's outputs to `visit` with the indices (into `encodings`) of its rows. `extraFeeds` adds
 * inputs a graph needs beyond the token tensors.
 */
export async function runInBatches(
  model: ForwardModel,
  encodings: readonly Encoding[],
  opts: {
    readonly padId: number;
    readonly batchSize: number;
    readonly extraFeeds?: (indices: readonly number[], sequenceLength: number) => Record<string, HostTensor>;
  },
  visit: (indices: readonly number[], outputs: Record<string, HostTensor>, sequenceLength: number) => void,
): Promise<void> {
  for (const indices of lengthSortedBatches(
    encodings.map((e) => e.inputIds.length),
    opts.batchSize,
  )) {
    const { feeds, sequenceLength } = batchInputs(
      indices.map((i) => encodings[i]!),
      opts.padId,
    );
    const outputs = await model.run({ ...feeds, ...(opts.extraFeeds?.(indices, sequenceLength) ?? {}) });
    visit(indices, outputs, sequenceLength);
  }
}
