import { type ErrorCode, TunaError, isTunaError } from '../errors.js';
import { fileSystemError, isFileSystemErrno } from '../io/files.js';

/** Machine-readable kinds of CLI failure, as they appear in `{"error": {"code": ...}}`: the codes of `ERROR_CODES`. */
export type CliErrorCode = ErrorCode;

/** The `{"error": {...}}` document `tuna --json` prints for a failure. */
export interface CliErrorJson {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly file?: string; readonly field?: string };
}

/**
 * An error the `tuna` command reports to the user: printed as `tuna: <message>` on stderr (and as
 * `{"error": {...}}` on stdout with `--json`), exit code 1 (130 for `interrupted`), no stack trace.
 */
export class CliError extends TunaError {
  override name = 'CliError';
  readonly exitCode: number;

  constructor(code: CliErrorCode, message: string, opts: { file?: string; field?: string; exitCode?: number; cause?: unknown } = {}) {
    super(code, oneLine(message), opts);
    this.exitCode = opts.exitCode ?? exitCodeOf(code);
  }

  /**
   * The CLI error that reports `e`: a TunaError by its code, message, file and field; a file-system
   * error (EACCES, ENOSPC, ...) by the file and what to do; anything else as `internal`.
   */
  static of(e: unknown): CliError {
    if (e instanceof CliError) return e;
    if (isTunaError(e)) return new CliError(e.code, e.message, { file: e.file, field: e.field, cause: e });
    if (isFileSystemErrno(e)) return CliError.of(fileSystemError(undefined, e, syscallAction(e.syscall)));
    return new CliError('internal', (e as Error)?.message ?? String(e), { cause: e });
  }

  /** The `{"error": {...}}` document printed with `--json`. */
  toJSON(): CliErrorJson {
    return {
      error: { code: this.code, message: this.message, ...(this.file === undefined ? {} : { file: this.file }), ...(this.field === undefined ? {} : { field: this.field }) },
    };
  }
}

/** The exit status of `tuna` for an error code: 130 for `interrupted` (as after SIGINT), else 1. */
export function exitCodeOf(code: ErrorCode): number {
  return code === 'interrupted' ? 130 : 1;
}

/** Collapses a message onto one line (errors from libraries sometimes span several). */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** A CliError for a failure to read `file` (a Node.js errno error). */
export function fileError(file: string, e: unknown): CliError {
  return CliError.of(fileSystemError(file, e, 'read'));
}

/** The verb for a failed system call, as a message says it (`open` -> `open`, `mkdir` -> `create the directory`). */
function syscallAction(syscall: string | undefined): string {
  switch (syscall) {
    case 'mkdir':
      return 'create the directory';
    case 'rename':
      return 'rename';
    case 'unlink':
    case 'rmdir':
    case 'rm':
      return 'remove';
    case 'write':
    case 'fsync':
      return 'write';
    case 'read':
      return 'read';
    case 'scandir':
      return 'list the directory';
    case undefined:
      return 'access';
    default:
      return syscall;
  }
}
