/** Resumable training checkpoints: `checkpoint-{step}/` directories in the output directory, each written atomically. */
import { TunaError } from '../errors.js';
import { fileSystemError, isFileSystemErrno } from '../io/files.js';
import { existsSync } from 'node:fs';
import { readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory, writeFileAtomic } from '../io/atomic.js';
import { readSafetensors } from '../io/safetensors.js';
import type { ParameterStore } from '../nn/parameters.js';

/** Prefix of checkpoint directory names, as Hugging Face's Trainer names them. */
export const CHECKPOINT_PREFIX = 'checkpoint-';
export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Loop position and history saved with every checkpoint. */
export interface TrainerStateFile {
  readonly format: 'tuna-trainer-state';
  readonly globalStep: number;
  /** Fractional epochs done. */
  readonly epoch: number;
  /** Epoch (0-based) the next batch belongs to, and how many of its batches are done. */
  readonly epochIndex: number;
  readonly batchInEpoch: number;
  readonly maxSteps: number;
  readonly bestMetric?: number;
  readonly bestModelCheckpoint?: string;
  /** Evaluations without improvement, for early stopping. */
  readonly patienceCounter: number;
  readonly logHistory: Record<string, number>[];
  /** State of the dropout-mask generator. */
  readonly dropoutRng?: number[];
  /** Examples trained on so far (for throughput across resumes). */
  readonly samplesSeen: number;
  /**
   * Identifies the run (kept when it is resumed), so that rotating checkpoints never removes
   * another run's. Missing in states written before runs had ids.
   */
  readonly runId?: string;
  /** What the run's segments so far add up to, for `train_results.json` after a resume. */
  readonly totals?: RunTotals;
}

/** Sums over the segments of a run (each start and each resume), up to a checkpoint. */
export interface RunTotals {
  /** Seconds spent in the training loop. */
  readonly seconds: number;
  /** Examples trained on in those seconds. */
  readonly samples: number;
  /** Sum of the optimizer steps' training losses, over `steps` steps. */
  readonly lossSum: number;
  readonly steps: number;
}

/** Error raised for a checkpoint that cannot be resumed from. */
export class ResumeError extends TunaError {
  override name = 'ResumeError';
  constructor(message: string) {
    super('resume_failed', message);
  }
}

/**
 * Writes a checkpoint directory atomically: `write` fills a temporary sibling directory, which is
 * then renamed to `checkpoint-{step}`, so a crash leaves either no checkpoint or a whole one.
 */
export async function writeCheckpointDir(outputDir: string, step: number, write: (dir: string) => Promise<void>): Promise<string> {
  const final = join(outputDir, `${CHECKPOINT_PREFIX}${step}`);
  const tmp = join(outputDir, `.${CHECKPOINT_PREFIX}${step}.partial`);
  await rm(tmp, { recursive: true, force: true });
  try {
    await write(tmp);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await rm(final, { recursive: true, force: true });
  try {
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  await syncDirectory(outputDir);
  return final;
}

/**
 * The error to report when writing a checkpoint (or the final model, `what`) failed: a file-system
 * failure (no space, permissions...) or a TunaError, with the file, the fix, and which checkpoint
 * of the run is still whole to resume from. Other errors (defects) are returned as they are.
 */
export async function checkpointWriteError(e: unknown, at: { outputDir: string; step: number; runId: string; what?: string }): Promise<unknown> {
  if (!(e instanceof TunaError) && !isFileSystemErrno(e)) return e;
  const target = join(at.outputDir, `${CHECKPOINT_PREFIX}${at.step}`);
  const what = at.what ?? `checkpoint ${target}`;
  const path = (e as NodeJS.ErrnoException).path;
  // Without the errno's own path, the file named is what was being written.
  const file = path ?? (at.what === undefined ? target : at.outputDir);
  const action = path === undefined && at.what === undefined ? 'write' : `write ${what}`;
  const base = e instanceof TunaError ? e : fileSystemError(file, e, action);
  // Checkpoints are renamed into place whole: every one listed is complete.
  const last = (await checkpointsOfRun(at.outputDir, at.runId).catch(() => [])).at(-1);
  const after = last
    ? ` The last complete checkpoint, ${last.dir}, is intact: fix the problem and resume from it.`
    : ' No checkpoint of this run is complete yet: fix the problem and start the run again.';
  const stop = /[.!?]$/.test(base.message) ? '' : '.';
  return new TunaError(base.code, `${base.message}${stop}${after}`, { file: base.file, cause: e });
}

/** Checkpoint directories of an output directory, oldest (lowest step) first. */
export async function listCheckpoints(outputDir: string): Promise<{ step: number; dir: string }[]> {
  if (!existsSync(outputDir)) return [];
  const found: { step: number; dir: string }[] = [];
  for (const name of await readdir(outputDir)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (m && existsSync(join(outputDir, name, TRAINER_STATE_FILE))) found.push({ step: Number(m[1]), dir: join(outputDir, name) });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** The checkpoints of `outputDir` that the run `runId` wrote, oldest first. */
export async function checkpointsOfRun(outputDir: string, runId: string): Promise<{ step: number; dir: string }[]> {
  const mine: { step: number; dir: string }[] = [];
  for (const c of await listCheckpoints(outputDir)) {
    const state = await readTrainerState(c.dir).catch(() => undefined);
    if (state?.runId === runId) mine.push(c);
  }
  return mine;
}

/**
 * Deletes the oldest checkpoints of the run `runId` beyond `limit`, never the one in `keep`.
 * Checkpoints of other runs (and ones whose run is unknown) are left alone and not counted.
 */
export async function rotateCheckpoints(outputDir: string, limit: number, run: { readonly runId: string; readonly keep?: string }): Promise<void> {
  const { runId, keep } = run;
  const all = await checkpointsOfRun(outputDir, runId);
  let excess = all.length - limit;
  for (const c of all) {
    if (excess <= 0) break;
    if (keep && c.dir === keep) continue;
    await rm(c.dir, { recursive: true, force: true });
    excess--;
  }
}

export async function writeTrainerState(path: string, state: TrainerStateFile): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(state, null, 2) + '\n'));
}

export async function readTrainerState(dir: string): Promise<TrainerStateFile> {
  const path = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(path))
    throw new ResumeError(`${dir}: no ${TRAINER_STATE_FILE}; this is not a checkpoint tuna train wrote (look for checkpoint-N directories in the output directory)`);
  let state: TrainerStateFile;
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as TrainerStateFile;
  } catch (e) {
    throw new ResumeError(`${path}: not valid JSON (${(e as Error).message}); delete this checkpoint and resume from an earlier one`);
  }
  if (state.format !== 'tuna-trainer-state') throw new ResumeError(`${path}: not a tuna trainer state`);
  return state;
}

/** Copies a checkpoint's weights into the live parameters (shapes must match). */
export async function restoreWeights(dir: string, store: ParameterStore): Promise<void> {
  const path = join(dir, 'model.safetensors');
  const { tensors } = await readSafetensors(path);
  for (const p of store.list()) {
    const t = tensors.get(p.name);
    if (!t) throw new ResumeError(`${path}: no tensor ${p.name}; the checkpoint belongs to another model`);
    if (t.data.length !== p.data.length) throw new ResumeError(`${path}: ${p.name} has ${t.data.length} values, the model ${p.data.length}`);
    p.data.set(t.data as Float32Array);
  }
}
