/**
 * The objective of L2-regularised logistic regression and its gradient, evaluated by ONNX Runtime
 * in float64 (as scikit-learn computes it): C x (sum of the examples' cross-entropy) + ||W||^2 / 2,
 * the intercepts unpenalised. One graph per fit, with the embeddings and labels as constants and
 * the coefficients and intercepts as inputs.
 */
import { Graph } from '../onnx/graph.js';
import { Session } from '../runtime/session.js';
import { hostTensor } from '../runtime/tensor.js';

/** Objective and gradient at parameters laid out as rows x D coefficients, then the rows' intercepts. */
export class LogisticObjective {
  private constructor(
    private readonly session: Session,
    readonly rows: number,
    readonly dimension: number,
  ) {}

  /**
   * The objective for embeddings `X` (N x D), class ids `y` and `classes` classes: one row of
   * coefficients and the sigmoid for two classes, one row per class and the softmax otherwise.
   */
  static async create(X: readonly (readonly number[])[], y: readonly number[], classes: number, C: number, threads = 1): Promise<LogisticObjective> {
    const N = X.length;
    const D = X[0]!.length;
    const R = classes === 2 ? 1 : classes;
    const g = new Graph('logistic_objective');
    const W = g.input('coef', 'float64', [R, D]);
    const b = g.input('intercept', 'float64', [R]);
    const x = g.constant(Float64Array.from(X.flat()), 'float64', [N, D], 'embeddings');
    const z = g.gemm(x, W, b, { transB: true });
    let loss: ReturnType<Graph['add']>;
    let dz: ReturnType<Graph['add']>;
    if (R === 1) {
      const t = g.constant(
        Float64Array.from(y, (v) => (v === 1 ? 1 : 0)),
        'float64',
        [N, 1],
        'targets',
      );
      // log(1 + exp(-z)) for t = 1 and log(1 + exp(z)) for t = 0: softplus((1 - 2t) z), computed stably.
      const m = g.mul(
        z,
        g.constant(
          Float64Array.from(y, (v) => (v === 1 ? -1 : 1)),
          'float64',
          [N, 1],
          'signs',
        ),
      );
      const softplus = g.add(g.relu(m), g.log(g.add(g.exp(g.neg(g.abs(m))), g.scalar(1, 'float64'))));
      loss = g.reduceSum(softplus);
      dz = g.sub(g.sigmoid(z), t);
    } else {
      const onehot = new Float64Array(N * R);
      y.forEach((k, i) => (onehot[i * R + k] = 1));
      const t = g.constant(onehot, 'float64', [N, R], 'targets');
      const top = g.reduceMax(z, [1], true);
      const lse = g.add(top, g.log(g.reduceSum(g.exp(g.sub(z, top)), [1], true)));
      loss = g.sub(g.reduceSum(lse), g.reduceSum(g.mul(z, t)));
      dz = g.sub(g.exp(g.sub(z, lse)), t);
    }
    const c = g.scalar(C, 'float64');
    const half = g.scalar(0.5, 'float64');
    g.output(g.add(g.mul(c, loss), g.mul(half, g.reduceSum(g.mul(W, W)))), 'objective');
    const dzC = g.mul(dz, c);
    g.output(g.add(g.gemm(dzC, x, undefined, { transA: true }), W), 'grad_coef');
    g.output(g.reduceSum(dzC, [0]), 'grad_intercept');
    return new LogisticObjective(await Session.create(g, { threads }), R, D);
  }

  /** The objective at `theta`; its gradient is written into `grad` (same layout). */
  async evaluate(theta: Float64Array, grad: Float64Array): Promise<number> {
    const RD = this.rows * this.dimension;
    const out = await this.session.run({
      coef: hostTensor('float64', theta.slice(0, RD), [this.rows, this.dimension]),
      intercept: hostTensor('float64', theta.slice(RD), [this.rows]),
    });
    grad.set(out.grad_coef!.data as Float64Array, 0);
    grad.set(out.grad_intercept!.data as Float64Array, RD);
    return Number(out.objective!.data[0]);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
