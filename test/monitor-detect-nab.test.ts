/**
 * NAB scoring against numbers worked out by hand from NAB's formula on a tiny labelled file, and
 * its bounds (null detector 0, perfect detector 100) over several files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NAB_NO_DETECTION_THRESHOLD,
  NAB_PROFILES,
  type NabFile,
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
} from '../src/monitor/index.js';

const close = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} ≠ ${expected}`);

// 20 rows: probation = min(⌊0.15 × 20⌋, 750) = 3 rows (0, 1, 2).
// Window A = rows 5..9 (width 5), window B = rows 14..15 (width 2).
const FILE: NabFile = {
  name: 'tiny.csv',
  rows: 20,
  windows: [
    [5, 9],
    [14, 15],
  ],
};

describe('NAB standard profile by hand', () => {
  it('the scaled sigmoid and the probationary period', () => {
    // σ(−1) = 2 / (1 + e^−5) − 1 = 2 / 1.006737947 − 1 = 0.986614298
    close(nabScaledSigmoid(-1), 0.9866142981514305, 'σ(−1)');
    close(nabScaledSigmoid(0), 0, 'σ(0)');
    assert.equal(nabScaledSigmoid(3.01), -1);
    assert.equal(nabProbationaryLength(20), 3);
    assert.equal(nabProbationaryLength(15_902), 750);
    assert.equal(nabRowWeights(FILE, NAB_PROFILES.standard).window[2], NAB_PROBATION);
  });

  it('one threshold: earliest detection per window, distance-weighted false positives, misses, probation ignored', () => {
    // Detections at rows 1, 4, 7, 8, 11.
    //  row 1: probationary, ignored.
    //  row 4: a false positive before any window: −A_FP = −0.11.
    //  row 7: earliest in A: y = −(9 − 7 + 1)/5 = −0.6; σ(−0.6) = 2/(1 + e^−3) − 1 = 2/1.049787068 − 1 = 0.905148254;
    //         × A_TP / σ(−1) = 0.905148254 / 0.986614298 = 0.917428680.
    //  row 8: later in A, neither adds nor subtracts.
    //  row 11: a false positive after A: y = |9 − 11| / (5 − 1) = 0.5; σ(0.5) = 2/(1 + e^2.5) − 1 = 2/13.182493961 − 1 = −0.848283640;
    //          × A_FP = −0.093311200.
    //  window B: missed, −A_FN = −1.
    // Raw = 0.917428680 − 0.11 − 0.093311200 − 1 = −0.285882520.
    // Null = −2 (both windows missed), perfect = +2; normalised = 100 × (−0.285882520 + 2) / (2 + 2) = 42.852937.
    const scores = new Array(20).fill(0);
    for (const i of [1, 4, 7, 8, 11]) scores[i] = 1;
    const r = nabScoreFile(FILE, scores, 0.5);
    close(r.score, -0.28588252, 'raw score');
    assert.deepEqual({ tp: r.tp, fp: r.fp, fn: r.fn, windows: r.windows }, { tp: 1, fp: 2, fn: 1, windows: 2 });
    assert.deepEqual(r.firstDetection, [7, null]);
    assert.equal(nabNullScore([FILE]), -2);
    assert.equal(nabPerfectScore([FILE]), 2);
    close(nabNormalize(r.score, -2, 2), 42.852937, 'normalised');
    // The perfect detector (first row of each window) earns exactly A_TP per window.
    const perfect = new Array(20).fill(0);
    perfect[5] = 1;
    perfect[14] = 1;
    close(nabScoreFile(FILE, perfect, 0.5).score, 2, 'perfect');
  });

  it('the threshold sweep and its optimum', () => {
    // Anomaly scores: row 8 → 0.9, row 11 → 0.8, row 7 → 0.6, row 15 → 0.5, row 4 → 0.3, others 0.
    //  1.1 (nothing):  −2.
    //  0.9: row 8 in A: y = −(9 − 8 + 1)/5 = −0.4; σ(−0.4) = 2/(1 + e^−2) − 1 = 0.761594156; / σ(−1) = 0.771926940;
    //       A goes from −1 to 0.771926940: 0.771926940 (A) − 1 (B) = −0.228073060.
    //  0.8: + row 11 (−0.093311200) = −0.321384260.
    //  0.6: row 7 beats row 8 in A: + (0.917428680 − 0.771926940) = −0.175882520.
    //  0.5: row 15 in B: y = −(15 − 15 + 1)/2 = −0.5; σ(−0.5) = 2/(1 + e^−2.5) − 1 = 0.848283640; / σ(−1) = 0.859792567;
    //       B goes from −1 to 0.859792567: −0.175882520 + 1.859792567 = 1.683910047.
    //  0.3: + row 4 (−0.11) = 1.573910047.
    // Best: threshold 0.5, raw 1.683910047.
    const scores = new Array(20).fill(0);
    scores[8] = 0.9;
    scores[11] = 0.8;
    scores[7] = 0.6;
    scores[15] = 0.5;
    scores[4] = 0.3;
    const sweep = nabSweep([{ file: FILE, scores }]);
    const expected = [
      [NAB_NO_DETECTION_THRESHOLD, -2],
      [0.9, -0.22807306],
      [0.8, -0.32138426],
      [0.6, -0.17588252],
      [0.5, 1.683910047],
      [0.3, 1.573910047],
    ] as const;
    expected.forEach(([t, s], i) => {
      assert.equal(sweep[i]!.threshold, t);
      close(sweep[i]!.score, s, `score at ${t}`);
    });
    assert.equal(sweep.length, 7); // and threshold 0: every scorable row a detection
    const best = nabOptimizeThreshold([{ file: FILE, scores }]);
    assert.equal(best.threshold, 0.5);
    close(best.score, 1.683910047, 'best');
    // Scoring the file at the chosen threshold gives the sweep's number.
    close(nabScoreFile(FILE, scores, best.threshold).score, best.score, 'file at best');
  });

  it('refuses scores outside [0, 1] and windows off the file, naming them', () => {
    const scores = new Array(20).fill(0);
    scores[3] = 2;
    assert.throws(() => nabScoreFile(FILE, scores, 0.5), /row 3 is 2/);
    assert.throws(() => nabScoreFile({ ...FILE, windows: [[5, 25]] }, new Array(20).fill(0), 0.5), /window 0 \[5, 25\]/);
    assert.throws(() => nabWindowRows('f.csv', [0, 300, 600], [[300, 900]]), /f\.csv: window 0/);
  });
});

describe('NAB over several files', () => {
  it('null scores 0 and a detection at every window start scores 100; one threshold serves all files', () => {
    const files: NabFile[] = [
      FILE,
      {
        name: 'b.csv',
        rows: 40,
        windows: [
          [10, 14],
          [20, 29],
          [35, 39],
        ],
      },
      { name: 'c.csv', rows: 30, windows: [] },
    ];
    assert.equal(nabNullScore(files), -5);
    assert.equal(nabPerfectScore(files), 5);
    const perfect = files.map((file) => {
      const scores = new Float64Array(file.rows);
      for (const [start] of file.windows) scores[start] = 0.7;
      return { file, scores };
    });
    const best = nabOptimizeThreshold(perfect);
    assert.equal(best.threshold, 0.7);
    close(nabNormalize(best.score, -5, 5), 100, 'perfect');
    const none = files.map((file) => ({ file, scores: new Float64Array(file.rows) }));
    // The null detector's raw score is the sweep's first entry (no detections). (Its other entry,
    // threshold 0, makes every row a detection, which on files this small beats missing everything.)
    assert.equal(nabSweep(none)[0]!.threshold, NAB_NO_DETECTION_THRESHOLD);
    assert.equal(nabNormalize(nabSweep(none)[0]!.score, -5, 5), 0);
    // A false positive in the window-less file costs the full A_FP at every threshold that admits it.
    perfect[2]!.scores[20] = 0.9;
    const sweep = nabSweep(perfect);
    close(sweep[1]!.score, -5 - 0.11, 'one far false positive');
  });
});
