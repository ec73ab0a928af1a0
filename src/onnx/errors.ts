import type { Dim } from './shape.js';

/** A graph was built with tensors whose shapes or types do not fit the operation. */
export class ShapeError extends Error {
  override name = 'ShapeError';
  constructor(
    readonly op: string,
    message: string,
    readonly shapes: readonly (readonly Dim[])[] = [],
  ) {
    super(`${op}: ${message}${shapes.length ? ` (shapes ${shapes.map(formatShape).join(' and ')})` : ''}`);
  }
}

/** Formats a shape the way error messages show it, e.g. `[batch, seq, 256]`. */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
