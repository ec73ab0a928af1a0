/** Hooks into the training loop (progress display, custom logging), in the spirit of Hugging Face's TrainerCallback. */

/** The loop's position, as callbacks see it. */
export interface TrainerProgress {
  readonly globalStep: number;
  readonly maxSteps: number;
  /** Fractional epochs done. */
  readonly epoch: number;
  readonly numEpochs: number;
  /** Training examples per second since the loop (re)started. */
  readonly samplesPerSecond: number;
  /** Loss of the latest optimizer step. */
  readonly loss: number;
  readonly learningRate: number;
}

/** Every hook is optional; hooks run synchronously inside the loop. */
export interface TrainerCallback {
  onTrainBegin?(p: TrainerProgress): void;
  /** After every optimizer step. */
  onStep?(p: TrainerProgress): void;
  /** When a log record (training loss, or evaluation metrics) is written to metrics.jsonl. */
  onLog?(p: TrainerProgress, record: Readonly<Record<string, number>>): void;
  onSave?(p: TrainerProgress, checkpointDir: string): void;
  onTrainEnd?(p: TrainerProgress): void;
}
