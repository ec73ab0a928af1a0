/** Machine-readable kinds of CLI failure, as they appear in `{"error": {"code": ...}}`. */
export type CliErrorCode = 'file_not_found' | 'file_unreadable' | 'invalid_onnx' | 'invalid_data' | 'invalid_model' | 'interrupted' | 'usage' | 'internal';

/**
 * An error the `tuna` command reports to the user: printed as `tuna: <message>` on stderr (and as
 * `{"error": {...}}` on stdout with `--json`), exit code 1, no stack trace.
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: CliErrorCode;
  /** The file the error is about, when there is one. */
  readonly file?: string;
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, opts: { file?: string; exitCode?: number; cause?: unknown } = {}) {
    super(oneLine(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.file = opts.file;
    this.exitCode = opts.exitCode ?? 1;
  }

  /** The `{"error": {...}}` document printed with `--json`. */
  toJSON(): { error: { code: CliErrorCode; message: string; file?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.file === undefined ? {} : { file: this.file }) } };
  }
}

/** Collapses a message onto one line (errors from libraries sometimes span several). */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** A CliError for a failure to read `file` (a Node.js errno error). */
export function fileError(file: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return new CliError('file_not_found', `${file}: no such file`, { file, cause: e });
    case 'EISDIR':
      return new CliError('file_unreadable', `${file}: is a directory, not a file`, { file, cause: e });
    case 'EACCES':
    case 'EPERM':
      return new CliError('file_unreadable', `${file}: permission denied`, { file, cause: e });
    default:
      return new CliError('file_unreadable', `${file}: cannot read the file (${(e as Error).message})`, { file, cause: e });
  }
}
