import type { Value } from '../onnx/graph.js';
import type { DropoutMasks } from './dropout.js';
import type { ParameterScope } from './parameters.js';

/** What layers need while a graph is being built. */
export interface BuildContext {
  readonly scope: ParameterScope;
  /** Training graphs apply dropout; inference graphs do not. */
  readonly training: boolean;
  /** Hands out dropout seeds so every dropout site draws its own stream. */
  nextSeed(): number;
  /** Standard deviation of freshly initialised weights. */
  readonly initStd: number;
  /** Pooled dropout masks; without it, training graphs use ONNX Runtime's Dropout op. */
  readonly masks?: DropoutMasks;
  /**
   * Inference graphs may use ONNX Runtime's fused `com.microsoft` transformer kernels (Attention).
   * Training graphs never do: those kernels have no gradients.
   */
  readonly fusedKernels?: boolean;
}

/**
 * A fully connected layer with a `[out, in]` weight (the PyTorch layout): `x @ W^T + b`, computed
 * as one Gemm with the bias fused, on `x` flattened to rows.
 */
export function linear(ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias = true): Value {
  const w = ctx.scope.param(`${name}.weight`, [outFeatures, inFeatures], { kind: 'normal', std: ctx.initStd });
  const b = bias ? ctx.scope.param(`${name}.bias`, [outFeatures], { kind: 'zeros' }, false) : undefined;
  return affine(ctx, x, w, b);
}

/** `x @ w^T + b` for a `[out, in]` weight, flattening leading axes of `x` into rows for one Gemm. */
export function affine(ctx: BuildContext, x: Value, w: Value, b?: Value): Value {
  const g = ctx.scope.g;
  if (x.rank === 2) return g.gemm(x, w, b, { transB: true });
  const rows = g.reshape(x, [-1, x.shape.at(-1)!]);
  const y = g.gemm(rows, w, b, { transB: true });
  return g.reshape(y, [...x.shape.slice(0, -1), w.shape[0]!]);
}

/** Layer normalisation over the last axis, with `weight` and `bias` parameters. */
export function layerNorm(ctx: BuildContext, name: string, x: Value, size: number, eps: number): Value {
  const w = ctx.scope.param(`${name}.weight`, [size], { kind: 'ones' }, false);
  const b = ctx.scope.param(`${name}.bias`, [size], { kind: 'zeros' }, false);
  return ctx.scope.g.layerNorm(x, w, b, { epsilon: eps }).y;
}

/** An embedding table `[count, dim]` looked up by integer ids. */
export function embedding(ctx: BuildContext, name: string, ids: Value, count: number, dim: number): Value {
  const table = ctx.scope.param(`${name}.weight`, [count, dim], { kind: 'normal', std: ctx.initStd });
  return ctx.scope.g.gather(table, ids, 0);
}

/** Dropout in training graphs, the identity in inference graphs (and for ratio 0). */
export function dropout(ctx: BuildContext, x: Value, ratio: number): Value {
  if (!ctx.training || ratio === 0) return x;
  if (ctx.masks) return ctx.masks.apply(x, ratio);
  return ctx.scope.g.dropout(x, ratio, { seed: ctx.nextSeed() }).y;
}

/** Activation functions of feed-forward layers. */
export type Activation = 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

/** Applies an activation: exact erf GELU, its tanh approximation, ReLU or SiLU. */
export function activate(ctx: BuildContext, x: Value, act: Activation): Value {
  const g = ctx.scope.g;
  switch (act) {
    case 'gelu':
      return g.gelu(x);
    case 'relu':
      return g.relu(x);
    case 'silu':
      return g.mul(x, g.sigmoid(x));
    case 'gelu_tanh': {
      const inner = g.mul(g.add(x, g.mul(g.mul(g.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
      return g.mul(g.mul(x, 0.5), g.add(g.tanh(inner), 1));
    }
  }
}
