/**
 * EWMA control limits: the mean and variance of the series by exponential weighting (the variance
 * more slowly); a window
 * fires when it lies more than `threshold` standard deviations from the weighted mean.
 */
import { type Assessment, COMMON_KEYS, type CommonConfig, StreamingDetector, parseCommon } from './base.js';
import { type EwmaStats, newEwmaStats, updateEwma } from './stats.js';
import { type Fields, asObject, nullableNumberField, numberField, rejectUnknown, stateNumber } from './validate.js';

/** EWMA settings. */
export interface EwmaConfig extends CommonConfig {
  detector: 'ewma';
  /** Weight of the newest window in the mean, in (0, 1] (default 0.1). */
  alpha: number;
  /**
   * Weight of the newest window in the variance, in (0, 1] (default 0.02): slower than the mean, so
   * that the windows of a shift do not widen the limits before they have been judged.
   */
  varianceAlpha: number;
  /** Control limit in standard deviations (default 3). */
  threshold: number;
  /** Windows learnt before anything can fire (default 20). */
  warmup: number;
  /** After warm-up, a value enters the baseline pulled to within `clip` scales of the mean (default 4; null: unclipped). */
  clip: number | null;
}

/** EWMA defaults (besides the common ones). */
export const EWMA_DEFAULTS = { alpha: 0.1, varianceAlpha: 0.02, threshold: 3, warmup: 20, clip: 4 } as const;

/** Reads and checks EWMA settings. */
export function parseEwmaConfig(obj: Fields, prefix: string): EwmaConfig {
  rejectUnknown(obj, [...COMMON_KEYS, 'alpha', 'varianceAlpha', 'threshold', 'warmup', 'clip'], prefix);
  const d = EWMA_DEFAULTS;
  return {
    detector: 'ewma',
    ...parseCommon(obj, prefix),
    alpha: numberField(obj, 'alpha', prefix, d.alpha, { min: 0, exclusiveMin: true, max: 1 }),
    varianceAlpha: numberField(obj, 'varianceAlpha', prefix, d.varianceAlpha, { min: 0, exclusiveMin: true, max: 1 }),
    threshold: numberField(obj, 'threshold', prefix, d.threshold, { min: 0, exclusiveMin: true }),
    warmup: numberField(obj, 'warmup', prefix, d.warmup, { min: 2, integer: true }),
    clip: nullableNumberField(obj, 'clip', prefix, d.clip, { min: 0, exclusiveMin: true }),
  };
}

/** EWMA state: the weighted mean and variance and the windows taken in. */
export type EwmaState = EwmaStats;

/** The EWMA detector. */
export class EwmaDetector extends StreamingDetector<EwmaConfig, EwmaState> {
  readonly name = 'ewma';

  constructor(config: EwmaConfig) {
    super(config, newEwmaStats());
  }

  get threshold(): number {
    return this.config.threshold;
  }

  protected observe(x: number, count: number): Assessment {
    const s = this.state;
    const ready = s.n >= this.config.warmup;
    let expected: number | null = null;
    let z = 0;
    let clipAt: number | undefined;
    if (s.n > 0) {
      expected = s.mean;
      const sd = Math.sqrt(s.variance);
      z = this.z(x, s.mean, sd, count);
      if (ready && this.config.clip !== null) clipAt = this.config.clip * this.scaleOf(s.mean, sd, count);
    }
    updateEwma(s, x, this.config.alpha, clipAt, this.config.varianceAlpha);
    return { expected, up: Math.max(0, z), down: Math.max(0, -z), ready };
  }

  protected restoreState(state: unknown): EwmaState {
    const s = asObject(state, 'state.state');
    return { n: stateNumber(s, 'n', 'state.state'), mean: stateNumber(s, 'mean', 'state.state'), variance: stateNumber(s, 'variance', 'state.state') };
  }
}
