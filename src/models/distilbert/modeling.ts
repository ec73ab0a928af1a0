/**
 * The DistilBERT graph: word + position embeddings (no token types), post-LayerNorm layers with
 * DistilBERT's names, and its heads. Inputs `input_ids` and `attention_mask`.
 */
import { type BuildContext, activate, dropout, embedding, layerNorm, linear } from '../../nn/layers.js';
import { rowsAtMaskPositions, sequenceClassificationLoss, sparseMaskedLmLoss, tokenCrossEntropyLoss } from '../../nn/losses.js';
import { AttentionMask, type EncoderLayerConfig, encoderLayer } from '../../nn/transformer.js';
import type { Value } from '../../onnx/graph.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import { BATCH, HIDDEN_ACTIVATIONS, SEQUENCE, unsupportedHead } from '../roberta/modeling.js';
import { DISTILBERT_LAYER_NORM_EPS, type DistilBertConfig } from './config.js';
import { DISTILBERT_LAYER_NAMES, DISTILBERT_NAMES, DISTILBERT_PREFIX, distilBertBodyPrefix } from './names.js';

/** The encoder layer sizes of a config. */
export function distilBertEncoderConfig(cfg: DistilBertConfig): EncoderLayerConfig {
  return {
    hidden: cfg.dim,
    heads: cfg.n_heads,
    intermediate: cfg.hidden_dim,
    layerNormEps: DISTILBERT_LAYER_NORM_EPS,
    hiddenDropout: cfg.dropout,
    attentionDropout: cfg.attention_dropout,
    activation: HIDDEN_ACTIVATIONS[cfg.activation],
  };
}

/** Word + position embeddings, LayerNorm and dropout: [batch, seq, dim]. */
export function distilBertEmbeddings(ctx: BuildContext, cfg: DistilBertConfig, prefix: string, inputIds: Value): Value {
  const g = ctx.scope.g;
  const D = cfg.dim;
  const words = embedding(ctx, `${prefix}${DISTILBERT_NAMES.wordEmbeddings}`, inputIds, cfg.vocab_size, D);
  const seqLen = g.squeeze(g.gather(g.shapeOf(inputIds), g.ints([1]), 0), [0]);
  const positionIds = g.node('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [inputIds.shape[1]!] }])[0]!;
  const positions = embedding(ctx, `${prefix}${DISTILBERT_NAMES.positionEmbeddings}`, positionIds, cfg.max_position_embeddings, D);
  return dropout(ctx, layerNorm(ctx, `${prefix}${DISTILBERT_NAMES.embeddingsNorm}`, g.add(words, positions), D, DISTILBERT_LAYER_NORM_EPS), cfg.dropout);
}

/** Builds a DistilBERT head with Hugging Face parameter names; with `withLoss`, the label inputs and the loss transformers computes. */
export function buildDistilBert(ctx: BuildContext, cfg: DistilBertConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputIds = g.input('input_ids', 'int64', [BATCH, SEQUENCE]);
  const attentionMask = g.input('attention_mask', 'int64', [BATCH, SEQUENCE]);
  const prefix = distilBertBodyPrefix(head);
  const D = cfg.dim;
  let x = distilBertEmbeddings(ctx, cfg, prefix, inputIds);
  const mask = new AttentionMask(ctx, attentionMask);
  const enc = distilBertEncoderConfig(cfg);
  const hiddenStates = [x];
  for (let i = 0; i < cfg.n_layers; i++) {
    x = encoderLayer(ctx, `${prefix}${DISTILBERT_NAMES.layers}.${i}`, x, mask, enc, DISTILBERT_LAYER_NAMES);
    hiddenStates.push(x);
  }
  switch (head) {
    case 'base':
    case 'encoder':
      return {
        outputs: {
          last_hidden_state: x,
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    case 'sequence-classification': {
      const n = numLabels(cfg);
      const first = g.squeeze(g.slice(x, [0], [1], [1]), [1]);
      const pooled = dropout(ctx, g.relu(linear(ctx, DISTILBERT_NAMES.preClassifier, first, D, D)), cfg.seq_classif_dropout);
      const logits = linear(ctx, DISTILBERT_NAMES.classifier, pooled, D, n);
      return { outputs: { logits, ...lastHiddenStateOutput(opts, x) }, loss: withLoss ? sequenceClassificationLoss(g, logits, n, cfg.problem_type, BATCH) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, DISTILBERT_NAMES.classifier, dropout(ctx, x, cfg.dropout), D, n);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, n, BATCH, SEQUENCE) : undefined };
    }
    case 'masked-lm': {
      const lm = (rows: Value) => distilBertMlmHeadRows(ctx, cfg, rows);
      if (withLoss && opts.sparseMlm) return { outputs: {}, loss: sparseMaskedLmLoss(g, x, D, lm) };
      if (opts.maskPositions) return { outputs: { logits: lm(rowsAtMaskPositions(g, x, D)) } };
      const logits = g.reshape(lm(g.reshape(x, [-1, D])), [x.shape[0]!, x.shape[1]!, cfg.vocab_size]);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, cfg.vocab_size, BATCH, SEQUENCE) : undefined };
    }
    default:
      throw unsupportedHead(cfg.model_type, head);
  }
}

/** The masked-LM head on rows: vocab_transform, activation, vocab_layer_norm, vocab_projector tied to the word embeddings. */
function distilBertMlmHeadRows(ctx: BuildContext, cfg: DistilBertConfig, rows: Value): Value {
  const g = ctx.scope.g;
  const D = cfg.dim;
  const t = activate(ctx, linear(ctx, DISTILBERT_NAMES.vocabTransform, rows, D, D), HIDDEN_ACTIVATIONS[cfg.activation]);
  const h = layerNorm(ctx, DISTILBERT_NAMES.vocabNorm, t, D, DISTILBERT_LAYER_NORM_EPS);
  const words = ctx.scope.param(`${DISTILBERT_PREFIX}${DISTILBERT_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, D], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(`${DISTILBERT_NAMES.vocabProjector}.bias`, [cfg.vocab_size], { kind: 'zeros' }, false);
  return g.gemm(h, words, bias, { transB: true });
}
