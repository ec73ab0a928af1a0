/**
 * L2-regularised logistic regression on embeddings, as scikit-learn's LogisticRegression defines
 * it (lbfgs solver): minimise C x (sum of the examples' cross-entropy) + ||W||^2 / 2, the
 * intercepts unpenalised. Two classes: one row of coefficients and the sigmoid (the binomial model
 * scikit-learn fits for binary problems); more: one row per class and the softmax. Fitted by
 * L-BFGS with a backtracking line search, deterministic from a zero start; the objective and its
 * gradient run in ONNX Runtime in float64 (logistic-objective.ts).
 */
import { TunaError } from '../errors.js';
import { LogisticObjective } from './logistic-objective.js';

/** A fitted head. */
export interface LogisticHead {
  /** Coefficient rows: one (two classes) or one per class, each of the embedding's size. */
  readonly coef: number[][];
  readonly intercept: number[];
  /** Number of classes. */
  readonly classes: number;
}

/** Options of {@link fitLogistic}. */
export interface LogisticOptions {
  /** Inverse regularisation strength (default 1, as scikit-learn's). */
  readonly C?: number;
  /** Iterations of L-BFGS (default 1000). */
  readonly maxIter?: number;
  /** Stop when the largest gradient component is below this (default 1e-10 x examples). */
  readonly tol?: number;
  /** ONNX Runtime threads for the objective (default 1). */
  readonly threads?: number;
}

/** Class probabilities of one embedding. */
export function logisticProbabilities(head: LogisticHead, x: readonly number[]): number[] {
  const z = head.coef.map((row, k) => row.reduce((s, w, j) => s + w * x[j]!, head.intercept[k]!));
  if (head.classes === 2) {
    const p = 1 / (1 + Math.exp(-z[0]!));
    return [1 - p, p];
  }
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/**
 * Fits the head on embeddings `X` with class ids `y` (0 .. classes-1).
 *
 * @throws TunaError (`invalid_data`) when there are no examples or fewer than two classes.
 */
export async function fitLogistic(X: readonly (readonly number[])[], y: readonly number[], classes: number, opts: LogisticOptions = {}): Promise<LogisticHead> {
  if (X.length === 0 || classes < 2) throw new TunaError('invalid_data', 'logistic regression needs examples of at least two classes', { field: 'labels' });
  const tol = opts.tol ?? 1e-10 * Math.max(1, X.length);
  const objective = await LogisticObjective.create(X, y, classes, opts.C ?? 1, opts.threads ?? 1);
  try {
    return await minimise(objective, tol, opts.maxIter ?? 1000, classes);
  } finally {
    await objective.dispose();
  }
}

/** L-BFGS (20 pairs) with a backtracking Armijo line search from zero. */
async function minimise(objective: LogisticObjective, tol: number, maxIter: number, classes: number): Promise<LogisticHead> {
  const R = objective.rows;
  const D = objective.dimension;
  const n = R * (D + 1);
  let theta = new Float64Array(n);
  let g = new Float64Array(n);
  let f = await objective.evaluate(theta, g);
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  const newGrad = new Float64Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    if (g.reduce((m, v) => Math.max(m, Math.abs(v)), 0) < tol) break;
    // Two-loop recursion: the direction -H g.
    const q = Float64Array.from(g);
    const alphas: number[] = [];
    for (let h = history.length - 1; h >= 0; h--) {
      const a = history[h]!.rho * dot(history[h]!.s, q);
      alphas[h] = a;
      for (let i = 0; i < n; i++) q[i]! -= a * history[h]!.y[i]!;
    }
    const last = history.at(-1);
    const gamma = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < n; i++) q[i]! *= gamma;
    for (let h = 0; h < history.length; h++) {
      const b = history[h]!.rho * dot(history[h]!.y, q);
      for (let i = 0; i < n; i++) q[i]! += history[h]!.s[i]! * (alphas[h]! - b);
    }
    const dir = q.map((v) => -v);
    const slope = dot(g, dir);
    if (slope >= 0) break;
    let step = 1;
    let next = new Float64Array(n);
    let fNext = Infinity;
    for (let tries = 0; tries < 60; tries++) {
      next = theta.map((v, i) => v + step * dir[i]!);
      fNext = await objective.evaluate(next, newGrad);
      if (fNext <= f + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(fNext < f) && fNext !== f) break;
    const s = next.map((v, i) => v - theta[i]!);
    const yk = newGrad.map((v, i) => v - g[i]!);
    const sy = dot(s, yk);
    if (sy > 1e-20) {
      history.push({ s, y: yk, rho: 1 / sy });
      if (history.length > 20) history.shift();
    }
    theta = next;
    g = Float64Array.from(newGrad);
    const done = f - fNext <= 1e-16 * Math.max(1, Math.abs(f));
    f = fNext;
    if (done) break;
  }
  return {
    coef: Array.from({ length: R }, (_, k) => Array.from(theta.subarray(k * D, (k + 1) * D))),
    intercept: Array.from(theta.subarray(R * D)),
    classes,
  };
}
