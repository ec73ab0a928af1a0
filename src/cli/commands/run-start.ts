/** What `tuna train` and `tuna pretrain` both say and do when a run starts. */
import { defaultLearningRate } from '../../train/arguments.js';
import { prepareOutputDir } from '../../train/output-dir.js';

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
