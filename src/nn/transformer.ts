import type { Value } from '../onnx/graph.js';
import type { Dim } from '../onnx/shape.js';
import { type Activation, type BuildContext, activate, affine, dropout, layerNorm, linear } from './layers.js';

/** Sizes of a post-LayerNorm transformer encoder layer. */
export interface EncoderLayerConfig {
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly layerNormEps: number;
  readonly hiddenDropout: number;
  readonly attentionDropout: number;
  /** Feed-forward activation (exact GELU unless given). */
  readonly activation?: Activation;
}

/**
 * Multi-head self-attention over `x` [batch, seq, hidden] with an additive mask that broadcasts
 * to [batch, heads, seq, seq] (0 for visible keys, the float32 minimum for hidden ones).
 * Parameters: `{name}.query`, `.key` and `.value` linear layers, applied as one Gemm on their
 * concatenated weights. Returns the per-head context merged back to [batch, seq, hidden].
 */
export function selfAttention(ctx: BuildContext, name: string, x: Value, mask: Value, cfg: EncoderLayerConfig): Value {
  const g = ctx.scope.g;
  const headDim = cfg.hidden / cfg.heads;
  if (!Number.isInteger(headDim)) throw new Error(`hidden size ${cfg.hidden} is not divisible by ${cfg.heads} heads`);
  const H = cfg.hidden;
  const weight = (p: string) => ctx.scope.param(`${name}.${p}.weight`, [H, H], { kind: 'normal', std: ctx.initStd });
  const bias = (p: string) => ctx.scope.param(`${name}.${p}.bias`, [H], { kind: 'zeros' }, false);
  const parts = ['query', 'key', 'value'];
  const w = g.concat(parts.map(weight), 0);
  const b = g.concat(parts.map(bias), 0);
  const [batch, seq] = x.shape as [Dim, Dim];
  const qkv = g.reshape(affine(ctx, x, w, b), [batch, seq, 3, cfg.heads, headDim]);
  const [q, k, v] = g.split(g.transpose(qkv, [2, 0, 3, 1, 4]), [1, 1, 1], 0).map((t) => g.squeeze(t, [0])) as [Value, Value, Value];
  const scores = g.add(g.fusedMatMul(q, k, { transB: true, alpha: 1 / Math.sqrt(headDim) }), mask);
  const probs = dropout(ctx, g.softmax(scores, -1), cfg.attentionDropout);
  const context = g.transpose(g.matMul(probs, v), [0, 2, 1, 3]);
  return g.reshape(context, [batch, seq, H]);
}

/** One encoder layer: attention, add & norm, GELU feed-forward, add & norm (the BERT layout). */
export function encoderLayer(ctx: BuildContext, name: string, x: Value, mask: Value, cfg: EncoderLayerConfig): Value {
  const att = selfAttention(ctx, `${name}.attention.self`, x, mask, cfg);
  const attOut = dropout(ctx, linear(ctx, `${name}.attention.output.dense`, att, cfg.hidden, cfg.hidden), cfg.hiddenDropout);
  const h = layerNorm(ctx, `${name}.attention.output.LayerNorm`, ctx.scope.g.add(attOut, x), cfg.hidden, cfg.layerNormEps);
  const inter = activate(ctx, linear(ctx, `${name}.intermediate.dense`, h, cfg.hidden, cfg.intermediate), cfg.activation ?? 'gelu');
  const out = dropout(ctx, linear(ctx, `${name}.output.dense`, inter, cfg.intermediate, cfg.hidden), cfg.hiddenDropout);
  return layerNorm(ctx, `${name}.output.LayerNorm`, ctx.scope.g.add(out, h), cfg.hidden, cfg.layerNormEps);
}

/** Turns a [batch, seq] 0/1 attention mask into the additive [batch, 1, 1, seq] form. */
export function additiveMask(ctx: BuildContext, attentionMask: Value): Value {
  const g = ctx.scope.g;
  const m = g.unsqueeze(g.cast(attentionMask, 'float32'), [1, 2]);
  return g.mul(g.sub(1, m), -3.4028234663852886e38);
}
