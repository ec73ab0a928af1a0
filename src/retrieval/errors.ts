/** The errors of search indexes. */
import { type ErrorCode, TunaError } from '../errors.js';

/** Codes a {@link RetrievalError} carries. */
export type RetrievalErrorCode = Extract<
  ErrorCode,
  'invalid_input' | 'invalid_option' | 'invalid_model' | 'file_not_found' | 'file_unreadable' | 'output_exists' | 'conflict' | 'disposed' | 'internal'
>;

/**
 * A search index that cannot be built, opened, changed or searched as asked: the message names
 * the index directory or file, the problem and the remedy (`rebuild the index`).
 */
export class RetrievalError extends TunaError {
  override name = 'RetrievalError';

  constructor(code: RetrievalErrorCode, message: string, details: { file?: string; field?: string; cause?: unknown } = {}) {
    super(code, message, details);
  }
}
