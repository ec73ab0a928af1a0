/** Small numeric helpers on rows of model outputs (host side: rows are short). */

/** Softmax of `row` (max-shifted for stability). */
export function softmax(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  const out = new Array<number>(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) {
    out[i] = Math.exp(row[i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < out.length; i++) out[i]! /= sum;
  return out;
}

/** Element-wise logistic sigmoid. */
export function sigmoid(row: ArrayLike<number>): number[] {
  return Array.from(row, (x) => 1 / (1 + Math.exp(-x)));
}

/** Index of the largest value (the first on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Indices of the `k` largest values, largest first (lower index first on ties). */
export function topKIndices(row: ArrayLike<number>, k: number): number[] {
  const n = Math.min(k, row.length);
  const best: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (best.length === n && v <= row[best[n - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < v) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

/** `v` scaled to unit L2 norm (a zero vector stays zero). */
export function l2Normalize(v: readonly number[]): number[] {
  let sq = 0;
  for (const x of v) sq += x * x;
  const norm = Math.max(Math.sqrt(sq), 1e-12);
  return v.map((x) => x / norm);
}
