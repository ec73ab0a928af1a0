/** ELECTRA's graphs: BERT's encoder on factorised embeddings, with ELECTRA's heads (generator and discriminator). */
import { type BuildContext, activate, dropout, layerNorm, linear } from '../../nn/layers.js';
import type { Value } from '../../onnx/graph.js';
import { AttentionMask, encoderLayer } from '../../nn/transformer.js';
import { BATCH, SEQUENCE, type BertInputs, bertEmbeddings, bertInputs, encoderConfig } from '../bert/modeling.js';
import type { BertConfig } from '../bert/config.js';
import { BERT_LAYER_NAMES } from '../bert/names.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import type { ElectraConfig } from './config.js';
import { binaryCrossEntropyWithLogits, sequenceClassificationLoss, tokenCrossEntropyLoss } from './losses.js';
import { ELECTRA_NAMES, ELECTRA_PREFIX, electraBodyPrefix } from './names.js';
import { hasEmbeddingsProjection } from './parameters.js';

/** The config as BERT's builders read it (the embeddings at `embedding_size`). */
function asBert(cfg: ElectraConfig, hidden = cfg.hidden_size): BertConfig {
  return { ...cfg, model_type: 'bert', hidden_size: hidden };
}

/** Exact GELU for the heads Hugging Face builds with `get_activation("gelu")`, else the config's activation. */
function hiddenActivation(cfg: ElectraConfig) {
  return encoderConfig(asBert(cfg)).activation ?? 'gelu';
}

/**
 * ElectraModel: embeddings of `embedding_size` (projected to `hidden_size` by `embeddings_project`
 * when they differ), then BERT's encoder layers. Returns the sequence output [batch, seq, hidden]
 * and every hidden state (the projected embeddings first).
 */
export function electraModel(ctx: BuildContext, cfg: ElectraConfig, prefix: string, inputs: BertInputs): { sequenceOutput: Value; hiddenStates: Value[] } {
  let x = bertEmbeddings(ctx, asBert(cfg, cfg.embedding_size), prefix, inputs);
  if (hasEmbeddingsProjection(cfg)) x = linear(ctx, `${prefix}${ELECTRA_NAMES.embeddingsProject}`, x, cfg.embedding_size, cfg.hidden_size);
  const mask = new AttentionMask(ctx, inputs.attentionMask);
  const enc = encoderConfig(asBert(cfg));
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    x = encoderLayer(ctx, `${prefix}encoder.layer.${i}`, x, mask, enc, BERT_LAYER_NAMES);
    hiddenStates.push(x);
  }
  return { sequenceOutput: x, hiddenStates };
}

/**
 * Builds an ELECTRA head with Hugging Face parameter names. With `withLoss`, label inputs are
 * declared and the loss Hugging Face computes for that head is returned.
 */
export function buildElectra(ctx: BuildContext, cfg: ElectraConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputs = bertInputs(g);
  const { sequenceOutput, hiddenStates } = electraModel(ctx, cfg, electraBodyPrefix(head), inputs);
  const H = cfg.hidden_size;
  const classifierDropout = cfg.classifier_dropout ?? cfg.hidden_dropout_prob;
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
      // ElectraClassificationHead: the first token, dropout, dense, GELU, dropout, out_proj.
      const first = g.squeeze(g.slice(sequenceOutput, [0], [1], [1]), [1]);
      const hidden = activate(ctx, linear(ctx, ELECTRA_NAMES.sequenceDense, dropout(ctx, first, classifierDropout), H, H), 'gelu');
      const logits = linear(ctx, ELECTRA_NAMES.sequenceOut, dropout(ctx, hidden, classifierDropout), H, numLabels(cfg));
      return { outputs: { logits, ...lastHiddenStateOutput(opts, sequenceOutput) }, loss: withLoss ? sequenceClassificationLoss(g, cfg, logits) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, ELECTRA_NAMES.tokenClassifier, dropout(ctx, sequenceOutput, classifierDropout), H, n);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, n) : undefined };
    }
    case 'masked-lm': {
      if (withLoss && opts.sparseMlm) {
        const positions = g.input('masked_positions', 'int64', ['masked_count']);
        const labels = g.input('masked_labels', 'int64', ['masked_count']);
        const rows = g.gather(g.reshape(sequenceOutput, [-1, H]), positions, 0);
        return { outputs: {}, loss: g.softmaxCrossEntropyLoss(generatorRows(ctx, cfg, rows), labels, { ignoreIndex: -100 }).loss };
      }
      if (opts.maskPositions) {
        const positions = g.input('mask_positions', 'int64', ['mask_count']);
        return { outputs: { logits: generatorRows(ctx, cfg, g.gather(g.reshape(sequenceOutput, [-1, H]), positions, 0)) } };
      }
      const logits = g.reshape(generatorRows(ctx, cfg, g.reshape(sequenceOutput, [-1, H])), [sequenceOutput.shape[0]!, sequenceOutput.shape[1]!, cfg.vocab_size]);
      return { outputs: { logits }, loss: withLoss ? tokenCrossEntropyLoss(g, logits, cfg.vocab_size) : undefined };
    }
    case 'replaced-token-detection': {
      // ElectraDiscriminatorPredictions: dense, the config's activation, one logit per token.
      const hidden = activate(ctx, linear(ctx, ELECTRA_NAMES.discriminatorDense, sequenceOutput, H, H), hiddenActivation(cfg));
      const logits = g.squeeze(linear(ctx, ELECTRA_NAMES.discriminatorPrediction, hidden, H, 1), [2]);
      let loss: Value | undefined;
      if (withLoss) {
        // Binary cross-entropy averaged over the tokens the attention mask keeps.
        const labels = g.cast(g.input('labels', 'int64', [BATCH, SEQUENCE]), 'float32');
        const keep = g.cast(inputs.attentionMask, 'float32');
        loss = g.div(g.reduceSum(g.mul(binaryCrossEntropyWithLogits(g, logits, labels), keep)), g.reduceSum(keep));
      }
      return { outputs: { logits }, loss };
    }
    default:
      throw new Error(`ELECTRA has no ${head} head`);
  }
}

/** The generator head on rows of hidden states: dense to embedding_size, GELU, LayerNorm, decoder tied to the word embeddings. */
export function generatorRows(ctx: BuildContext, cfg: ElectraConfig, rows: Value): Value {
  const E = cfg.embedding_size;
  const t = activate(ctx, linear(ctx, ELECTRA_NAMES.generatorDense, rows, cfg.hidden_size, E), 'gelu');
  const h = layerNorm(ctx, ELECTRA_NAMES.generatorNorm, t, E, cfg.layer_norm_eps);
  const words = ctx.scope.param(`${ELECTRA_PREFIX}${ELECTRA_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, E], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(`${ELECTRA_NAMES.generatorHead}.bias`, [cfg.vocab_size], { kind: 'zeros' }, false);
  return ctx.scope.g.gemm(h, words, bias, { transB: true });
}
