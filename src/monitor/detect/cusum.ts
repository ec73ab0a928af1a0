/**
 * Two-sided standardised CUSUM: z = (x − μ) / σ against a slowly adapting reference (μ, σ by
 * exponential weighting, outliers clipped before they enter it); S⁺ = max(0, S⁺ + z − k) and
 * S⁻ = max(0, S⁻ − z − k); fires when either reaches `h`, then both restart at 0.
 */
import { type Assessment, COMMON_KEYS, type CommonConfig, StreamingDetector, parseCommon } from './base.js';
import { type EwmaStats, newEwmaStats, updateEwma } from './stats.js';
import { type Fields, asObject, nullableNumberField, numberField, rejectUnknown, stateNumber } from './validate.js';

/** CUSUM settings. */
export interface CusumConfig extends CommonConfig {
  detector: 'cusum';
  /** Slack per window, in standard deviations (default 0.5: tuned to shifts of about 1σ). */
  k: number;
  /** Decision threshold on S⁺ and S⁻, in standard deviations (default 5). */
  h: number;
  /** Weight of the newest window in the reference mean and variance (default 0.02). */
  alpha: number;
  /** Windows learnt before anything can fire (default 30). */
  warmup: number;
  /** After warm-up, a value enters the reference pulled to within `clip` scales of it (default 3; null: unclipped). */
  clip: number | null;
}

/** CUSUM defaults (besides the common ones). */
export const CUSUM_DEFAULTS = { k: 0.5, h: 5, alpha: 0.02, warmup: 30, clip: 3 } as const;

/** Reads and checks CUSUM settings. */
export function parseCusumConfig(obj: Fields, prefix: string): CusumConfig {
  rejectUnknown(obj, [...COMMON_KEYS, 'k', 'h', 'alpha', 'warmup', 'clip'], prefix);
  const d = CUSUM_DEFAULTS;
  return {
    detector: 'cusum',
    ...parseCommon(obj, prefix),
    k: numberField(obj, 'k', prefix, d.k, { min: 0 }),
    h: numberField(obj, 'h', prefix, d.h, { min: 0, exclusiveMin: true }),
    alpha: numberField(obj, 'alpha', prefix, d.alpha, { min: 0, exclusiveMin: true, max: 1 }),
    warmup: numberField(obj, 'warmup', prefix, d.warmup, { min: 2, integer: true }),
    clip: nullableNumberField(obj, 'clip', prefix, d.clip, { min: 0, exclusiveMin: true }),
  };
}

/** CUSUM state: the reference and the two sums. */
export interface CusumState {
  reference: EwmaStats;
  up: number;
  down: number;
}

/** The two-sided CUSUM detector. */
export class CusumDetector extends StreamingDetector<CusumConfig, CusumState> {
  readonly name = 'cusum';

  constructor(config: CusumConfig) {
    super(config, { reference: newEwmaStats(), up: 0, down: 0 });
  }

  get threshold(): number {
    return this.config.h;
  }

  protected observe(x: number, count: number): Assessment {
    const s = this.state;
    const ref = s.reference;
    const ready = ref.n >= this.config.warmup;
    let expected: number | null = null;
    let clipAt: number | undefined;
    if (ref.n > 0) {
      expected = ref.mean;
      const sd = Math.sqrt(ref.variance);
      if (ready) {
        const z = this.z(x, ref.mean, sd, count);
        s.up = Math.max(0, s.up + z - this.config.k);
        s.down = Math.max(0, s.down - z - this.config.k);
        if (this.config.clip !== null) clipAt = this.config.clip * this.scaleOf(ref.mean, sd, count);
      }
    }
    updateEwma(ref, x, this.config.alpha, clipAt);
    return { expected, up: s.up, down: s.down, ready };
  }

  protected override onDetection(): void {
    this.state.up = 0;
    this.state.down = 0;
  }

  protected restoreState(state: unknown): CusumState {
    const s = asObject(state, 'state.state');
    const r = asObject(s.reference, 'state.state.reference');
    const p = 'state.state.reference';
    return {
      reference: { n: stateNumber(r, 'n', p), mean: stateNumber(r, 'mean', p), variance: stateNumber(r, 'variance', p) },
      up: stateNumber(s, 'up', 'state.state'),
      down: stateNumber(s, 'down', 'state.state'),
    };
  }
}
