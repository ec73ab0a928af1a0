/**
 * What a downloaded file can be checked against: the content hash the Hub gives as its ETag (or in
 * its file list), and the size a safetensors file declares in its own header when the server gives
 * none.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { unquote } from './hub-http.js';
import { MAX_HEADER_BYTES } from './safetensors.js';

/** A content hash a file must match: sha256 of an LFS file, or the git blob sha1 of a regular one. */
export interface ContentHash {
  readonly kind: 'sha256' | 'git-sha1';
  readonly hex: string;
}

/** The content hash an ETag carries (weak or strong, quoted or not), when it is one: 64 hex digits are a sha256, 40 a git blob sha1. */
export function hashOfEtag(etag: string): ContentHash | undefined {
  const tag = unquote(etag).toLowerCase();
  if (/^[0-9a-f]{64}$/.test(tag)) return { kind: 'sha256', hex: tag };
  if (/^[0-9a-f]{40}$/.test(tag)) return { kind: 'git-sha1', hex: tag };
  return undefined;
}

/** The hash of a file on disk, of the kind asked, streamed. */
export async function hashFile(path: string, kind: ContentHash['kind']): Promise<string> {
  const hash = kind === 'sha256' ? createHash('sha256') : createHash('sha1').update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Whether bytes match a Hub ETag: 64 hex digits are the sha256 of an LFS file, 40 the git blob
 * sha1 (`sha1("blob <size>\0" + bytes)`) of a regular file; other ETags cannot be checked and pass.
 */
export function matchesEtag(bytes: Uint8Array, etag: string): boolean {
  const h = hashOfEtag(etag);
  if (!h) return true;
  if (h.kind === 'sha256') return createHash('sha256').update(bytes).digest('hex') === h.hex;
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex') === h.hex;
}

/** {@link matchesEtag} for a file on disk, hashed as a stream. */
export async function fileMatchesEtag(path: string, etag: string): Promise<boolean> {
  const h = hashOfEtag(etag);
  return !h || (await hashFile(path, h.kind)) === h.hex;
}

/**
 * The length of a safetensors file from its first bytes: 8 (the header length), the JSON header,
 * and the data up to the largest end offset it lists. Feed the download's chunks in order;
 * `length` is set once the header is in, `error` when the bytes are not a safetensors header.
 */
export class SafetensorsLength {
  length: number | undefined;
  error: string | undefined;
  private head: Buffer[] = [];
  private seen = 0;

  /** The bytes that may be read before the length is known: the longest header the format allows. */
  static readonly MAX_PREFIX = 8 + MAX_HEADER_BYTES;

  feed(chunk: Uint8Array): void {
    if (this.length !== undefined || this.error !== undefined) return;
    this.head.push(Buffer.from(chunk));
    this.seen += chunk.byteLength;
    if (this.seen < 8) return;
    const bytes = Buffer.concat(this.head, this.seen);
    this.head = [bytes];
    const n = bytes.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES)) return void (this.error = `its header claims ${n} bytes, more than the format's limit of ${MAX_HEADER_BYTES}`);
    if (this.seen < 8 + Number(n)) return;
    this.head = [];
    this.settle(bytes.subarray(8, 8 + Number(n)).toString('utf8'), Number(n));
  }

  private settle(json: string, headerBytes: number): void {
    let header: unknown;
    try {
      header = JSON.parse(json);
    } catch {
      this.error = 'its header is not JSON';
      return;
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) return void (this.error = 'its header is not a JSON object');
    let end = 0;
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const offsets = (entry as { data_offsets?: unknown } | null)?.data_offsets;
      const last = Array.isArray(offsets) ? offsets[1] : undefined;
      if (typeof last !== 'number' || !Number.isSafeInteger(last) || last < 0) return void (this.error = `tensor ${JSON.stringify(name)} has no valid data_offsets`);
      end = Math.max(end, last);
    }
    this.length = 8 + headerBytes + end;
  }
}
