/** Cutting features into batches: order, length grouping, and padding into tensors. */
import type { HostTensor } from '../runtime/tensor.js';
import { IGNORE_INDEX, type Feature } from './features.js';
import { shuffle } from './split.js';

/** How {@link planBatches} orders and groups examples. */
export interface BatchPlanOptions {
  /** Examples per batch (a positive integer). */
  batchSize: number;
  /** Shuffle the examples (default false: file order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0); the same seed gives the same plan. */
  seed?: number;
  /**
   * Put examples of similar length in the same batch, for less padding (the idea of Hugging
   * Face's LengthGroupedSampler): the (shuffled) examples are cut into mega-batches of 50
   * batches, each sorted longest first and split into batches; the longest example of all goes
   * into the first batch, so a batch that does not fit in memory fails at once.
   */
  groupByLength?: boolean;
  /** Leave out a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
}

/**
 * The example indices of every batch, for examples of the given token lengths; every index
 * appears once (except those of a dropped last batch).
 *
 * @throws RangeError when `batchSize` is not a positive integer.
 */
export function planBatches(lengths: readonly number[], opts: BatchPlanOptions): number[][] {
  const { batchSize } = opts;
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let order = [...lengths.keys()];
  if (opts.shuffle) order = shuffle(order, opts.seed ?? 0);
  if (opts.groupByLength && order.length > 0) {
    const mega = batchSize * 50;
    const byLength = (a: number, b: number) => lengths[b]! - lengths[a]! || a - b;
    const groups: number[][] = [];
    for (let i = 0; i < order.length; i += mega) groups.push(order.slice(i, i + mega).sort(byLength));
    // Each group's longest is its first; move the longest of all to the front.
    let longest = 0;
    for (let g = 1; g < groups.length; g++) if (lengths[groups[g]![0]!]! > lengths[groups[longest]![0]!]!) longest = g;
    const first = groups[0]!;
    const top = groups[longest]!;
    [first[0], top[0]] = [top[0]!, first[0]!];
    order = groups.flat();
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
  /** Id of the padding token ([PAD]); take it from the tokenizer or the model config. */
  padId: number;
  /** Round the padded length up to a multiple of this (e.g. 8 for tensor cores). */
  padToMultipleOf?: number;
  /** Label layout: class ids, 0/1 rows, or per-token ids padded with -100. */
  task: 'single_label' | 'multi_label' | 'token';
}

/**
 * The batch of `features[indices]`, padded to its longest example (dynamic padding, padding on
 * the right): `input_ids` (padded with `padId`), `attention_mask` (1 on tokens, 0 on padding),
 * `token_type_ids` (0 on padding), all int64 `[batch, length]`, and, when the examples have
 * labels (all of them), `labels`: int64 `[batch]` (single-label), float32 `[batch, classes]` (multi-label), or
 * int64 `[batch, length]` with -100 on padding (token classification).
 *
 * @throws RangeError for an empty batch, an index without a feature, or labels of the wrong kind.
 */
export function collate(features: readonly Feature[], indices: readonly number[], opts: CollateOptions): Record<string, HostTensor> {
  const B = indices.length;
  if (B === 0) throw new RangeError('collate needs at least one example');
  const batch = indices.map((i) => {
    const f = features[i];
    if (!f) throw new RangeError(`no feature ${i} (there are ${features.length})`);
    return f;
  });
  let T = 0;
  for (const f of batch) T = Math.max(T, f.inputIds.length);
  if (opts.padToMultipleOf && opts.padToMultipleOf > 1) T = Math.ceil(T / opts.padToMultipleOf) * opts.padToMultipleOf;
  const ids = new BigInt64Array(B * T).fill(BigInt(opts.padId));
  const mask = new BigInt64Array(B * T);
  const types = new BigInt64Array(B * T);
  // Labels only when every example has them (unlabelled data to predict has none).
  const labelled = batch.every((f) => f.labels !== undefined);
  const where = (f: Feature) => `${f.file ?? '(data)'}:${f.line}`;
  let labels: HostTensor | undefined;
  if (labelled && opts.task === 'single_label') {
    const data = new BigInt64Array(B);
    batch.forEach((f, b) => {
      if (typeof f.labels !== 'number') throw new RangeError(`${where(f)}: expected a class id for single-label classification`);
      data[b] = BigInt(f.labels);
    });
    labels = { dtype: 'int64', dims: [B], data };
  } else if (labelled && opts.task === 'multi_label') {
    const n = (batch[0]!.labels as Float32Array).length;
    const data = new Float32Array(B * n);
    batch.forEach((f, b) => {
      if (!(f.labels instanceof Float32Array) || f.labels.length !== n) throw new RangeError(`${where(f)}: expected ${n} 0/1 label values for multi-label classification`);
      data.set(f.labels, b * n);
    });
    labels = { dtype: 'float32', dims: [B, n], data };
  } else if (labelled && opts.task === 'token') {
    const data = new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX));
    batch.forEach((f, b) => {
      const l = f.labels;
      if (!(l instanceof Int32Array) || l.length !== f.inputIds.length) throw new RangeError(`${where(f)}: expected one label per token for token classification`);
      for (let t = 0; t < l.length; t++) data[b * T + t] = BigInt(l[t]!);
    });
    labels = { dtype: 'int64', dims: [B, T], data };
  }
  batch.forEach((f, b) => {
    const at = b * T;
    for (let t = 0; t < f.inputIds.length; t++) {
      ids[at + t] = BigInt(f.inputIds[t]!);
      mask[at + t] = 1n;
      types[at + t] = BigInt(f.tokenTypeIds[t]!);
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
