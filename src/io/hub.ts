import { existsSync, type Stats, statSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { fileSystemError } from './files.js';
import { CONFIG_FILE, PICKLE_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpoint.js';
import { type RemoteFile, revisionFiles } from './hub-api.js';
import { type CacheLocation, cacheError, type DownloadContext, type DownloadProgress, download, onCache } from './hub-download.js';
import { checkEndpoint, exists, HubError, type HttpSettings, timeoutMs } from './hub-http.js';

export type { DownloadProgress } from './hub-download.js';
export { HubError, type HubErrorCode } from './hub-http.js';
export { fileMatchesEtag, matchesEtag } from './hub-integrity.js';

/** Options of {@link resolveModel}; each defaults to its environment variable. */
export interface HubOptions {
  /** `HF_ENDPOINT`, default https://huggingface.co: an http(s) URL without query or fragment. */
  readonly endpoint?: string;
  /** `TUNA_CACHE`, else `$HF_HOME/tuna`, else ~/.cache/tuna. */
  readonly cacheDir?: string;
  /** `HF_HUB_OFFLINE=1` or `TUNA_OFFLINE=1`: use the cache only. */
  readonly offline?: boolean;
  /** `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), sent as a bearer token to the endpoint, never to the hosts it redirects to. */
  readonly token?: string;
  /**
   * A branch, tag, pull-request ref (`refs/pr/N`) or full commit hash; default `main`. It selects
   * the snapshot in both caches and the files downloaded.
   */
  readonly revision?: string;
  /**
   * The Hugging Face hub cache to read models from before downloading: `HF_HUB_CACHE` (or the
   * older `HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`,
   * else ~/.cache/huggingface/hub. `false` skips it. tuna only reads it, never writes to it.
   */
  readonly hubCacheDir?: string | false;
  /** More optional files to fetch beside the tokenizer files (404 is fine); pickle files are refused. */
  readonly extraFiles?: readonly string[];
  /** Called as each download makes progress. */
  readonly onProgress?: (p: DownloadProgress) => void;
  /**
   * Seconds a download may wait for the server to connect and answer, and then for each next piece
   * of the file: `HF_HUB_DOWNLOAD_TIMEOUT`, default 10 (as huggingface_hub). A server that stays
   * silent longer fails with code `hub_timeout`; a partial file that can be resumed is kept.
   */
  readonly downloadTimeout?: number;
}

/** Tokenizer files fetched when the repository has them. */
export const OPTIONAL_FILES: readonly string[] = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'modules.json'];

/** The files of a sentence-transformers repository beside modules.json. */
const SENTENCE_FILES: readonly string[] = ['sentence_bert_config.json', 'config_sentence_transformers.json'];

/**
 * The files of the module folders a sentence-transformers modules.json names (`1_Pooling/config.json`,
 * `2_Dense/config.json` and its weights): only plain folder names, never a path out of the snapshot.
 */
function sentenceModuleFiles(modulesJson: string): string[] {
  let modules: unknown;
  try {
    modules = JSON.parse(modulesJson);
  } catch {
    return [];
  }
  if (!Array.isArray(modules)) return [];
  const out: string[] = [];
  for (const m of modules) {
    const path = (m as { path?: unknown } | null)?.path;
    if (typeof path !== 'string' || !/^[\w][\w.-]*$/.test(path) || path.includes('..')) continue;
    out.push(`${path}/config.json`, `${path}/model.safetensors`);
  }
  return out;
}

const TRUE = /^(1|true|yes|on)$/i;
const LOCK_WAIT_MS = 10 * 60_000;

interface Settings {
  endpoint: string;
  cacheDir: string;
  cache: CacheLocation;
  offline: boolean;
  token?: string;
  revision: string;
  hubCacheDir: string | false;
}

function settings(opts: HubOptions): Settings {
  const env = process.env;
  const cache = cacheLocation(opts);
  return {
    endpoint: opts.endpoint ?? env.HF_ENDPOINT ?? 'https://huggingface.co',
    cacheDir: cache.dir,
    cache,
    offline: opts.offline ?? (TRUE.test(env.HF_HUB_OFFLINE ?? '') || TRUE.test(env.TUNA_OFFLINE ?? '')),
    token: opts.token ?? (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined),
    revision: opts.revision ?? 'main',
    hubCacheDir: opts.hubCacheDir ?? defaultHubCacheDir(),
  };
}

/** tuna's own cache: the `cacheDir` option, else `TUNA_CACHE`, else `$HF_HOME/tuna`, else ~/.cache/tuna. */
function cacheLocation(opts: HubOptions): CacheLocation {
  const env = process.env;
  if (opts.cacheDir !== undefined) return { dir: opts.cacheDir, source: 'cacheDir option' };
  if (env.TUNA_CACHE) return { dir: env.TUNA_CACHE, source: 'TUNA_CACHE' };
  if (env.HF_HOME) return { dir: join(env.HF_HOME, 'tuna'), source: 'HF_HOME' };
  return { dir: join(homedir(), '.cache', 'tuna'), source: 'default' };
}

/** The HTTP settings, checked: the endpoint is a usable URL and the timeouts are positive numbers. */
function httpSettings(s: Settings, opts: HubOptions): HttpSettings {
  return {
    endpoint: checkEndpoint(s.endpoint, opts.endpoint !== undefined),
    ...(s.token ? { token: s.token } : {}),
    downloadTimeoutMs: timeoutMs(opts.downloadTimeout, 'downloadTimeout', 'HF_HUB_DOWNLOAD_TIMEOUT'),
    etagTimeoutMs: timeoutMs(undefined, 'etagTimeout', 'HF_HUB_ETAG_TIMEOUT'),
  };
}

/** Where huggingface_hub keeps its cache, as it decides it. */
function defaultHubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The snapshot of `id` at `revision` in a Hugging Face hub cache, when it holds config.json and
 * complete weights: `{cache}/models--owner--name/snapshots/{commit}`, the commit read from
 * `refs/{revision}` (a full commit hash is used directly). Files there are usually symlinks into
 * `blobs/`; a dangling one counts as missing.
 */
export async function hubCacheSnapshot(cacheDir: string, id: string, revision: string): Promise<string | undefined> {
  const repo = repoCacheDir(cacheDir, id);
  let commit = revision;
  if (!COMMIT.test(revision)) {
    try {
      commit = (await readFile(join(repo, 'refs', ...revision.split('/')), 'utf8')).trim();
    } catch {
      return undefined;
    }
    if (!COMMIT.test(commit)) return undefined;
  }
  const snapshot = join(repo, 'snapshots', commit);
  return (await hasWeights(snapshot)) ? snapshot : undefined;
}

/** Whether a string is a Hub model id: `name` or `owner/name`. */
export function isHubId(s: string): boolean {
  return /^[A-Za-z0-9_][\w.-]*(\/[A-Za-z0-9_][\w.-]*)?$/.test(s) && !s.includes('..') && !s.includes('--') && !s.endsWith('.');
}

/** Where the cache keeps a model: `{cache}/models--owner--name`. */
export function repoCacheDir(cacheDir: string, id: string): string {
  return join(cacheDir, `models--${id.replace('/', '--')}`);
}

/** A revision as a single path component (`refs/pr/1` → `refs%2Fpr%2F1`). */
function revisionDir(revision: string): string {
  return encodeURIComponent(revision);
}

/** The snapshot directory of a model revision in the cache: `{cache}/models--owner--name/snapshots/{revision}`. */
export function snapshotDir(id: string, opts: HubOptions = {}): string {
  const s = settings(opts);
  return join(repoCacheDir(s.cacheDir, id), 'snapshots', revisionDir(s.revision));
}

/** What a complete snapshot holds; written last, so its presence means the download finished. */
interface Manifest {
  readonly id: string;
  readonly revision: string;
  readonly commit?: string;
  readonly files: string[];
  readonly absent: string[];
  /** The size of each file when it was verified, so a file damaged in the cache later is noticed. */
  readonly sizes?: Readonly<Record<string, number>>;
}

function manifestPath(cacheDir: string, id: string, revision: string): string {
  return join(repoCacheDir(cacheDir, id), 'manifests', `${revisionDir(revision)}.json`);
}

/**
 * Whether the manifest of a snapshot says it is complete and every file it lists is there.
 *
 * @throws {HubError} `invalid_checkpoint` when a listed file no longer has the size it was verified
 * at (damaged in the cache), naming the snapshot directory to delete.
 */
async function completeSnapshot(s: Settings, id: string, snapshot: string): Promise<boolean> {
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(manifestPath(s.cacheDir, id, s.revision), 'utf8')) as Manifest;
  } catch {
    return false;
  }
  if (!Array.isArray(m?.files) || !m.files.every((f) => typeof f === 'string' && existsSync(join(snapshot, f)))) return false;
  const sizes = m.sizes && typeof m.sizes === 'object' ? m.sizes : {};
  for (const f of m.files) {
    const want = Object.hasOwn(sizes, f) ? sizes[f] : undefined;
    if (typeof want !== 'number') continue;
    const size = (await stat(join(snapshot, f))).size;
    if (size !== want) {
      throw new HubError(
        `${join(snapshot, f)}: is ${size} bytes in the cache, but was ${want} when it was downloaded and verified; the cache entry is damaged. ` +
          `Clear it by deleting the directory ${snapshot} and run again to download it anew`,
        { code: 'invalid_checkpoint', file: join(snapshot, f) },
      );
    }
  }
  return true;
}

/** Whether a snapshot has config.json and complete weights (single file, or index and every shard). */
async function hasWeights(snapshot: string): Promise<boolean> {
  if (!existsSync(join(snapshot, CONFIG_FILE))) return false;
  if (existsSync(join(snapshot, WEIGHTS_FILE))) return true;
  try {
    const shards = shardNames(await readFile(join(snapshot, WEIGHTS_INDEX_FILE), 'utf8'), WEIGHTS_INDEX_FILE);
    return shards.every((f) => existsSync(join(snapshot, f)));
  } catch {
    return false;
  }
}

/** The shard files an index names, checked to be plain safetensors file names. */
function shardNames(indexText: string, source: string): string[] {
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(indexText);
  } catch (e) {
    throw new HubError(`${source}: not valid JSON (${(e as Error).message})`, { code: 'invalid_checkpoint', file: source });
  }
  const map = index?.weight_map;
  if (!map || typeof map !== 'object') throw new HubError(`${source}: no "weight_map" object`, { code: 'invalid_checkpoint', file: source });
  const files = new Set<string>();
  for (const f of Object.values(map)) {
    if (typeof f !== 'string' || !/^[\w][\w.-]*\.safetensors$/.test(f) || f.includes('..')) {
      throw new HubError(`${source}: names shard ${JSON.stringify(f)}; tuna only downloads .safetensors shards`, { code: 'invalid_checkpoint', file: source });
    }
    files.add(f);
  }
  return [...files].sort();
}

/**
 * A local directory holding a model. When `idOrDir` is an existing directory it is returned as is
 * and nothing touches the network. Otherwise it is read as a Hub model id (`owner/name` or `name`)
 * and its snapshot at `opts.revision` (default `main`) is returned from tuna's cache; else from the
 * Hugging Face hub cache (`opts.hubCacheDir`, see {@link hubCacheSnapshot}) when that holds
 * config.json and complete weights for the revision; else it is downloaded into tuna's cache:
 * config.json, model.safetensors (or model.safetensors.index.json and its shards), and the
 * tokenizer files the repository has. Pickled weights are never downloaded.
 *
 * Each file is checked before it is moved into place: against its content hash (the ETag or
 * X-Linked-Etag the Hub sends, weak or strong: sha256 for LFS files, the git blob sha1 for others;
 * when the ETag is not a hash, as behind some proxies and mirrors, the hash from the Hub's file list
 * `/api/models/{id}/revision/{revision}?blobs=true`), and against its size (X-Linked-Size, the file
 * list, or Content-Length). The bytes written never exceed that size; with no size given, a
 * safetensors file is bounded by its own header and config and tokenizer files by 64 MiB. A file
 * that fails a check is deleted, and the error names the snapshot directory to delete to start the
 * model over.
 *
 * An interrupted download is kept in `{file}.incomplete` (with `{file}.incomplete.json`, the
 * version it came from) and resumed with a Range request, sent with `If-Range` when the server gave
 * a strong ETag, so a file changed in between is fetched whole again, never spliced; a partial file
 * that could be neither hashed nor sent under If-Range is not resumed. Each request waits at most
 * `HF_HUB_DOWNLOAD_TIMEOUT` seconds (default 10, or `opts.downloadTimeout`) for the server to answer
 * and then for each next piece of the body (`HF_HUB_ETAG_TIMEOUT` for the file list). A finished
 * snapshot is recorded in `{cache}/models--owner--name/manifests/`, so later calls use it without
 * any request. With offline mode on, only the cache is used.
 *
 * To clear a bad cache entry, delete its snapshot directory
 * (`{cache}/models--owner--name/snapshots/{revision}`, see {@link snapshotDir}), or the whole
 * `{cache}/models--owner--name` for every revision; the next call downloads it again.
 *
 * @throws {HubError} unknown model (404), access denied (set `HF_TOKEN`), offline without a cached
 * copy, a file that fails its integrity check, a repository with only pickled weights (codes in
 * {@link HubError}); `hub_timeout` when the Hub stays silent; `invalid_option` for a bad
 * `HF_ENDPOINT`, `HF_HUB_DOWNLOAD_TIMEOUT` or `HF_HUB_ETAG_TIMEOUT`; `file_system` when the cache
 * cannot be written (it names the cache directory, and `TUNA_CACHE`/`HF_HOME` to move it).
 */
/** The stats of a local path, undefined when nothing is there; a path that cannot be looked at (under a file, a link loop, no permission) is reported by name. */
function localStat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fileSystemError(path, e, 'read');
  }
}

export async function resolveModel(idOrDir: string, opts: HubOptions = {}): Promise<string> {
  const local = localStat(idOrDir);
  if (local !== undefined) {
    if (local.isDirectory()) return idOrDir;
    throw new HubError(`${idOrDir}: is a file; pass a checkpoint directory (with config.json and model.safetensors) or a Hub model id`, {
      code: 'invalid_checkpoint',
      file: idOrDir,
    });
  }
  if (!isHubId(idOrDir)) throw new HubError(`${idOrDir}: no such directory, and not a Hub model id (owner/name)`, { code: 'file_not_found', file: idOrDir });
  const id = idOrDir;
  const s = settings(opts);
  const http = httpSettings(s, opts);
  if (!validRevision(s.revision)) {
    throw new HubError(`${id}: invalid revision ${JSON.stringify(s.revision)}; pass a branch, tag, refs/pr/N or commit hash`, { code: 'invalid_option', field: 'revision' });
  }
  for (const f of opts.extraFiles ?? []) {
    if (!/^[\w][\w.-]*$/.test(f)) throw new HubError(`${id}: cannot fetch ${JSON.stringify(f)} (a plain file name is expected)`, { code: 'invalid_option', field: 'extraFiles' });
    if (PICKLE_FILE.test(f)) throw new HubError(`${id}: refusing to download ${f}; tuna never downloads or executes pickle files`, { code: 'invalid_option', field: 'extraFiles' });
  }
  const snapshot = join(repoCacheDir(s.cacheDir, id), 'snapshots', revisionDir(s.revision));
  if (await completeSnapshot(s, id, snapshot)) return snapshot;
  if (s.hubCacheDir !== false) {
    const cached = await hubCacheSnapshot(s.hubCacheDir, id, s.revision);
    if (cached) return cached;
  }
  if (s.offline) {
    if (await hasWeights(snapshot)) return snapshot;
    const where = s.hubCacheDir === false ? snapshot : `${snapshot}, nor in the Hugging Face cache ${repoCacheDir(s.hubCacheDir, id)}`;
    throw new HubError(
      `${id}: not in the cache (${where}) at revision ${s.revision} and offline mode is on (HF_HUB_OFFLINE or TUNA_OFFLINE); ` +
        `download it once with the network available, or pass a local checkpoint directory`,
    );
  }
  await onCache(s.cache, snapshot, 'create the directory', () => mkdir(snapshot, { recursive: true }));
  const unlock = await lock(join(repoCacheDir(s.cacheDir, id), 'locks', `${revisionDir(s.revision)}.lock`), id, s.cache);
  try {
    if (await completeSnapshot(s, id, snapshot)) return snapshot;
    await fetchSnapshot(id, s, http, snapshot, opts);
    return snapshot;
  } catch (e) {
    await removeIfEmpty(snapshot);
    throw e;
  } finally {
    await unlock();
  }
}

/** A branch, tag, `refs/...` ref or commit: path-safe characters, no empty, `.` or `..` component. */
function validRevision(revision: string): boolean {
  return /^[\w.\-/]+$/.test(revision) && revision.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

async function fetchSnapshot(id: string, s: Settings, http: HttpSettings, snapshot: string, opts: HubOptions): Promise<void> {
  const url = (file: string) => `${http.endpoint}/${id}/resolve/${encodeURIComponent(s.revision)}/${file}`;
  const files: string[] = [];
  const absent: string[] = [];
  const sizes = new Map<string, number>();
  let commit: string | undefined;
  let listing: Promise<Map<string, RemoteFile> | undefined> | undefined;
  const ctx: DownloadContext = {
    http,
    cache: s.cache,
    snapshot,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    remote: async (file) => (await (listing ??= revisionFiles(id, s.revision, http)))?.get(file),
  };
  const get = async (file: string, required: boolean) => {
    const r = await download(url(file), join(snapshot, file), file, ctx);
    if (r.status === 'absent') {
      if (required) return false;
      absent.push(file);
      return false;
    }
    commit ??= r.commit;
    files.push(file);
    sizes.set(file, (await stat(join(snapshot, file))).size);
    return true;
  };

  if (!(await get(CONFIG_FILE, true))) {
    throw new HubError(
      `${id}: model not found at ${http.endpoint} (no ${CONFIG_FILE} at revision ${s.revision}); ` + `check the id and revision, and set HF_TOKEN if the model is private or gated`,
      { code: 'file_not_found' },
    );
  }
  if (!(await get(WEIGHTS_FILE, true))) {
    if (!(await get(WEIGHTS_INDEX_FILE, true))) {
      const pickles = [];
      for (const f of ['pytorch_model.bin', 'pytorch_model.bin.index.json']) if (await exists(url(f), http)) pickles.push(f);
      if (pickles.length) throw new HubError(pickledOnly(id, s.revision, pickles), { code: 'invalid_checkpoint' });
      throw new HubError(
        `${id}: the repository has no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE} at revision ${s.revision}; tuna loads safetensors weights only: ` +
          `ask for a revision that has them (pass revision: 'refs/pr/N' for a conversion pull request)`,
        { code: 'invalid_checkpoint' },
      );
    }
    const indexPath = join(snapshot, WEIGHTS_INDEX_FILE);
    const shards = shardNames(await onCache(s.cache, indexPath, 'read', () => readFile(indexPath, 'utf8')), `${url(WEIGHTS_INDEX_FILE)} (kept in ${indexPath})`);
    for (const shard of shards) {
      if (!(await get(shard, true)))
        throw new HubError(`${url(shard)}: shard named by ${WEIGHTS_INDEX_FILE} is missing (404); the repository is incomplete`, { code: 'invalid_checkpoint' });
    }
  }
  for (const f of [...OPTIONAL_FILES, ...(opts.extraFiles ?? [])]) if (!files.includes(f)) await get(f, false);
  if (files.includes('modules.json')) {
    const modulesPath = join(snapshot, 'modules.json');
    const modulesJson = await onCache(s.cache, modulesPath, 'read', () => readFile(modulesPath, 'utf8'));
    for (const f of [...SENTENCE_FILES, ...sentenceModuleFiles(modulesJson)]) {
      if (files.includes(f)) continue;
      const dir = dirname(join(snapshot, f));
      await onCache(s.cache, dir, 'create the directory', () => mkdir(dir, { recursive: true }));
      await get(f, false);
    }
  }
  const manifest: Manifest = { id, revision: s.revision, commit, files, absent, sizes: Object.fromEntries(sizes) };
  const path = manifestPath(s.cacheDir, id, s.revision);
  await onCache(s.cache, join(path, '..'), 'create the directory', () => mkdir(join(path, '..'), { recursive: true }));
  await onCache(s.cache, path, 'write', () => writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`)));
}

/**
 * The refusal for a repository whose weights are pickled only: the model id and the revision
 * apart, and the remedies in library terms (a safetensors revision, or a one-time conversion).
 */
function pickledOnly(id: string, revision: string, pickles: readonly string[]): string {
  // Ids and revisions are checked to hold no quotes or backslashes, so they quote as they are.
  const q = (v: string) => `'${v}'`;
  const rev = revision === 'main' ? '' : `, revision=${q(revision)}`;
  return (
    `${id}: only pickled weights (${pickles.join(', ')}) at revision ${revision}; tuna never executes pickle files, because loading one can run arbitrary code. ` +
    `Ask for a safetensors revision instead: the Hub often offers a safetensors conversion as a pull request, so pass revision: 'refs/pr/N' (N from the model's ` +
    `pull requests), or a branch or commit that has ${WEIGHTS_FILE}. Or convert the checkpoint once, in Python, where you trust the file:\n` +
    `  python -c "from transformers import AutoModel; AutoModel.from_pretrained(${q(id)}${rev}).save_pretrained('DIR', safe_serialization=True)"\n` +
    `(use the model's own class, e.g. AutoModelForSequenceClassification, to keep its head) and load DIR.`
  );
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch {
    // Already gone or not empty.
  }
}

// ---------------------------------------------------------------------------------------------
// Locking, so two processes filling the same snapshot do not write the same partial file

async function lock(path: string, id: string, cache: CacheLocation): Promise<() => Promise<void>> {
  await onCache(cache, join(path, '..'), 'create the directory', () => mkdir(join(path, '..'), { recursive: true }));
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cacheError(cache, path, e, 'create the lock file');
    }
    if (await staleLock(path)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new HubError(`${id}: another process has been downloading it for over ${LOCK_WAIT_MS / 60000} minutes (lock ${path}); remove the lock if that process is gone`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A lock whose owner process is gone (or that holds no owner and is over a minute old). */
async function staleLock(path: string): Promise<boolean> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - (await stat(path)).mtimeMs > 60_000;
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false;
  }
}
