/**
 * The one base class of every error tuna raises on purpose, and the catalogue of its codes. The
 * command line and the HTTP service map an error by its code (exit status, HTTP status), never by
 * its class or message; library messages describe the problem and the remedy in library terms and
 * never name command-line flags.
 */

/** Every error code tuna uses, with what it means and how the CLI and the service report it. */
export const ERROR_CODES = {
  // Input the user gave.
  usage: { http: 400, meaning: 'a command or option was used wrongly' },
  invalid_input: { http: 400, meaning: 'an input text or value is not what the operation takes' },
  invalid_option: { http: 400, meaning: 'an option has a value that cannot be used' },
  invalid_parameter: { http: 400, meaning: 'a request parameter has a value that cannot be used' },
  invalid_data: { http: 400, meaning: 'a data file has a problem at a named line or field' },
  invalid_config: { http: 400, meaning: 'a configuration file or object is invalid' },
  invalid_arguments: { http: 400, meaning: 'training arguments are invalid or inconsistent' },
  no_mask_token: { http: 400, meaning: 'fill-mask input without a mask token' },
  unknown_task: { http: 404, meaning: 'no pipeline or endpoint of that task' },
  wrong_task: { http: 400, meaning: 'the model has no head for the task asked' },
  // Files and models.
  file_not_found: { http: 404, meaning: 'a file or directory does not exist' },
  file_unreadable: { http: 400, meaning: 'a file exists but cannot be read as what it should be' },
  invalid_checkpoint: { http: 400, meaning: 'a checkpoint directory is incomplete or corrupt' },
  invalid_model: { http: 400, meaning: 'a model cannot be used for what was asked' },
  unsupported_model: { http: 400, meaning: 'a model type or architecture tuna does not build' },
  invalid_safetensors: { http: 400, meaning: 'a safetensors file is malformed' },
  invalid_onnx: { http: 400, meaning: 'an ONNX file is malformed' },
  invalid_tokenizer: { http: 400, meaning: 'tokenizer files are missing or malformed' },
  output_exists: { http: 409, meaning: 'an output directory holds an earlier run' },
  resume_failed: { http: 409, meaning: 'a run cannot be resumed from the given checkpoint' },
  hub_error: { http: 502, meaning: 'the model hub could not deliver a model' },
  hub_timeout: { http: 504, meaning: 'the model hub did not answer in time' },
  output_locked: { http: 409, meaning: 'another running process holds the output directory' },
  conflict: { http: 409, meaning: 'what was saved changed since it was read (another process saved it): read it again and repeat the change' },
  too_large: { http: 413, meaning: 'a file, a configured size or an input is larger than tuna accepts' },
  file_system: { http: 500, meaning: 'the file system refused an operation (permission, space, path)' },
  store_error: { http: 503, meaning: 'a database or queue server (PostgreSQL, Redis) refused an operation or could not be reached' },
  // Running.
  runtime_error: { http: 500, meaning: 'ONNX Runtime failed to build or run a graph' },
  non_finite: { http: 500, meaning: 'a model produced NaN or infinite values' },
  unsupported_gradient: { http: 500, meaning: 'an operation has no gradient rule' },
  shape_error: { http: 500, meaning: 'tensor shapes do not fit together' },
  export_failed: { http: 500, meaning: 'an export could not be written or checked' },
  overloaded: { http: 503, meaning: 'the service queue is full' },
  cancelled: { http: 499, meaning: 'the request was cancelled by its client' },
  disposed: { http: 500, meaning: 'an object was used after it was released' },
  interrupted: { http: 500, meaning: 'the work was interrupted (Ctrl-C, SIGTERM)' },
  internal: { http: 500, meaning: 'a defect in tuna: please report it' },
  // The HTTP service's own answers (docs/serve.md lists every code it returns).
  invalid_json: { http: 400, meaning: 'a request body is not valid JSON, or is empty' },
  invalid_request: { http: 400, meaning: 'a request field is missing, of the wrong type, unknown, empty or too long; or malformed HTTP' },
  headers_too_large: { http: 431, meaning: 'the request headers are larger than the server accepts' },
  unauthorized: { http: 401, meaning: 'the API key is missing or wrong' },
  unknown_model: { http: 404, meaning: 'a request names no loaded model' },
  unsupported_task: { http: 400, meaning: 'the model named (or every model) does not serve the endpoint' },
  not_found: { http: 404, meaning: 'no such route' },
  method_not_allowed: { http: 405, meaning: 'the route exists, not with this HTTP method' },
  body_too_large: { http: 413, meaning: 'a request body is larger than the server accepts' },
  unsupported_media_type: { http: 415, meaning: 'a request body is not application/json' },
  unavailable: { http: 503, meaning: 'the service is shutting down' },
  request_timeout: { http: 408, meaning: 'a client sent its request headers or body too slowly' },
  response_too_large: { http: 413, meaning: 'the answer to a request would be larger than the server sends' },
} as const satisfies Record<string, { http: number; meaning: string }>;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Where an error comes from, when it is about one thing. */
export interface ErrorDetails {
  /** The file the error is about. */
  readonly file?: string;
  /** The input, option or request field the error is about (e.g. `inputs[2]`, `top_k`). */
  readonly field?: string;
  readonly cause?: unknown;
}

/**
 * The base of tuna's errors: a code from {@link ERROR_CODES}, an actionable message, and the file or
 * field it is about. Subclasses narrow the codes they use.
 */
export class TunaError extends Error {
  override name = 'TunaError';
  readonly code: ErrorCode;
  readonly file?: string;
  readonly field?: string;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.field !== undefined) this.field = details.field;
  }

  /** The HTTP status the service answers with for this error. */
  get httpStatus(): number {
    return ERROR_CODES[this.code].http;
  }
}

/** Whether `e` is a {@link TunaError} (also across duplicated module instances). */
export function isTunaError(e: unknown): e is TunaError {
  return (
    e instanceof TunaError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && Object.hasOwn(ERROR_CODES, (e as unknown as { code: string }).code))
  );
}
