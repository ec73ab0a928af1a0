/** Resumable training checkpoints: `checkpoint-{step}/` directories in the output directory, each written atomically. */
import { TunaError } from '../errors.js';
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
  await rename(tmp, final);
  await syncDirectory(outputDir);
  return final;
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

/** Deletes the oldest checkpoints beyond `limit`, never the one in `keep`. */
export async function rotateCheckpoints(outputDir: string, limit: number, keep?: string): Promise<void> {
  const all = await listCheckpoints(outputDir);
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
