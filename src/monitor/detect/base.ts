/**
 * What every change detector shares: the input window, the step result and the detection it may
 * carry, the settings common to all detectors (series kind, direction, cooldown, scale floors,
 * severity levels), and the streaming loop around a detector's own statistic.
 */
import { DetectorError } from './errors.js';
import { type SeriesKind, type StandardiseOptions, effectiveScale, standardise } from './stats.js';
import { type Fields, asObject, booleanField, checkNumber, choiceField, numberField, stateNullableNumber, stateNumber } from './validate.js';

/** The detectors tuna has. */
export const DETECTOR_NAMES = ['ewma', 'robust-z', 'page-hinkley', 'cusum', 'seasonal'] as const;
/** A name of {@link DETECTOR_NAMES}. */
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** One window of a regular series, fed to a detector in time order. */
export interface WindowPoint {
  /** Start of the window, milliseconds since the Unix epoch (UTC). Strictly increasing from call to call. */
  start: number;
  /** End of the window (exclusive), milliseconds since the epoch; not before `start`. */
  end: number;
  /** The volume (documents in the window), or for a share series the share of the label, in [0, 1]. */
  value: number;
  /** Share series: the number of documents the share is taken over (a whole number). Unused for volume. */
  count?: number;
}

/** Which way a detection goes. */
export type Direction = 'up' | 'down';
/** How bad a detection is, from its score relative to the detector's threshold. */
export type Severity = 'low' | 'medium' | 'high';

/** A change a detector reports at one window. */
export interface Detection {
  detector: DetectorName;
  windowStart: number;
  windowEnd: number;
  /** The window's value (volume or share). */
  observed: number;
  /** What the detector expected there (its baseline: mean, median, slot median or reference level). */
  expected: number;
  /** Share series: the documents in the window. */
  count?: number;
  /** The detector's statistic (|z| for EWMA, robust z and seasonal; the cumulative sum for CUSUM and Page-Hinkley). */
  score: number;
  /** The threshold `score` reached. */
  threshold: number;
  direction: Direction;
  severity: Severity;
}

/** What happened at one window. */
export interface StepResult {
  windowStart: number;
  windowEnd: number;
  observed: number;
  /**
   * `scored`: the statistic was computed; `warmup`: the detector is still learning its baseline;
   * `skipped`: a share window with fewer documents than `minCount` (neither scored nor learnt from).
   */
  status: 'scored' | 'warmup' | 'skipped';
  expected: number | null;
  /** The statistic in the direction(s) watched (null unless `scored`). */
  score: number | null;
  direction: Direction | null;
  /** Set when the score reached the threshold outside a cooldown. */
  detection: Detection | null;
  /** True when the score reached the threshold but a cooldown held the detection back. */
  suppressed: boolean;
}

/** Score multiples of the threshold at which a detection becomes `medium` and `high`. */
export interface SeverityLevels {
  medium: number;
  high: number;
}

/** Settings every detector takes. */
export interface CommonConfig {
  /** `volume` (default) or `share` (value is a label share, `count` its documents). */
  kind: SeriesKind;
  /** Watch increases, decreases or both (default `both`). */
  direction: 'both' | 'up' | 'down';
  /** Windows after a detection during which further detections are held back (default 0). */
  cooldown: number;
  /** Volume: the smallest scale a deviation is divided by (default 1, one document). */
  minScale: number;
  /** Volume: floor the scale at √expected, the Poisson spread of a count (default true). */
  poissonFloor: boolean;
  /** Share: windows with fewer documents are skipped (default 5). */
  minCount: number;
  /** Default `{ medium: 1.5, high: 2 }`: score ≥ 1.5 × threshold is medium, ≥ 2 × threshold high. */
  severity: SeverityLevels;
}

/** The common settings' defaults. */
export const COMMON_DEFAULTS: CommonConfig = {
  kind: 'volume',
  direction: 'both',
  cooldown: 0,
  minScale: 1,
  poissonFloor: true,
  minCount: 5,
  severity: { medium: 1.5, high: 2 },
};

/** The names of the common settings. */
export const COMMON_KEYS = ['detector', 'kind', 'direction', 'cooldown', 'minScale', 'poissonFloor', 'minCount', 'severity'] as const;

/** Reads and checks the common settings of `obj` (`prefix` names the detector in messages). */
export function parseCommon(obj: Fields, prefix: string): CommonConfig {
  const d = COMMON_DEFAULTS;
  let severity = d.severity;
  if (obj.severity !== undefined) {
    const s = asObject(obj.severity, `${prefix}.severity`);
    for (const key of Object.keys(s)) {
      if (key !== 'medium' && key !== 'high')
        throw new DetectorError('invalid_config', `${prefix}.severity.${key} is not a severity level; the levels are medium, high`, `${prefix}.severity.${key}`);
    }
    const medium = numberField(s, 'medium', `${prefix}.severity`, d.severity.medium, { min: 1 });
    const high = numberField(s, 'high', `${prefix}.severity`, Math.max(d.severity.high, medium), { min: medium });
    severity = { medium, high };
  }
  return {
    kind: choiceField(obj, 'kind', prefix, d.kind, ['volume', 'share']),
    direction: choiceField(obj, 'direction', prefix, d.direction, ['both', 'up', 'down']),
    cooldown: numberField(obj, 'cooldown', prefix, d.cooldown, { min: 0, integer: true }),
    minScale: numberField(obj, 'minScale', prefix, d.minScale, { min: 0, exclusiveMin: true }),
    poissonFloor: booleanField(obj, 'poissonFloor', prefix, d.poissonFloor),
    minCount: numberField(obj, 'minCount', prefix, d.minCount, { min: 1, integer: true }),
    severity,
  };
}

/** The severity of `score` against `threshold`. */
export function severityOf(score: number, threshold: number, levels: SeverityLevels): Severity {
  if (score >= levels.high * threshold) return 'high';
  if (score >= levels.medium * threshold) return 'medium';
  return 'low';
}

/** A detector's statistic at one window, before the common loop decides. */
export interface Assessment {
  /** The baseline (null while nothing is known). */
  expected: number | null;
  /** Non-negative statistics for an increase and a decrease. */
  up: number;
  down: number;
  /** False during warm-up: nothing can fire. */
  ready: boolean;
}

/** The saved form of a detector: `JSON.stringify(detector)` writes it, `restoreDetector` (detector.ts) reads it. */
export interface DetectorState<C = unknown, S = unknown> {
  format: 'tuna-detector';
  version: 1;
  detector: DetectorName;
  config: C;
  common: { lastStart: number | null; cooldownLeft: number };
  state: S;
}

/** The format tag of {@link DetectorState}. */
export const STATE_FORMAT = 'tuna-detector';

/**
 * The streaming loop shared by the detectors: checks each window, skips share windows with too few
 * documents, asks the detector for its statistic, decides, applies the cooldown and builds the
 * detection. Subclasses keep all their state in one JSON-able object.
 */
export abstract class StreamingDetector<C extends CommonConfig, S> {
  abstract readonly name: DetectorName;
  readonly config: Readonly<C>;
  protected state: S;
  private lastStart: number | null = null;
  private cooldownLeft = 0;

  protected constructor(config: C, state: S) {
    this.config = config;
    this.state = state;
  }

  /** The threshold the score is compared with. */
  abstract get threshold(): number;

  /** Computes the statistic for `x` (with `count` documents for shares) and learns from it. */
  protected abstract observe(x: number, count: number, point: WindowPoint): Assessment;

  /** Called after a detection (CUSUM and Page-Hinkley restart their sums here). */
  protected onDetection(_direction: Direction): void {}

  /** Standardises a deviation per the common settings. */
  protected z(observed: number, expected: number, scale: number, count: number): number {
    return standardise(observed, expected, scale, count, this.config as StandardiseOptions);
  }

  /** The scale {@link z} divides by (used to clip outliers before they enter a baseline). */
  protected scaleOf(expected: number, scale: number, count: number): number {
    return effectiveScale(expected, scale, count, this.config as StandardiseOptions);
  }

  /** Reads a saved detector's state into this one (its config was already used to build it). */
  protected abstract restoreState(state: unknown): S;

  /** @internal Loads `saved` (checked by `restoreDetector`) into this freshly built detector. */
  load(saved: { common: unknown; state: unknown }): this {
    this.restoreCommon(saved.common);
    this.state = this.restoreState(saved.state);
    return this;
  }

  /** Feeds one window; returns what the detector made of it. */
  update(point: WindowPoint): StepResult {
    const p = this.checkPoint(point);
    this.lastStart = p.start;
    const base = { windowStart: p.start, windowEnd: p.end, observed: p.value };
    const count = p.count ?? 0;
    if (this.config.kind === 'share' && count < this.config.minCount) {
      return { ...base, status: 'skipped', expected: null, score: null, direction: null, detection: null, suppressed: false };
    }
    const a = this.observe(p.value, count, p);
    if (!a.ready) {
      if (this.cooldownLeft > 0) this.cooldownLeft--;
      return { ...base, status: 'warmup', expected: a.expected, score: null, direction: null, detection: null, suppressed: false };
    }
    const watch = this.config.direction;
    const up = watch === 'down' ? 0 : a.up;
    const down = watch === 'up' ? 0 : a.down;
    const direction: Direction = up >= down ? 'up' : 'down';
    const score = Math.max(up, down);
    let detection: Detection | null = null;
    let suppressed = false;
    if (score >= this.threshold && a.expected !== null) {
      if (this.cooldownLeft > 0) {
        suppressed = true;
      } else {
        detection = {
          detector: this.name,
          windowStart: p.start,
          windowEnd: p.end,
          observed: p.value,
          expected: a.expected,
          ...(this.config.kind === 'share' ? { count } : {}),
          score,
          threshold: this.threshold,
          direction,
          severity: severityOf(score, this.threshold, this.config.severity),
        };
      }
    }
    if (this.cooldownLeft > 0) this.cooldownLeft--;
    if (detection !== null) {
      this.onDetection(direction);
      this.cooldownLeft = this.config.cooldown;
    }
    return { ...base, status: 'scored', expected: a.expected, score, direction, detection, suppressed };
  }

  /** The saved form (config and state), plain JSON. */
  toJSON(): DetectorState<C, S> {
    return {
      format: STATE_FORMAT,
      version: 1,
      detector: this.name,
      config: structuredClone(this.config) as C,
      common: { lastStart: this.lastStart, cooldownLeft: this.cooldownLeft },
      state: structuredClone(this.state),
    };
  }

  /** Restores the common part of a saved state (the subclass restores its own). */
  protected restoreCommon(common: unknown): void {
    const c = asObject(common, 'state.common');
    this.lastStart = stateNullableNumber(c, 'lastStart', 'state.common');
    this.cooldownLeft = checkNumber(stateNumber(c, 'cooldownLeft', 'state.common'), 'state.common.cooldownLeft', { min: 0, integer: true });
  }

  private checkPoint(point: WindowPoint): Required<Pick<WindowPoint, 'start' | 'end' | 'value'>> & { count?: number } {
    const p = asObject(point, 'point', 'invalid_input');
    const start = checkNumber(p.start, 'point.start', {}, 'invalid_input');
    const end = checkNumber(p.end, 'point.end', { min: start }, 'invalid_input');
    if (this.lastStart !== null && start <= this.lastStart) {
      throw new DetectorError(
        'invalid_input',
        `point.start ${new Date(start).toISOString()} is not after the previous window's start ${new Date(this.lastStart).toISOString()}; feed windows in time order, each once`,
        'point.start',
      );
    }
    if (this.config.kind === 'share') {
      const value = checkNumber(p.value, 'point.value', { min: 0, max: 1 }, 'invalid_input');
      const count = checkNumber(p.count, 'point.count', { min: 0, integer: true }, 'invalid_input');
      return { start, end, value, count };
    }
    const value = checkNumber(p.value, 'point.value', {}, 'invalid_input');
    return { start, end, value };
  }
}
