import { TunaError } from '../../errors.js';
import type { Graph, Value } from '../../onnx/graph.js';
import { type Activation, type BuildContext, activate, dropout, embedding, layerNorm, linear } from '../../nn/layers.js';
import { AttentionMask, encoderLayer, type EncoderLayerConfig } from '../../nn/transformer.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import type { BertConfig, HiddenAct } from './config.js';
import { BERT_HEAD_NAMES, BERT_LAYER_NAMES, BERT_PREFIX, bodyPrefix } from './names.js';
import { hasPooler } from './parameters.js';

/** Symbolic dims of BERT graph inputs, named as Hugging Face's ONNX exports name them. */
export const BATCH = 'batch_size';
export const SEQUENCE = 'sequence_length';

/** The token inputs every BERT graph takes. */
export interface BertInputs {
  readonly inputIds: Value;
  readonly attentionMask: Value;
  readonly tokenTypeIds: Value;
}

/** Declares `input_ids`, `attention_mask` and `token_type_ids` (int64, [batch_size, sequence_length]). */
export function bertInputs(g: Graph): BertInputs {
  return {
    inputIds: g.input('input_ids', 'int64', [BATCH, SEQUENCE]),
    attentionMask: g.input('attention_mask', 'int64', [BATCH, SEQUENCE]),
    tokenTypeIds: g.input('token_type_ids', 'int64', [BATCH, SEQUENCE]),
  };
}

const ACTIVATIONS: Record<HiddenAct, Activation> = {
  gelu: 'gelu',
  relu: 'relu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  silu: 'silu',
  swish: 'silu',
};

/** Word + position + token-type embeddings, LayerNorm and dropout: [batch, seq, hidden]. */
export function bertEmbeddings(ctx: BuildContext, cfg: BertConfig, prefix: string, inputs: BertInputs): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const name = `${prefix}embeddings`;
  const words = embedding(ctx, `${name}.word_embeddings`, inputs.inputIds, cfg.vocab_size, H);
  const seqLen = g.squeeze(g.gather(g.shapeOf(inputs.inputIds), g.ints([1]), 0), [0]);
  const positionIds = g.node('Range', [g.scalar(0, 'int64'), seqLen, g.scalar(1, 'int64')], [{ dtype: 'int64', shape: [inputs.inputIds.shape[1]!] }])[0]!;
  const positions = embedding(ctx, `${name}.position_embeddings`, positionIds, cfg.max_position_embeddings, H);
  const types = embedding(ctx, `${name}.token_type_embeddings`, inputs.tokenTypeIds, cfg.type_vocab_size, H);
  const sum = g.add(g.add(words, types), positions);
  return dropout(ctx, layerNorm(ctx, `${name}.LayerNorm`, sum, H, cfg.layer_norm_eps), cfg.hidden_dropout_prob);
}

/** The encoder layer sizes of a config. */
export function encoderConfig(cfg: BertConfig): EncoderLayerConfig {
  return {
    hidden: cfg.hidden_size,
    heads: cfg.num_attention_heads,
    intermediate: cfg.intermediate_size,
    layerNormEps: cfg.layer_norm_eps,
    hiddenDropout: cfg.hidden_dropout_prob,
    attentionDropout: cfg.attention_probs_dropout_prob,
    activation: ACTIVATIONS[cfg.hidden_act],
  };
}

/**
 * BertModel: the sequence output [batch, seq, hidden] and, unless `withPooler` is false (the
 * masked-LM and token-classification heads have no pooler), the pooled [CLS] output [batch, hidden].
 */
export function bertModel(
  ctx: BuildContext,
  cfg: BertConfig,
  prefix: string,
  inputs: BertInputs,
  withPooler = true,
): { sequenceOutput: Value; pooledOutput?: Value; hiddenStates: Value[] } {
  const g = ctx.scope.g;
  let x = bertEmbeddings(ctx, cfg, prefix, inputs);
  const mask = new AttentionMask(ctx, inputs.attentionMask);
  const enc = encoderConfig(cfg);
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    x = encoderLayer(ctx, `${prefix}encoder.layer.${i}`, x, mask, enc, BERT_LAYER_NAMES);
    hiddenStates.push(x);
  }
  if (!withPooler) return { sequenceOutput: x, hiddenStates };
  const first = g.squeeze(g.slice(x, [0], [1], [1]), [1]);
  const pooled = g.tanh(linear(ctx, `${prefix}${BERT_HEAD_NAMES.pooler}`, first, cfg.hidden_size, cfg.hidden_size));
  return { sequenceOutput: x, pooledOutput: pooled, hiddenStates };
}

/**
 * Builds a BERT head with Hugging Face parameter names. With `withLoss`, label inputs are declared
 * and the loss Hugging Face computes for that head is returned (ignore index -100 where Hugging
 * Face uses it).
 */
export function buildBert(ctx: BuildContext, cfg: BertConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputs = bertInputs(g);
  const prefix = bodyPrefix(head);
  const { sequenceOutput, pooledOutput: pooled, hiddenStates } = bertModel(ctx, cfg, prefix, inputs, hasPooler(head));
  const pooledOutput = pooled as Value;
  const H = cfg.hidden_size;
  const classifierDropout = cfg.classifier_dropout ?? cfg.hidden_dropout_prob;
  switch (head) {
    case 'base':
    case 'encoder':
      return {
        outputs: {
          last_hidden_state: sequenceOutput,
          ...(head === 'base' ? { pooler_output: pooledOutput } : {}),
          // Hugging Face's output_hidden_states: the embeddings, then every layer's output.
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    case 'sequence-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, BERT_HEAD_NAMES.classifier, dropout(ctx, pooledOutput, classifierDropout), H, n);
      return { outputs: { logits, ...lastHiddenStateOutput(opts, sequenceOutput) }, loss: withLoss ? sequenceClassificationLoss(g, cfg, logits) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, BERT_HEAD_NAMES.classifier, dropout(ctx, sequenceOutput, classifierDropout), H, n);
      let loss: Value | undefined;
      if (withLoss) {
        const labels = g.input('labels', 'int64', [BATCH, SEQUENCE]);
        loss = g.softmaxCrossEntropyLoss(g.reshape(logits, [-1, n]), g.reshape(labels, [-1]), { ignoreIndex: -100 }).loss;
      }
      return { outputs: { logits }, loss };
    }
    case 'masked-lm': {
      if (withLoss && opts.sparseMlm) return { outputs: {}, loss: sparseMlmLoss(ctx, cfg, sequenceOutput) };
      if (opts.maskPositions) {
        const positions = g.input('mask_positions', 'int64', ['mask_count']);
        return { outputs: { logits: mlmHeadRows(ctx, cfg, g.gather(g.reshape(sequenceOutput, [-1, H]), positions, 0)) } };
      }
      const logits = mlmHead(ctx, cfg, sequenceOutput);
      return { outputs: { logits }, loss: withLoss ? mlmLoss(g, cfg, logits, g.input('labels', 'int64', [BATCH, SEQUENCE])) : undefined };
    }
    case 'next-sentence': {
      const logits = linear(ctx, BERT_HEAD_NAMES.nsp, pooledOutput, H, 2);
      const loss = withLoss ? g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [BATCH]), { ignoreIndex: -100 }).loss : undefined;
      return { outputs: { logits }, loss };
    }
    case 'pretraining': {
      const prediction = withLoss && opts.sparseMlm ? undefined : mlmHead(ctx, cfg, sequenceOutput);
      const relationship = linear(ctx, BERT_HEAD_NAMES.nsp, pooledOutput, H, 2);
      let loss: Value | undefined;
      if (withLoss) {
        const mlm = opts.sparseMlm ? sparseMlmLoss(ctx, cfg, sequenceOutput) : mlmLoss(g, cfg, prediction!, g.input('labels', 'int64', [BATCH, SEQUENCE]));
        const nsp = g.softmaxCrossEntropyLoss(relationship, g.input('next_sentence_label', 'int64', [BATCH]), { ignoreIndex: -100 }).loss;
        loss = g.add(mlm, nsp);
      }
      return { outputs: prediction ? { prediction_logits: prediction, seq_relationship_logits: relationship } : { seq_relationship_logits: relationship }, loss };
    }
    case 'replaced-token-detection':
      throw new TunaError('unsupported_model', "BERT has no replaced-token-detection head (that is ELECTRA's discriminator, ElectraForPreTraining)");
  }
}

/** The masked-LM head: transform (dense, activation, LayerNorm), then the decoder tied to the word embeddings. */
function mlmHead(ctx: BuildContext, cfg: BertConfig, sequenceOutput: Value): Value {
  const g = ctx.scope.g;
  const logits = mlmHeadRows(ctx, cfg, g.reshape(sequenceOutput, [-1, cfg.hidden_size]));
  return g.reshape(logits, [sequenceOutput.shape[0]!, sequenceOutput.shape[1]!, cfg.vocab_size]);
}

/** The masked-LM head on rows of hidden states: [rows, hidden] to [rows, vocab]. */
function mlmHeadRows(ctx: BuildContext, cfg: BertConfig, rows: Value): Value {
  const g = ctx.scope.g;
  const H = cfg.hidden_size;
  const t = activate(ctx, linear(ctx, BERT_HEAD_NAMES.mlmTransform, rows, H, H), ACTIVATIONS[cfg.hidden_act]);
  const h = layerNorm(ctx, BERT_HEAD_NAMES.mlmNorm, t, H, cfg.layer_norm_eps);
  // The decoder is tied to the word embeddings.
  const words = ctx.scope.param(`${BERT_PREFIX}${BERT_HEAD_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, H], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(BERT_HEAD_NAMES.mlmBias, [cfg.vocab_size], { kind: 'zeros' }, false);
  return g.gemm(h, words, bias, { transB: true });
}

/** Masked-LM loss over the masked tokens only (see `sparseMlm`). */
function sparseMlmLoss(ctx: BuildContext, cfg: BertConfig, sequenceOutput: Value): Value {
  const g = ctx.scope.g;
  const positions = g.input('masked_positions', 'int64', ['masked_count']);
  const labels = g.input('masked_labels', 'int64', ['masked_count']);
  const rows = g.gather(g.reshape(sequenceOutput, [-1, cfg.hidden_size]), positions, 0);
  return g.softmaxCrossEntropyLoss(mlmHeadRows(ctx, cfg, rows), labels, { ignoreIndex: -100 }).loss;
}

function mlmLoss(g: Graph, cfg: BertConfig, logits: Value, labels: Value): Value {
  return g.softmaxCrossEntropyLoss(g.reshape(logits, [-1, cfg.vocab_size]), g.reshape(labels, [-1]), { ignoreIndex: -100 }).loss;
}

/** Hugging Face's BertForSequenceClassification loss for the config's problem type. */
function sequenceClassificationLoss(g: Graph, cfg: BertConfig, logits: Value): Value {
  const n = numLabels(cfg);
  const problem = cfg.problem_type ?? (n === 1 ? 'regression' : 'single_label_classification');
  if (problem === 'single_label_classification') {
    return g.softmaxCrossEntropyLoss(logits, g.input('labels', 'int64', [BATCH]), { ignoreIndex: -100 }).loss;
  }
  if (problem === 'regression') {
    const labels = g.input('labels', 'float32', n === 1 ? [BATCH] : [BATCH, n]);
    const pred = n === 1 ? g.squeeze(logits, [1]) : logits;
    const diff = g.sub(pred, labels);
    return g.reduceMean(g.mul(diff, diff));
  }
  // Multi-label: mean binary cross-entropy with logits, in the numerically stable form
  // max(x, 0) - x*y + log(1 + exp(-|x|)).
  const labels = g.input('labels', 'float32', [BATCH, n]);
  const stable = g.add(g.sub(g.relu(logits), g.mul(logits, labels)), g.log(g.add(g.exp(g.neg(g.abs(logits))), 1)));
  return g.reduceMean(stable);
}
