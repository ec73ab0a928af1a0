/**
 * Scoring alerts against known change points (a simulated stream's): which changes were detected,
 * how late, and how many alerts matched no change, per simulated day.
 */
import { MonitorError } from './errors.js';
import type { SeriesKey } from './types.js';

/** An alert as scoring sees it: its window, and its series when known (a stored alert fits). */
export interface ScoredAlert {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The series; or give `dimension` and `value` directly (as alert records carry them). */
  readonly series?: SeriesKey;
  readonly dimension?: SeriesKey['dimension'];
  readonly value?: string;
}

/** A change to be found: its span and, when known, its series. */
export interface ScoredChange {
  readonly at: number;
  readonly end: number;
  readonly series?: SeriesKey;
}

/** Options of {@link scoreDetections}. */
export interface ScoreOptions {
  /** A change counts as detected by an alert whose window ends at most this long after the change starts. */
  readonly maxDelayMs: number;
  /** The length of the stream in days (false alerts are reported per day). */
  readonly days: number;
}

/** How one change point fared. */
export interface ChangeScore<C extends ScoredChange = ScoredChange> {
  readonly change: C;
  readonly detected: boolean;
  /** The first detecting alert's window end minus the change start; null when missed. */
  readonly delayMs: number | null;
  /** The index (in the alerts given) of that alert; null when missed. */
  readonly alert: number | null;
}

/** The scores of a run. */
export interface DetectionScore<C extends ScoredChange = ScoredChange> {
  /** One per change point, in the order given. */
  readonly changes: ChangeScore<C>[];
  readonly totals: {
    readonly changePoints: number;
    readonly detected: number;
    readonly missed: number;
    /** detected / changePoints (1 with no change points). */
    readonly recall: number;
    /** Over the detected changes; null when none was. */
    readonly meanDelayMs: number | null;
    readonly medianDelayMs: number | null;
    readonly alerts: number;
    /** Alerts that match no change window. */
    readonly falseAlerts: number;
    readonly falseAlertsPerDay: number;
  };
}

function seriesOf(a: ScoredAlert): SeriesKey | undefined {
  if (a.series !== undefined) return a.series;
  if (a.dimension !== undefined && a.value !== undefined) return { dimension: a.dimension, value: a.value };
  return undefined;
}

function sameSeries(a: SeriesKey | undefined, b: SeriesKey | undefined): boolean {
  return a === undefined || b === undefined || (a.dimension === b.dimension && a.value === b.value);
}

/**
 * Scores `alerts` against `changePoints`. An alert *detects* a change when their series match
 * (compared only when both are given) and its window reaches into the change (window end after the
 * change start) no later than `maxDelayMs` after the change start; the delay is the first such
 * alert's window end minus the change start. An alert is *false* when it matches no change window:
 * no change of its series whose span, extended by `maxDelayMs` after its end, its window overlaps
 * (so alerts on the return to normal are not counted false).
 *
 * @throws MonitorError (`invalid_config`) for a `maxDelayMs` or `days` that is not positive.
 */
export function scoreDetections<C extends ScoredChange>(alerts: readonly ScoredAlert[], changePoints: readonly C[], options: ScoreOptions): DetectionScore<C> {
  const { maxDelayMs, days } = options;
  if (!(typeof maxDelayMs === 'number' && maxDelayMs > 0 && Number.isFinite(maxDelayMs))) {
    throw new MonitorError('invalid_config', `maxDelayMs is ${String(maxDelayMs)}: give a positive number of milliseconds`, { field: 'maxDelayMs' });
  }
  if (!(typeof days === 'number' && days > 0 && Number.isFinite(days))) {
    throw new MonitorError('invalid_config', `days is ${String(days)}: give the stream's length in days, above 0`, { field: 'days' });
  }
  const changes = changePoints.map((change): ChangeScore<C> => {
    let best: { delay: number; index: number } | null = null;
    alerts.forEach((a, index) => {
      if (!sameSeries(seriesOf(a), change.series)) return;
      const delay = a.windowEnd - change.at;
      if (delay <= 0 || delay > maxDelayMs) return;
      if (best === null || delay < best.delay) best = { delay, index };
    });
    const found = best as { delay: number; index: number } | null;
    return { change, detected: found !== null, delayMs: found?.delay ?? null, alert: found?.index ?? null };
  });
  const falseAlerts = alerts.filter((a) => !changePoints.some((c) => sameSeries(seriesOf(a), c.series) && a.windowEnd > c.at && a.windowStart < c.end + maxDelayMs)).length;
  const delays = changes.flatMap((c) => (c.delayMs === null ? [] : [c.delayMs])).sort((x, y) => x - y);
  const detected = delays.length;
  const mid = Math.floor(delays.length / 2);
  return {
    changes,
    totals: {
      changePoints: changePoints.length,
      detected,
      missed: changePoints.length - detected,
      recall: changePoints.length === 0 ? 1 : detected / changePoints.length,
      meanDelayMs: detected === 0 ? null : delays.reduce((s, d) => s + d, 0) / detected,
      medianDelayMs: detected === 0 ? null : delays.length % 2 === 1 ? (delays[mid] as number) : ((delays[mid - 1] as number) + (delays[mid] as number)) / 2,
      alerts: alerts.length,
      falseAlerts,
      falseAlertsPerDay: falseAlerts / days,
    },
  };
}
