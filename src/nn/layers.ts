import type { Value } from '../onnx/graph.js';
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
}

/**
 * A fully connected layer with a `[out, in]` weight (the PyTorch layout): `x @ W^T + b`.
 */
export function linear(ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias = true): Value {
  const g = ctx.scope.g;
  const w = ctx.scope.param(`${name}.weight`, [outFeatures, inFeatures], { kind: 'normal', std: ctx.initStd });
  let y = g.fusedMatMul(x, w, { transB: true });
  if (bias) y = g.add(y, ctx.scope.param(`${name}.bias`, [outFeatures], { kind: 'zeros' }, false));
  return y;
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
  return ctx.scope.g.dropout(x, ratio, { seed: ctx.nextSeed() }).y;
}
