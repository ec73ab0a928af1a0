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
  /**
   * Replaces how layers are built (LoRA, adapters, prompts plug in here); a graph built without
   * it uses the plain layers. Model code never needs to know which factory is in use.
   */
  readonly layers?: LayerFactory;
}

/** A fully connected layer as the plain {@link linear} builds it. */
export type LinearLayer = (ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias: boolean) => Value;

/** An embedding lookup as the plain {@link embedding} builds it. */
export type EmbeddingLayer = (ctx: BuildContext, name: string, ids: Value, count: number, dim: number) => Value;

/**
 * Hooks that wrap how layers are built. Each gets the layer's arguments and `next`, the plain
 * layer, which it may call (e.g. LoRA adds a low-rank update to `next`'s result).
 */
export interface LayerFactory {
  /** Every fully connected layer, by its parameter-name prefix (e.g. `bert.encoder.layer.0.attention.self.query`). */
  linear?(ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias: boolean, next: LinearLayer): Value;
  /** Every embedding table lookup. */
  embedding?(ctx: BuildContext, name: string, ids: Value, count: number, dim: number, next: EmbeddingLayer): Value;
  /**
   * The output of a transformer sub-layer (attention or feed-forward) before its residual sum and
   * LayerNorm: where bottleneck adapters go. `name` is the sub-layer's output projection.
   */
  sublayerOutput?(ctx: BuildContext, name: string, x: Value): Value;
  /**
   * Keys and values of a self-attention layer, `[batch, heads, seq, headDim]`, with the additive
   * mask `[batch, 1, 1, seq]`: deep prompts prepend virtual tokens here (extending the mask).
   */
  attentionKeysValues?(ctx: BuildContext, name: string, kv: { key: Value; value: Value; mask: Value }): { key: Value; value: Value; mask: Value };
}

/**
 * A fully connected layer with a `[out, in]` weight (the PyTorch layout): `x @ W^T + b`, computed
 * as one Gemm with the bias fused, on `x` flattened to rows.
 */
export function linear(ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias = true): Value {
  const hook = ctx.layers?.linear;
  return hook ? hook(ctx, name, x, inFeatures, outFeatures, bias, plainLinear) : plainLinear(ctx, name, x, inFeatures, outFeatures, bias);
}

function plainLinear(ctx: BuildContext, name: string, x: Value, inFeatures: number, outFeatures: number, bias: boolean): Value {
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
  const hook = ctx.layers?.embedding;
  return hook ? hook(ctx, name, ids, count, dim, plainEmbedding) : plainEmbedding(ctx, name, ids, count, dim);
}

/** The output of a transformer sub-layer, through the factory's `sublayerOutput` hook when there is one. */
export function sublayerOutput(ctx: BuildContext, name: string, x: Value): Value {
  return ctx.layers?.sublayerOutput ? ctx.layers.sublayerOutput(ctx, name, x) : x;
}

function plainEmbedding(ctx: BuildContext, name: string, ids: Value, count: number, dim: number): Value {
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
