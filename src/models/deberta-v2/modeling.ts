/**
 * DeBERTa-v2/v3's graphs: embeddings (word, optional absolute positions and token types, optional
 * `embed_proj`, LayerNorm, zeroed on padding), post-LayerNorm layers with disentangled attention
 * sharing one set of relative embeddings, and the heads (ContextPooler + classifier, token
 * classifier, either masked-LM head).
 */
import { type Activation, type BuildContext, activate, affine, dropout, embedding, layerNorm, linear, sublayerOutput } from '../../nn/layers.js';
import type { Graph, Value } from '../../onnx/graph.js';
import { BATCH, SEQUENCE, encoderConfig } from '../bert/modeling.js';
import type { BertConfig } from '../bert/config.js';
import { sequenceClassificationLoss, tokenCrossEntropyLoss } from '../electra/losses.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import { disentangledAttention, relativeEmbeddings, relativeIndices } from './attention.js';
import type { DebertaAct, DebertaV2Config } from './config.js';
import { DEBERTA_LAYER_NAMES, DEBERTA_NAMES, DEBERTA_PREFIX, debertaBodyPrefix, debertaLayerPrefix, debertaMlmNames } from './names.js';

/** The token inputs of a DeBERTa-v2 graph (`token_type_ids` only when the model has token types). */
export interface DebertaInputs {
  readonly inputIds: Value;
  readonly attentionMask: Value;
  readonly tokenTypeIds?: Value;
}

/** Declares `input_ids`, `attention_mask` and, when type_vocab_size > 0, `token_type_ids` (int64, [batch_size, sequence_length]). */
export function debertaInputs(g: Graph, config: DebertaV2Config): DebertaInputs {
  return {
    inputIds: g.input('input_ids', 'int64', [BATCH, SEQUENCE]),
    attentionMask: g.input('attention_mask', 'int64', [BATCH, SEQUENCE]),
    ...(config.type_vocab_size > 0 ? { tokenTypeIds: g.input('token_type_ids', 'int64', [BATCH, SEQUENCE]) } : {}),
  };
}

/** The activation of a Hugging Face `hidden_act` name. */
function activationOf(config: DebertaV2Config, act: BertConfig['hidden_act']): Activation {
  return encoderConfig({ ...config, model_type: 'bert', hidden_act: act, position_embedding_type: 'absolute', classifier_dropout: null }).activation ?? 'gelu';
}

/** Applies a ContextPooler / ConvLayer activation (tanh, or one of `hidden_act`'s). */
function applyAct(ctx: BuildContext, cfg: DebertaV2Config, x: Value, act: DebertaAct): Value {
  return act === 'tanh' ? ctx.scope.g.tanh(x) : activate(ctx, x, activationOf(cfg, act));
}

/** Embeddings: [batch, seq, hidden], zero at padding. */
function debertaEmbeddings(ctx: BuildContext, cfg: DebertaV2Config, prefix: string, inputs: DebertaInputs, seqLen: Value, maskF: Value): Value {
  const g = ctx.scope.g;
  const E = cfg.embedding_size;
  const H = cfg.hidden_size;
  let sum = embedding(ctx, `${prefix}${DEBERTA_NAMES.wordEmbeddings}`, inputs.inputIds, cfg.vocab_size, E);
  if (cfg.position_biased_input) {
    const positionIds = g.node('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [inputs.inputIds.shape[1]!] }])[0]!;
    sum = g.add(sum, embedding(ctx, `${prefix}${DEBERTA_NAMES.positionEmbeddings}`, positionIds, cfg.max_position_embeddings, E));
  }
  if (inputs.tokenTypeIds) sum = g.add(sum, embedding(ctx, `${prefix}${DEBERTA_NAMES.tokenTypeEmbeddings}`, inputs.tokenTypeIds, cfg.type_vocab_size, E));
  if (E !== H) {
    const w = ctx.scope.param(`${prefix}${DEBERTA_NAMES.embedProj}.weight`, [H, E], { kind: 'normal', std: ctx.initStd });
    sum = affine(ctx, sum, w);
  }
  const normed = layerNorm(ctx, `${prefix}${DEBERTA_NAMES.embeddingsNorm}`, sum, H, cfg.layer_norm_eps);
  return dropout(ctx, g.mul(normed, g.unsqueeze(maskF, [2])), cfg.hidden_dropout_prob);
}

/**
 * DebertaV2Model: the sequence output [batch, seq, hidden] and every hidden state (the embeddings,
 * then each layer's output).
 */
export function debertaV2Model(ctx: BuildContext, cfg: DebertaV2Config, prefix: string, inputs: DebertaInputs): { sequenceOutput: Value; hiddenStates: Value[] } {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const seqLen = g.squeeze(g.gather(g.shapeOf(inputs.inputIds), g.ints([1]), 0), [0]);
  const maskF = g.cast(inputs.attentionMask, 'float32');
  let x = debertaEmbeddings(ctx, cfg, prefix, inputs, seqLen, maskF);
  // [batch, 1, seq, seq]: both the query and the key are real tokens (transformers' get_attention_mask).
  const pairs = g.mul(g.unsqueeze(maskF, [1, 2]), g.unsqueeze(maskF, [1, 3]));
  const mask = g.greater(pairs, g.scalar(0, 'float32'));
  const relative = cfg.relative_attention ? { relEmbeddings: relativeEmbeddings(ctx, cfg, prefix), indices: relativeIndices(g, cfg, seqLen, inputs.inputIds.shape[1]!) } : {};
  const act = activationOf(cfg, cfg.hidden_act);
  const names = DEBERTA_LAYER_NAMES;
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const n = (sub: string) => `${prefix}${debertaLayerPrefix(i)}.${sub}`;
    const att = disentangledAttention(ctx, cfg, `${prefix}${debertaLayerPrefix(i)}`, x, { mask, ...relative });
    const attOut = dropout(ctx, linear(ctx, n(names.attentionOutput), att, H, H), cfg.hidden_dropout_prob);
    const h = layerNorm(ctx, n(names.attentionNorm), g.add(sublayerOutput(ctx, n(names.attentionOutput), attOut), x), H, cfg.layer_norm_eps);
    const inter = activate(ctx, linear(ctx, n(names.intermediate), h, H, cfg.intermediate_size), act);
    const out = dropout(ctx, linear(ctx, n(names.output), inter, cfg.intermediate_size, H), cfg.hidden_dropout_prob);
    x = layerNorm(ctx, n(names.outputNorm), g.add(sublayerOutput(ctx, n(names.output), out), h), H, cfg.layer_norm_eps);
    if (i === 0 && cfg.conv_kernel_size > 0) x = convLayer(ctx, cfg, prefix, hiddenStates[0]!, x, maskF);
    hiddenStates.push(x);
  }
  return { sequenceOutput: x, hiddenStates };
}

/**
 * The ConvLayer some DeBERTa-v2 checkpoints apply after the first layer: a same-length Conv1d over
 * the embeddings (zero at padding), the activation, LayerNorm with the first layer's output as
 * residual, zeroed at padding. The convolution is computed as one matrix product per kernel tap on
 * the zero-padded sequence shifted by that tap (ops with gradients: Concat, Slice, Gemm).
 */
function convLayer(ctx: BuildContext, cfg: DebertaV2Config, prefix: string, embedded: Value, residual: Value, maskF: Value): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const k = cfg.conv_kernel_size;
  const pad = (k - 1) / 2;
  const weight = ctx.scope.param(`${prefix}${DEBERTA_NAMES.conv}.weight`, [H, H, k], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(`${prefix}${DEBERTA_NAMES.conv}.bias`, [H], { kind: 'zeros' }, false);
  const rowMask = g.unsqueeze(maskF, [2]);
  let out: Value | undefined;
  if (pad === 0) {
    out = affine(ctx, embedded, g.squeeze(weight, [2]), bias);
  } else {
    // pad zero rows on either side (the first rows of the input, times 0: the run-time batch size).
    const zeros = g.mul(g.slice(embedded, [0], [1], [1]), 0);
    const padded = g.concat([...Array(pad).fill(zeros), embedded, ...Array(pad).fill(zeros)], 1);
    for (let j = 0; j < k; j++) {
      const back = 2 * pad - j;
      const shifted = g.reshapeLike(g.slice(padded, [j], [back === 0 ? Number.MAX_SAFE_INTEGER : -back], [1]), embedded);
      const tap = g.squeeze(g.slice(weight, [j], [j + 1], [2]), [2]);
      const term = affine(ctx, shifted, tap, j === 0 ? bias : undefined);
      out = out ? g.add(out, term) : term;
    }
  }
  const act = applyAct(ctx, cfg, dropout(ctx, g.mul(out!, rowMask), cfg.hidden_dropout_prob), cfg.conv_act);
  const normed = layerNorm(ctx, `${prefix}${DEBERTA_NAMES.convNorm}`, g.add(residual, act), H, cfg.layer_norm_eps);
  return g.mul(normed, rowMask);
}

/**
 * Builds a DeBERTa-v2 head with Hugging Face parameter names. With `withLoss`, label inputs are
 * declared and the loss Hugging Face computes for that head is returned.
 */
export function buildDebertaV2(ctx: BuildContext, cfg: DebertaV2Config, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputs = debertaInputs(g, cfg);
  const { sequenceOutput, hiddenStates } = debertaV2Model(ctx, cfg, debertaBodyPrefix(head), inputs);
  const H = cfg.hidden_size;
  switch (head) {
    case 'base':
    case 'encoder':
      return {
        outputs: {
          last_hidden_state: sequenceOutput,
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    case 'sequence-classification': {
      const first = g.squeeze(g.slice(sequenceOutput, [0], [1], [1]), [1]);
      const pooled = applyAct(ctx, cfg, linear(ctx, DEBERTA_NAMES.pooler, dropout(ctx, first, cfg.pooler_dropout), H, H), cfg.pooler_hidden_act);
      const logits = linear(ctx, DEBERTA_NAMES.classifier, dropout(ctx, pooled, cfg.cls_dropout ?? cfg.hidden_dropout_prob), H, numLabels(cfg));
      return { outputs: { logits, ...lastHiddenStateOutput(opts, sequenceOutput) }, loss: withLoss ? sequenceClassificationLoss(g, cfg, logits) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, DEBERTA_NAMES.classifier, dropout(ctx, sequenceOutput, cfg.hidden_dropout_prob), H, n);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, n) : undefined };
    }
    case 'masked-lm': {
      if (withLoss && opts.sparseMlm) {
        const positions = g.input('masked_positions', 'int64', ['masked_count']);
        const labels = g.input('masked_labels', 'int64', ['masked_count']);
        const rows = g.gather(g.reshape(sequenceOutput, [-1, H]), positions, 0);
        return { outputs: {}, loss: g.softmaxCrossEntropyLoss(mlmRows(ctx, cfg, rows), labels, { ignoreIndex: -100 }).loss };
      }
      if (opts.maskPositions) {
        const positions = g.input('mask_positions', 'int64', ['mask_count']);
        return { outputs: { logits: mlmRows(ctx, cfg, g.gather(g.reshape(sequenceOutput, [-1, H]), positions, 0)) } };
      }
      const logits = g.reshape(mlmRows(ctx, cfg, g.reshape(sequenceOutput, [-1, H])), [sequenceOutput.shape[0]!, sequenceOutput.shape[1]!, cfg.vocab_size]);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, cfg.vocab_size) : undefined };
    }
    default:
      throw new Error(`DeBERTa-v2 has no ${head} head in tuna`);
  }
}

/**
 * The masked-LM head on rows of hidden states: dense, activation, LayerNorm, then the word
 * embeddings (transposed) and the bias. Legacy (`cls.predictions`): dense to embedding_size;
 * otherwise (`lm_predictions.lm_head`): dense to hidden_size.
 */
function mlmRows(ctx: BuildContext, cfg: DebertaV2Config, rows: Value): Value {
  const names = debertaMlmNames(cfg);
  const width = cfg.legacy ? cfg.embedding_size : cfg.hidden_size;
  const t = activate(ctx, linear(ctx, names.dense, rows, cfg.hidden_size, width), activationOf(cfg, cfg.hidden_act));
  const h = layerNorm(ctx, names.norm, t, width, cfg.layer_norm_eps);
  const words = ctx.scope.param(`${DEBERTA_PREFIX}${DEBERTA_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, cfg.embedding_size], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(names.bias, [cfg.vocab_size], { kind: 'zeros' }, false);
  return ctx.scope.g.gemm(h, words, bias, { transB: true });
}
