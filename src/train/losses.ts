/** Evaluation losses computed from logits on the host (the same definitions as the training graphs). */

/** -log softmax(row)[label] for one row of logits. */
export function crossEntropy(logits: ArrayLike<number>, offset: number, n: number, label: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + j]!);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(logits[offset + j]! - max);
  return Math.log(sum) + max - logits[offset + label]!;
}

/** Mean binary cross-entropy with logits over one row (multi-label classification). */
export function binaryCrossEntropy(logits: ArrayLike<number>, offset: number, targets: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < targets.length; j++) {
    const x = logits[offset + j]!;
    const y = targets[j]!;
    s += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return s / targets.length;
}

/** Index of the largest value of a row. */
export function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

/** Softmax of one row, as a new array. */
export function softmaxRow(values: ArrayLike<number>, offset: number, n: number): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, values[offset + j]!);
  const out = new Float64Array(n);
  let sum = 0;
  for (let j = 0; j < n; j++) sum += out[j] = Math.exp(values[offset + j]! - max);
  for (let j = 0; j < n; j++) out[j]! /= sum;
  return out;
}
