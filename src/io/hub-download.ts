/**
 * Downloading one file of a Hub snapshot into tuna's cache: resumed from a partial file only when
 * the server proves it is the same version (If-Range) or the result can be hashed, bounded by the
 * size the Hub gives, checked against the content hash, and moved into place only when complete.
 */
import { existsSync } from 'node:fs';
import { type FileHandle, open, readFile, rename, rm, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PICKLE_FILE } from './checkpoint.js';
import { fileSystemError, formatBytes, MAX_CONFIG_BYTES } from './files.js';
import type { RemoteFile } from './hub-api.js';
import { HubError, type HubErrorCode, type Hop, type HttpSettings, httpError, isAbsent, request, seconds } from './hub-http.js';
import { type ContentHash, hashFile, hashOfEtag, SafetensorsLength } from './hub-integrity.js';

/** Progress of one file download. */
export interface DownloadProgress {
  readonly file: string;
  readonly url: string;
  /** Bytes on disk so far, a resumed part included. */
  readonly received: number;
  /** Total size when the server says it. */
  readonly total?: number;
}

/** Where tuna's download cache is, and which setting put it there (named in file-system errors). */
export interface CacheLocation {
  readonly dir: string;
  readonly source: 'cacheDir option' | 'TUNA_CACHE' | 'HF_HOME' | 'default';
}

/** What {@link download} needs besides the file. */
export interface DownloadContext {
  readonly http: HttpSettings;
  readonly cache: CacheLocation;
  /** The snapshot directory the file goes to: the cache entry named in integrity errors. */
  readonly snapshot: string;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** What the Hub's file list says about a file (asked only when its ETag is not a content hash). */
  readonly remote: (file: string) => Promise<RemoteFile | undefined>;
}

export type DownloadResult = { readonly status: 'absent' } | { readonly status: 'done'; readonly commit?: string };

/** The file-system error for the cache, naming the path, the cache directory and how to move it. */
export function cacheError(cache: CacheLocation, path: string, e: unknown, action: string): HubError {
  if (e instanceof HubError) return e;
  const fe = fileSystemError(path, e, action);
  const move = cache.source === 'cacheDir option' ? 'pass another cacheDir' : 'set TUNA_CACHE (or HF_HOME) to another directory';
  return new HubError(`${fe.message}. tuna's download cache is ${cache.dir} (${cache.source}); make it writable and give it space, or ${move}`, {
    code: fe.code as HubErrorCode,
    file: path,
    cause: e,
  });
}

/** Runs one file-system step on the cache, turning its errno into {@link cacheError}. */
export async function onCache<T>(cache: CacheLocation, path: string, action: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw cacheError(cache, path, e, action);
  }
}

/** Files read whole as JSON or text (configs, tokenizer files, indexes), capped at {@link MAX_CONFIG_BYTES}. */
const SMALL_FILE = /\.(json|txt)$/;

/** What the partial file of a download was begun from, kept beside it as `{file}.incomplete.json`. */
interface PartialInfo {
  /** The Hub's ETag of the version being downloaded. */
  readonly etag: string;
  /** The downloading server's strong ETag, sent as If-Range when resuming. */
  readonly validator?: string;
  readonly size?: number;
}

async function readPartialInfo(path: string): Promise<PartialInfo | undefined> {
  try {
    const info = JSON.parse(await readFile(path, 'utf8')) as PartialInfo;
    if (typeof info?.etag !== 'string') return undefined;
    return {
      etag: info.etag,
      ...(typeof info.validator === 'string' ? { validator: info.validator } : {}),
      ...(Number.isSafeInteger(info.size) ? { size: info.size } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The bytes from `from` of the whole file's `total` (`undefined` when unknown), from a 206 answer. */
function contentRange(res: Response): { from: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range')?.trim() ?? '');
  if (!m) return undefined;
  return { from: Number(m[1]), ...(m[3] === '*' ? {} : { total: Number(m[3]) }) };
}

function contentLength(res: Response): number | undefined {
  const len = res.headers.get('content-length')?.trim();
  return len && /^\d+$/.test(len) ? Number(len) : undefined;
}

function remoteHash(remote: RemoteFile | undefined): ContentHash | undefined {
  if (remote?.sha256) return { kind: 'sha256', hex: remote.sha256 };
  if (remote?.gitSha1) return { kind: 'git-sha1', hex: remote.gitSha1 };
  return undefined;
}

async function discard(hop: Hop): Promise<void> {
  hop.idle.clear();
  await hop.res.body?.cancel().catch(() => {});
}

/** One download attempt's state. */
interface Attempt {
  readonly url: string;
  readonly dest: string;
  readonly file: string;
  readonly partial: string;
  readonly info: string;
  readonly ctx: DownloadContext;
}

/**
 * Downloads one file into place, resuming a partial `.incomplete` file when that is safe, bounded
 * by the file's size and verified against its content hash. Returns `absent` on 404 (the caller
 * decides whether that is an error).
 */
export async function download(url: string, dest: string, file: string, ctx: DownloadContext, attempt = 0): Promise<DownloadResult> {
  if (existsSync(dest)) return { status: 'done' };
  if (PICKLE_FILE.test(file)) throw new HubError(`${url}: refusing to download a pickle file; tuna never executes pickled weights`);
  const a: Attempt = { url, dest, file, partial: `${dest}.incomplete`, info: `${dest}.incomplete.json`, ctx };
  const have = await partialSize(a);
  const recorded = have > 0 ? await readPartialInfo(a.info) : undefined;
  const hop = await request(url, ctx.http, { from: have || undefined, ifRange: recorded?.validator });
  try {
    return await fromAnswer(a, hop, have, recorded, attempt);
  } finally {
    await discard(hop);
  }
}

/** The rest of {@link download} once the server has answered. */
async function fromAnswer(a: Attempt, hop: Hop, have: number, recorded: PartialInfo | undefined, attempt: number): Promise<DownloadResult> {
  const { url, dest, file, ctx } = a;
  const { res } = hop;
  const restart = async (why: string): Promise<DownloadResult> => {
    await discard(hop);
    await removePartial(a);
    if (attempt >= 1) throw new HubError(`${url}: ${why}, again after starting over; run again later. ${clearHint(ctx)}`);
    return download(url, dest, file, ctx, attempt + 1);
  };
  if (isAbsent(hop)) {
    await discard(hop);
    return { status: 'absent' };
  }
  if (res.status === 416 && have > 0) return restart('the partial file is not a prefix of the file on the server (HTTP 416)');
  if (!(res.status === 200 || res.status === 206) || !res.body) {
    await discard(hop);
    throw httpError(hop, file);
  }
  let start = 0;
  let total = contentLength(res);
  if (res.status === 206) {
    const range = contentRange(res);
    if (!range || range.from !== have) return restart(`the server answered a request for the bytes from ${have} on with ${res.headers.get('content-range') ?? 'no Content-Range'}`);
    if (recorded && (recorded.etag !== hop.etag || (recorded.size !== undefined && recorded.size !== (hop.linkedSize ?? range.total))))
      return restart('the file changed on the server since the partial download began');
    if (!recorded?.validator && !hashOfEtag(hop.etag)) return restart('the partial file cannot be checked to belong to this version of the file');
    if (range.total === undefined) return restart('the server does not say the size of the file');
    start = have;
    total = range.total;
  }
  // A 200 answer to a Range request is the whole file: it changed (If-Range) or ranges are not served.
  let remote: RemoteFile | undefined;
  let hash = hashOfEtag(hop.etag);
  if (!hash) {
    hop.idle.clear();
    hash = remoteHash((remote = await ctx.remote(file)));
  }
  const expected = hop.linkedSize ?? remote?.size ?? total;
  const source = hop.linkedSize !== undefined ? 'X-Linked-Size' : remote?.size !== undefined ? "the Hub's file list" : res.status === 206 ? 'Content-Range' : 'Content-Length';
  if (total !== undefined && expected !== undefined && total !== expected) {
    if (start > 0) return restart(`the server sends a file of ${total} bytes, but the Hub gives its size as ${expected} (${source})`);
    await discard(hop);
    await removePartial(a);
    throw new HubError(`${hop.url}: sends ${total} bytes for ${file}, but the Hub gives its size as ${expected} (${source}); nothing was kept. ${clearHint(ctx)}`);
  }
  if (expected !== undefined && expected > MAX_CONFIG_BYTES && SMALL_FILE.test(file)) {
    await discard(hop);
    throw new HubError(
      `${hop.url}: the Hub gives ${file} a size of ${formatBytes(expected)} (${source}), more than the ${formatBytes(MAX_CONFIG_BYTES)} a config or tokenizer file may be; nothing was downloaded`,
      { code: 'too_large' },
    );
  }
  const resumable = hash !== undefined || hop.validator !== undefined;
  if (expected !== undefined) await checkFreeSpace(a, expected - start);
  if (start === 0) {
    await removePartial(a);
    if (resumable) {
      const info: PartialInfo = { etag: hop.etag, ...(hop.validator ? { validator: hop.validator } : {}), ...(expected === undefined ? {} : { size: expected }) };
      await onCache(ctx.cache, a.info, 'write', () => writeSmall(a.info, `${JSON.stringify(info)}\n`));
    }
  }
  await receive(a, hop, { start, expected, source, resumable });
  const { kind, hex } = hash ?? {};
  if (kind && (await onCache(ctx.cache, a.partial, 'read', () => hashFile(a.partial, kind))) !== hex) {
    await removePartial(a);
    if (start > 0 && attempt === 0) return download(url, dest, file, ctx, attempt + 1);
    throw new HubError(
      `${url}: the downloaded file does not match its ETag ${hex} (the ${kind} of its content${remote ? ", from the Hub's file list" : ''}; ` +
        `corrupted in transit, or changed on the server); it was deleted, run again. ${clearHint(ctx)}`,
      { file: dest },
    );
  }
  await onCache(ctx.cache, dest, 'rename', () => rename(a.partial, dest));
  await rm(a.info, { force: true });
  return { status: 'done', commit: hop.commit };
}

/** How to start a model over: the snapshot directory to delete. */
export function clearHint(ctx: DownloadContext): string {
  return `If it keeps failing, clear this cache entry by deleting the directory ${ctx.snapshot} and run again.`;
}

async function partialSize(a: Attempt): Promise<number> {
  try {
    return (await stat(a.partial)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw cacheError(a.ctx.cache, a.partial, e, 'read');
  }
}

async function removePartial(a: Attempt): Promise<void> {
  await onCache(a.ctx.cache, a.partial, 'delete', () => rm(a.partial, { force: true }));
  await rm(a.info, { force: true }).catch(() => {});
}

async function writeSmall(path: string, text: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
}

/** Refuses a download that cannot fit in the cache's free space before writing any of it. */
async function checkFreeSpace(a: Attempt, bytes: number): Promise<void> {
  let free: number;
  try {
    const fs = await statfs(dirname(a.dest));
    free = fs.bavail * fs.bsize;
  } catch {
    return;
  }
  if (bytes > free) {
    const e = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    throw cacheError(a.ctx.cache, a.dest, e, `write ${formatBytes(bytes)} (${formatBytes(free)} free)`);
  }
}

interface ReceiveOptions {
  readonly start: number;
  readonly expected?: number;
  /** Where `expected` comes from, for the messages. */
  readonly source: string;
  /** Whether a partial file can be resumed safely later (a content hash or a strong ETag). */
  readonly resumable: boolean;
}

/**
 * Writes the body of `hop` to the partial file from `start`, never past the size the Hub gave (or,
 * when it gave none, past a safetensors file's own header's size or the cap of small files), and
 * checks that it ends at that size. Returns the bytes on disk.
 */
async function receive(a: Attempt, hop: Hop, o: ReceiveOptions): Promise<number> {
  const { url, file, partial, ctx } = a;
  const header = o.expected === undefined && file.endsWith('.safetensors') ? new SafetensorsLength() : undefined;
  const limit = () => o.expected ?? header?.length ?? (header ? SafetensorsLength.MAX_PREFIX : MAX_CONFIG_BYTES);
  // The timer runs only while waiting for the server, not while the disk writes.
  hop.idle.clear();
  const limitSource = () => (o.expected !== undefined ? o.source : header ? 'its safetensors header' : `the ${formatBytes(MAX_CONFIG_BYTES)} limit of config and tokenizer files`);
  const fh: FileHandle = await onCache(ctx.cache, partial, 'write', () => open(partial, o.start > 0 ? 'a' : 'w'));
  let received = o.start;
  const fail = async (error: HubError, keep: boolean): Promise<never> => {
    await discard(hop);
    await fh.close().catch(() => {});
    if (!(keep && o.resumable && received > 0)) await removePartial(a);
    throw error;
  };
  const kept = () => (o.resumable && received > 0 ? `${received} bytes are kept in ${partial}, run again to resume` : 'the partial file was deleted, run again');
  const iterator = (hop.res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Uint8Array>;
    try {
      hop.idle.reset();
      next = await iterator.next();
      hop.idle.clear();
    } catch (e) {
      if (hop.idle.fired) {
        await fail(
          new HubError(
            `${url}: the download stalled: no data for ${seconds(hop.idle.ms)} after ${received} bytes (HF_HUB_DOWNLOAD_TIMEOUT); ${kept()}, ` +
              'or set HF_HUB_DOWNLOAD_TIMEOUT to more seconds for a slow connection',
            { code: 'hub_timeout' },
          ),
          true,
        );
      }
      await fail(new HubError(`${url}: download interrupted (${(e as Error).message}); ${kept()}`, { cause: e }), true);
      break;
    }
    if (next.done) break;
    const chunk = next.value;
    header?.feed(chunk);
    if (header?.error)
      await fail(new HubError(`${url}: ${file} is not a safetensors file (${header.error}); nothing was kept. ${clearHint(ctx)}`, { code: 'invalid_checkpoint' }), false);
    if (received + chunk.byteLength > limit()) {
      await fail(
        new HubError(
          `${url}: the server sent more than the ${limit()} bytes of ${file} (${limitSource()}); the download was stopped and the partial file deleted. ${clearHint(ctx)}`,
          { code: 'too_large' },
        ),
        false,
      );
    }
    try {
      let off = 0;
      while (off < chunk.byteLength) off += (await fh.write(chunk, off)).bytesWritten;
    } catch (e) {
      await fail(cacheError(ctx.cache, partial, e, 'write'), true);
    }
    received += chunk.byteLength;
    ctx.onProgress?.({ file, url, received, ...(o.expected === undefined && header?.length === undefined ? {} : { total: o.expected ?? header?.length }) });
  }
  hop.idle.clear();
  try {
    await fh.sync();
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => {});
    throw cacheError(ctx.cache, partial, e, 'write');
  }
  const size = o.expected ?? header?.length;
  if (header && size === undefined) await fail(new HubError(`${url}: ${file} ends inside its safetensors header after ${received} bytes; run again. ${clearHint(ctx)}`), false);
  if (size !== undefined && received < size) {
    const error = new HubError(`${url}: received ${received} of ${size} bytes (${o.expected !== undefined ? o.source : 'its safetensors header'}); ${kept()}. ${clearHint(ctx)}`);
    if (!(o.resumable && received > 0)) await removePartial(a);
    throw error;
  }
  return received;
}
