/** Streaming change detectors over windowed series (volume, label share) and NAB scoring. */
export {
  type Assessment,
  COMMON_DEFAULTS,
  type CommonConfig,
  DETECTOR_NAMES,
  type Detection,
  type DetectorName,
  type DetectorState,
  type Direction,
  type Severity,
  type SeverityLevels,
  type StepResult,
  type WindowPoint,
  severityOf,
} from './base.js';
export { CUSUM_DEFAULTS, type CusumConfig, CusumDetector, type CusumState } from './cusum.js';
export { type ChangeDetector, type DetectorConfig, type DetectorSettings, createDetector, parseDetectorConfig, restoreDetector } from './detector.js';
export { DetectorError, type DetectorErrorCode } from './errors.js';
export { EWMA_DEFAULTS, type EwmaConfig, EwmaDetector, type EwmaState } from './ewma.js';
export { PAGE_HINKLEY_DEFAULTS, type PageHinkleyConfig, PageHinkleyDetector, type PageHinkleyState } from './page-hinkley.js';
export { ROBUST_Z_DEFAULTS, type RobustZConfig, RobustZDetector, type RobustZState } from './robust-z.js';
export { HOURS_PER_WEEK, SEASONAL_DEFAULTS, type SeasonalConfig, SeasonalDetector, type SeasonalSlot, type SeasonalState, hourOfWeek } from './seasonal.js';
export { MAD_SCALE, type SeriesKind, effectiveScale, median, robustLocationScale, standardise } from './stats.js';
export {
  NAB_NO_DETECTION_THRESHOLD,
  NAB_PROFILES,
  type NabFile,
  type NabFileScore,
  type NabProfile,
  type NabRowWeights,
  type NabThresholdScore,
  NAB_OUTSIDE,
  NAB_PROBATION,
  nabNormalize,
  nabNullScore,
  nabOptimizeThreshold,
  nabPerfectScore,
  nabProbationaryLength,
  nabRowWeights,
  nabScaledSigmoid,
  nabScoreFile,
  nabSweep,
  nabWindowRows,
} from './nab.js';
