import { existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type ErrorCode, TunaError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { fileSystemError, readSmallTextFile } from './files.js';
import { type NamedTensor, type ReadOptions, readSafetensors, readSafetensorsHeader, SafetensorsError, writeSafetensors } from './safetensors.js';

/** The codes a {@link CheckpointError} has. */
export type CheckpointErrorCode = Extract<ErrorCode, 'invalid_checkpoint' | 'file_not_found' | 'file_unreadable' | 'file_system' | 'too_large'>;

/**
 * A checkpoint directory cannot be read or written (code `invalid_checkpoint`; `file_not_found`,
 * `file_unreadable`, `file_system` when a file cannot be read at all; `too_large` for a file larger
 * than tuna reads); the message names the file and what to do.
 */
export class CheckpointError extends TunaError {
  override name = 'CheckpointError';
  constructor(message: string, details: { code?: CheckpointErrorCode; file?: string; cause?: unknown } = {}) {
    super(details.code ?? 'invalid_checkpoint', message, details);
  }
}

/** File names of a Hugging Face checkpoint directory. */
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** Names of pickled weight files (PyTorch `.bin`/`.pt`/`.pth`, Lightning `.ckpt`, plain pickles), which tuna never reads. */
export const PICKLE_FILE = /\.(bin|pt|pth|ckpt|pkl|pickle)$/i;

/** A shard file name as an index may reference it: a plain file name ending in .safetensors. */
const SHARD_NAME = /^[\w][\w.-]*\.safetensors$/;

/** A Hugging Face checkpoint directory read into memory. */
export interface Checkpoint {
  /** The parsed config.json. */
  readonly config: Record<string, unknown>;
  /**
   * Every tensor of the checkpoint, sorted by name. Float tensors (F32, F16, BF16, F64) are
   * `Float32Array`s; integer and boolean tensors keep their types (e.g. legacy `position_ids`, I64).
   */
  readonly tensors: Map<string, NamedTensor>;
  /** The files read, as absolute paths: config.json, then each safetensors file. */
  readonly files: string[];
  /** The `__metadata__` of the (first) safetensors file, e.g. `{ format: 'pt' }`. */
  readonly metadata: Record<string, string>;
}

/** Options of {@link readCheckpoint}. */
export interface ReadCheckpointOptions {
  /** Reads only the tensors for which this returns true. */
  readonly select?: (name: string) => boolean;
}

/** The message telling a user that pickled weights are refused, and how to convert them once. */
export function pickleRefusal(where: string, pickles: readonly string[]): string {
  const dir = where.replace(/'/g, "\\'");
  return (
    `${where}: only pickled weights (${pickles.join(', ')}); tuna never executes pickle files, because loading one can run ` +
    `arbitrary code. Convert the checkpoint to safetensors once, in Python, where you trust the file:\n` +
    `  python -c "from transformers import AutoModel; AutoModel.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)"\n` +
    `(use the model's own class, e.g. AutoModelForSequenceClassification, to keep its head), or download a safetensors revision of the model.`
  );
}

/**
 * Whether something is at `path`: a file, a directory, or a link (even a broken one or a loop), so
 * that reading it then names what is wrong with it instead of calling it absent.
 */
function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks that `dir` is a directory that can be read, with errors naming it: absent, a file, or
 * unreachable (a part of the path is a file, a link loop, no permission).
 */
function checkCheckpointDirectory(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CheckpointError(`${dir}: no such checkpoint directory`, { code: 'file_not_found', file: dir, cause: e });
    throw asCheckpointError(fileSystemError(dir, e, 'read the checkpoint directory'));
  }
  if (!isDirectory) throw new CheckpointError(`${dir}: not a directory; a checkpoint is a directory with ${CONFIG_FILE} and ${WEIGHTS_FILE}`, { file: dir });
}

/** A TunaError from reading a file (devices, size caps, errno) as a CheckpointError with the same code when it has one of its own. */
function asCheckpointError(e: TunaError): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const own: readonly string[] = ['file_not_found', 'file_unreadable', 'file_system', 'too_large'];
  const code = own.includes(e.code) ? (e.code as CheckpointErrorCode) : 'invalid_checkpoint';
  return new CheckpointError(e.message, { code, ...(e.file === undefined ? {} : { file: e.file }), cause: e });
}

/** Reads a small JSON file of a checkpoint (config, index) as text, with errors naming it. */
async function readCheckpointText(path: string, what: string): Promise<string> {
  try {
    // A file of a checkpoint directory is never a stream: a named pipe there is refused at once.
    return await readSmallTextFile(path, { what, seekable: true });
  } catch (e) {
    throw asCheckpointError(fileSystemError(path, e, 'read'));
  }
}

/** Pickled weight files in a directory. */
export function findPickleFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => PICKLE_FILE.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** Reads and checks config.json of a checkpoint directory. */
/**
 * Reads and checks config.json of a checkpoint directory. The file is read with a size cap;
 * devices (a link to /dev/zero), directories and unreachable paths are refused naming the file.
 */
export async function readConfig(dir: string): Promise<Record<string, unknown>> {
  const path = join(dir, CONFIG_FILE);
  if (!entryExists(path)) {
    checkCheckpointDirectory(dir);
    throw new CheckpointError(`${dir}: no ${CONFIG_FILE}; a Hugging Face checkpoint directory needs one (it describes the model's sizes and labels)`, { file: dir });
  }
  const text = await readCheckpointText(path, 'the model config');
  if (text.trim() === '') throw new CheckpointError(`${path}: is empty; it must hold the model's config as a JSON object (restore it from the checkpoint)`, { file: path });
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`, { file: path });
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new CheckpointError(`${path}: must hold a JSON object`, { file: path });
  return config as Record<string, unknown>;
}

/**
 * Whether a checkpoint directory has safetensors weights (one file, or an index of shards). A
 * weights entry that cannot be read (a broken link, a device) counts: reading it then says why.
 */
export function hasWeights(dir: string): boolean {
  return entryExists(join(dir, WEIGHTS_FILE)) || entryExists(join(dir, WEIGHTS_INDEX_FILE));
}

/** The safetensors files a checkpoint directory's weights live in, or a {@link CheckpointError} saying why there are none. */
export async function weightFiles(dir: string): Promise<{ files: string[]; index?: Map<string, string> }> {
  const single = join(dir, WEIGHTS_FILE);
  if (entryExists(single)) return { files: [single] };
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  if (entryExists(indexPath)) {
    const index = await readIndex(indexPath);
    return { files: [...new Set(index.values())].sort().map((f) => join(dir, f)), index };
  }
  const pickles = findPickleFiles(dir);
  if (pickles.length) throw new CheckpointError(pickleRefusal(dir, pickles));
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw asCheckpointError(fileSystemError(dir, e, 'list the checkpoint directory'));
  }
  const others = entries.filter((f) => /\.(h5|msgpack|onnx)$/.test(f) || f.endsWith('.safetensors'));
  throw new CheckpointError(
    `${dir}: no ${WEIGHTS_FILE} (or ${WEIGHTS_INDEX_FILE} with shards)` +
      (others.length ? `; found ${others.join(', ')}, which tuna does not load as Hugging Face weights` : '') +
      `; save the model with save_pretrained(DIR, safe_serialization=True) or tuna's own writer`,
  );
}

/** Reads a sharded checkpoint's index: tensor name → shard file name. */
async function readIndex(path: string): Promise<Map<string, string>> {
  const text = await readCheckpointText(path, 'the index of the weight shards');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${path}: not valid JSON (${(e as Error).message})`, { file: path });
  }
  const map = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new CheckpointError(`${path}: no "weight_map" object`);
  const out = new Map<string, string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || !SHARD_NAME.test(file) || file.includes('..')) {
      throw new CheckpointError(`${path}: tensor "${name}" maps to ${JSON.stringify(file)}, which is not a safetensors file name in this directory`);
    }
    out.set(name, file);
  }
  return out;
}

/**
 * Reads a Hugging Face checkpoint directory: config.json, and the weights from `model.safetensors`
 * or, for a sharded checkpoint, `model.safetensors.index.json` and the shards it names (each shard
 * is checked to hold exactly the tensors the index gives it). Pickled weights (`pytorch_model.bin`
 * and the like) are refused with a {@link CheckpointError} explaining how to convert them.
 */
export async function readCheckpoint(dir: string, opts: ReadCheckpointOptions = {}): Promise<Checkpoint> {
  checkCheckpointDirectory(dir);
  const config = await readConfig(dir);
  const { files, index } = await weightFiles(dir);
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> | undefined;
  const readOpts: ReadOptions = { f64: 'float32', select: opts.select };
  for (const file of files) {
    let contents: Awaited<ReturnType<typeof readSafetensors>>;
    try {
      if (index) await checkShard(file, index);
      contents = await readSafetensors(file, readOpts);
    } catch (e) {
      if (e instanceof SafetensorsError && e.code === 'invalid_safetensors') {
        throw new CheckpointError(`${e.message}\n(the checkpoint at ${dir} cannot be loaded; re-download or re-save it)`, { file, cause: e });
      }
      if (e instanceof SafetensorsError) throw asCheckpointError(e);
      throw e;
    }
    metadata ??= contents.metadata;
    for (const [name, t] of contents.tensors) {
      if (tensors.has(name)) throw new CheckpointError(`${file}: tensor "${name}" appears in more than one shard`);
      tensors.set(name, t);
    }
  }
  const sorted = new Map([...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { config, tensors: sorted, files: [resolve(dir, CONFIG_FILE), ...files.map((f) => resolve(f))], metadata: metadata ?? {} };
}

async function checkShard(file: string, index: ReadonlyMap<string, string>): Promise<void> {
  if (!entryExists(file)) throw new CheckpointError(`${file}: shard named by ${WEIGHTS_INDEX_FILE} is missing; the download is incomplete`, { file });
  const name = basename(file);
  const header = await readSafetensorsHeader(file);
  const inFile = new Set(header.tensors.map((t) => t.name));
  for (const [tensor, shard] of index) {
    if (shard === name && !inFile.has(tensor)) throw new CheckpointError(`${file}: lacks tensor "${tensor}" that ${WEIGHTS_INDEX_FILE} places in it`);
  }
  for (const tensor of inFile) {
    if (index.get(tensor) !== name) {
      throw new CheckpointError(`${file}: holds tensor "${tensor}" that ${WEIGHTS_INDEX_FILE} ${index.has(tensor) ? `places in ${index.get(tensor)}` : 'does not list'}`);
    }
  }
}

/** What {@link writeCheckpoint} writes. */
export interface CheckpointContents {
  /** Written as config.json (two-space indented, keys sorted as Hugging Face writes them). */
  readonly config: Record<string, unknown>;
  /** Written to model.safetensors with metadata `{ format: 'pt' }`; a tensor's `dtype` picks its stored type (F32 by default for floats). */
  readonly tensors: ReadonlyMap<string, NamedTensor>;
  /** Other files of the directory (vocab.txt, tokenizer_config.json, ...): name → text or bytes. */
  readonly extraFiles?: Readonly<Record<string, string | Uint8Array>>;
  /** Splits the weights into shards of at most this many bytes plus `model.safetensors.index.json`, as save_pretrained does; off by default. */
  readonly maxShardBytes?: number;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}

/** config.json text as Hugging Face writes it: keys sorted, two-space indentation, trailing newline. */
export function configJson(config: Record<string, unknown>): string {
  return JSON.stringify(sortKeys(config), null, 2) + '\n';
}

function tensorBytes(t: NamedTensor): number {
  const size = t.dtype === 'F16' || t.dtype === 'BF16' ? 2 : t.dtype === 'F32' ? 4 : t.dtype === 'F64' ? 8 : t.data.BYTES_PER_ELEMENT;
  return t.data.length * size;
}

/**
 * Writes a Hugging Face checkpoint directory, creating it if needed: the weights (model.safetensors
 * with metadata `{ format: 'pt' }`, or shards and their index), the extra files, then config.json,
 * each atomically (temporary file + rename). Weight files of an earlier save that the new one
 * replaces (a previous index and its shards, or a previous single file) are removed. Returns the
 * paths written.
 */
export async function writeCheckpoint(dir: string, contents: CheckpointContents): Promise<string[]> {
  const { config, tensors, extraFiles = {}, maxShardBytes } = contents;
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new CheckpointError(`${dir}: the config to write must be an object`);
  for (const name of Object.keys(extraFiles)) {
    if (!/^[\w][\w.-]*$/.test(name) || name === CONFIG_FILE || name === WEIGHTS_FILE || name === WEIGHTS_INDEX_FILE || name.endsWith('.safetensors')) {
      throw new CheckpointError(`${dir}: cannot write extra file "${name}" (it must be a plain file name other than the config and weight files)`);
    }
  }
  if (maxShardBytes !== undefined && !(Number.isSafeInteger(maxShardBytes) && maxShardBytes > 0)) {
    throw new CheckpointError(`${dir}: maxShardBytes must be a positive integer, got ${maxShardBytes}`);
  }
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const previous = await previousShards(dir);
  const names = [...tensors.keys()].sort();
  const shards: string[][] = [];
  if (maxShardBytes === undefined) shards.push(names);
  else {
    let size = Infinity;
    for (const name of names) {
      const bytes = tensorBytes(tensors.get(name)!);
      if (size + bytes > maxShardBytes) {
        shards.push([]);
        size = 0;
      }
      shards[shards.length - 1]!.push(name);
      size += bytes;
    }
    if (!shards.length) shards.push([]);
  }
  try {
    if (shards.length === 1) {
      const path = join(dir, WEIGHTS_FILE);
      await writeSafetensors(path, tensors, { format: 'pt' });
      written.push(path);
    } else {
      const weightMap: Record<string, string> = {};
      let total = 0;
      for (const [i, group] of shards.entries()) {
        const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
        const part = new Map(group.map((n) => [n, tensors.get(n)!]));
        await writeSafetensors(join(dir, file), part, { format: 'pt' });
        written.push(join(dir, file));
        for (const n of group) {
          weightMap[n] = file;
          total += tensorBytes(tensors.get(n)!);
        }
      }
      const index = JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n';
      await writeFileAtomic(join(dir, WEIGHTS_INDEX_FILE), new TextEncoder().encode(index));
      written.push(join(dir, WEIGHTS_INDEX_FILE));
    }
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CheckpointError(e.message);
    throw e;
  }
  for (const [name, body] of Object.entries(extraFiles)) {
    const path = join(dir, name);
    await writeFileAtomic(path, typeof body === 'string' ? new TextEncoder().encode(body) : body);
    written.push(path);
  }
  const configPath = join(dir, CONFIG_FILE);
  await writeFileAtomic(configPath, new TextEncoder().encode(configJson(config)));
  written.push(configPath);
  const keep = new Set(written.map((p) => basename(p)));
  for (const stale of previous) if (!keep.has(stale)) await rm(join(dir, stale), { force: true });
  return written;
}

/** Weight files of an existing checkpoint in `dir` (single file, index and shards). */
async function previousShards(dir: string): Promise<string[]> {
  const out: string[] = [];
  if (existsSync(join(dir, WEIGHTS_FILE))) out.push(WEIGHTS_FILE);
  if (existsSync(join(dir, WEIGHTS_INDEX_FILE))) {
    out.push(WEIGHTS_INDEX_FILE);
    try {
      for (const f of new Set((await readIndex(join(dir, WEIGHTS_INDEX_FILE))).values())) out.push(f);
    } catch {
      // An unreadable old index: leave its shards alone.
    }
  }
  return out;
}
