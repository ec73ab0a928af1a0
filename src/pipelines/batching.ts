/** Length-sorted batches of encodings and the model inputs of one batch (dynamic padding). */
import type { ForwardModel } from '../nn/forward.js';
import { hostTensor, type HostTensor } from '../runtime/tensor.js';
import type { Encoding } from '../tokenizers/bert-tokenizer.js';
import { TunaError } from '../errors.js';
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
  // A loop, not Math.max(...lengths): spreading a huge batch overflows the call stack.
  let S = 0;
  for (const e of encodings) if (e.inputIds.length > S) S = e.inputIds.length;
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
 * Throws a `non_finite` error when a float output of the model holds NaN or an infinity: the
 * weights of `model` (a directory, for the message) are broken, and any label or score read off
 * such outputs would be garbage.
 */
export function checkFiniteOutputs(outputs: Readonly<Record<string, HostTensor>>, model: string): void {
  for (const [name, t] of Object.entries(outputs)) {
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) continue;
    const at = firstNonFinite(t.data);
    if (at < 0) continue;
    throw new TunaError(
      'non_finite',
      `${model}: the model's output ${name} holds ${describeValue(t.data[at]!)}: its weights hold NaN/Inf or values so large they overflow (a diverged training run or a corrupt file). ` +
        'Use an earlier checkpoint, or retrain with a lower learning rate',
      { file: model },
    );
  }
}

/** Index of the first NaN or infinity in `values`, or -1. */
export function firstNonFinite(values: Float32Array | Float64Array): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // v - v is NaN exactly for NaN and the infinities; cheaper than Number.isFinite per element.
    if (v - v !== 0) return i;
  }
  return -1;
}

function describeValue(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/**
 * Runs `model` over `encodings` in length-sorted batches of at most `batchSize` and hands each
 * batch's outputs to `visit` with the indices (into `encodings`) of its rows. `extraFeeds` adds
 * inputs a graph needs beyond the token tensors. Outputs holding NaN or infinities are refused
 * (`non_finite`, naming `opts.source`, the model's directory) before `visit` sees them.
 */
export async function runInBatches(
  model: ForwardModel,
  encodings: readonly Encoding[],
  opts: {
    readonly padId: number;
    readonly batchSize: number;
    /** The model's directory, named by errors. */
    readonly source: string;
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
    checkFiniteOutputs(outputs, opts.source);
    visit(indices, outputs, sequenceLength);
  }
}
