import { type ErrorCode, TunaError } from '../errors.js';

/** Kinds of export failure (`ExportError.kind`); each has a code of the catalogue (`ExportError.code`). */
export type ExportErrorCode =
  | 'checkpoint_not_found'
  | 'invalid_checkpoint'
  | 'unsupported_architecture'
  | 'unsupported_graph'
  | 'invalid_option'
  | 'output_not_writable'
  | 'verification_failed';

/** The catalogue code of each kind of export failure. */
export const EXPORT_ERROR_CODES = {
  checkpoint_not_found: 'file_not_found',
  invalid_checkpoint: 'invalid_checkpoint',
  unsupported_architecture: 'unsupported_model',
  unsupported_graph: 'export_failed',
  invalid_option: 'invalid_option',
  output_not_writable: 'export_failed',
  verification_failed: 'export_failed',
} as const satisfies Record<ExportErrorCode, ErrorCode>;

/**
 * An export that cannot be done, with the file involved (when there is one) and what to do about it.
 * `kind` says which failure it is, `code` is its code in the catalogue (`file_not_found`,
 * `invalid_checkpoint`, `unsupported_model`, `invalid_option` or `export_failed`).
 */
export class ExportError extends TunaError {
  override name = 'ExportError';
  readonly kind: ExportErrorCode;

  constructor(kind: ExportErrorCode, message: string, opts: { file?: string; cause?: unknown } = {}) {
    super(EXPORT_ERROR_CODES[kind], message, opts);
    this.kind = kind;
  }
}
