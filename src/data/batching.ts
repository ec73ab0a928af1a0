/** Cutting features into batches: order, length grouping, and padding into tensors. */
import type { HostTensor } from '../runtime/tensor.js';
import { IGNORE_INDEX, type Feature } from './features.js';
import { shuffle } from './split.js';

/** How {@link planBatches} orders and groups examples. */
export interface BatchPlanOptions {
  batchSize: number;
  /** Shuffle the examples (default false). */
  shuffle?: boolean;
  seed?: number;
  /**
   * Put examples of similar length in the same batch (less padding): shuffled examples are cut into
   * groups of 50 batches, each sorted longest first, then split into batches.
   */
  groupByLength?: boolean;
  /** Leave out a last, smaller batch. */
  dropLast?: boolean;
}

/** The example indices of every batch, for examples of the given token lengths. */
export function planBatches(lengths: readonly number[], opts: BatchPlanOptions): number[][] {
  const { batchSize } = opts;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let order = [...lengths.keys()];
  if (opts.shuffle || opts.groupByLength) order = shuffle(order, opts.seed ?? 0);
  if (opts.groupByLength) {
    const mega = batchSize * 50;
    const grouped: number[] = [];
    for (let i = 0; i < order.length; i += mega) grouped.push(...order.slice(i, i + mega).sort((a, b) => lengths[b]! - lengths[a]! || a - b));
    order = grouped;
  }
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.slice(i, i + batchSize);
    if (b.length < batchSize && opts.dropLast) break;
    batches.push(b);
  }
  return batches;
}

/** Options of {@link collate}. */
export interface CollateOptions {
  /** Id of the padding token ([PAD]). */
  padId: number;
  /** Round the padded length up to a multiple of this. */
  padToMultipleOf?: number;
  /** Label layout: class ids, 0/1 rows, or per-token ids padded with -100. */
  task: 'single_label' | 'multi_label' | 'token';
}

/**
 * The batch of `features[indices]`, padded to its longest example: `input_ids`, `attention_mask`,
 * `token_type_ids` (int64 [batch, length]) and, when every example has labels, `labels` (int64
 * [batch], float32 [batch, classes], or int64 [batch, length] with -100 on padding).
 */
export function collate(features: readonly Feature[], indices: readonly number[], opts: CollateOptions): Record<string, HostTensor> {
  const B = indices.length;
  let T = 0;
  for (const i of indices) T = Math.max(T, features[i]!.inputIds.length);
  if (opts.padToMultipleOf) T = Math.ceil(T / opts.padToMultipleOf) * opts.padToMultipleOf;
  const ids = new BigInt64Array(B * T).fill(BigInt(opts.padId));
  const mask = new BigInt64Array(B * T);
  const types = new BigInt64Array(B * T);
  const labelled = indices.every((i) => features[i]!.labels !== undefined);
  let labels: HostTensor | undefined;
  if (labelled && opts.task === 'single_label') labels = { dtype: 'int64', dims: [B], data: new BigInt64Array(B) };
  if (labelled && opts.task === 'token') labels = { dtype: 'int64', dims: [B, T], data: new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX)) };
  if (labelled && opts.task === 'multi_label') {
    const n = (features[indices[0]!]!.labels as Float32Array).length;
    labels = { dtype: 'float32', dims: [B, n], data: new Float32Array(B * n) };
  }
  indices.forEach((ex, b) => {
    const f = features[ex]!;
    const at = b * T;
    for (let t = 0; t < f.inputIds.length; t++) {
      ids[at + t] = BigInt(f.inputIds[t]!);
      mask[at + t] = 1n;
      types[at + t] = BigInt(f.tokenTypeIds[t]!);
    }
    if (!labels) return;
    if (opts.task === 'single_label') (labels.data as BigInt64Array)[b] = BigInt(f.labels as number);
    else if (opts.task === 'multi_label') (labels.data as Float32Array).set(f.labels as Float32Array, b * labels.dims[1]!);
    else {
      const l = f.labels as Int32Array;
      for (let t = 0; t < l.length; t++) (labels.data as BigInt64Array)[at + t] = BigInt(l[t]!);
    }
  });
  const out: Record<string, HostTensor> = {
    input_ids: { dtype: 'int64', dims: [B, T], data: ids },
    attention_mask: { dtype: 'int64', dims: [B, T], data: mask },
    token_type_ids: { dtype: 'int64', dims: [B, T], data: types },
  };
  if (labels) out.labels = labels;
  return out;
}
