/** Builds the callable pipeline object shared by all tasks. */
import { checkBatchSize } from './batching.js';
import type { OpenModel } from './checkpoint.js';
import { PipelineError } from './errors.js';
import type { CallOptions, PipelineTask } from './types.js';

/** A pipeline's checkpoint and whether it was disposed; task code asks it for the checkpoint before each run. */
export class PipelineState {
  private disposed = false;

  constructor(
    readonly task: PipelineTask,
    private readonly checkpoint: OpenModel,
  ) {}

  /** The open checkpoint, or a `disposed` error. */
  open(): OpenModel {
    if (this.disposed) throw new PipelineError('disposed', `this ${this.task} pipeline was disposed; create a new one with pipeline()`);
    return this.checkpoint;
  }

  /** The batch size of a call. */
  batchSize(opts: CallOptions | undefined): number {
    return opts?.batchSize === undefined ? this.checkpoint.batchSize : checkBatchSize(opts.batchSize);
  }

  /** The unchecked checkpoint (for read-only properties). */
  get info(): OpenModel {
    return this.checkpoint;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.checkpoint.session.release();
  }
}

/**
 * A function that runs the pipeline, carrying `run`, `runBatch`, `dispose` and the read-only
 * `task`, `model`, `config`, `tokenizer`, `maxLength`.
 */
export function assemblePipeline<P>(
  state: PipelineState,
  call: (inputs: unknown, opts?: never) => Promise<unknown>,
  runBatch: (inputs: never, opts?: never) => Promise<unknown[]>,
  extra: Readonly<Record<string, unknown>> = {},
): P {
  const fn = (inputs: unknown, opts?: never) => call(inputs, opts);
  const info = state.info;
  Object.defineProperties(fn, {
    task: { value: state.task, enumerable: true },
    model: { value: info.dir, enumerable: true },
    config: { value: info.config, enumerable: true },
    tokenizer: { value: info.tokenizer, enumerable: true },
    maxLength: { value: info.maxLength, enumerable: true },
    run: { value: fn, enumerable: true },
    runBatch: { value: runBatch, enumerable: true },
    dispose: { value: () => state.dispose(), enumerable: true },
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, { value: v, enumerable: true }])),
  });
  return fn as P;
}
