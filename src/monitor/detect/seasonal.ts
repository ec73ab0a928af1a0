/**
 * Seasonal hour-of-week baseline: for each of the 168 hours of the week, the median and scaled MAD
 * of that hour's values in the previous `weeks` weeks; until a slot has values from `minWeeks`
 * earlier weeks, the median and MAD of the last `globalWindow` values stand in. A window fires when
 * its robust z against the baseline reaches `threshold`.
 */
import { type Assessment, COMMON_KEYS, type CommonConfig, StreamingDetector, type WindowPoint, parseCommon } from './base.js';
import { DetectorError } from './errors.js';
import { type Ring, newRing, pushRing, restoreRing } from './ring.js';
import { robustLocationScale } from './stats.js';
import { type Fields, asObject, numberField, rejectUnknown, stateNumbers } from './validate.js';

/** Slots in a week. */
export const HOURS_PER_WEEK = 168;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Seasonal settings. */
export interface SeasonalConfig extends CommonConfig {
  detector: 'seasonal';
  /** Robust z at which a window fires (default 3.5). */
  threshold: number;
  /** Earlier weeks a slot's baseline is taken over (default 4). */
  weeks: number;
  /** Earlier weeks a slot needs before its own baseline replaces the global one (default 2, at most `weeks`). */
  minWeeks: number;
  /** Most values kept per slot, the oldest dropped first (default 64: 16 windows an hour over 4 weeks). */
  slotCapacity: number;
  /** Values of the global baseline (default 168). */
  globalWindow: number;
  /** Values the global baseline needs before anything can fire (default 24, at most `globalWindow`). */
  minPoints: number;
  /** Offset of the local time the week is read in, minutes east of UTC (default 0: the week runs Monday 00:00 to Sunday 24:00 UTC). */
  utcOffsetMinutes: number;
}

/** Seasonal defaults (besides the common ones). */
export const SEASONAL_DEFAULTS = { threshold: 3.5, weeks: 4, minWeeks: 2, slotCapacity: 64, globalWindow: 168, minPoints: 24, utcOffsetMinutes: 0 } as const;

/** Reads and checks seasonal settings. */
export function parseSeasonalConfig(obj: Fields, prefix: string): SeasonalConfig {
  rejectUnknown(obj, [...COMMON_KEYS, 'threshold', 'weeks', 'minWeeks', 'slotCapacity', 'globalWindow', 'minPoints', 'utcOffsetMinutes'], prefix);
  const d = SEASONAL_DEFAULTS;
  const weeks = numberField(obj, 'weeks', prefix, d.weeks, { min: 1, max: 52, integer: true });
  const minWeeks = numberField(obj, 'minWeeks', prefix, Math.min(d.minWeeks, weeks), { min: 1, integer: true });
  if (minWeeks > weeks) throw new DetectorError('invalid_config', `${prefix}.minWeeks (${minWeeks}) must not exceed ${prefix}.weeks (${weeks})`, `${prefix}.minWeeks`);
  const globalWindow = numberField(obj, 'globalWindow', prefix, d.globalWindow, { min: 3, max: 100_000, integer: true });
  const minPoints = numberField(obj, 'minPoints', prefix, Math.min(d.minPoints, globalWindow), { min: 3, integer: true });
  if (minPoints > globalWindow)
    throw new DetectorError('invalid_config', `${prefix}.minPoints (${minPoints}) must not exceed ${prefix}.globalWindow (${globalWindow})`, `${prefix}.minPoints`);
  return {
    detector: 'seasonal',
    ...parseCommon(obj, prefix),
    threshold: numberField(obj, 'threshold', prefix, d.threshold, { min: 0, exclusiveMin: true }),
    weeks,
    minWeeks,
    slotCapacity: numberField(obj, 'slotCapacity', prefix, d.slotCapacity, { min: 1, max: 10_000, integer: true }),
    globalWindow,
    minPoints,
    utcOffsetMinutes: numberField(obj, 'utcOffsetMinutes', prefix, d.utcOffsetMinutes, { min: -1440, max: 1440, integer: true }),
  };
}

/** One hour-of-week slot: its values and the week index of each (weeks since the Monday before the epoch). */
export interface SeasonalSlot {
  values: number[];
  weeks: number[];
}

/** Seasonal state: 168 slots (Monday 00:00–01:00 first) and the global ring. */
export interface SeasonalState {
  slots: SeasonalSlot[];
  global: Ring;
}

/** The hour-of-week slot (0 = Monday 00:00–01:00) and week index of a time, read `utcOffsetMinutes` east of UTC. */
export function hourOfWeek(time: number, utcOffsetMinutes = 0): { slot: number; week: number } {
  const t = time + utcOffsetMinutes * 60_000;
  const day = Math.floor(t / DAY_MS);
  // 1970-01-01 was a Thursday: day 0 is weekday 3 counting Monday as 0.
  const weekday = (((day + 3) % 7) + 7) % 7;
  const hour = Math.floor((t - day * DAY_MS) / HOUR_MS);
  return { slot: weekday * 24 + hour, week: Math.floor((day + 3) / 7) };
}

/** The seasonal hour-of-week detector. */
export class SeasonalDetector extends StreamingDetector<SeasonalConfig, SeasonalState> {
  readonly name = 'seasonal';

  constructor(config: SeasonalConfig) {
    super(config, { slots: Array.from({ length: HOURS_PER_WEEK }, () => ({ values: [], weeks: [] })), global: newRing() });
  }

  get threshold(): number {
    return this.config.threshold;
  }

  protected observe(x: number, count: number, point: WindowPoint): Assessment {
    const { slot: slotIndex, week } = hourOfWeek(point.start, this.config.utcOffsetMinutes);
    const slot = this.state.slots[slotIndex]!;
    const earliest = week - this.config.weeks;
    const previous: number[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < slot.values.length; i++) {
      const w = slot.weeks[i]!;
      if (w >= earliest && w < week) {
        previous.push(slot.values[i]!);
        seen.add(w);
      }
    }
    let result: Assessment = { expected: null, up: 0, down: 0, ready: false };
    let baseline: number[] | null = null;
    if (seen.size >= this.config.minWeeks) baseline = previous;
    else if (this.state.global.values.length >= this.config.minPoints) baseline = this.state.global.values;
    if (baseline !== null) {
      const { location, scale } = robustLocationScale(baseline);
      const z = this.z(x, location, scale, count);
      result = { expected: location, up: Math.max(0, z), down: Math.max(0, -z), ready: true };
    }
    // Learn: drop what no later week will use, then keep at most slotCapacity values.
    let keepFrom = 0;
    while (keepFrom < slot.weeks.length && slot.weeks[keepFrom]! < earliest) keepFrom++;
    slot.values.splice(0, keepFrom);
    slot.weeks.splice(0, keepFrom);
    slot.values.push(x);
    slot.weeks.push(week);
    if (slot.values.length > this.config.slotCapacity) {
      slot.values.shift();
      slot.weeks.shift();
    }
    pushRing(this.state.global, x, this.config.globalWindow);
    return result;
  }

  protected restoreState(state: unknown): SeasonalState {
    const s = asObject(state, 'state.state');
    if (!Array.isArray(s.slots) || s.slots.length !== HOURS_PER_WEEK) {
      throw new DetectorError('invalid_config', `state.state.slots must be an array of ${HOURS_PER_WEEK} hour-of-week slots`, 'state.state.slots');
    }
    const slots = s.slots.map((raw, i) => {
      const field = `state.state.slots[${i}]`;
      const o = asObject(raw, field);
      const values = stateNumbers(o, 'values', field, this.config.slotCapacity);
      const weeks = stateNumbers(o, 'weeks', field, this.config.slotCapacity);
      if (weeks.length !== values.length) throw new DetectorError('invalid_config', `${field}.weeks must give one week per value`, `${field}.weeks`);
      return { values: [...values], weeks: [...weeks] };
    });
    return { slots, global: restoreRing(s.global, 'state.state.global', this.config.globalWindow) };
  }
}
