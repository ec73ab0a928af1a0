import type { DType } from '../onnx/dtype.js';
import { Graph, type Value } from '../onnx/graph.js';
import { isStatic } from '../onnx/shape.js';
import { Session } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensor.js';
import { gradients } from './backward.js';

/** Options for {@link gradCheck}. */
export interface GradCheckOptions {
  /** Finite-difference step (default 1e-6 for float64, 1e-2 for float32). */
  readonly eps?: number;
  /** Absolute tolerance (default 1e-6 for float64, 2e-3 for float32). */
  readonly atol?: number;
  /** Relative tolerance (default 1e-5 for float64, 2e-2 for float32). */
  readonly rtol?: number;
  /** Check at most this many elements of each input, spread evenly (default: all). */
  readonly maxElements?: number;
  /** Seed for the random projection that turns a tensor output into a scalar. */
  readonly seed?: number;
}

/** One element whose analytic and numeric gradients disagree. */
export interface GradMismatch {
  readonly input: string;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

/** Result of {@link gradCheck}. */
export interface GradCheckResult {
  readonly mismatches: GradMismatch[];
  /** Elements compared in all. */
  readonly checked: number;
  /** Largest |analytic - numeric| seen. */
  readonly maxAbsError: number;
  /** The analytic gradients, by input name. */
  readonly analytic: Record<string, HostTensor>;
}

/**
 * Compares the gradients built by {@link gradients} with central finite differences.
 *
 * `build` declares the graph's inputs (all with static shapes) and returns the output to check
 * and the inputs to differentiate. A tensor output is reduced to a scalar as `sum(y * r)` with a
 * fixed random `r`, so every output element's gradient path is exercised.
 */
export async function gradCheck(
  build: (g: Graph) => { output: Value; wrt: Value[] },
  feeds: Readonly<Record<string, HostTensor>>,
  opts: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const g = new Graph('gradcheck');
  const { output, wrt } = build(g);
  if (!isStatic(output.shape)) throw new Error('gradCheck needs an output with a static shape');
  const dtype = output.dtype;
  const f64 = dtype === 'float64';
  const eps = opts.eps ?? (f64 ? 1e-6 : 1e-2);
  const atol = opts.atol ?? (f64 ? 1e-6 : 2e-3);
  const rtol = opts.rtol ?? (f64 ? 1e-5 : 2e-2);

  const size = output.shape.reduce((a, b) => a * b, 1);
  const proj = randomArray(dtype, size, opts.seed ?? 7);
  const r = g.constant(proj, dtype, output.shape);
  const loss = output.rank === 0 ? g.mul(output, r) : g.reduceSum(g.mul(output, r));
  const grads = gradients(g, loss, wrt);
  g.output(loss, 'loss');
  grads.forEach((gv, i) => g.output(gv, `grad_${wrt[i]!.name}`));

  const session = await Session.create(g, { threads: 1 });
  const base = await session.run(feeds);
  const analytic: Record<string, HostTensor> = {};
  for (const v of wrt) analytic[v.name] = base[`grad_${v.name}`]!;

  const mismatches: GradMismatch[] = [];
  let checked = 0;
  let maxAbsError = 0;
  const evalLoss = async (patched: Record<string, HostTensor>) => Number((await session.run(patched, ['loss'])).loss!.data[0]);

  for (const v of wrt) {
    const original = feeds[v.name];
    if (!original) throw new Error(`gradCheck: no feed for input ${v.name}`);
    const n = original.data.length;
    const step = opts.maxElements && n > opts.maxElements ? n / opts.maxElements : 1;
    for (let f = 0; f < n; f += step) {
      const idx = Math.floor(f);
      const data = (original.data as Float32Array | Float64Array).slice();
      const x0 = data[idx]!;
      data[idx] = x0 + eps;
      const plus = await evalLoss({ ...feeds, [v.name]: { ...original, data } });
      data[idx] = x0 - eps;
      const minus = await evalLoss({ ...feeds, [v.name]: { ...original, data } });
      const numeric = (plus - minus) / (2 * eps);
      const a = Number(analytic[v.name]!.data[idx]);
      const err = Math.abs(a - numeric);
      maxAbsError = Math.max(maxAbsError, err);
      checked++;
      if (!(err <= atol + rtol * Math.abs(numeric))) mismatches.push({ input: v.name, index: idx, analytic: a, numeric });
    }
  }
  await session.release();
  return { mismatches, checked, maxAbsError, analytic };
}

/** Deterministic pseudo-random values in [-1, 1) (a small LCG; tests only need repeatability). */
export function randomArray(dtype: DType, n: number, seed = 1): Float32Array | Float64Array {
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}
