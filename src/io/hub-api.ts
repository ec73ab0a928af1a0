/**
 * The Hub's file list of a revision (`/api/models/{id}/revision/{revision}?blobs=true`), asked for
 * only when a file's ETag is not a content hash (a weak or opaque ETag from a proxy or mirror): it
 * gives each file's size, git blob sha1 and, for LFS files, sha256.
 */
import { MAX_CONFIG_BYTES } from './files.js';
import { type HttpSettings, request, smallBody } from './hub-http.js';

/** What the Hub's file list says about one file. */
export interface RemoteFile {
  readonly size?: number;
  readonly sha256?: string;
  readonly gitSha1?: string;
}

/** The URL of the file list of a model revision. */
export function revisionInfoUrl(endpoint: string, id: string, revision: string): string {
  return `${endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

/**
 * The files of a model revision by name, or `undefined` when the endpoint has no such API (a
 * mirror), does not answer in time (`HF_HUB_ETAG_TIMEOUT`), or answers something else than the list.
 */
export async function revisionFiles(id: string, revision: string, s: HttpSettings): Promise<Map<string, RemoteFile> | undefined> {
  let body: Buffer | undefined;
  try {
    const hop = await request(revisionInfoUrl(s.endpoint, id, revision), s, { metadata: true });
    if (hop.res.status !== 200 || !hop.res.body) {
      hop.idle.clear();
      await hop.res.body?.cancel().catch(() => {});
      return undefined;
    }
    body = await smallBody(hop, MAX_CONFIG_BYTES);
  } catch {
    return undefined;
  }
  if (!body) return undefined;
  let info: { siblings?: unknown };
  try {
    info = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(info?.siblings)) return undefined;
  const files = new Map<string, RemoteFile>();
  for (const sibling of info.siblings as unknown[]) {
    const f = sibling as { rfilename?: unknown; size?: unknown; blobId?: unknown; lfs?: { sha256?: unknown; size?: unknown } | null };
    if (typeof f?.rfilename !== 'string') continue;
    const lfs = f.lfs && typeof f.lfs === 'object' ? f.lfs : undefined;
    const size = [lfs?.size, f.size].find((v): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
    const sha256 = typeof lfs?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(lfs.sha256) ? lfs.sha256 : undefined;
    // The blob id of an LFS file is the hash of its pointer, not of its content.
    const gitSha1 = !lfs && typeof f.blobId === 'string' && /^[0-9a-f]{40}$/.test(f.blobId) ? f.blobId : undefined;
    files.set(f.rfilename, { ...(size === undefined ? {} : { size }), ...(sha256 ? { sha256 } : {}), ...(gitSha1 ? { gitSha1 } : {}) });
  }
  return files;
}
