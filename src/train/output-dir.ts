/**
 * Guarding the output directory of a training run, as Hugging Face's Trainer does: a directory that
 * already holds a run (checkpoints, model files, trainer state) is refused unless the new run
 * resumes it or overwrites it, so two runs never mix (an old `checkpoint-60` beside a new
 * `checkpoint-2` would make a later resume pick the wrong one).
 */
import { existsSync, readFileSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TunaError } from '../errors.js';
import { isAtomicTempName } from '../io/atomic.js';
import { fileSystemError } from '../io/files.js';

/** Files a training or pre-training run writes into its output directory (besides `checkpoint-N/`). */
export const RUN_FILES: readonly string[] = [
  'config.json',
  'model.safetensors',
  'model.safetensors.index.json',
  'trainer_state.json',
  'optimizer.safetensors',
  'train_results.json',
  'pretrain_results.json',
  'metrics.jsonl',
  'learning_curve.svg',
  'validation_report.txt',
  'validation_results.json',
  'test_report.txt',
  'test_results.json',
  'vocab.txt',
  'tokenizer_config.json',
  'tokenizer.json',
  'special_tokens_map.json',
  'tuna_data_config.json',
  // adapters (PEFT layout), few-shot models and sentence-transformers models
  'adapter_config.json',
  'adapter_model.safetensors',
  'head_config.json',
  'prompt_config.json',
  'setfit_head.json',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];

/** Files whose presence means the directory holds a run (checkpoints count too). */
const RUN_MARKERS = new Set([
  'model.safetensors',
  'model.safetensors.index.json',
  'adapter_model.safetensors',
  'trainer_state.json',
  'train_results.json',
  'pretrain_results.json',
  'metrics.jsonl',
]);

/** A checkpoint directory being written (`checkpoint-N/` is written as `.checkpoint-N.partial/` first). */
const isPartialCheckpointName = (name: string) => /^\.checkpoint-\d+\.partial$/.test(name);
const isCheckpointName = (name: string) => /^checkpoint-\d+$/.test(name) || isPartialCheckpointName(name);
/** A sentence-transformers module folder a run writes (`1_Pooling`, `2_Dense`, `2_Normalize`). */
const isSentenceModuleName = (name: string) => /^\d+_(Pooling|Dense|Normalize)$/.test(name);

/**
 * An output directory that cannot be used as it is: it holds an earlier run (code `output_exists`),
 * or it is a file or cannot be created (code `file_system`).
 */
export class OutputDirError extends TunaError {
  override name = 'OutputDirError';
  constructor(dir: string, message: string, code: 'output_exists' | 'file_system' = 'output_exists') {
    super(code, message, { file: dir });
  }
}

/** The refusal for an output path that is a file, or a link to one. */
function notADirectory(dir: string): OutputDirError {
  return new OutputDirError(dir, `${dir}: is a file, not a directory; give a directory for the checkpoints and the model, or move the file away`, 'file_system');
}

/**
 * What in `dir` shows an earlier run: `checkpoint-N` directories and model, trainer-state and
 * metrics files, by name (empty when the directory is missing or holds no run).
 */
export async function earlierRunFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const names = await readdir(dir);
  const found = names.filter((n) => isCheckpointName(n) || RUN_MARKERS.has(n));
  return found.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Options of {@link prepareOutputDir}. */
export interface PrepareOutputDirOptions {
  /** Remove the earlier run's files first (Hugging Face's `overwrite_output_dir`). */
  readonly overwrite?: boolean;
  /** The run continues a checkpoint of this directory: an earlier run is expected. */
  readonly resume?: boolean;
  /** How the two remedies are spelled to the user (default: the TrainingArguments names). */
  readonly remedies?: { readonly overwrite: string; readonly resume: string };
}

/**
 * Checks the output directory of a new run, before any work is done. A missing or empty
 * directory, or one without run files, is fine; one that holds a run is refused unless `resume`
 * (the run goes on from its checkpoint) or `overwrite` (the earlier run's files and checkpoints are
 * removed; other files are left alone). Returns what was removed.
 *
 * @throws OutputDirError when `dir` is a file, or holds a run and neither option is given; the
 *   message names the directory, what it holds and both remedies.
 */
export async function prepareOutputDir(dir: string, opts: PrepareOutputDirOptions = {}): Promise<string[]> {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw notADirectory(dir);
  const found = await earlierRunFiles(dir);
  if (found.length === 0 || opts.resume) return [];
  const remedies = opts.remedies ?? { overwrite: 'overwriteOutputDir: true', resume: 'resumeFromCheckpoint' };
  if (!opts.overwrite) {
    const shown = found.length > 4 ? `${found.slice(0, 4).join(', ')}, ...` : found.join(', ');
    throw new OutputDirError(
      dir,
      `${dir}: the output directory already holds a training run (${shown}); a new run there would mix with it. ` +
        `Continue that run with ${remedies.resume}, replace it with ${remedies.overwrite} (its files are removed first), or choose another output directory`,
    );
  }
  const names = await readdir(dir);
  const removed = names.filter((n) => isCheckpointName(n) || isSentenceModuleName(n) || RUN_FILES.includes(n));
  for (const n of removed) await rm(resolve(dir, n), { recursive: true, force: true });
  return removed;
}

/**
 * The real path `path` names, following links, also when it does not exist yet: the real path of
 * its deepest existing ancestor with the rest appended.
 */
export function realPathOf(path: string): string {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(at), ...missing.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return resolve(path);
      missing.push(basename(at));
      at = parent;
    }
  }
}

/** How a run's starting checkpoint and its output directory overlap (see {@link startingPointOverlap}). */
export type StartingPointOverlap = 'same' | 'model-inside-output';

/**
 * Whether writing a run into `outputDir` could destroy its starting checkpoint `modelDir`: `same`
 * when both are one directory (after following links), `model-inside-output` when the checkpoint
 * lies inside what an earlier run left in the output directory (a `checkpoint-N/` there), which
 * removing that run (`overwrite`) would remove with it. Undefined
 * when they are apart, or `modelDir` is no local directory (a Hub id).
 */
export function startingPointOverlap(modelDir: string, outputDir: string): StartingPointOverlap | undefined {
  if (!existsSync(modelDir)) return undefined;
  const model = realPathOf(modelDir);
  const output = realPathOf(outputDir);
  if (model === output) return 'same';
  const rel = relative(output, model);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  const top = rel.split(sep)[0]!;
  return isCheckpointName(top) || RUN_FILES.includes(top) ? 'model-inside-output' : undefined;
}

/**
 * Creates the output directory `dir` (and missing parents) and returns the first directory it
 * created (undefined when `dir` existed).
 *
 * @throws OutputDirError (code `file_system`) naming the path and the fix when `dir` or one of its
 *   parents is a file, or the file system refuses (permissions, a read-only disk, a link loop).
 */
export async function createOutputDir(dir: string): Promise<string | undefined> {
  try {
    const st = await stat(dir).catch(() => undefined);
    if (st && !st.isDirectory()) throw notADirectory(dir);
    return await mkdir(dir, { recursive: true });
  } catch (e) {
    if (e instanceof TunaError) throw e;
    const errno = (e as NodeJS.ErrnoException).code;
    const file = errno === 'ENOTDIR' || errno === 'EEXIST' ? fileAbove(dir) : undefined;
    if (file !== undefined) {
      throw new OutputDirError(
        dir,
        `${dir}: cannot create the output directory: ${file} is a file, not a directory; choose an output directory elsewhere, or move that file away`,
        'file_system',
      );
    }
    const base = fileSystemError(dir, e, 'create the output directory');
    throw new OutputDirError(dir, base.message, 'file_system');
  }
}

/** The nearest ancestor of `dir` (or `dir` itself) that exists and is not a directory. */
function fileAbove(dir: string): string | undefined {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(at)) return statSync(at).isDirectory() ? undefined : at;
    if (dirname(at) === at) return undefined;
  }
}

/** Name of the lock file a running training run keeps in its output directory. */
export const LOCK_FILE = '.tuna-lock';

/** What a lock file says about the run that holds it. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** When the run took the lock (ISO 8601). */
  readonly started: string;
}

/** An exclusive hold on an output directory (see {@link lockOutputDir}). */
export interface OutputLock {
  /** The locked directory, as given. */
  readonly dir: string;
  /** Files and directories of dead runs removed when the lock was taken (names inside `dir`). */
  readonly removedTemporaries: readonly string[];
  /** Gives the lock up (once; later calls do nothing). */
  release(): Promise<void>;
}

/** Options of {@link lockOutputDir}. */
export interface LockOptions {
  /** Told when the lock of a run that is no longer running is taken over (default: `process.emitWarning`). */
  readonly onWarning?: (message: string) => void;
}

/** Locks this process holds, by lock-file path: how many holds, and the directory it created for the first. */
const held = new Map<string, { count: number; created: string | undefined; dir: string }>();

/**
 * Takes the output directory `dir` for this process, so two runs never write into one directory:
 * creates it if needed, then creates `.tuna-lock` in it exclusively (O_EXCL) with this process's
 * pid and host name. A lock whose process is gone (same host, pid not running) is taken over with a
 * warning; one held by a live process is refused. Holds within one process nest (the command and
 * its Trainer both lock). With the lock taken, temporaries that dead runs left behind
 * (`.model.safetensors.*.tmp`, `.checkpoint-N.partial/`) are removed. The lock is given up by
 * {@link OutputLock.release}, and also when the process exits or is ended by SIGINT or SIGTERM.
 *
 * @throws TunaError `output_locked` naming the directory and the holding process when another live
 *   run holds it; OutputDirError when the directory cannot be created.
 */
export async function lockOutputDir(dir: string, opts: LockOptions = {}): Promise<OutputLock> {
  const created = await createOutputDir(dir);
  const path = join(realPathOf(dir), LOCK_FILE);
  const mine = held.get(path);
  if (mine) {
    mine.count++;
    return lockHandle(dir, path, []);
  }
  try {
    await takeLockFile(dir, path, opts.onWarning ?? ((m) => process.emitWarning(m, 'TunaWarning')));
  } catch (e) {
    if (created) await removeEmptyDirs(dir, created);
    throw e;
  }
  if (held.size === 0) installExitRelease();
  held.set(path, { count: 1, created, dir });
  return lockHandle(dir, path, await removeDeadRunTemporaries(dir));
}

function lockHandle(dir: string, path: string, removedTemporaries: readonly string[]): OutputLock {
  let released = false;
  return {
    dir,
    removedTemporaries,
    async release() {
      if (released) return;
      released = true;
      const entry = held.get(path);
      if (!entry || --entry.count > 0) return;
      held.delete(path);
      if (held.size === 0) uninstallExitRelease();
      if (readHolderSync(path)?.pid === process.pid) await unlink(path).catch(() => {});
      if (entry.created) await removeEmptyDirs(entry.dir, entry.created);
    },
  };
}

/** Creates the lock file, taking over a dead run's lock; at most a few tries when runs race. */
async function takeLockFile(dir: string, path: string, warn: (message: string) => void): Promise<void> {
  const mine: LockHolder = { pid: process.pid, hostname: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${JSON.stringify(mine)}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw fileSystemError(path, e, 'create the lock file');
    }
    const holder = await readHolder(path);
    if (holder && holderRunning(holder)) {
      throw new TunaError(
        'output_locked',
        `${dir}: another run (pid ${holder.pid} on ${holder.hostname}, started ${holder.started}) is writing into this output directory; ` +
          `wait for it to finish or choose another output directory (if that process is gone, remove ${path})`,
        { file: dir },
      );
    }
    const who = holder ? `pid ${holder.pid}, started ${holder.started}` : 'an unreadable lock file';
    warn(`${dir}: took over the lock of a run that is no longer running (${who})`);
    await unlink(path).catch(() => {});
  }
}

/** The holder a lock file names; undefined when it is unreadable (retried briefly: its writer may be mid-write). */
async function readHolder(path: string): Promise<LockHolder | undefined> {
  for (let i = 0; i < 5; i++) {
    try {
      return parseHolder(await readFile(path, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    }
    await new Promise((r) => setTimeout(r, 40));
  }
  return undefined;
}

function readHolderSync(path: string): LockHolder | undefined {
  try {
    return parseHolder(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): LockHolder {
  const h = JSON.parse(text) as Partial<LockHolder>;
  if (!Number.isSafeInteger(h.pid) || typeof h.hostname !== 'string') throw new Error('not a lock');
  return { pid: h.pid!, hostname: h.hostname, started: String(h.started ?? 'at an unknown time') };
}

/**
 * Whether the process a lock names may still run: always for another host (its processes cannot
 * be seen from here); on this host, when the pid is alive and is not this process (a pid of ours
 * in a lock we do not hold was left by an earlier process, e.g. in a restarted container).
 */
function holderRunning(h: LockHolder): boolean {
  if (h.hostname !== hostname()) return true;
  if (h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `dir` and its parents up to `created` (the first directory a lock created) while they are empty. */
async function removeEmptyDirs(dir: string, created: string): Promise<void> {
  const stop = dirname(resolve(created));
  for (let at = resolve(dir); at !== stop && at !== dirname(at); at = dirname(at)) {
    try {
      await rmdir(at);
    } catch {
      return;
    }
  }
}

/**
 * Removes what runs that died midway left in `dir`: temporary files of atomic writes
 * (`.model.safetensors.1a2b3c4d5e6f.tmp`) and checkpoint directories never completed
 * (`.checkpoint-N.partial/`). Call it only while holding the directory's lock, so that no live
 * run's files are taken. Returns the names removed.
 */
export async function removeDeadRunTemporaries(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => isAtomicTempName(n) || isPartialCheckpointName(n)).sort();
  for (const n of names) await rm(join(dir, n), { recursive: true, force: true });
  return names;
}

/** Removes this process's lock files at once, when it exits or is ended by a signal. */
function releaseAllSync(): void {
  for (const [path] of held) {
    try {
      if (readHolderSync(path)?.pid === process.pid) unlinkSync(path);
    } catch {
      // Gone already: nothing to release.
    }
  }
  held.clear();
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * On SIGINT or SIGTERM that nothing else handles (a run that saves a checkpoint on Ctrl-C handles
 * SIGINT itself and exits through `exit`), the locks are released and the signal is raised again,
 * so the process ends as it would have.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  releaseAllSync();
  uninstallExitRelease();
  process.kill(process.pid, signal);
}

function installExitRelease(): void {
  process.on('exit', releaseAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstallExitRelease(): void {
  process.off('exit', releaseAllSync);
  for (const s of SIGNALS) process.off(s, onSignal);
}
