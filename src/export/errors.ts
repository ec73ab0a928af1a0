/** Kinds of export failure, as they appear in `{"error": {"code": ...}}` of `tuna export --json`. */
export type ExportErrorCode =
  | 'checkpoint_not_found'
  | 'invalid_checkpoint'
  | 'unsupported_architecture'
  | 'unsupported_graph'
  | 'invalid_option'
  | 'output_not_writable'
  | 'verification_failed';

/** An export that cannot be done, with the file involved (when there is one) and what to do about it. */
export class ExportError extends Error {
  override name = 'ExportError';
  readonly code: ExportErrorCode;
  /** The file or directory the error is about. */
  readonly file?: string;

  constructor(code: ExportErrorCode, message: string, opts: { file?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.file = opts.file;
  }
}
