/**
 * Sentence embeddings inside the ONNX graph: the pooling modes of sentence-transformers over the
 * encoder's token vectors, Dense projections and L2 normalisation, built with ops that have
 * gradient rules, so that the same code serves inference and training graphs.
 */
import type { BuildContext } from '../nn/layers.js';
import { affine } from '../nn/layers.js';
import type { ParameterStore } from '../nn/parameters.js';
import type { Graph, Value } from '../onnx/graph.js';
import type { DenseModule, PoolingConfig, PoolingMode, SentenceLayout } from './layout.js';

/** Graph input (float32 [batch, seq]) that replaces the attention mask for pooling when prompts are excluded. */
export const POOLING_MASK_INPUT = 'pooling_mask';

/** Name of the parameters of the i-th Dense module (module index `2 + i` in modules.json). */
export function denseParameterName(i: number, what: 'weight' | 'bias'): string {
  return `${i + 2}_Dense.linear.${what}`;
}

/** Whether a parameter name is one of a Dense module's (not the Transformer's). */
export function isDenseParameter(name: string): boolean {
  return /^\d+_Dense\.linear\.(weight|bias)$/.test(name);
}

/** Adds the Dense modules' weights to `store` (they are not among the encoder's declared parameters). */
export function adoptDenseParameters(store: ParameterStore, dense: readonly DenseModule[]): void {
  dense.forEach((d, i) => {
    const w = denseParameterName(i, 'weight');
    if (!store.has(w)) store.adopt(w, [d.outFeatures, d.inFeatures], d.weight, true);
    const b = denseParameterName(i, 'bias');
    if (d.bias && d.biasValues && !store.has(b)) store.adopt(b, [d.outFeatures], d.biasValues, false);
  });
}

/** What pooling reads from the graph. */
export interface PoolingInputs {
  /** Token vectors [batch, seq, hidden]. */
  readonly hidden: Value;
  /** int64 [batch, seq], 1 for real tokens (right padding). */
  readonly attentionMask: Value;
  /** float32 [batch, seq]: the attention mask with prompt tokens zeroed (include_prompt false). */
  readonly poolingMask?: Value;
}

/** 0, 1, ..., seq-1 as float32 [1, seq], cut at run time from a constant of `maxPositions`. */
function positions(g: Graph, like: Value, maxPositions: number): Value {
  const table = g.constant(
    Float32Array.from({ length: maxPositions }, (_, i) => i),
    'float32',
    [maxPositions],
  );
  const seq = like.shape[1]!;
  const length = g.gather(g.shapeOf(like), g.ints([1]), 0);
  const cut = g.node('Slice', [table, g.ints([0]), length, g.ints([0])], [{ dtype: 'float32', shape: [seq] }])[0]!;
  return g.unsqueeze(cut, [0]);
}

/** `x` where it is positive, else `floor` (counts and norms that must not divide by zero). */
function atLeast(g: Graph, x: Value, floor: number): Value {
  return g.where(g.greater(x, floor), x, floor);
}

/**
 * Pools token vectors into one vector per input with the modes of `pooling`, concatenated in
 * their order, as sentence-transformers' Pooling does (right padding): `cls` the first token
 * pooled (the first after the prompt when prompts are excluded), `max` the elementwise maximum,
 * `mean` the mean, `mean_sqrt_len_tokens` the sum over sqrt(count), `weightedmean` the mean
 * weighted by position (1, 2, ...), `lasttoken` the last real token.
 */
export function pool(g: Graph, inputs: PoolingInputs, pooling: PoolingConfig, maxPositions: number): Value {
  const { hidden } = inputs;
  const attention = g.cast(inputs.attentionMask, 'float32');
  const mask = inputs.poolingMask ?? attention;
  const mask3 = g.unsqueeze(mask, [2]);
  let pos: Value | undefined;
  const position = () => (pos ??= positions(g, inputs.attentionMask, maxPositions));
  let sum: Value | undefined;
  let count: Value | undefined;
  const maskedSum = () => (sum ??= g.reduceSum(g.mul(hidden, mask3), [1]));
  const tokenCount = () => (count ??= g.reduceSum(mask, [1], true));
  const at = (onehot: Value) => g.reduceSum(g.mul(hidden, g.unsqueeze(onehot, [2])), [1]);
  const vector = (mode: PoolingMode): Value => {
    switch (mode) {
      case 'cls': {
        if (!inputs.poolingMask) return g.squeeze(g.slice(hidden, [0], [1], [1]), [1]);
        // The first pooled token: after the prompt, whose tokens the pooling mask zeroes.
        const first = g.sub(g.reduceSum(attention, [1], true), tokenCount());
        return at(g.cast(g.equal(position(), first), 'float32'));
      }
      case 'max':
        return g.reduceMax(g.add(hidden, g.mul(g.sub(mask3, 1), 1e9)), [1]);
      case 'mean':
        return g.div(maskedSum(), atLeast(g, tokenCount(), 1e-9));
      case 'mean_sqrt_len_tokens':
        return g.div(maskedSum(), g.sqrt(atLeast(g, tokenCount(), 1e-9)));
      case 'weightedmean': {
        const weights = g.mul(mask, g.add(position(), 1));
        const weighted = g.reduceSum(g.mul(hidden, g.unsqueeze(weights, [2])), [1]);
        return g.div(weighted, atLeast(g, g.reduceSum(weights, [1], true), 1e-9));
      }
      case 'lasttoken': {
        const last = g.sub(g.reduceSum(attention, [1], true), 1);
        return at(g.mul(g.cast(g.equal(position(), last), 'float32'), mask));
      }
    }
  };
  const parts = pooling.modes.map(vector);
  return parts.length === 1 ? parts[0]! : g.concat(parts, 1);
}

/** Scales every row of `x` [batch, dim] to unit L2 norm (norms below 1e-12 count as 1e-12, as torch's normalize). */
export function l2NormalizeRows(g: Graph, x: Value): Value {
  return g.div(x, atLeast(g, g.sqrt(g.reduceSum(g.mul(x, x), [1], true)), 1e-12));
}

function activate(g: Graph, x: Value, activation: DenseModule['activation']): Value {
  switch (activation) {
    case 'identity':
      return x;
    case 'tanh':
      return g.tanh(x);
    case 'relu':
      return g.relu(x);
    case 'sigmoid':
      return g.sigmoid(x);
    case 'gelu':
      return g.gelu(x);
  }
}

/**
 * The sentence embedding of `layout` [batch, dim]: pooling, then each Dense module, then (when
 * `normalize`) L2 normalisation. Dense weights must be in the context's parameter store
 * ({@link adoptDenseParameters}).
 */
export function sentenceEmbedding(ctx: BuildContext, inputs: PoolingInputs, layout: SentenceLayout, opts: { normalize: boolean; maxPositions: number }): Value {
  const g = ctx.scope.g;
  let x = pool(g, inputs, layout.pooling, opts.maxPositions);
  layout.dense.forEach((d, i) => {
    const w = ctx.scope.param(denseParameterName(i, 'weight'), [d.outFeatures, d.inFeatures], { kind: 'normal', std: ctx.initStd });
    const b = d.bias ? ctx.scope.param(denseParameterName(i, 'bias'), [d.outFeatures], { kind: 'zeros' }, false) : undefined;
    x = activate(g, affine(ctx, x, w, b), d.activation);
  });
  return opts.normalize ? l2NormalizeRows(g, x) : x;
}
