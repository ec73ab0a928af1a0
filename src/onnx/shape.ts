import { ShapeError } from './errors.js';

/** One axis of a shape: a fixed size, or a symbol (e.g. `batch`) bound when the graph runs. */
export type Dim = number | string;
/** A tensor shape; an empty array is a scalar. */
export type Shape = readonly Dim[];

/** Whether two dims are known to be equal. */
export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

/** Whether two shapes are known to be equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => sameDim(d, b[i]!));
}

/** The product of all dims when every dim is fixed, otherwise undefined. */
export function staticSize(shape: Shape): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** Whether every dim of the shape is a fixed number. */
export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Multiplies two dims, keeping a readable symbol when one is symbolic. */
export function mulDim(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  return `${a}*${b}`;
}

/**
 * The numpy-style broadcast of several shapes. Fixed dims must match or be 1; a symbol
 * broadcasts against 1 or against itself. Two different symbols, or a symbol against a fixed
 * size other than 1, are rejected because their runtime equality cannot be checked here.
 */
export function broadcastShapes(op: string, shapes: readonly Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1 || d === dim) continue;
      if (dim === 1) {
        dim = d;
        continue;
      }
      throw new ShapeError(op, `cannot broadcast axis ${i} (${dim} vs ${d})`, shapes);
    }
    out.push(dim);
  }
  return out;
}

/** Normalises a possibly negative axis into [0, rank). */
export function normalizeAxis(op: string, axis: number, rank: number, shape: Shape = []): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) {
    throw new ShapeError(op, `axis ${axis} is out of range for rank ${rank}`, shape.length ? [shape] : []);
  }
  return a;
}

/**
 * Axes along which `inputShape` was broadcast to reach `outputShape`: leading axes the input lacks,
 * and axes where the input has 1 and the output does not. Returned as axes of the output.
 */
export function broadcastAxes(inputShape: Shape, outputShape: Shape): { axes: number[]; prepended: number } {
  const prepended = outputShape.length - inputShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outputShape.length; i++) {
    if (i < prepended) {
      axes.push(i);
      continue;
    }
    const d = inputShape[i - prepended]!;
    if (d === 1 && outputShape[i] !== 1) axes.push(i);
  }
  return { axes, prepended };
}
