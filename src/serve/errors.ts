/** Errors of the HTTP service and the JSON body every 4xx/5xx answer carries. */
import { type ErrorCode, TunaError, isTunaError } from '../errors.js';

/**
 * The service's own kinds of request failure, as they appear in `{"error": {"code": ...}}`; each is
 * a code of the catalogue (`ERROR_CODES`), which gives its HTTP status. Other tuna errors met while
 * answering a request keep their own code and status.
 */
export type ServeErrorCode =
  /** The body is not valid JSON (or is empty). */
  | 'invalid_json'
  /** A field has the wrong type, is missing, empty, too long, or not allowed. */
  | 'invalid_request'
  /** A parameter has a value the task cannot use. */
  | 'invalid_parameter'
  /** fill-mask: a text has no mask token. */
  | 'no_mask_token'
  /** `model` names no loaded model. */
  | 'unknown_model'
  /** The model (or every model) does not serve the endpoint's task. */
  | 'unsupported_task'
  /** The body is larger than the server accepts. */
  | 'body_too_large'
  /** The answer would be larger than the server sends. */
  | 'response_too_large'
  /** The request headers or body arrived too slowly. */
  | 'request_timeout'
  /** The request headers are larger than Node's HTTP parser accepts. */
  | 'headers_too_large'
  /** The body is not `application/json`. */
  | 'unsupported_media_type'
  /** No such route. */
  | 'not_found'
  /** The route exists but not with this HTTP method. */
  | 'method_not_allowed'
  /** Missing or wrong API key. */
  | 'unauthorized'
  /** The model's queue is full; retry after the `Retry-After` seconds. */
  | 'overloaded'
  /** The server is shutting down. */
  | 'unavailable'
  /** The client went away before its answer (never seen by the client; counted as 499 in metrics). */
  | 'cancelled'
  /** A failure on the server's side. */
  | 'internal';

/**
 * Every code the service answers with: its own, and those of the tuna errors a request can meet
 * (docs/serve.md lists each with its status).
 */
export const SERVE_ERROR_CODES: readonly ErrorCode[] = [
  'invalid_json',
  'invalid_request',
  'invalid_parameter',
  'no_mask_token',
  'unsupported_task',
  'unauthorized',
  'unknown_model',
  'not_found',
  'method_not_allowed',
  'request_timeout',
  'body_too_large',
  'response_too_large',
  'unsupported_media_type',
  'headers_too_large',
  'runtime_error',
  'non_finite',
  'internal',
  'overloaded',
  'unavailable',
];

/** The error document of a failed request. */
export interface ErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string; readonly field?: string };
}

/**
 * A request the server refuses or cannot answer: `code` is the machine-readable kind, `status` the
 * HTTP status the catalogue gives it, `field` the request field at fault (`inputs[2]`,
 * `parameters.top_k`, `model`) when there is one.
 */
export class ServeError extends TunaError {
  override name = 'ServeError';

  constructor(code: ServeErrorCode | ErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(code, message, opts);
  }

  /** The HTTP status of the answer (the code's status in `ERROR_CODES`). */
  get status(): number {
    return this.httpStatus;
  }

  /** The JSON body sent to the client. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

/**
 * A server configuration the service cannot start with (bad option, unusable model directory).
 * The code is `opts.code`, else that of the tuna error it wraps (`file_not_found` for a missing
 * model directory, `invalid_checkpoint`, `hub_error`, ...), else `invalid_option`.
 */
export class ServeConfigError extends TunaError {
  override name = 'ServeConfigError';
  /** The option or model directory at fault. */
  readonly option?: string;

  constructor(message: string, opts: { option?: string; code?: ErrorCode; cause?: unknown } = {}) {
    const wrapped = isTunaError(opts.cause) ? opts.cause : undefined;
    super(opts.code ?? wrapped?.code ?? 'invalid_option', message, { cause: opts.cause, file: wrapped?.file });
    this.option = opts.option;
  }
}
