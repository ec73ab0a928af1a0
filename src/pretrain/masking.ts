/**
 * Masked-language-model batches: 15% of the tokens (or of the words, with whole-word masking) are
 * chosen, and of those 80% become [MASK], 10% a random token and 10% stay; the labels hold the
 * original ids there and -100 elsewhere. Masks are drawn from (seed, epoch, example), so every
 * epoch sees fresh masks and a resumed run draws the same ones.
 */
import { IGNORE_INDEX } from '../data/features.js';
import { seededRandom } from '../data/split.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { PretrainFeature } from './instances.js';

/** How tokens are masked. */
export interface MaskingOptions {
  readonly maskId: number;
  readonly padId: number;
  readonly vocabSize: number;
  /** Ids never masked (special tokens). */
  readonly specialIds: ReadonlySet<number>;
  /** Share of tokens (or words) chosen for prediction (default 0.15). */
  readonly probability?: number;
  /**
   * Choose whole words: a token and its `##` continuations are masked together. `isContinuation`
   * tells which ids are continuation pieces.
   */
  readonly wholeWord?: boolean;
  readonly isContinuation?: (id: number) => boolean;
}

/** One example's masked ids and labels. */
export function maskExample(ids: Int32Array, rand: () => number, o: MaskingOptions): { inputIds: Int32Array; labels: Int32Array } {
  const p = o.probability ?? 0.15;
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  let chosen = false;
  let t = 0;
  while (t < ids.length) {
    let end = t + 1;
    if (o.wholeWord && o.isContinuation) while (end < ids.length && o.isContinuation(ids[end]!)) end++;
    if (!o.specialIds.has(ids[t]!) && rand() < p) {
      chosen = true;
      for (let k = t; k < end; k++) replace(k);
    }
    t = end;
  }
  // Every example predicts at least one token, so no batch has an empty loss.
  if (!chosen) {
    const candidates = [...ids.keys()].filter((k) => !o.specialIds.has(ids[k]!));
    if (candidates.length) replace(candidates[Math.floor(rand() * candidates.length)]!);
  }
  return { inputIds, labels };

  function replace(k: number): void {
    labels[k] = ids[k]!;
    const r = rand();
    if (r < 0.8) inputIds[k] = o.maskId;
    else if (r < 0.9) inputIds[k] = Math.floor(rand() * o.vocabSize);
  }
}

/** A mixing hash of a few integers, for per-example generator seeds. */
export function seedOf(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  }
  return h;
}

/**
 * A batch for BertForMaskedLM (or BertForPreTraining with `next_sentence_label` when `nsp`):
 * padded inputs, masked with a generator seeded from (seed, epoch, example index).
 */
export function maskedBatch(
  features: readonly PretrainFeature[],
  indices: readonly number[],
  at: { epoch: number; seed: number },
  o: MaskingOptions & { nsp?: boolean; sparse?: boolean },
): Record<string, HostTensor> {
  const B = indices.length;
  let T = 0;
  for (const i of indices) T = Math.max(T, features[i]!.inputIds.length);
  const ids = new BigInt64Array(B * T).fill(BigInt(o.padId));
  const mask = new BigInt64Array(B * T);
  const types = new BigInt64Array(B * T);
  const labels = new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX));
  const nsp = new BigInt64Array(B);
  indices.forEach((ex, b) => {
    const f = features[ex]!;
    const m = maskExample(f.inputIds, seededRandom(seedOf(at.seed, at.epoch, ex)), o);
    for (let t = 0; t < m.inputIds.length; t++) {
      ids[b * T + t] = BigInt(m.inputIds[t]!);
      mask[b * T + t] = 1n;
      types[b * T + t] = BigInt(f.tokenTypeIds[t]!);
      labels[b * T + t] = BigInt(m.labels[t]!);
    }
    nsp[b] = BigInt(f.nextSentenceLabel ?? 0);
  });
  const out: Record<string, HostTensor> = {
    input_ids: { dtype: 'int64', dims: [B, T], data: ids },
    attention_mask: { dtype: 'int64', dims: [B, T], data: mask },
    token_type_ids: { dtype: 'int64', dims: [B, T], data: types },
    labels: { dtype: 'int64', dims: [B, T], data: labels },
  };
  if (o.nsp) out.next_sentence_label = { dtype: 'int64', dims: [B], data: nsp };
  if (o.sparse) {
    // Only the masked tokens: flat positions into batch x sequence, and their labels.
    const positions: bigint[] = [];
    const kept: bigint[] = [];
    labels.forEach((l, k) => {
      if (l >= 0n) {
        positions.push(BigInt(k));
        kept.push(l);
      }
    });
    delete out.labels;
    out.masked_positions = { dtype: 'int64', dims: [positions.length], data: BigInt64Array.from(positions) };
    out.masked_labels = { dtype: 'int64', dims: [kept.length], data: BigInt64Array.from(kept) };
  }
  return out;
}
