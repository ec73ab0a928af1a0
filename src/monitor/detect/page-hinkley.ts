/**
 * Page-Hinkley: the cumulative sum of standardised deviations from the running mean (since the
 * last change), less a tolerance `delta`, against its running extreme; fires when the gap
 * reaches `lambda`, then restarts (mean, spread and sums).
 */
import { type Assessment, COMMON_KEYS, type CommonConfig, StreamingDetector, parseCommon } from './base.js';
import { type Fields, asObject, numberField, rejectUnknown, stateNumber } from './validate.js';

/** Page-Hinkley settings. */
export interface PageHinkleyConfig extends CommonConfig {
  detector: 'page-hinkley';
  /** Tolerated deviation per window, in standard deviations (default 0.5). */
  delta: number;
  /** Alarm threshold on the cumulative statistic, in standard deviations (default 8). */
  lambda: number;
  /** Factor the cumulative sums are multiplied by each window, in (0, 1] (default 1: classic Page-Hinkley). */
  forgetting: number;
  /** Windows learnt (after the start and after each change) before anything can fire (default 30). */
  warmup: number;
}

/** Page-Hinkley defaults (besides the common ones). */
export const PAGE_HINKLEY_DEFAULTS = { delta: 0.5, lambda: 8, forgetting: 1, warmup: 30 } as const;

/** Reads and checks Page-Hinkley settings. */
export function parsePageHinkleyConfig(obj: Fields, prefix: string): PageHinkleyConfig {
  rejectUnknown(obj, [...COMMON_KEYS, 'delta', 'lambda', 'forgetting', 'warmup'], prefix);
  const d = PAGE_HINKLEY_DEFAULTS;
  return {
    detector: 'page-hinkley',
    ...parseCommon(obj, prefix),
    delta: numberField(obj, 'delta', prefix, d.delta, { min: 0 }),
    lambda: numberField(obj, 'lambda', prefix, d.lambda, { min: 0, exclusiveMin: true }),
    forgetting: numberField(obj, 'forgetting', prefix, d.forgetting, { min: 0, exclusiveMin: true, max: 1 }),
    warmup: numberField(obj, 'warmup', prefix, d.warmup, { min: 2, integer: true }),
  };
}

/** Page-Hinkley state: the running mean and sum of squares since the last change, and the two cumulative sums with their extremes. */
export interface PageHinkleyState {
  n: number;
  mean: number;
  m2: number;
  sumUp: number;
  minUp: number;
  sumDown: number;
  maxDown: number;
}

function fresh(): PageHinkleyState {
  return { n: 0, mean: 0, m2: 0, sumUp: 0, minUp: 0, sumDown: 0, maxDown: 0 };
}

/** The Page-Hinkley detector. */
export class PageHinkleyDetector extends StreamingDetector<PageHinkleyConfig, PageHinkleyState> {
  readonly name = 'page-hinkley';

  constructor(config: PageHinkleyConfig) {
    super(config, fresh());
  }

  get threshold(): number {
    return this.config.lambda;
  }

  protected observe(x: number, count: number): Assessment {
    const s = this.state;
    const expected = s.n > 0 ? s.mean : null;
    s.n += 1;
    const previousMean = s.mean;
    s.mean += (x - s.mean) / s.n;
    s.m2 += (x - previousMean) * (x - s.mean);
    const sd = s.n > 1 ? Math.sqrt(s.m2 / (s.n - 1)) : 0;
    const z = this.z(x, s.mean, sd, count);
    const { delta, forgetting } = this.config;
    s.sumUp = forgetting * s.sumUp + z - delta;
    s.minUp = Math.min(s.minUp, s.sumUp);
    s.sumDown = forgetting * s.sumDown + z + delta;
    s.maxDown = Math.max(s.maxDown, s.sumDown);
    return { expected, up: s.sumUp - s.minUp, down: s.maxDown - s.sumDown, ready: s.n >= this.config.warmup };
  }

  protected override onDetection(): void {
    this.state = fresh();
  }

  protected restoreState(state: unknown): PageHinkleyState {
    const s = asObject(state, 'state.state');
    const p = 'state.state';
    return {
      n: stateNumber(s, 'n', p),
      mean: stateNumber(s, 'mean', p),
      m2: stateNumber(s, 'm2', p),
      sumUp: stateNumber(s, 'sumUp', p),
      minUp: stateNumber(s, 'minUp', p),
      sumDown: stateNumber(s, 'sumDown', p),
      maxDown: stateNumber(s, 'maxDown', p),
    };
  }
}
