/**
 * Numenta Anomaly Benchmark (NAB) scoring: the scaled sigmoid, the probationary period, the
 * earliest detection per labelled window, false positives weighted by their distance past the
 * preceding window, one detection threshold swept and optimised over all files together, and the
 * normalisation to 0 (the null detector) – 100 (the perfect detector).
 *
 * Files are given by their row count and their anomaly windows as inclusive row-index pairs;
 * detectors' outputs as one anomaly score in [0, 1] per row, a row counting as a detection when its
 * score reaches the threshold.
 */
import { DetectorError } from './errors.js';

/** A NAB application profile: the weights of a true positive, a false positive and a missed window. */
export interface NabProfile {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's three profiles (config/profiles.json). */
export const NAB_PROFILES = {
  standard: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 1.0 },
  reward_low_FP_rate: { tpWeight: 1.0, fpWeight: 0.22, fnWeight: 1.0 },
  reward_low_FN_rate: { tpWeight: 1.0, fpWeight: 0.11, fnWeight: 2.0 },
} as const satisfies Record<string, NabProfile>;

/** The threshold above every anomaly score: no row is a detection. */
export const NAB_NO_DETECTION_THRESHOLD = 1.1;

/** σ(y) = 2 / (1 + e^{5y}) − 1, and −1 for y > 3. */
export function nabScaledSigmoid(y: number): number {
  if (y > 3) return -1;
  return 2 / (1 + Math.exp(5 * y)) - 1;
}

/** Rows at the start of a file that are never scored: min(⌊0.15 × rows⌋, 750). */
export function nabProbationaryLength(rows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/** One labelled file. */
export interface NabFile {
  name: string;
  rows: number;
  /** Anomaly windows as [first row, last row], both inclusive, in order and not overlapping. */
  windows: ReadonlyArray<readonly [number, number]>;
}

/** Row index of a scorable row's window; `NAB_OUTSIDE` for a row in no window, `NAB_PROBATION` for a probationary row. */
export const NAB_OUTSIDE = -1;
export const NAB_PROBATION = -2;

/** The weight each row of a file would earn as a detection, and which window it is in. */
export interface NabRowWeights {
  /** Inside window w: σ(−(right − i + 1) / width) × tpWeight / σ(−1). Outside: σ(y) × fpWeight (negative), y = (i − previous right) / (previous width − 1), or −fpWeight before any window. */
  weight: Float64Array;
  /** The window index, {@link NAB_OUTSIDE} or {@link NAB_PROBATION}. */
  window: Int32Array;
  /** Windows with at least one scorable row: the ones that count (as a detection or a miss). */
  counted: boolean[];
}

/** Checks a file's windows, naming the file and window. */
function checkFile(file: NabFile): void {
  if (!Number.isInteger(file.rows) || file.rows < 0) throw new DetectorError('invalid_input', `${file.name}: rows must be a whole number, got ${file.rows}`, 'rows');
  let previousEnd = -1;
  file.windows.forEach(([start, end], w) => {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start > end || start <= previousEnd || end >= file.rows) {
      throw new DetectorError(
        'invalid_input',
        `${file.name}: window ${w} [${start}, ${end}] must be whole row indices within 0..${file.rows - 1}, start ≤ end, after the previous window`,
        `windows[${w}]`,
      );
    }
    previousEnd = end;
  });
}

/** Computes {@link NabRowWeights} for `file` under `profile`. */
export function nabRowWeights(file: NabFile, profile: NabProfile): NabRowWeights {
  checkFile(file);
  const n = file.rows;
  const weight = new Float64Array(n);
  const window = new Int32Array(n);
  const counted = file.windows.map(() => false);
  const probation = nabProbationaryLength(n);
  const maxTp = nabScaledSigmoid(-1);
  let next = 0;
  let current = -1;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    if (current < 0 && next < file.windows.length && i === file.windows[next]![0]) current = next++;
    if (current >= 0) {
      const [left, right] = file.windows[current]!;
      const width = right - left + 1;
      weight[i] = (nabScaledSigmoid(-(right - i + 1) / width) * profile.tpWeight) / maxTp;
    } else {
      const y = prevRight < 0 ? 3.5 : Math.abs(prevRight - i) / (prevWidth - 1);
      weight[i] = nabScaledSigmoid(y) * profile.fpWeight;
    }
    if (i < probation) {
      window[i] = NAB_PROBATION;
    } else {
      window[i] = current >= 0 ? current : NAB_OUTSIDE;
      if (current >= 0) counted[current] = true;
    }
    if (current >= 0 && i === file.windows[current]![1]) {
      prevRight = i;
      prevWidth = file.windows[current]![1] - file.windows[current]![0] + 1;
      current = -1;
    }
  }
  return { weight, window, counted };
}

/** A file's result at one threshold. */
export interface NabFileScore {
  name: string;
  /** The raw score: earliest-detection weights of detected windows, −fnWeight per missed window, plus the false positives' (negative) weights. */
  score: number;
  /** Counted windows with a detection. */
  tp: number;
  /** Scorable detections outside every window (rows). */
  fp: number;
  /** Counted windows without a detection. */
  fn: number;
  /** Counted windows. */
  windows: number;
  /** Per window: the row of its earliest detection, or null (probationary or uncounted windows: null). */
  firstDetection: Array<number | null>;
}

/** Checks that `scores` holds one anomaly score in [0, 1] per row of `file`. */
function checkScores(file: NabFile, scores: ArrayLike<number>): void {
  if (scores.length !== file.rows) throw new DetectorError('invalid_input', `${file.name}: ${scores.length} anomaly scores for ${file.rows} rows; give one per row`, 'scores');
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!(s >= 0 && s <= 1)) throw new DetectorError('invalid_input', `${file.name}: the anomaly score of row ${i} is ${s}; scores must lie in [0, 1]`, `scores[${i}]`);
  }
}

/** Scores one file: rows whose anomaly score is at least `threshold` are detections. */
export function nabScoreFile(file: NabFile, scores: ArrayLike<number>, threshold: number, profile: NabProfile = NAB_PROFILES.standard): NabFileScore {
  checkScores(file, scores);
  const rows = nabRowWeights(file, profile);
  const first: Array<number | null> = file.windows.map(() => null);
  let fpScore = 0;
  let fp = 0;
  for (let i = 0; i < file.rows; i++) {
    if (!(scores[i]! >= threshold)) continue;
    const w = rows.window[i]!;
    if (w === NAB_PROBATION) continue;
    if (w === NAB_OUTSIDE) {
      fp++;
      fpScore += rows.weight[i]!;
    } else if (first[w] === null) {
      first[w] = i;
    }
  }
  let score = fpScore;
  let tp = 0;
  let counted = 0;
  file.windows.forEach((_, w) => {
    if (!rows.counted[w]) return;
    counted++;
    const f = first[w] ?? null;
    if (f === null) {
      score -= profile.fnWeight;
    } else {
      tp++;
      score += rows.weight[f]!;
    }
  });
  return { name: file.name, score, tp, fp, fn: counted - tp, windows: counted, firstDetection: first };
}

/** The raw score of the null detector (no detections): −fnWeight per counted window. */
export function nabNullScore(files: readonly NabFile[], profile: NabProfile = NAB_PROFILES.standard): number {
  return -profile.fnWeight * countedWindows(files, profile);
}

/** The raw score of the perfect detector (a detection at the first row of every window): tpWeight per counted window. */
export function nabPerfectScore(files: readonly NabFile[], profile: NabProfile = NAB_PROFILES.standard): number {
  return profile.tpWeight * countedWindows(files, profile);
}

function countedWindows(files: readonly NabFile[], profile: NabProfile): number {
  let n = 0;
  for (const f of files) for (const c of nabRowWeights(f, profile).counted) if (c) n++;
  return n;
}

/** 100 × (score − null) / (perfect − null). */
export function nabNormalize(score: number, nullScore: number, perfectScore: number): number {
  return (100 * (score - nullScore)) / (perfectScore - nullScore);
}

/** The corpus score at one threshold of a sweep. */
export interface NabThresholdScore {
  threshold: number;
  score: number;
}

/**
 * The corpus raw score at every threshold that changes it, from {@link NAB_NO_DETECTION_THRESHOLD}
 * (no detections) down to the lowest anomaly score: each entry's detections are the rows scoring at
 * least its threshold, in every file.
 */
export function nabSweep(files: ReadonlyArray<{ file: NabFile; scores: ArrayLike<number> }>, profile: NabProfile = NAB_PROFILES.standard): NabThresholdScore[] {
  const points: Array<{ s: number; part: number; weight: number }> = [];
  const parts: number[] = [0]; // part 0: false positives; then one per counted window
  for (const { file, scores } of files) {
    checkScores(file, scores);
    const rows = nabRowWeights(file, profile);
    const partOf = rows.counted.map((c) => (c ? parts.push(-profile.fnWeight) - 1 : -1));
    for (let i = 0; i < file.rows; i++) {
      const w = rows.window[i]!;
      if (w === NAB_PROBATION) continue;
      points.push({ s: scores[i]!, part: w === NAB_OUTSIDE ? 0 : partOf[w]!, weight: rows.weight[i]! });
    }
  }
  // Most rows of a sparse detector score 0: sort only the others, the zeros form the last group.
  const positive = points.filter((p) => p.s > 0).sort((a, b) => b.s - a.s);
  for (const p of points) if (p.s === 0) positive.push(p);
  let total = parts.reduce((a, b) => a + b, 0);
  const out: NabThresholdScore[] = [];
  let threshold = NAB_NO_DETECTION_THRESHOLD;
  for (const p of positive) {
    if (p.s !== threshold) {
      out.push({ threshold, score: total });
      threshold = p.s;
    }
    if (p.part === 0) {
      parts[0]! += p.weight;
      total += p.weight;
    } else if (p.weight > parts[p.part]!) {
      total += p.weight - parts[p.part]!;
      parts[p.part] = p.weight;
    }
  }
  out.push({ threshold, score: total });
  return out;
}

/** The threshold with the highest corpus score (the highest such threshold on a tie), as NAB's optimiser picks it. */
export function nabOptimizeThreshold(files: ReadonlyArray<{ file: NabFile; scores: ArrayLike<number> }>, profile: NabProfile = NAB_PROFILES.standard): NabThresholdScore {
  let best: NabThresholdScore | null = null;
  for (const t of nabSweep(files, profile)) if (best === null || t.score > best.score) best = t;
  return best!;
}

/** Row indices of windows given by their first and last timestamps, which must be row timestamps. */
export function nabWindowRows(name: string, timestamps: readonly number[], windows: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const index = new Map<number, number>();
  timestamps.forEach((t, i) => index.set(t, i));
  return windows.map(([a, b], w) => {
    const start = index.get(a);
    const end = index.get(b);
    if (start === undefined || end === undefined) {
      throw new DetectorError('invalid_input', `${name}: window ${w} does not start and end on row timestamps of the file`, `windows[${w}]`);
    }
    return [start, end];
  });
}
