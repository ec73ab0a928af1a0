/** A learning-rate schedule: the rate for optimizer step `step` (0-based). */
export type Schedule = (step: number) => number;

/** The same rate at every step. */
export function constantSchedule(lr: number): Schedule {
  return () => lr;
}

/**
 * Linear warmup from 0 to `lr` over `warmupSteps`, then linear decay to 0 at `totalSteps`
 * (the schedule of Hugging Face's `get_linear_schedule_with_warmup`).
 */
export function linearSchedule(lr: number, warmupSteps: number, totalSteps: number): Schedule {
  if (!(totalSteps > 0)) throw new RangeError(`totalSteps must be positive, got ${totalSteps}`);
  if (!(warmupSteps >= 0)) throw new RangeError(`warmupSteps must be >= 0, got ${warmupSteps}`);
  return (step) => {
    if (step < warmupSteps) return (lr * step) / Math.max(1, warmupSteps);
    return lr * Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}

/** Linear warmup to `lr`, then constant (Hugging Face's `get_constant_schedule_with_warmup`). */
export function constantWithWarmupSchedule(lr: number, warmupSteps: number): Schedule {
  return (step) => (step < warmupSteps ? (lr * step) / Math.max(1, warmupSteps) : lr);
}
