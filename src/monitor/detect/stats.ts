/**
 * Small statistics shared by the detectors: medians, the median absolute deviation, an
 * exponentially weighted mean and variance, and the standardisation of a window's value (a
 * volume, or a label share with its document count).
 */

/** The factor that makes the median absolute deviation estimate a normal standard deviation. */
export const MAD_SCALE = 1.4826;

/** Shares are clamped into [SHARE_EPSILON, 1 − SHARE_EPSILON] before a binomial standard error is taken. */
export const SHARE_EPSILON = 1e-3;

/** The k-th smallest (0-based) of `a`, partially reordering `a` (Hoare's selection). */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** The median of `a`, partially reordering it. */
function medianInPlace(a: Float64Array): number {
  const n = a.length;
  if (n === 0) return Number.NaN;
  const upper = select(a, n >> 1);
  if (n % 2 === 1) return upper;
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

/** The median of `values` (not modified); `NaN` when empty. */
export function median(values: readonly number[]): number {
  return medianInPlace(Float64Array.from(values));
}

/** The median and the scaled median absolute deviation (1.4826 × MAD) of `values` (not modified). */
export function robustLocationScale(values: readonly number[]): { location: number; scale: number } {
  const a = Float64Array.from(values);
  const location = medianInPlace(a);
  for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]! - location);
  return { location, scale: MAD_SCALE * medianInPlace(a) };
}

/** An exponentially weighted mean and variance, as plain JSON. */
export interface EwmaStats {
  /** Observations taken in so far. */
  n: number;
  mean: number;
  variance: number;
}

/** A fresh {@link EwmaStats}. */
export function newEwmaStats(): EwmaStats {
  return { n: 0, mean: 0, variance: 0 };
}

/**
 * Takes `x` into `stats`: the mean with weight `alpha`, the variance with weight `varianceAlpha`
 * (default `alpha`), each replaced by 1/n while that is larger so that the early estimates are
 * plain running moments. When `clipAt` is given, `x` is first pulled to within `clipAt` of the
 * current mean, so that one outlier does not drag the baseline.
 */
export function updateEwma(stats: EwmaStats, x: number, alpha: number, clipAt?: number, varianceAlpha = alpha): void {
  stats.n += 1;
  if (stats.n === 1) {
    stats.mean = x;
    stats.variance = 0;
    return;
  }
  let diff = x - stats.mean;
  if (clipAt !== undefined && Math.abs(diff) > clipAt) diff = Math.sign(diff) * clipAt;
  const a = Math.max(alpha, 1 / stats.n);
  const b = Math.max(varianceAlpha, 1 / stats.n);
  stats.mean += a * diff;
  stats.variance = (1 - b) * (stats.variance + b * diff * diff);
}

/** How a series' values are read: counts of documents, or shares of a label with their counts. */
export type SeriesKind = 'volume' | 'share';

/** What {@link standardise} needs besides the value. */
export interface StandardiseOptions {
  kind: SeriesKind;
  /** The smallest scale used for a volume (the standard deviation never goes below it). */
  minScale: number;
  /** Volume only: also floor the scale at √expected, the Poisson standard deviation of a count. */
  poissonFloor: boolean;
}

/**
 * The scale a deviation from `expected` is divided by: for a volume max(scale, minScale, and
 * √expected when `poissonFloor`); for a share the binomial standard error √(p0 (1 − p0) / n) at
 * the window's own count, with p0 = `expected` clamped into [0.001, 0.999] (the learnt `scale` is
 * not used, so a window of few documents needs a large swing to score high).
 */
export function effectiveScale(expected: number, scale: number, count: number, opts: StandardiseOptions): number {
  if (opts.kind === 'share') {
    const p0 = Math.min(1 - SHARE_EPSILON, Math.max(SHARE_EPSILON, expected));
    return Math.sqrt((p0 * (1 - p0)) / count);
  }
  let s = Math.max(scale, opts.minScale);
  if (opts.poissonFloor && expected > 0) s = Math.max(s, Math.sqrt(expected));
  return s;
}

/**
 * The standardised deviation of `observed` from `expected`: (x − expected) / {@link effectiveScale}
 * for a volume; for a share a binomial z with a continuity correction,
 * sign(p̂ − p0) · max(0, |p̂ − p0| − 1/(2n)) / √(p0 (1 − p0) / n).
 */
export function standardise(observed: number, expected: number, scale: number, count: number, opts: StandardiseOptions): number {
  const s = effectiveScale(expected, scale, count, opts);
  const diff = observed - expected;
  if (opts.kind === 'share') return (Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5 / count)) / s;
  return diff / s;
}
