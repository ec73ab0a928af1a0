/** The errors of the change detectors. */
import { type ErrorCode, TunaError } from '../../errors.js';

/** Codes a {@link DetectorError} carries. */
export type DetectorErrorCode = Extract<ErrorCode, 'invalid_config' | 'invalid_input'>;

/**
 * A detector configuration, saved state or input window tuna cannot use. The message names the
 * field (`ewma.alpha`, `state.detector`, `point.value`), what is wrong and what to give instead.
 */
export class DetectorError extends TunaError {
  override name = 'DetectorError';

  constructor(code: DetectorErrorCode, message: string, field: string) {
    super(code, message, { field });
  }
}
