import { TunaError } from '../errors.js';
import type { Dim } from './shape.js';

/** A graph was built with tensors whose shapes or types do not fit the operation (code `shape_error`). */
export class ShapeError extends TunaError {
  override name = 'ShapeError';
  constructor(
    readonly op: string,
    message: string,
    readonly shapes: readonly (readonly Dim[])[] = [],
  ) {
    super('shape_error', `${op}: ${message}${shapes.length ? ` (shapes ${shapes.map(formatShape).join(' and ')})` : ''}`);
  }
}

/** Formats a shape the way error messages show it, e.g. `[batch, seq, 256]`. */
export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
