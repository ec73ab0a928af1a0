/**
 * Guarding the output directory of a training run, as Hugging Face's Trainer does: a directory that
 * already holds a run (checkpoints, model files, trainer state) is refused unless the new run
 * resumes it or overwrites it, so two runs never mix (an old `checkpoint-60` beside a new
 * `checkpoint-2` would make a later resume pick the wrong one).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { TunaError } from '../errors.js';

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
];

/** Files whose presence means the directory holds a run (checkpoints count too). */
const RUN_MARKERS = new Set(['model.safetensors', 'model.safetensors.index.json', 'trainer_state.json', 'train_results.json', 'pretrain_results.json', 'metrics.jsonl']);

const isCheckpointName = (name: string) => /^checkpoint-\d+$/.test(name) || /^\.checkpoint-\d+\.partial$/.test(name);

/** An output directory that cannot be used as it is (it holds an earlier run, or is a file). */
export class OutputDirError extends TunaError {
  override name = 'OutputDirError';
  constructor(dir: string, message: string) {
    super('output_exists', message, { file: dir });
  }
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
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new OutputDirError(dir, `${dir}: is a file, not a directory; give a directory for the checkpoints and the model`);
  }
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
  const removed = names.filter((n) => isCheckpointName(n) || RUN_FILES.includes(n));
  for (const n of removed) await rm(resolve(dir, n), { recursive: true, force: true });
  return removed;
}
