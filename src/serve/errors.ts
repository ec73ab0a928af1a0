/** Errors of the HTTP service and the JSON body every 4xx/5xx answer carries. */

/** Machine-readable kinds of request failure, as they appear in `{"error": {"code": ...}}`. */
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
  /** The server is shutting down or its models are not loaded yet. */
  | 'unavailable'
  /** A failure on the server's side. */
  | 'internal';

/** The error document of a failed request. */
export interface ErrorBody {
  readonly error: { readonly code: ServeErrorCode; readonly message: string; readonly field?: string };
}

/**
 * A request the server refuses or cannot answer: `status` is the HTTP status, `code` the
 * machine-readable kind, `field` the request field at fault (`inputs[2]`, `parameters.top_k`,
 * `model`) when there is one.
 */
export class ServeError extends Error {
  override name = 'ServeError';
  readonly status: number;
  readonly code: ServeErrorCode;
  readonly field?: string;

  constructor(status: number, code: ServeErrorCode, message: string, opts: { field?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.field = opts.field;
  }

  /** The JSON body sent to the client. */
  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

/** A server configuration the service cannot start with (bad option, unusable model directory). */
export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
  /** The option or model directory at fault. */
  readonly option?: string;

  constructor(message: string, opts: { option?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.option = opts.option;
  }
}
