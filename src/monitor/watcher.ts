/**
 * Scoring closed windows: for each watch and each series of its dimensions, the windows that
 * closed since the last round are read from the store's aggregates (empty windows count as zero
 * volume), fed to the series' change detector in time order, and every detection becomes an
 * alert with example documents. The detectors' states and how far each watch has scored are
 * kept in the store, so a restarted monitor (or another process) carries on where it stopped
 * and no window is scored twice.
 */
import { type ChangeDetector, createDetector, restoreDetector } from '../index.js';
import type { WatchConfig } from './config.js';
import { type MonitorStore, type NewAlert, type WindowAggregate, windowStartOf } from './types.js';

/** What a watch keeps between rounds. */
interface WatchState {
  readonly version: 1;
  /** The watch's settings when the state was made: other settings start afresh. */
  readonly settings: string;
  /** Windows starting before this have been scored (null: none yet). */
  scoredUntil: number | null;
  /** Saved detectors by series (`dimension\u0000value`). */
  series: Record<string, unknown>;
}

/** Options of a {@link Watcher}. */
export interface WatcherOptions {
  /** Example documents per alert (default 3). */
  readonly examples?: number;
  /** The clock alerts are stamped with (default `Date.now`). */
  readonly now?: () => number;
}

/** What a round did. */
export interface WatchRound {
  /** Windows scored, over all watches and series. */
  readonly windows: number;
  readonly alerts: NewAlert[];
}

const stateKey = (watch: WatchConfig) => `watch:${watch.name}`;
const seriesKey = (dimension: string, value: string) => `${dimension}\u0000${value}`;

/** Scores the windows of every watch as they close. */
export class Watcher {
  private readonly examples: number;
  private readonly now: () => number;

  constructor(
    private readonly store: MonitorStore,
    readonly watches: readonly WatchConfig[],
    options: WatcherOptions = {},
  ) {
    this.examples = options.examples ?? 3;
    this.now = options.now ?? Date.now;
  }

  /**
   * Scores every window that ends at or before `watermark` (milliseconds since the epoch) and was
   * not scored yet, and returns the alerts raised (to be dispatched by the caller).
   */
  async advance(watermark: number): Promise<WatchRound> {
    const alerts: NewAlert[] = [];
    let windows = 0;
    for (const watch of this.watches) {
      const r = await this.advanceWatch(watch, watermark, alerts);
      windows += r;
    }
    return { windows, alerts };
  }

  private async loadState(watch: WatchConfig): Promise<WatchState> {
    const settings = JSON.stringify({ metric: watch.metric, label: watch.label, windowMs: watch.windowMs, dimensions: watch.dimensions, detector: watch.detector });
    const saved = (await this.store.getState(stateKey(watch))) as WatchState | undefined;
    if (saved && saved.version === 1 && saved.settings === settings) return saved;
    return { version: 1, settings, scoredUntil: null, series: {} };
  }

  private async advanceWatch(watch: WatchConfig, watermark: number, alerts: NewAlert[]): Promise<number> {
    const w = watch.windowMs;
    const to = windowStartOf(watermark, w);
    const state = await this.loadState(watch);
    const from = state.scoredUntil ?? undefined;
    if (from !== undefined && from >= to) return 0;
    let scored = 0;
    for (const dimension of watch.dimensions) {
      const values = new Set<string>();
      for (const key of Object.keys(state.series)) {
        const [d, v] = key.split('\u0000') as [string, string];
        if (d === dimension) values.add(v);
      }
      const fresh = await this.store.values(dimension, { windowMs: w, ...(from !== undefined ? { from } : {}), to, limit: 100_000 });
      for (const { value } of fresh) values.add(value);
      for (const value of values) {
        const key = seriesKey(dimension, value);
        const rows = await this.store.series({ dimension, value, windowMs: w, ...(from !== undefined ? { from } : {}), to });
        const known = state.series[key] !== undefined;
        if (!known && rows.length === 0) continue;
        const detector: ChangeDetector = known ? restoreDetector(state.series[key]) : createDetector(watch.detector);
        const byStart = new Map<number, WindowAggregate>(rows.map((r) => [r.windowStart, r]));
        const start = known && from !== undefined ? from : rows[0]!.windowStart;
        for (let s = start; s < to; s += w) {
          const agg = byStart.get(s);
          const count = agg?.count ?? 0;
          const observed = watch.metric === 'volume' ? count : count === 0 ? 0 : (agg!.labelCounts[watch.label!] ?? 0) / count;
          const step = detector.update({ start: s, end: s + w, value: observed, ...(watch.metric === 'share' ? { count } : {}) });
          scored += 1;
          const d = step.detection;
          if (!d) continue;
          const examples = await this.store.documents({
            series: { dimension, value: value },
            from: s,
            to: s + w,
            ...(watch.metric === 'share' ? { label: watch.label! } : {}),
            order: 'score',
            limit: this.examples,
          });
          alerts.push({
            key: `${watch.name}|${dimension}|${value}|${d.direction}`,
            watch: watch.name,
            detector: d.detector,
            metric: watch.metric,
            label: watch.label,
            dimension,
            value: value,
            windowMs: w,
            windowStart: d.windowStart,
            windowEnd: d.windowEnd,
            observed: d.observed,
            expected: d.expected,
            score: d.score,
            threshold: d.threshold,
            direction: d.direction,
            severity: d.severity,
            examples: examples.map((e) => ({ id: e.id, text: e.text, label: e.label, score: e.score, timestamp: e.timestamp })),
            raisedAt: this.now(),
          });
        }
        state.series[key] = detector.toJSON();
      }
    }
    state.scoredUntil = to;
    await this.store.setState(stateKey(watch), state);
    return scored;
  }
}
