/** Errors raised by inference pipelines. */
import { TunaError } from '../errors.js';

/** Machine-readable kinds of pipeline failure (a server can map them onto 4xx responses). */
export type PipelineErrorCode =
  /** An input is not a string / text pair, or is empty. */
  | 'invalid_input'
  /** An option has a value the pipeline cannot use. */
  | 'invalid_option'
  /** fill-mask: an input has no mask token (or it was cut off by truncation). */
  | 'no_mask_token'
  /** The checkpoint has no head for the task asked (e.g. a sequence classifier used for token classification). */
  | 'wrong_task'
  /** No such task name. */
  | 'unknown_task'
  /** The pipeline was disposed. */
  | 'disposed';

/**
 * A pipeline cannot do what was asked. `code` says what kind of failure it is and `field` names
 * the offending input or option (e.g. `inputs[2]`, `topK`) when there is one.
 */
export class PipelineError extends TunaError {
  override name = 'PipelineError';
  declare readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** A short quotation of a text for error messages. */
export function quote(text: string, max = 60): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
