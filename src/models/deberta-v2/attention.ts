/**
 * DeBERTa's disentangled self-attention: content-to-content scores plus content-to-position (c2p)
 * and position-to-content (p2c) terms against projected relative-position embeddings, all scaled
 * by 1 / sqrt(headDim * (1 + number of position terms)).
 *
 * The position terms are built from ops that have gradients: the queries (keys) are multiplied by
 * every row of the projected relative embeddings ([batch, heads, seq, 2 * span]); the term of
 * (query i, key j) is then one entry of row i (j), picked by a `Gather` on the flattened
 * [seq * 2 * span] axis with an index table computed in the graph from the run-time sequence
 * length: `row * 2 * span + bucket(i - j)`, where the bucketed, clamped distance is looked up in a
 * small constant table.
 */
import { TunaError } from '../../errors.js';
import { type BuildContext, dropout, layerNorm, linear } from '../../nn/layers.js';
import type { Graph, Value } from '../../onnx/graph.js';
import type { Dim } from '../../onnx/shape.js';
import { type DebertaV2Config, attentionSpan, maxRelativePositions, normalisesRelEmbeddings } from './config.js';
import { DEBERTA_LAYER_NAMES, DEBERTA_NAMES } from './names.js';

const f32 = Math.fround;

/**
 * The log-bucketed relative position of a distance `rel`, as transformers' make_log_bucket_position
 * computes it in float32: distances within bucketSize / 2 stay, larger ones are mapped
 * logarithmically up to `maxPosition`.
 */
export function logBucketPosition(rel: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2);
  const sign = Math.sign(rel);
  const abs = rel < mid && rel > -mid ? mid - 1 : Math.abs(rel);
  if (abs <= mid) return rel;
  const ratio = f32(Math.log(f32(abs / mid)));
  const denominator = f32(Math.log(f32((maxPosition - 1) / mid)));
  const logPos = Math.ceil(f32(f32(ratio / denominator) * (mid - 1))) + mid;
  return logPos * sign;
}

/**
 * The column of the position embedding a query attends to at distance `rel` = query - key:
 * the (bucketed) distance shifted by the span and clamped to [0, 2 * span - 1].
 */
export function relativeColumn(config: DebertaV2Config, rel: number): number {
  const span = attentionSpan(config);
  const bucketed = config.position_buckets > 0 ? logBucketPosition(rel, config.position_buckets, maxRelativePositions(config)) : rel;
  return Math.min(2 * span - 1, Math.max(0, bucketed + span));
}

/**
 * The distance from which on the column no longer changes (2 * span - 1 for queries after the key,
 * 0 before it: the columns are monotone in the distance), so that a table of distances
 * -reach..reach serves every sequence length. Searched up to a bound far beyond where real
 * configurations saturate (span for unbucketed positions, about max_relative_positions for
 * bucketed ones).
 */
function tableReach(config: DebertaV2Config): number {
  const last = 2 * attentionSpan(config) - 1;
  const limit = 4 * Math.max(maxRelativePositions(config), attentionSpan(config)) + 16;
  let d = 1;
  while (d < limit && !(relativeColumn(config, d) === last && relativeColumn(config, -d) === 0)) d++;
  return d;
}

/** The per-layer constants of the disentangled attention: flat gather indices for c2p and p2c. */
export interface RelativeIndices {
  /** [seq, seq]: `i * 2span + column(i - j)` for query i, key j. */
  readonly c2p: Value;
  /** [seq, seq]: `j * 2span + column(i - j)` for key j (row), query i (column). */
  readonly p2c: Value;
}

/** Builds the gather index tables from the run-time sequence length `seqLen` (an int64 scalar). */
export function relativeIndices(g: Graph, config: DebertaV2Config, seqLen: Value, seqDim: Dim): RelativeIndices {
  const reach = tableReach(config);
  const columns: number[] = [];
  for (let d = -reach; d <= reach; d++) columns.push(relativeColumn(config, d));
  const table = g.constant(
    BigInt64Array.from(columns, (c) => BigInt(c)),
    'int64',
    [columns.length],
  );
  const range = g.node('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [seqDim] }])[0]!;
  const rows = g.unsqueeze(range, [1]);
  const cols = g.unsqueeze(range, [0]);
  const width = g.scalar(2 * attentionSpan(config), 'int64');
  const lookup = (distance: Value): Value => {
    const lo = g.scalar(-reach, 'int64');
    const hi = g.scalar(reach, 'int64');
    const clamped = g.where(g.less(distance, lo), lo, g.where(g.greater(distance, hi), hi, distance));
    return g.gather(table, g.add(clamped, g.scalar(reach, 'int64')), 0);
  };
  // c2p: row = query i, column = key j, distance i - j.
  const c2p = g.add(g.mul(rows, width), lookup(g.sub(rows, cols)));
  // p2c: row = key j, column = query i, distance i - j = column - row.
  const p2c = g.add(g.mul(rows, width), lookup(g.sub(cols, rows)));
  return { c2p, p2c };
}

/** The relative embeddings every layer uses: `encoder.rel_embeddings`, through `encoder.LayerNorm` when norm_rel_ebd says so. */
export function relativeEmbeddings(ctx: BuildContext, config: DebertaV2Config, prefix: string): Value {
  const H = config.hidden_size;
  const table = ctx.scope.param(`${prefix}${DEBERTA_NAMES.relEmbeddings}.weight`, [2 * attentionSpan(config), H], { kind: 'normal', std: ctx.initStd });
  return normalisesRelEmbeddings(config) ? layerNorm(ctx, `${prefix}${DEBERTA_NAMES.relNorm}`, table, H, config.layer_norm_eps) : table;
}

/** What one attention layer needs besides its input. */
export interface AttentionInputs {
  /** [batch, 1, seq, seq] bool: query and key are both real tokens. */
  readonly mask: Value;
  readonly relEmbeddings?: Value;
  readonly indices?: RelativeIndices;
}

/**
 * Disentangled self-attention of layer `layer` (full prefix) over `x` [batch, seq, hidden]:
 * returns the merged context [batch, seq, hidden] (before `attention.output.dense`).
 */
export function disentangledAttention(ctx: BuildContext, config: DebertaV2Config, layer: string, x: Value, inputs: AttentionInputs): Value {
  const g = ctx.scope.g;
  const H = config.hidden_size;
  const heads = config.num_attention_heads;
  const d = H / heads;
  const [batch, seq] = x.shape as [Dim, Dim];
  const n = (sub: string) => `${layer}.${sub}`;
  const names = DEBERTA_LAYER_NAMES;
  if (ctx.layers?.attentionKeysValues) {
    // Extra keys have no relative position to the tokens, so the position terms are undefined for them.
    throw new TunaError('unsupported_model', `${layer}: DeBERTa-v2's disentangled attention takes no extra attention keys and values (deep prompts); use another adapter method`);
  }
  const split = (t: Value) => g.transpose(g.reshape(t, [batch, seq, heads, d]), [0, 2, 1, 3]);
  const q = split(linear(ctx, n(names.query), x, H, H));
  const k = split(linear(ctx, n(names.key), x, H, H));
  const v = split(linear(ctx, n(names.value), x, H, H));
  const terms = new Set(config.pos_att_type);
  const scale = 1 / Math.sqrt(d * (1 + terms.size));
  let scores = g.fusedMatMul(q, k, { transB: true, alpha: scale });
  if (config.relative_attention && inputs.relEmbeddings && inputs.indices) {
    const rel = dropout(ctx, inputs.relEmbeddings, config.hidden_dropout_prob);
    const span2 = 2 * attentionSpan(config);
    // [2span, hidden] -> [heads, headDim, 2span]
    const positions = (name: string) => g.transpose(g.reshape(linear(ctx, name, rel, H, H), [span2, heads, d]), [1, 2, 0]);
    const pick = (full: Value, index: Value) => g.gather(g.reshape(full, [0, 0, -1]), index, 2);
    if (terms.has('c2p')) {
      const posKey = positions(n(config.share_att_key ? names.key : names.positionKey));
      const c2p = pick(g.matMul(q, posKey), inputs.indices.c2p);
      scores = g.add(scores, g.mul(c2p, scale));
    }
    if (terms.has('p2c')) {
      const posQuery = positions(n(config.share_att_key ? names.query : names.positionQuery));
      const p2c = g.transpose(pick(g.matMul(k, posQuery), inputs.indices.p2c), [0, 1, 3, 2]);
      scores = g.add(scores, g.mul(p2c, scale));
    }
  }
  const masked = g.where(inputs.mask, scores, -3.4028234663852886e38);
  const probs = dropout(ctx, g.softmax(masked, -1), config.attention_probs_dropout_prob);
  return g.reshape(g.transpose(g.matMul(probs, v), [0, 2, 1, 3]), [batch, seq, H]);
}
