/**
 * Robust z-score over a rolling window: the median and the scaled median absolute deviation
 * (1.4826 × MAD) of the last `window` values; a window fires when its robust z reaches `threshold`.
 */
import { type Assessment, COMMON_KEYS, type CommonConfig, StreamingDetector, parseCommon } from './base.js';
import { DetectorError } from './errors.js';
import { type Ring, newRing, pushRing, restoreRing } from './ring.js';
import { robustLocationScale } from './stats.js';
import { type Fields, numberField, rejectUnknown } from './validate.js';

/** Robust z-score settings. */
export interface RobustZConfig extends CommonConfig {
  detector: 'robust-z';
  /** Values the median and MAD are taken over (default 60). */
  window: number;
  /** Robust z at which a window fires (default 3.5). */
  threshold: number;
  /** Values needed before anything can fire (default 20, at most `window`). */
  minPoints: number;
}

/** Robust z-score defaults (besides the common ones). */
export const ROBUST_Z_DEFAULTS = { window: 60, threshold: 3.5, minPoints: 20 } as const;

/** Reads and checks robust z-score settings. */
export function parseRobustZConfig(obj: Fields, prefix: string): RobustZConfig {
  rejectUnknown(obj, [...COMMON_KEYS, 'window', 'threshold', 'minPoints'], prefix);
  const d = ROBUST_Z_DEFAULTS;
  const window = numberField(obj, 'window', prefix, d.window, { min: 3, max: 100_000, integer: true });
  const minPoints = numberField(obj, 'minPoints', prefix, Math.min(d.minPoints, window), { min: 3, integer: true });
  if (minPoints > window) throw new DetectorError('invalid_config', `${prefix}.minPoints (${minPoints}) must not exceed ${prefix}.window (${window})`, `${prefix}.minPoints`);
  return {
    detector: 'robust-z',
    ...parseCommon(obj, prefix),
    window,
    threshold: numberField(obj, 'threshold', prefix, d.threshold, { min: 0, exclusiveMin: true }),
    minPoints,
  };
}

/** Robust z-score state: the rolling window of values. */
export interface RobustZState {
  recent: Ring;
}

/** The robust z-score detector. */
export class RobustZDetector extends StreamingDetector<RobustZConfig, RobustZState> {
  readonly name = 'robust-z';

  constructor(config: RobustZConfig) {
    super(config, { recent: newRing() });
  }

  get threshold(): number {
    return this.config.threshold;
  }

  protected observe(x: number, count: number): Assessment {
    const values = this.state.recent.values;
    let result: Assessment = { expected: null, up: 0, down: 0, ready: false };
    if (values.length > 0) {
      const { location, scale } = robustLocationScale(values);
      const z = this.z(x, location, scale, count);
      result = { expected: location, up: Math.max(0, z), down: Math.max(0, -z), ready: values.length >= this.config.minPoints };
    }
    pushRing(this.state.recent, x, this.config.window);
    return result;
  }

  protected restoreState(state: unknown): RobustZState {
    const s = state as { recent?: unknown } | null;
    return { recent: restoreRing(s?.recent, 'state.state.recent', this.config.window) };
  }
}
