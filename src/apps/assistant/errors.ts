/** The assistant's errors: TunaErrors with the catalogue's codes. */
import { type ErrorCode, TunaError } from '../../index.js';

/** A problem of the assistant (its configuration, its data, its model directory or its store). */
export class AssistantError extends TunaError {
  override name = 'AssistantError';

  constructor(code: ErrorCode, message: string, opts: { file?: string; field?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
