/** The monitor's errors: TunaErrors with the catalogue's codes. */
import { type ErrorCode, TunaError } from '../errors.js';

/**
 * A problem of the monitor: its configuration (the field is named), an input document (file and
 * line, or request field), its database or queue (`store_error`, naming the server).
 */
export class MonitorError extends TunaError {
  override name = 'MonitorError';

  constructor(code: ErrorCode, message: string, opts: { file?: string; field?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
