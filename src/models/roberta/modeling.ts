/**
 * The RoBERTa graph: BERT's encoder with positions counted from the padding index (computed in the
 * graph from `input_ids`), token type 0 everywhere (no `token_type_ids` input), and RoBERTa's heads.
 */
import { type Activation, type BuildContext, activate, dropout, embedding, layerNorm, linear } from '../../nn/layers.js';
import { rowsAtMaskPositions, sequenceClassificationLoss, sparseMaskedLmLoss, tokenCrossEntropyLoss } from '../../nn/losses.js';
import { AttentionMask, type EncoderLayerConfig, encoderLayer } from '../../nn/transformer.js';
import type { Graph, Value } from '../../onnx/graph.js';
import { TunaError } from '../../errors.js';
import type { BertConfig, HiddenAct } from '../bert/config.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import type { RobertaConfig } from './config.js';
import { ROBERTA_LAYER_NAMES, ROBERTA_NAMES, ROBERTA_PREFIX, robertaBodyPrefix, robertaHasPooler } from './names.js';

/** Symbolic dims of the graph inputs, named as Hugging Face's ONNX exports name them. */
export const BATCH = 'batch_size';
export const SEQUENCE = 'sequence_length';

/** The activations of `hidden_act`, as tuna's layers name them. */
export const HIDDEN_ACTIVATIONS: Readonly<Record<HiddenAct, Activation>> = {
  gelu: 'gelu',
  relu: 'relu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
};

/**
 * RoBERTa's position ids: the running count of non-padding tokens (tokens other than
 * `paddingIdx`) plus `paddingIdx`, and `paddingIdx` itself on padding, int64 [batch, seq].
 */
export function paddingOffsetPositions(g: Graph, inputIds: Value, paddingIdx: number): Value {
  const notPad = g.cast(g.not(g.equal(inputIds, g.scalar(paddingIdx, 'int64'))), 'int64');
  const counts = g.node('CumSum', [notPad, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: inputIds.shape }])[0]!;
  return g.add(g.mul(counts, notPad), g.scalar(paddingIdx, 'int64'));
}

/** Word + position (from the padding index) + token-type-0 embeddings, LayerNorm and dropout. */
export function robertaEmbeddings(ctx: BuildContext, cfg: RobertaConfig, prefix: string, inputIds: Value): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const words = embedding(ctx, `${prefix}${ROBERTA_NAMES.wordEmbeddings}`, inputIds, cfg.vocab_size, H);
  const positions = embedding(ctx, `${prefix}${ROBERTA_NAMES.positionEmbeddings}`, paddingOffsetPositions(g, inputIds, cfg.pad_token_id), cfg.max_position_embeddings, H);
  // transformers feeds token type 0 when no token_type_ids are given: row 0 of the table, broadcast.
  const types = embedding(ctx, `${prefix}${ROBERTA_NAMES.tokenTypeEmbeddings}`, g.ints([0]), cfg.type_vocab_size, H);
  const sum = g.add(g.add(words, types), positions);
  return dropout(ctx, layerNorm(ctx, `${prefix}${ROBERTA_NAMES.embeddingsNorm}`, sum, H, cfg.layer_norm_eps), cfg.hidden_dropout_prob);
}

/** The encoder layer sizes of a config with BERT's fields (RoBERTa, XLM-RoBERTa, ERNIE). */
export function robertaEncoderConfig(cfg: Omit<BertConfig, 'model_type'>): EncoderLayerConfig {
  return {
    hidden: cfg.hidden_size,
    heads: cfg.num_attention_heads,
    intermediate: cfg.intermediate_size,
    layerNormEps: cfg.layer_norm_eps,
    hiddenDropout: cfg.hidden_dropout_prob,
    attentionDropout: cfg.attention_probs_dropout_prob,
    activation: HIDDEN_ACTIVATIONS[cfg.hidden_act],
  };
}

/** A head this family does not have (RoBERTa has no next-sentence or pre-training heads). */
export function unsupportedHead(modelType: string, head: HeadKind): TunaError {
  return new TunaError('unsupported_model', `model_type "${modelType}" has no ${head} head in tuna (nor in transformers)`, { field: 'architectures' });
}

/**
 * Builds a RoBERTa (or XLM-RoBERTa) head with Hugging Face parameter names. Inputs `input_ids` and
 * `attention_mask`; with `withLoss`, the label inputs and the loss transformers computes.
 */
export function buildRoberta(ctx: BuildContext, cfg: RobertaConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  if (head === 'next-sentence' || head === 'pretraining') throw unsupportedHead(cfg.model_type, head);
  const inputIds = g.input('input_ids', 'int64', [BATCH, SEQUENCE]);
  const attentionMask = g.input('attention_mask', 'int64', [BATCH, SEQUENCE]);
  const prefix = robertaBodyPrefix(head);
  const H = cfg.hidden_size;
  let x = robertaEmbeddings(ctx, cfg, prefix, inputIds);
  const mask = new AttentionMask(ctx, attentionMask);
  const enc = robertaEncoderConfig(cfg);
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    x = encoderLayer(ctx, `${prefix}encoder.layer.${i}`, x, mask, enc, ROBERTA_LAYER_NAMES);
    hiddenStates.push(x);
  }
  const first = () => g.squeeze(g.slice(x, [0], [1], [1]), [1]);
  const classifierDropout = cfg.classifier_dropout ?? cfg.hidden_dropout_prob;
  switch (head) {
    case 'base':
    case 'encoder': {
      const pooled = robertaHasPooler(head) ? g.tanh(linear(ctx, `${prefix}${ROBERTA_NAMES.pooler}`, first(), H, H)) : undefined;
      return {
        outputs: {
          last_hidden_state: x,
          ...(pooled ? { pooler_output: pooled } : {}),
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    }
    case 'sequence-classification': {
      const n = numLabels(cfg);
      const dense = g.tanh(linear(ctx, ROBERTA_NAMES.classifierDense, dropout(ctx, first(), classifierDropout), H, H));
      const logits = linear(ctx, ROBERTA_NAMES.classifierOut, dropout(ctx, dense, classifierDropout), H, n);
      return { outputs: { logits, ...lastHiddenStateOutput(opts, x) }, loss: withLoss ? sequenceClassificationLoss(g, logits, n, cfg.problem_type, BATCH) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, ROBERTA_NAMES.tokenClassifier, dropout(ctx, x, classifierDropout), H, n);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, n, BATCH, SEQUENCE) : undefined };
    }
    case 'masked-lm': {
      const lm = (rows: Value) => robertaLmHeadRows(ctx, cfg, rows);
      if (withLoss && opts.sparseMlm) return { outputs: {}, loss: sparseMaskedLmLoss(g, x, H, lm) };
      if (opts.maskPositions) return { outputs: { logits: lm(rowsAtMaskPositions(g, x, H)) } };
      const logits = g.reshape(lm(g.reshape(x, [-1, H])), [x.shape[0]!, x.shape[1]!, cfg.vocab_size]);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, cfg.vocab_size, BATCH, SEQUENCE) : undefined };
    }
    default:
      throw unsupportedHead(cfg.model_type, head);
  }
}

/** RoBERTa's `lm_head` on rows of hidden states: dense, exact GELU, LayerNorm, decoder tied to the word embeddings. */
function robertaLmHeadRows(ctx: BuildContext, cfg: RobertaConfig, rows: Value): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const h = layerNorm(ctx, ROBERTA_NAMES.lmNorm, activate(ctx, linear(ctx, ROBERTA_NAMES.lmDense, rows, H, H), 'gelu'), H, cfg.layer_norm_eps);
  const words = ctx.scope.param(`${ROBERTA_PREFIX}${ROBERTA_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, H], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(ROBERTA_NAMES.lmBias, [cfg.vocab_size], { kind: 'zeros' }, false);
  return g.gemm(h, words, bias, { transB: true });
}
