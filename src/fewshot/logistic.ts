/**
 * L2-regularised logistic regression on embeddings, as scikit-learn's LogisticRegression defines
 * it (lbfgs solver): minimise C x (sum of the examples' cross-entropy) + ||W||^2 / 2, the
 * intercepts unpenalised. Two classes: one row of coefficients and the sigmoid (the binomial model
 * scikit-learn fits for binary problems); more: one row per class and the softmax. Fitted by
 * L-BFGS with a backtracking line search, deterministic from a zero start.
 */
import { TunaError } from '../errors.js';

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

/** Objective and gradient at the flat parameters `theta` (rows x (D + 1): coefficients, then intercepts). */
function objective(theta: Float64Array, X: readonly (readonly number[])[], y: readonly number[], R: number, D: number, C: number, grad: Float64Array): number {
  grad.fill(0);
  let f = 0;
  const z = new Float64Array(R);
  for (let i = 0; i < X.length; i++) {
    const x = X[i]!;
    for (let k = 0; k < R; k++) {
      let s = theta[R * D + k]!;
      for (let j = 0; j < D; j++) s += theta[k * D + j]! * x[j]!;
      z[k] = s;
    }
    const dz = new Float64Array(R);
    if (R === 1) {
      const t = y[i] === 1 ? 1 : 0;
      // log(1 + exp(-z)) for t = 1, log(1 + exp(z)) for t = 0, computed stably.
      const m = t === 1 ? -z[0]! : z[0]!;
      f += C * (Math.max(m, 0) + Math.log1p(Math.exp(-Math.abs(m))));
      dz[0] = C * (1 / (1 + Math.exp(-z[0]!)) - t);
    } else {
      let m = -Infinity;
      for (let k = 0; k < R; k++) m = Math.max(m, z[k]!);
      let s = 0;
      for (let k = 0; k < R; k++) s += Math.exp(z[k]! - m);
      const lse = m + Math.log(s);
      f += C * (lse - z[y[i]!]!);
      for (let k = 0; k < R; k++) dz[k] = C * (Math.exp(z[k]! - lse) - (k === y[i] ? 1 : 0));
    }
    for (let k = 0; k < R; k++) {
      for (let j = 0; j < D; j++) grad[k * D + j]! += dz[k]! * x[j]!;
      grad[R * D + k]! += dz[k]!;
    }
  }
  for (let q = 0; q < R * D; q++) {
    f += 0.5 * theta[q]! ** 2;
    grad[q]! += theta[q]!;
  }
  return f;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/**
 * Fits the head on embeddings `X` with class ids `y` (0 .. classes-1).
 *
 * @throws TunaError (`invalid_data`) when there are no examples or fewer than two classes.
 */
export function fitLogistic(X: readonly (readonly number[])[], y: readonly number[], classes: number, opts: LogisticOptions = {}): LogisticHead {
  if (X.length === 0 || classes < 2) throw new TunaError('invalid_data', 'logistic regression needs examples of at least two classes', { field: 'labels' });
  const D = X[0]!.length;
  const R = classes === 2 ? 1 : classes;
  const C = opts.C ?? 1;
  const n = R * (D + 1);
  const tol = opts.tol ?? 1e-10 * Math.max(1, X.length);
  let theta = new Float64Array(n);
  let g = new Float64Array(n);
  let f = objective(theta, X, y, R, D, C, g);
  const history: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  const newGrad = new Float64Array(n);
  for (let iter = 0; iter < (opts.maxIter ?? 1000); iter++) {
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
      fNext = objective(next, X, y, R, D, C, newGrad);
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
