/**
 * The ERNIE graph: BERT's, with the task-type embedding added when `use_task_id` is set. The graph
 * takes BERT's inputs; the task type is 0 for every token (transformers' default when no
 * `task_type_ids` are given), computed in the graph.
 */
import { type BuildContext, activate, dropout, embedding, layerNorm, linear } from '../../nn/layers.js';
import { rowsAtMaskPositions, sequenceClassificationLoss, sparseMaskedLmLoss, tokenCrossEntropyLoss } from '../../nn/losses.js';
import { AttentionMask, encoderLayer } from '../../nn/transformer.js';
import type { Value } from '../../onnx/graph.js';
import { bertInputs, type BertInputs } from '../bert/modeling.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import { BATCH, HIDDEN_ACTIVATIONS, SEQUENCE, robertaEncoderConfig, unsupportedHead } from '../roberta/modeling.js';
import type { ErnieConfig } from './config.js';
import { ERNIE_LAYER_NAMES, ERNIE_NAMES, ERNIE_PREFIX, ernieBodyPrefix, ernieHasPooler } from './names.js';

/** Word + token-type + position (+ task-type 0) embeddings, LayerNorm and dropout: [batch, seq, hidden]. */
export function ernieEmbeddings(ctx: BuildContext, cfg: ErnieConfig, prefix: string, inputs: BertInputs): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const words = embedding(ctx, `${prefix}${ERNIE_NAMES.wordEmbeddings}`, inputs.inputIds, cfg.vocab_size, H);
  const types = embedding(ctx, `${prefix}${ERNIE_NAMES.tokenTypeEmbeddings}`, inputs.tokenTypeIds, cfg.type_vocab_size, H);
  const seqLen = g.squeeze(g.gather(g.shapeOf(inputs.inputIds), g.ints([1]), 0), [0]);
  const positionIds = g.node('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [inputs.inputIds.shape[1]!] }])[0]!;
  const positions = embedding(ctx, `${prefix}${ERNIE_NAMES.positionEmbeddings}`, positionIds, cfg.max_position_embeddings, H);
  let sum = g.add(g.add(words, types), positions);
  if (cfg.use_task_id) sum = g.add(sum, embedding(ctx, `${prefix}${ERNIE_NAMES.taskTypeEmbeddings}`, g.ints([0]), cfg.task_type_vocab_size, H));
  return dropout(ctx, layerNorm(ctx, `${prefix}${ERNIE_NAMES.embeddingsNorm}`, sum, H, cfg.layer_norm_eps), cfg.hidden_dropout_prob);
}

/**
 * Builds an ERNIE head with Hugging Face parameter names. Inputs `input_ids`, `attention_mask`,
 * `token_type_ids`; with `withLoss`, the label inputs and the loss transformers computes.
 */
export function buildErnie(ctx: BuildContext, cfg: ErnieConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputs = bertInputs(g);
  const prefix = ernieBodyPrefix(head);
  const H = cfg.hidden_size;
  let x = ernieEmbeddings(ctx, cfg, prefix, inputs);
  const mask = new AttentionMask(ctx, inputs.attentionMask);
  const enc = robertaEncoderConfig(cfg);
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    x = encoderLayer(ctx, `${prefix}encoder.layer.${i}`, x, mask, enc, ERNIE_LAYER_NAMES);
    hiddenStates.push(x);
  }
  const pooled = ernieHasPooler(head) ? g.tanh(linear(ctx, `${prefix}${ERNIE_NAMES.pooler}`, g.squeeze(g.slice(x, [0], [1], [1]), [1]), H, H)) : undefined;
  const classifierDropout = cfg.classifier_dropout ?? cfg.hidden_dropout_prob;
  const lm = (rows: Value) => ernieMlmHeadRows(ctx, cfg, rows);
  const mlmLogits = () => g.reshape(lm(g.reshape(x, [-1, H])), [x.shape[0]!, x.shape[1]!, cfg.vocab_size]);
  switch (head) {
    case 'base':
    case 'encoder':
      return {
        outputs: {
          last_hidden_state: x,
          ...(pooled ? { pooler_output: pooled } : {}),
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    case 'sequence-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, ERNIE_NAMES.classifier, dropout(ctx, pooled!, classifierDropout), H, n);
      return { outputs: { logits, ...lastHiddenStateOutput(opts, x) }, loss: withLoss ? sequenceClassificationLoss(g, logits, n, cfg.problem_type, BATCH) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, ERNIE_NAMES.classifier, dropout(ctx, x, classifierDropout), H, n);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, n, BATCH, SEQUENCE) : undefined };
    }
    case 'masked-lm': {
      if (withLoss && opts.sparseMlm) return { outputs: {}, loss: sparseMaskedLmLoss(g, x, H, lm) };
      if (opts.maskPositions) return { outputs: { logits: lm(rowsAtMaskPositions(g, x, H)) } };
      const logits = mlmLogits();
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, cfg.vocab_size, BATCH, SEQUENCE) : undefined };
    }
    case 'next-sentence': {
      const logits = linear(ctx, ERNIE_NAMES.nsp, pooled!, H, 2);
      const loss = withLoss ? g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [BATCH]), { ignoreIndex: -100 }).loss : undefined;
      return { outputs: { logits }, loss };
    }
    case 'pretraining': {
      const relationship = linear(ctx, ERNIE_NAMES.nsp, pooled!, H, 2);
      if (!withLoss) return { outputs: { prediction_logits: mlmLogits(), seq_relationship_logits: relationship } };
      const nsp = g.softmaxCrossEntropyLoss(relationship, g.input('next_sentence_label', 'int64', [BATCH]), { ignoreIndex: -100 }).loss;
      if (opts.sparseMlm) return { outputs: { seq_relationship_logits: relationship }, loss: g.add(sparseMaskedLmLoss(g, x, H, lm), nsp) };
      const prediction = mlmLogits();
      return {
        outputs: { prediction_logits: prediction, seq_relationship_logits: relationship },
        loss: g.add(tokenCrossEntropyLoss(g, prediction, cfg.vocab_size, BATCH, SEQUENCE), nsp),
      };
    }
    default:
      throw unsupportedHead(cfg.model_type, head);
  }
}

/** The masked-LM head on rows of hidden states: transform (dense, activation, LayerNorm), then the decoder tied to the word embeddings. */
function ernieMlmHeadRows(ctx: BuildContext, cfg: ErnieConfig, rows: Value): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const t = activate(ctx, linear(ctx, ERNIE_NAMES.mlmTransform, rows, H, H), HIDDEN_ACTIVATIONS[cfg.hidden_act]);
  const h = layerNorm(ctx, ERNIE_NAMES.mlmNorm, t, H, cfg.layer_norm_eps);
  const words = ctx.scope.param(`${ERNIE_PREFIX}${ERNIE_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, H], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(ERNIE_NAMES.mlmBias, [cfg.vocab_size], { kind: 'zeros' }, false);
  return g.gemm(h, words, bias, { transB: true });
}
