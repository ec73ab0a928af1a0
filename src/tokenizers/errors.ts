/** Base class of every error the tokenizer raises. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/**
 * A tokenizer file (vocab.txt, tokenizer.json, tokenizer_config.json, ...) is missing, malformed or
 * describes something tuna cannot run. `file` names the file (or directory) at fault.
 */
export class TokenizerFileError extends TokenizerError {
  override name = 'TokenizerFileError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** An input cannot be truncated to the requested length with the requested strategy. */
export class TruncationError extends TokenizerError {
  override name = 'TruncationError';
}
