import { type ErrorCode, type ErrorDetails, TunaError } from '../errors.js';

/** The codes of tokenizer errors. */
export type TokenizerErrorCode = Extract<ErrorCode, 'invalid_tokenizer' | 'invalid_option' | 'invalid_input' | 'file_not_found' | 'file_unreadable'>;

/**
 * Base class of every error the tokenizer raises. The code is `invalid_tokenizer` (the vocabulary
 * or settings cannot make a tokenizer) unless `details.code` says otherwise (`invalid_option` for
 * an option of a call or constructor).
 */
export class TokenizerError extends TunaError {
  override name = 'TokenizerError';
  constructor(message: string, details: ErrorDetails & { readonly code?: TokenizerErrorCode } = {}) {
    super(details.code ?? 'invalid_tokenizer', message, details);
  }
}

/**
 * A tokenizer file (vocab.txt, tokenizer.json, tokenizer_config.json, ...) is missing, malformed or
 * describes something tuna cannot run. `file` names the file (or directory) at fault.
 */
export class TokenizerFileError extends TokenizerError {
  override name = 'TokenizerFileError';
  declare readonly file: string;
  /** `details.code`: `file_not_found` or `file_unreadable` when the file cannot be read at all. */
  constructor(file: string, problem: string, details: { readonly code?: TokenizerErrorCode; readonly cause?: unknown } = {}) {
    super(`${file}: ${problem}`, { ...details, file });
  }
}

/** An input cannot be truncated to the requested length with the requested strategy. */
export class TruncationError extends TokenizerError {
  override name = 'TruncationError';
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { ...details, code: 'invalid_option' });
  }
}
