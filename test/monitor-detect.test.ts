/**
 * The change detectors on synthetic series with known change points (level shift, spike, variance
 * change, slow drift, weekly seasonality with a shift, label shares): each fires within a bounded
 * delay and stays (nearly) quiet on stationary noise; saved states resume with identical outputs;
 * settings and inputs are checked with errors that name the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DETECTOR_NAMES,
  DetectorError,
  type DetectorName,
  type StepResult,
  createDetector,
  hourOfWeek,
  median,
  restoreDetector,
  robustLocationScale,
} from '../src/monitor/index.js';

/** A seeded uniform generator (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a seeded generator. */
function normal(seed: number): () => number {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const HOUR = 3_600_000;
/** Monday 2026-01-05 00:00 UTC. */
const T0 = Date.UTC(2026, 0, 5);

function run(detector: DetectorName, values: readonly number[], settings: Record<string, unknown> = {}): StepResult[] {
  const d = createDetector({ detector, ...settings });
  return values.map((value, i) => d.update({ start: T0 + i * HOUR, end: T0 + (i + 1) * HOUR, value }));
}

function fired(results: readonly StepResult[]): number[] {
  return results.flatMap((r, i) => (r.detection !== null ? [i] : []));
}

/** Windows from `change` to the first detection at or after it (Infinity when none). */
function delay(results: readonly StepResult[], change: number): number {
  const first = fired(results).find((i) => i >= change);
  return first === undefined ? Number.POSITIVE_INFINITY : first - change;
}

function series(n: number, seed: number, f: (i: number, noise: number) => number): number[] {
  const g = normal(seed);
  return Array.from({ length: n }, (_, i) => f(i, g()));
}

const CHANGE = 1500;
const N = 2000;

describe('stationary noise', () => {
  // N(100, 10²), 2000 windows, 5 seeds. Nominal |z| > 3 rate is 0.27% (5.4 per 2000); the bounds
  // leave room for estimation noise in the baselines.
  const bounds: Record<DetectorName, number> = { ewma: 15, 'robust-z': 6, 'page-hinkley': 4, cusum: 8, seasonal: 12 };
  for (const name of DETECTOR_NAMES) {
    it(`${name} raises at most ${bounds[name]} false alarms in 2000 windows`, () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const results = run(
          name,
          series(N, seed, (_, e) => 100 + 10 * e),
        );
        assert.ok(fired(results).length <= bounds[name], `${name} seed ${seed}: ${fired(results).length} false alarms`);
      }
    });
  }
});

describe('known change points', () => {
  it('a level shift of +4σ is detected by every detector within 5 windows, upwards', () => {
    for (const name of DETECTOR_NAMES) {
      const results = run(
        name,
        series(N, 7, (i, e) => 100 + 10 * e + (i >= CHANGE ? 40 : 0)),
      );
      const d = delay(results, CHANGE);
      assert.ok(d <= 5, `${name}: delay ${d}`);
      const detection = results[CHANGE + d]!.detection!;
      assert.equal(detection.direction, 'up', name);
      assert.equal(detection.detector, name);
      assert.ok(detection.observed > detection.expected, name);
    }
  });

  it('a level drop of −4σ is detected downwards within 5 windows', () => {
    for (const name of DETECTOR_NAMES) {
      const results = run(
        name,
        series(N, 8, (i, e) => 100 + 10 * e - (i >= CHANGE ? 40 : 0)),
      );
      const d = delay(results, CHANGE);
      assert.ok(d <= 5, `${name}: delay ${d}`);
      assert.equal(results[CHANGE + d]!.detection!.direction, 'down', name);
    }
  });

  it('a single spike of +10σ is detected at its own window by every detector', () => {
    for (const name of DETECTOR_NAMES) {
      const results = run(
        name,
        series(N, 9, (i, e) => 100 + 10 * e + (i === CHANGE ? 100 : 0)),
      );
      assert.ok(results[CHANGE]!.detection !== null, name);
      assert.equal(results[CHANGE]!.detection!.severity, name === 'ewma' || name === 'robust-z' || name === 'seasonal' ? 'high' : results[CHANGE]!.detection!.severity);
    }
  });

  it('a variance change (σ 10 → 40) is detected within 20 windows by every detector', () => {
    for (const name of DETECTOR_NAMES) {
      const results = run(
        name,
        series(N, 10, (i, e) => 100 + (i >= CHANGE ? 40 : 10) * e),
      );
      const d = delay(results, CHANGE);
      assert.ok(d <= 20, `${name}: delay ${d}`);
    }
  });

  it('a slow drift (+0.05σ a window) is caught by CUSUM, Page-Hinkley and seasonal within 60 windows; EWMA and robust z follow it', () => {
    const values = series(N, 11, (i, e) => 100 + 10 * e + (i >= CHANGE ? 0.5 * (i - CHANGE) : 0));
    for (const name of ['cusum', 'page-hinkley', 'seasonal'] as const) {
      const d = delay(run(name, values), CHANGE);
      assert.ok(d <= 60, `${name}: delay ${d}`);
    }
    // The adaptive baselines track a drift this slow: no more alarms than on noise.
    for (const name of ['ewma', 'robust-z'] as const) {
      assert.ok(fired(run(name, values)).filter((i) => i >= CHANGE).length <= 4, name);
    }
  });

  it('weekly seasonality: the seasonal detector stays nearly quiet through 8 weeks of a daily and weekend pattern and catches a +60 shift at once', () => {
    const week = 24 * 7;
    const change = 8 * week + 50; // a Wednesday, 02:00
    const pattern = (i: number) => (Math.floor(i / 24) % 7 >= 5 ? 0.5 : 1) * (200 + 120 * Math.sin((2 * Math.PI * (i % 24)) / 24));
    const values = series(10 * week, 12, (i, e) => pattern(i) + 8 * e + (i >= change ? 60 : 0));
    const seasonal = run('seasonal', values);
    // One false alarm (week 6, a 3σ noise draw against a slot median of 4 values) in 1394 windows.
    assert.ok(fired(seasonal).filter((i) => i < change).length <= 2);
    assert.ok(delay(seasonal, change) <= 1, `delay ${delay(seasonal, change)}`);
    // It learnt per-slot baselines: after two weeks the expectation follows the pattern.
    const r = seasonal[change - 10]!;
    assert.ok(Math.abs(r.expected! - pattern(change - 10)) < 20, `expected ${r.expected} vs pattern ${pattern(change - 10)}`);
    // The same shift drowns in the pattern for the non-seasonal robust z (its spread is the pattern's).
    assert.ok(delay(run('robust-z', values), change) > 24);
  });
});

describe('label shares', () => {
  function binomialShares(n: number, seed: number, p: (i: number) => number, docs: (i: number) => number) {
    const u = uniform(seed);
    return Array.from({ length: n }, (_, i) => {
      const count = docs(i);
      let k = 0;
      for (let j = 0; j < count; j++) if (u() < p(i)) k++;
      return { value: count === 0 ? 0 : k / count, count };
    });
  }
  function runShares(name: DetectorName, points: ReadonlyArray<{ value: number; count: number }>, settings: Record<string, unknown> = {}) {
    const d = createDetector({ detector: name, kind: 'share', ...settings });
    return points.map((p, i) => d.update({ start: T0 + i * HOUR, end: T0 + (i + 1) * HOUR, ...p }));
  }

  it('a share shift 30% → 45% over 200 documents a window is detected within 3 windows, with few false alarms before', () => {
    const points = binomialShares(
      N,
      21,
      (i) => (i >= CHANGE ? 0.45 : 0.3),
      () => 200,
    );
    for (const name of DETECTOR_NAMES) {
      const results = runShares(name, points);
      // Nominal: 0.27% of 1500 windows beyond 3σ, 4 false alarms.
      assert.ok(fired(results).filter((i) => i < CHANGE).length <= 8, `${name}: ${fired(results).filter((i) => i < CHANGE).length} false alarms`);
      const d = delay(results, CHANGE);
      assert.ok(d <= 3, `${name}: delay ${d}`);
      const detection = results[CHANGE + d]!.detection!;
      assert.equal(detection.direction, 'up');
      assert.equal(detection.count, 200);
      assert.ok(Math.abs(detection.expected - 0.3) < 0.03, `${name}: expected ${detection.expected}`);
    }
  });

  it('windows of 3 documents do not fire even at shares of 0 or 1 (binomial standardisation), and are skipped under minCount', () => {
    // 2000 windows of 200 documents at 30% interleaved with windows of 3 documents at 95%.
    const points = binomialShares(
      N,
      22,
      (i) => (i % 10 === 9 ? 0.95 : 0.3),
      (i) => (i % 10 === 9 ? 3 : 200),
    );
    for (const name of ['ewma', 'robust-z', 'seasonal'] as const) {
      const results = runShares(name, points, { minCount: 1 });
      const small = results.filter((_, i) => i % 10 === 9 && i > 200);
      assert.ok(
        small.every((r) => r.status === 'scored' && r.detection === null),
        name,
      );
      // z of p̂ = 1 over 3 documents at p0 = 0.3: (0.7 − 1/6) / √(0.21 / 3) = 2.02, under every
      // threshold (the seasonal slots' p0 also take in some of the small windows' shares).
      assert.ok(Math.max(...small.map((r) => r.score!)) < 2.5, name);
      // With the default minCount (5) they are skipped, not learnt from.
      assert.ok(runShares(name, points).every((r, i) => (i % 10 === 9 ? r.status === 'skipped' : r.status !== 'skipped')));
    }
    // The same 95% over 200 documents fires at once.
    const big = binomialShares(
      400,
      23,
      (i) => (i === 300 ? 0.95 : 0.3),
      () => 200,
    );
    assert.ok(runShares('ewma', big)[300]!.detection !== null);
  });
});

describe('cooldown, direction and severity', () => {
  it('cooldown holds back detections for the configured windows and marks them suppressed', () => {
    const values = series(N, 31, (i, e) => 100 + 10 * e + (i >= CHANGE ? 80 : 0));
    const plain = run('robust-z', values);
    const cooled = run('robust-z', values, { cooldown: 10 });
    const first = fired(cooled)[0]!;
    assert.equal(first, fired(plain)[0]);
    assert.ok(fired(cooled).every((i, j, all) => j === 0 || i - all[j - 1]! > 10));
    assert.ok(cooled.slice(first + 1, first + 11).some((r) => r.suppressed));
  });

  it('direction "up" ignores drops; severity grows with the score', () => {
    const values = series(N, 32, (i, e) => 100 + 10 * e + (i === 1200 ? -60 : 0) + (i === 1300 ? 35 : 0) + (i === 1400 ? 70 : 0));
    const results = run('ewma', values, { direction: 'up', clip: 2 });
    assert.equal(results[1200]!.detection, null);
    assert.equal(results[1300]!.detection?.severity, 'low');
    assert.equal(results[1400]!.detection?.severity, 'high');
  });
});

describe('saved state', () => {
  const settings: Record<DetectorName, Record<string, unknown>> = {
    ewma: { cooldown: 3 },
    'robust-z': { window: 30 },
    'page-hinkley': { forgetting: 0.999 },
    cusum: { k: 0.25, h: 4 },
    seasonal: { minWeeks: 1, utcOffsetMinutes: 60 },
  };
  for (const name of DETECTOR_NAMES) {
    it(`${name}: a detector restored from JSON text gives the same results from there on`, () => {
      const values = series(3000, 41, (i, e) => 100 + 10 * e + 30 * Math.sin(i / 20) + (i % 700 === 0 ? 90 : 0));
      const d = createDetector({ detector: name, ...settings[name] });
      values.slice(0, 1700).forEach((value, i) => d.update({ start: T0 + i * HOUR, end: T0 + (i + 1) * HOUR, value }));
      const text = JSON.stringify(d);
      const resumed = restoreDetector(text);
      assert.deepEqual(resumed.config, d.config);
      assert.equal(JSON.stringify(resumed), text);
      const a: StepResult[] = [];
      const b: StepResult[] = [];
      for (let i = 1700; i < values.length; i++) {
        const point = { start: T0 + i * HOUR, end: T0 + (i + 1) * HOUR, value: values[i]! };
        a.push(d.update(point));
        b.push(resumed.update(point));
      }
      assert.deepEqual(b, a);
      assert.ok(fired(a).length > 0, 'the continuation holds detections');
      // Order is kept across the restore: the last window cannot be fed again.
      assert.throws(
        () => restoreDetector(text).update({ start: T0 + 1699 * HOUR, end: T0 + 1700 * HOUR, value: 1 }),
        (e: DetectorError) => e.field === 'point.start',
      );
    });
  }

  it('a damaged state is refused, naming the field', () => {
    const d = createDetector({ detector: 'robust-z', window: 5 });
    for (let i = 0; i < 8; i++) d.update({ start: T0 + i * HOUR, end: T0 + (i + 1) * HOUR, value: i });
    const saved = d.toJSON() as unknown as Record<string, Record<string, unknown>>;
    const field = (mutate: (s: typeof saved) => void) => {
      const s = structuredClone(saved);
      mutate(s);
      try {
        restoreDetector(s);
      } catch (e) {
        assert.ok(e instanceof DetectorError);
        assert.equal(e.code, 'invalid_config');
        return e.field;
      }
      return 'accepted';
    };
    assert.equal(
      field((s) => void (s.format = 'x' as never)),
      'state.format',
    );
    assert.equal(
      field((s) => void (s.version = 2 as never)),
      'state.version',
    );
    assert.equal(
      field((s) => void (s.config!.window = 0)),
      'state.config.window',
    );
    assert.equal(
      field((s) => void ((s.state!.recent as { values: unknown[] }).values[2] = 'x')),
      'state.state.recent.values[2]',
    );
    assert.equal(
      field((s) => void ((s.state!.recent as { values: number[] }).values = [1, 2, 3, 4, 5, 6])),
      'state.state.recent.values',
    );
    assert.equal(
      field((s) => void (s.common!.cooldownLeft = -1)),
      'state.common.cooldownLeft',
    );
    assert.throws(
      () => restoreDetector('{not json'),
      (e: DetectorError) => e.field === 'state',
    );
  });
});

describe('settings and inputs', () => {
  const refusal = (settings: unknown, field?: string) => {
    try {
      createDetector(settings, field);
    } catch (e) {
      assert.ok(e instanceof DetectorError, String(e));
      assert.equal(e.code, 'invalid_config');
      return { field: e.field, message: e.message };
    }
    return { field: 'accepted', message: '' };
  };

  it('names the field of a bad setting', () => {
    assert.deepEqual(refusal({ detector: 'ewma', alpha: 2 }), { field: 'ewma.alpha', message: 'ewma.alpha must be at most 1, got 2' });
    assert.equal(refusal({ detector: 'ewma', alpha: 0 }).field, 'ewma.alpha');
    assert.equal(refusal({ detector: 'ewma', warmup: 2.5 }).field, 'ewma.warmup');
    assert.equal(refusal({ detector: 'cusum', h: -1 }).field, 'cusum.h');
    assert.equal(refusal({ detector: 'page-hinkley', lambda: 'big' }).field, 'page-hinkley.lambda');
    assert.equal(refusal({ detector: 'robust-z', window: 10, minPoints: 20 }).field, 'robust-z.minPoints');
    assert.equal(refusal({ detector: 'seasonal', weeks: 2, minWeeks: 3 }).field, 'seasonal.minWeeks');
    assert.equal(refusal({ detector: 'seasonal', utcOffsetMinutes: 2000 }).field, 'seasonal.utcOffsetMinutes');
    assert.equal(refusal({ detector: 'ewma', kind: 'ratio' }).field, 'ewma.kind');
    assert.equal(refusal({ detector: 'ewma', severity: { medium: 3, high: 2 } }).field, 'ewma.severity.high');
    assert.match(refusal({ detector: 'ewma', treshold: 3 }).message, /ewma\.treshold is not a setting of this detector; the settings are .*threshold/);
    assert.equal(refusal({ detector: 'arima' }).field, 'detector settings.detector');
    assert.equal(refusal({}).field, 'detector.detector');
    assert.equal(refusal({ detector: 'cusum', k: -1 }, 'detectors[2]').field, 'detectors[2].k');
    assert.equal(refusal(null).field, 'detector settings');
  });

  it('fills in the defaults', () => {
    const d = createDetector({ detector: 'cusum' });
    assert.equal(d.config.detector, 'cusum');
    assert.deepEqual(
      { ...d.config },
      {
        detector: 'cusum',
        kind: 'volume',
        direction: 'both',
        cooldown: 0,
        minScale: 1,
        poissonFloor: true,
        minCount: 5,
        severity: { medium: 1.5, high: 2 },
        k: 0.5,
        h: 5,
        alpha: 0.02,
        warmup: 30,
        clip: 3,
      },
    );
  });

  it('refuses windows out of order and share windows without a count, naming the field', () => {
    const d = createDetector({ detector: 'ewma' });
    d.update({ start: T0, end: T0 + HOUR, value: 1 });
    assert.throws(
      () => d.update({ start: T0, end: T0 + HOUR, value: 1 }),
      (e: DetectorError) => e.code === 'invalid_input' && e.field === 'point.start',
    );
    assert.throws(
      () => d.update({ start: T0 + HOUR, end: T0, value: 1 }),
      (e: DetectorError) => e.field === 'point.end',
    );
    assert.throws(
      () => d.update({ start: T0 + HOUR, end: T0 + 2 * HOUR, value: Number.NaN }),
      (e: DetectorError) => e.field === 'point.value',
    );
    const s = createDetector({ detector: 'ewma', kind: 'share' });
    assert.throws(
      () => s.update({ start: T0, end: T0 + HOUR, value: 0.5 }),
      (e: DetectorError) => e.field === 'point.count',
    );
    assert.throws(
      () => s.update({ start: T0, end: T0 + HOUR, value: 1.5, count: 3 }),
      (e: DetectorError) => e.field === 'point.value',
    );
  });

  it('median and scaled MAD', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([5, 5, 1, 5]), 5);
    assert.ok(Number.isNaN(median([])));
    // |x − 3| = 2, 1, 0, 1, 97 → MAD 1 → scale 1.4826.
    assert.deepEqual(robustLocationScale([1, 2, 3, 4, 100]), { location: 3, scale: 1.4826 });
  });

  it('hour-of-week slots start on Monday 00:00 in the configured offset', () => {
    assert.equal(hourOfWeek(T0).slot, 0);
    assert.equal(hourOfWeek(T0 - HOUR).slot, 167);
    assert.equal(hourOfWeek(T0 - HOUR).week + 1, hourOfWeek(T0).week);
    assert.equal(hourOfWeek(T0 + 2 * 24 * HOUR + 5 * HOUR + 59 * 60_000).slot, 2 * 24 + 5);
    // 23:30 UTC Sunday is Monday 01:30 at UTC+2.
    assert.equal(hourOfWeek(T0 - 30 * 60_000, 120).slot, 1);
  });
});
