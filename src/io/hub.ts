import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** A model could not be fetched from the Hub or found in the cache. */
export class HubError extends Error {
  override name = 'HubError';
}

/** Options of {@link resolveModel}; each defaults to its environment variable. */
export interface HubOptions {
  /** `HF_ENDPOINT`, default https://huggingface.co. */
  readonly endpoint?: string;
  /** `TUNA_CACHE`, else `$HF_HOME/tuna`, else ~/.cache/tuna. */
  readonly cacheDir?: string;
  /** `HF_HUB_OFFLINE=1` or `TUNA_OFFLINE=1`: use the cache only. */
  readonly offline?: boolean;
  /** `HF_TOKEN`, sent as a bearer token. */
  readonly token?: string;
  readonly revision?: string;
}

const REQUIRED = ['config.json', 'model.safetensors'];
const OPTIONAL = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];

function settings(opts: HubOptions) {
  const env = process.env;
  return {
    endpoint: (opts.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/$/, ''),
    cacheDir: opts.cacheDir ?? env.TUNA_CACHE ?? (env.HF_HOME ? join(env.HF_HOME, 'tuna') : join(homedir(), '.cache', 'tuna')),
    offline: opts.offline ?? (env.HF_HUB_OFFLINE === '1' || env.TUNA_OFFLINE === '1'),
    token: opts.token ?? env.HF_TOKEN,
    revision: opts.revision ?? 'main',
  };
}

/**
 * A local directory for a model: `idOrDir` itself when it is a directory, otherwise the Hub
 * snapshot of that id, downloaded into the cache on first use (config.json, model.safetensors and
 * the tokenizer files; pickled weights are never fetched). Downloads resume from a partial file
 * with an HTTP Range request, are checked against the Hub's ETag (sha256 for LFS files, the git
 * blob sha1 otherwise) and are moved into place only when complete.
 */
export async function resolveModel(idOrDir: string, opts: HubOptions = {}): Promise<string> {
  if (existsSync(idOrDir) && statSync(idOrDir).isDirectory()) return idOrDir;
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(idOrDir)) throw new HubError(`${idOrDir}: no such directory, and not a Hub model id (owner/name)`);
  const s = settings(opts);
  const snapshot = join(s.cacheDir, `models--${idOrDir.replace('/', '--')}`, 'snapshots', s.revision);
  if (REQUIRED.every((f) => existsSync(join(snapshot, f)))) return snapshot;
  if (s.offline) throw new HubError(`${idOrDir}: not in the cache (${snapshot}) and offline mode is on; download it once online or point --model at a directory`);
  await mkdir(snapshot, { recursive: true });
  for (const file of [...REQUIRED, ...OPTIONAL]) {
    const url = `${s.endpoint}/${idOrDir}/resolve/${encodeURIComponent(s.revision)}/${file}`;
    const ok = await download(url, join(snapshot, file), s.token, REQUIRED.includes(file));
    if (!ok && file === 'config.json') throw new HubError(`${idOrDir}: model not found at ${s.endpoint} (no config.json at revision ${s.revision})`);
    if (!ok && file === 'model.safetensors') {
      throw new HubError(`${idOrDir}: the repository has no model.safetensors; tuna never downloads or executes pickled .bin weights`);
    }
  }
  return snapshot;
}

/** Downloads one file; false on 404 for optional files. */
async function download(url: string, dest: string, token: string | undefined, required: boolean): Promise<boolean> {
  if (existsSync(dest)) return true;
  const partial = `${dest}.incomplete`;
  const have = existsSync(partial) ? statSync(partial).size : 0;
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: 'follow' });
  } catch (e) {
    throw new HubError(`${url}: request failed (${(e as Error).message}); check the network or set HF_HUB_OFFLINE=1 to use the cache`);
  }
  if (res.status === 404) {
    if (required) return false;
    return false;
  }
  if (res.status === 401 || res.status === 403) throw new HubError(`${url}: access denied (HTTP ${res.status}); set HF_TOKEN for gated or private models`);
  if (res.status === 416 && have > 0) {
    await rm(partial, { force: true });
    return download(url, dest, token, required);
  }
  if (!res.ok || !res.body) throw new HubError(`${url}: HTTP ${res.status}`);
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const append = res.status === 206 && have > 0;
  const fh = await open(partial, append ? 'a' : 'w');
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const bytes = await readFile(partial);
  if (!matchesEtag(bytes, etag)) {
    await rm(partial, { force: true });
    throw new HubError(`${url}: the downloaded file does not match its ETag ${etag}; it was deleted, try again`);
  }
  await rename(partial, dest);
  return true;
}

/** Whether bytes match a Hub ETag: 64 hex digits are a sha256, 40 a git blob sha1; others are not checked. */
export function matchesEtag(bytes: Uint8Array, etag: string): boolean {
  if (/^[0-9a-f]{64}$/.test(etag)) return createHash('sha256').update(bytes).digest('hex') === etag;
  if (/^[0-9a-f]{40}$/.test(etag)) {
    return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex') === etag;
  }
  return true;
}
