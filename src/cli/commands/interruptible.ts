import type { Trainer, TrainOutput } from '../../train/trainer.js';
import { CliError } from '../errors.js';
import { asError } from './options.js';

/**
 * Runs `trainer.train` so that Ctrl-C saves a checkpoint after the current step (a second Ctrl-C
 * quits at once), and reports an interrupted run as a CLI error with exit code 130 that says how
 * to resume.
 */
export async function trainInterruptibly(
  trainer: Trainer,
  o: { readonly output: string; readonly resume?: boolean; readonly resumeFromCheckpoint?: string },
  say: (s: string) => void,
): Promise<TrainOutput> {
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    say('\ninterrupt: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
    trainer.stop();
  };
  process.on('SIGINT', onSigint);
  let result: TrainOutput;
  try {
    result = await asError(() => trainer.train({ resumeFromCheckpoint: o.resumeFromCheckpoint ?? (o.resume ? true : undefined) }));
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.interrupted) {
    // Code `interrupted`: exit status 130.
    throw new CliError('interrupted', `interrupted at step ${result.globalStep}; a checkpoint is in ${o.output}; run the same command with --resume to continue`);
  }
  return result;
}
