/**
 * The similarity part of the out-of-scope rule: one centroid per intent of the classifier's
 * final-layer [CLS] vectors (unit length), and a message's cosine to the nearest one.
 */
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../index.js';
import { AssistantError } from './errors.js';

/** The file of a version that holds the centroids (`centroids` [intents, hidden], float32). */
export const CENTROIDS_FILE = 'centroids.safetensors';

/** Unit-length centroids, one row per intent. */
export interface IntentCentroids {
  readonly count: number;
  readonly size: number;
  readonly data: Float32Array;
}

function unit(v: readonly number[]): Float64Array {
  const out = Float64Array.from(v);
  const norm = Math.hypot(...out);
  if (norm > 0) for (let k = 0; k < out.length; k++) out[k]! /= norm;
  return out;
}

/** The centroid of each intent `0..count-1`: the normalised mean of its unit-length vectors (labels outside the range are skipped). */
export function intentCentroids(vectors: readonly (readonly number[])[], labels: readonly number[], count: number): IntentCentroids {
  const size = vectors[0]?.length ?? 0;
  const sums = Array.from({ length: count }, () => new Float64Array(size));
  vectors.forEach((v, i) => {
    const label = labels[i]!;
    if (label < 0 || label >= count) return;
    const u = unit(v);
    const sum = sums[label]!;
    for (let k = 0; k < size; k++) sum[k]! += u[k]!;
  });
  const data = new Float32Array(count * size);
  sums.forEach((sum, c) => data.set(unit(Array.from(sum)), c * size));
  return { count, size, data };
}

/** The cosine of `vector` to the nearest centroid. */
export function nearestCentroidCosine(vector: readonly number[], centroids: IntentCentroids): number {
  const u = unit(vector);
  let best = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < centroids.count; c++) {
    let dot = 0;
    const o = c * centroids.size;
    for (let k = 0; k < centroids.size; k++) dot += centroids.data[o + k]! * u[k]!;
    if (dot > best) best = dot;
  }
  return best;
}

/** Writes the centroids into a version directory (atomically). */
export async function saveCentroids(dir: string, centroids: IntentCentroids): Promise<void> {
  await writeSafetensors(join(dir, CENTROIDS_FILE), new Map([['centroids', { shape: [centroids.count, centroids.size], data: centroids.data }]]));
}

/** Reads a version's centroids, checking that there is one per intent. */
export async function loadCentroids(dir: string, intents: number): Promise<IntentCentroids> {
  const file = join(dir, CENTROIDS_FILE);
  const t = (await readSafetensors(file)).tensors.get('centroids');
  if (!t || t.shape.length !== 2 || t.shape[0] !== intents) {
    throw new AssistantError('invalid_model', `${file}: expected a "centroids" tensor of ${intents} rows (one per intent); train the version again`, { file });
  }
  return { count: t.shape[0]!, size: t.shape[1]!, data: Float32Array.from(t.data as ArrayLike<number>) };
}
