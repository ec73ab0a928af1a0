/**
 * The Hub client's HTTP side: requests with connect and idle timeouts, redirects followed by hand
 * (so the Hub's own ETag and size are kept and the token never leaves its origin), and the errors
 * for HTTP answers and for settings taken from the environment.
 */
import { type ErrorDetails, TunaError } from '../errors.js';

/** The codes a {@link HubError} carries. */
export type HubErrorCode = 'hub_error' | 'hub_timeout' | 'invalid_checkpoint' | 'file_not_found' | 'invalid_option' | 'too_large' | 'file_system' | 'file_unreadable';

/**
 * A model could not be fetched from the Hub or found in the cache; the message names the model or
 * URL and what to do. The code is `hub_error` (network, HTTP, integrity, offline without a copy),
 * `hub_timeout` (the Hub did not answer, or stopped sending, within `HF_HUB_DOWNLOAD_TIMEOUT`),
 * `file_not_found` (no such directory or Hub model), `invalid_checkpoint` (the repository holds no
 * usable safetensors weights, or a broken shard index), `invalid_option` (a bad revision, file name,
 * `HF_ENDPOINT` or timeout), `too_large` (the server sent more than the file's size) or
 * `file_system` (the cache directory cannot be written).
 */
export class HubError extends TunaError {
  override name = 'HubError';
  declare readonly code: HubErrorCode;

  constructor(message: string, details: ErrorDetails & { readonly code?: HubErrorCode } = {}) {
    super(details.code ?? 'hub_error', message, details);
  }
}

/** Default of `HF_HUB_DOWNLOAD_TIMEOUT` and `HF_HUB_ETAG_TIMEOUT`, in seconds, as in huggingface_hub. */
export const DEFAULT_HUB_TIMEOUT_S = 10;
/** The longest delay a Node.js timer takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_REDIRECTS = 10;

/** What a request needs to know. */
export interface HttpSettings {
  readonly endpoint: string;
  readonly token?: string;
  /** Connect, answer and idle timeout of downloads, in milliseconds. */
  readonly downloadTimeoutMs: number;
  /** Timeout of metadata requests (HEAD, the file list), in milliseconds. */
  readonly etagTimeoutMs: number;
}

/**
 * A timeout in seconds from an option or an environment variable: a positive number, else an
 * `invalid_option` error naming where it came from.
 */
export function timeoutMs(option: number | undefined, optionName: string, variable: string): number {
  const raw = option ?? process.env[variable];
  if (raw === undefined || raw === '') return DEFAULT_HUB_TIMEOUT_S * 1000;
  const seconds = typeof raw === 'number' ? raw : /^\s*[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    const where = option === undefined ? variable : `the ${optionName} option`;
    throw new HubError(`${where} is ${JSON.stringify(raw)}; it must be a positive number of seconds (default ${DEFAULT_HUB_TIMEOUT_S}, e.g. ${variable}=30)`, {
      code: 'invalid_option',
      field: option === undefined ? variable : optionName,
    });
  }
  return Math.min(Math.max(1, Math.round(seconds * 1000)), MAX_TIMER_MS);
}

/**
 * The Hub's address with trailing slashes removed, checked to be an http(s) URL with no query or
 * fragment (model URLs are built by appending paths to it).
 */
export function checkEndpoint(endpoint: string, fromOption: boolean): string {
  const where = fromOption ? 'the endpoint option' : 'HF_ENDPOINT';
  const bad = (why: string) =>
    new HubError(`${where} is ${JSON.stringify(endpoint)}: ${why}; set it to the Hub's address, e.g. https://huggingface.co (or unset it)`, {
      code: 'invalid_option',
      field: fromOption ? 'endpoint' : 'HF_ENDPOINT',
    });
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw bad('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad(`a ${url.protocol.replace(/:$/, '')} URL, not http or https`);
  if (url.search || url.hash || /[?#]/.test(endpoint)) throw bad('a URL with a query or fragment, to which paths cannot be appended');
  if (url.username || url.password) throw bad('a URL with a user name or password; give the token in HF_TOKEN instead');
  return endpoint.replace(/\/+$/, '');
}

/** Seconds as the messages say them: `0.5 s`, `10 s`. */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * A timer that aborts a request when it fires: armed for the connection and the answer, then
 * re-armed by each chunk of the body, so it measures silence, not the length of a download.
 */
export class IdleTimeout {
  readonly controller = new AbortController();
  fired = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number) {
    this.reset();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  reset(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(new Error(`no data for ${seconds(this.ms)}`));
    }, this.ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/** The answer to a request after its redirects, with what the Hub said about the file. */
export interface Hop {
  readonly res: Response;
  readonly url: string;
  /** The Hub's ETag for the file (X-Linked-Etag, else ETag, of the first response that has one), without `W/` and quotes. */
  readonly etag: string;
  /** X-Linked-Size of the Hub's answer, when given. */
  readonly linkedSize?: number;
  readonly commit?: string;
  /** The final response's own ETag, as sent, when it is a strong one (usable in If-Range). */
  readonly validator?: string;
  /** The timer guarding the body of `res`; re-arm it per chunk and clear it when done. */
  readonly idle: IdleTimeout;
}

/** An ETag without its weak marker and quotes. */
export function unquote(etag: string | null): string {
  return (etag ?? '').trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Options of one {@link request}. */
export interface RequestOptions {
  readonly method?: 'GET' | 'HEAD';
  /** Ask for the bytes from this offset on. */
  readonly from?: number;
  /** A strong ETag sent as If-Range with the range: a changed file is then answered whole (200). */
  readonly ifRange?: string;
  /** A metadata request (the file list): timed by `HF_HUB_ETAG_TIMEOUT`, not `HF_HUB_DOWNLOAD_TIMEOUT`. */
  readonly metadata?: boolean;
}

/** One request, following redirects by hand so the Hub's own ETag is kept and the token never leaves its origin. */
export async function request(url: string, s: HttpSettings, opts: RequestOptions = {}): Promise<Hop> {
  const origin = new URL(s.endpoint).origin;
  let current = url;
  let etag = '';
  let linkedSize: number | undefined;
  let commit: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'tuna', 'accept-encoding': 'identity' };
    if (s.token && new URL(current).origin === origin) headers.authorization = `Bearer ${s.token}`;
    if (opts.from) headers.range = `bytes=${opts.from}-`;
    if (opts.from && opts.ifRange) headers['if-range'] = opts.ifRange;
    const idle = new IdleTimeout(opts.metadata ? s.etagTimeoutMs : s.downloadTimeoutMs);
    let res: Response;
    try {
      res = await fetch(current, { method: opts.method ?? 'GET', headers, redirect: 'manual', signal: idle.signal });
    } catch (e) {
      idle.clear();
      if (idle.fired) throw noAnswer(current, idle.ms, opts.metadata ? 'HF_HUB_ETAG_TIMEOUT' : 'HF_HUB_DOWNLOAD_TIMEOUT');
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      throw new HubError(`${current}: request failed (${cause ?? (e as Error).message}); check the network, or set HF_HUB_OFFLINE=1 to use the cache only`, { cause: e });
    }
    if (!etag) etag = unquote(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const size = res.headers.get('x-linked-size');
    if (linkedSize === undefined && size && /^\d+$/.test(size)) linkedSize = Number(size);
    commit ??= res.headers.get('x-repo-commit') ?? undefined;
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      idle.clear();
      await res.body?.cancel().catch(() => {});
      current = new URL(location, current).toString();
      continue;
    }
    const own = res.headers.get('etag')?.trim();
    const validator = own && /^"[^"]*"$/.test(own) ? own : undefined;
    return { res, url: current, etag, linkedSize, commit, validator, idle };
  }
  throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects`);
}

/** The `hub_timeout` error for a server that took the connection and did not answer. */
function noAnswer(url: string, ms: number, variable: string): HubError {
  return new HubError(
    `${url}: no answer from the server within ${seconds(ms)} (${variable}); check the network and the endpoint (HF_ENDPOINT), ` +
      `set ${variable} to more seconds for a slow connection, or set HF_HUB_OFFLINE=1 to use the cache only`,
    { code: 'hub_timeout' },
  );
}

/** Whether a HEAD request on the endpoint's origin finds a file (a redirect counts); failures and timeouts count as no. */
export async function exists(url: string, s: HttpSettings): Promise<boolean> {
  if (new URL(url).origin !== new URL(s.endpoint).origin) return false;
  const headers: Record<string, string> = { 'user-agent': 'tuna' };
  if (s.token) headers.authorization = `Bearer ${s.token}`;
  try {
    const res = await fetch(url, { method: 'HEAD', headers, redirect: 'manual', signal: AbortSignal.timeout(s.etagTimeoutMs) });
    await res.body?.cancel().catch(() => {});
    return res.status === 200 || (res.status >= 300 && res.status < 400);
  } catch {
    return false;
  }
}

/** The error for an HTTP answer that is neither the file nor "absent". */
export function httpError(hop: Hop, file: string): HubError {
  const { res, url } = hop;
  const code = res.headers.get('x-error-code') ?? '';
  if (res.status === 401 || res.status === 403) {
    if (code === 'GatedRepo') return new HubError(`${url}: access to this gated model is restricted (HTTP ${res.status}); accept its terms on the Hub, then set HF_TOKEN`);
    return new HubError(`${url}: access denied (HTTP ${res.status}); set HF_TOKEN to a token that can read this model (private and gated models need one)`);
  }
  if (res.status === 429) return new HubError(`${url}: rate limited by the Hub (HTTP 429); wait a little and run again, or set HF_TOKEN`);
  if (res.status >= 500) return new HubError(`${url}: the server failed (HTTP ${res.status}) while fetching ${file}; run again later`);
  return new HubError(`${url}: HTTP ${res.status} while fetching ${file}`);
}

/** Whether a response means "this file (or repository) does not exist". */
export function isAbsent(hop: Hop): boolean {
  const code = hop.res.headers.get('x-error-code');
  return hop.res.status === 404 || (hop.res.status === 401 && (code === 'RepoNotFound' || code === 'EntryNotFound' || code === 'RevisionNotFound'));
}

/** Reads a response body of at most `maxBytes` under the request's idle timer; `undefined` when larger or when it stalls. */
export async function smallBody(hop: Hop, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of hop.res.body as unknown as AsyncIterable<Uint8Array>) {
      hop.idle.reset();
      total += chunk.byteLength;
      if (total > maxBytes) {
        hop.idle.controller.abort();
        return undefined;
      }
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks, total);
  } catch {
    return undefined;
  } finally {
    hop.idle.clear();
  }
}
