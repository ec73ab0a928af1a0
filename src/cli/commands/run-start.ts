/** What `tuna train` and `tuna pretrain` both say and do when a run starts. */
import { defaultLearningRate } from '../../train/arguments.js';
import { lockOutputDir, prepareOutputDir, startingPointOverlap } from '../../train/output-dir.js';
import { CliError } from '../errors.js';
import { asError } from './options.js';

/**
 * Runs `run` while holding the lock of `--output` (a second run into the same directory is refused
 * with code `output_locked`), after refusing an `--output` that would overwrite or remove the
 * `--model` checkpoint the run starts from. Temporaries of dead runs found in `--output` are
 * removed and reported. The lock is released when `run` ends, fails or the process is interrupted.
 */
export async function inLockedOutput<T>(
  o: { readonly model?: string; readonly output: string; readonly overwriteOutputDir?: boolean },
  resuming: boolean,
  say: (line: string) => void,
  run: () => Promise<T>,
): Promise<T> {
  if (o.model !== undefined) refuseOverlap(o.model, o.output, !!o.overwriteOutputDir && !resuming);
  const lock = await asError(() => lockOutputDir(o.output, { onWarning: (m) => say(`warning: ${m}`) }));
  try {
    const gone = lock.removedTemporaries;
    if (gone.length)
      say(
        `removed ${gone.length} unfinished temporary file${gone.length > 1 ? 's' : ''} of an interrupted run from ${o.output} (${gone.slice(0, 3).join(', ')}${gone.length > 3 ? ', ...' : ''})`,
      );
    return await run();
  } finally {
    await lock.release();
  }
}

/** Refuses an `--output` that is the `--model` directory, or (when the earlier run is to be removed) contains it. */
function refuseOverlap(model: string, output: string, removing: boolean): void {
  const overlap = startingPointOverlap(model, output);
  if (overlap === 'same') {
    throw new CliError('usage', `--output ${output} is the --model directory ${model}: the run would overwrite the checkpoint it starts from; choose another --output`, {
      file: output,
    });
  }
  if (overlap === 'model-inside-output' && removing) {
    throw new CliError(
      'usage',
      `--overwrite-output-dir would remove the starting checkpoint: --model ${model} lies inside --output ${output}; choose another --output, or copy the model elsewhere first`,
      { file: output },
    );
  }
}

/**
 * Reports the learning rate (given with `--lr`, else the default for the model's hidden size) and,
 * with `--overwrite-output-dir` on a fresh run, clears the earlier run from the output directory.
 * Returns the learning rate.
 */
export async function startRun(
  o: { readonly lr?: string; readonly overwriteOutputDir?: boolean; readonly output: string },
  run: { readonly learningRate?: number; readonly hiddenSize: number; readonly resuming: boolean },
  say: (line: string) => void,
): Promise<number> {
  const learningRate = run.learningRate ?? defaultLearningRate(run.hiddenSize);
  say(
    o.lr === undefined
      ? `learning rate ${learningRate.toExponential()} (the default for hidden size ${run.hiddenSize}; set it with --lr)`
      : `learning rate ${learningRate.toExponential()} (--lr)`,
  );
  if (o.overwriteOutputDir && !run.resuming) {
    const removed = await prepareOutputDir(o.output, { overwrite: true });
    if (removed.length) say(`--overwrite-output-dir: removed the earlier run from ${o.output} (${removed.length} files and checkpoints)`);
  }
  return learningRate;
}
