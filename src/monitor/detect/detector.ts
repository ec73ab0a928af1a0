/** Building detectors from settings, and restoring them from their saved state. */
import { DETECTOR_NAMES, type DetectorName, type DetectorState, STATE_FORMAT, type StepResult, type WindowPoint } from './base.js';
import { type CusumConfig, CusumDetector, parseCusumConfig } from './cusum.js';
import { DetectorError } from './errors.js';
import { type EwmaConfig, EwmaDetector, parseEwmaConfig } from './ewma.js';
import { type PageHinkleyConfig, PageHinkleyDetector, parsePageHinkleyConfig } from './page-hinkley.js';
import { type RobustZConfig, RobustZDetector, parseRobustZConfig } from './robust-z.js';
import { type SeasonalConfig, SeasonalDetector, parseSeasonalConfig } from './seasonal.js';
import { asObject, choiceField, describe } from './validate.js';

/** A detector's full settings (every field filled in). */
export type DetectorConfig = EwmaConfig | RobustZConfig | PageHinkleyConfig | CusumConfig | SeasonalConfig;

/** Settings as a user writes them: `detector` and any fields to change from the defaults. */
export type DetectorSettings = { detector: DetectorName } & Partial<Omit<DetectorConfig, 'detector'>> & Record<string, unknown>;

/** What every detector offers. */
export interface ChangeDetector {
  readonly name: DetectorName;
  readonly config: Readonly<DetectorConfig>;
  /** The threshold the score is compared with. */
  readonly threshold: number;
  /** Feeds one window, in time order. */
  update(point: WindowPoint): StepResult;
  /** The saved form, plain JSON: persist `JSON.stringify(detector)` and resume with {@link restoreDetector}. */
  toJSON(): DetectorState;
}

/**
 * Checks `settings` and fills in the defaults. `field` names the settings object in messages
 * (default: the detector's name, as in `ewma.alpha must be at most 1, got 2`).
 */
export function parseDetectorConfig(settings: unknown, field?: string): DetectorConfig {
  const obj = asObject(settings, field ?? 'detector settings');
  if (obj.detector === undefined) {
    throw new DetectorError('invalid_config', `${field ?? 'detector settings'}.detector is missing; give one of ${DETECTOR_NAMES.join(', ')}`, `${field ?? 'detector'}.detector`);
  }
  const name = choiceField(obj, 'detector', field ?? 'detector settings', 'ewma', DETECTOR_NAMES);
  const prefix = field ?? name;
  switch (name) {
    case 'ewma':
      return parseEwmaConfig(obj, prefix);
    case 'robust-z':
      return parseRobustZConfig(obj, prefix);
    case 'page-hinkley':
      return parsePageHinkleyConfig(obj, prefix);
    case 'cusum':
      return parseCusumConfig(obj, prefix);
    case 'seasonal':
      return parseSeasonalConfig(obj, prefix);
  }
}

function build(config: DetectorConfig): EwmaDetector | RobustZDetector | PageHinkleyDetector | CusumDetector | SeasonalDetector {
  switch (config.detector) {
    case 'ewma':
      return new EwmaDetector(config);
    case 'robust-z':
      return new RobustZDetector(config);
    case 'page-hinkley':
      return new PageHinkleyDetector(config);
    case 'cusum':
      return new CusumDetector(config);
    case 'seasonal':
      return new SeasonalDetector(config);
  }
}

/** A fresh detector from `settings` (see {@link parseDetectorConfig}). */
export function createDetector(settings: unknown, field?: string): ChangeDetector {
  return build(parseDetectorConfig(settings, field)) as ChangeDetector;
}

/**
 * A detector resumed from its saved form (`detector.toJSON()`, possibly through JSON text): it
 * gives the same results from there on as the detector that was saved.
 */
export function restoreDetector(saved: unknown): ChangeDetector {
  const s = asObject(typeof saved === 'string' ? parseJson(saved) : saved, 'state');
  if (s.format !== STATE_FORMAT)
    throw new DetectorError('invalid_config', `state.format must be '${STATE_FORMAT}', got ${describe(s.format)}: this is not a saved detector`, 'state.format');
  if (s.version !== 1) throw new DetectorError('invalid_config', `state.version ${describe(s.version)} is not one this tuna reads (1)`, 'state.version');
  const name = choiceField(s, 'detector', 'state', 'ewma', DETECTOR_NAMES);
  const config = parseDetectorConfig(s.config, 'state.config');
  if (config.detector !== name) throw new DetectorError('invalid_config', `state.detector '${name}' does not match state.config.detector '${config.detector}'`, 'state.detector');
  return build(config).load({ common: s.common, state: s.state }) as ChangeDetector;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DetectorError('invalid_config', `a saved detector state is not valid JSON (${(e as Error).message})`, 'state');
  }
}
