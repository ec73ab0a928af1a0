/**
 * ALBERT's graphs: factorised embeddings mapped to the hidden size, then `num_hidden_layers`
 * applications of shared layer weights (each group's layers reused by consecutive layers; the
 * graph asks for the same parameters at every use, so training sums their gradients over the uses),
 * the pooler and the heads.
 */
import { type BuildContext, activate, dropout, layerNorm, linear, sublayerOutput } from '../../nn/layers.js';
import type { Value } from '../../onnx/graph.js';
import { AttentionMask, type EncoderLayerConfig, encoderLayer, selfAttention } from '../../nn/transformer.js';
import type { BertConfig } from '../bert/config.js';
import { type BertInputs, bertEmbeddings, bertInputs, encoderConfig } from '../bert/modeling.js';
import { sequenceClassificationLoss, tokenCrossEntropyLoss } from '../electra/losses.js';
import { type BuildOptions, type HeadKind, type ModelGraph, lastHiddenStateOutput, numLabels } from '../heads.js';
import { type AlbertConfig, albertGroupOf } from './config.js';
import { ALBERT_LAYER_NAMES, ALBERT_NAMES, ALBERT_PREFIX, albertBodyPrefix, albertHasPooler, albertLayerPrefix } from './names.js';

/** The config as BERT's builders read it (`hidden` replacing hidden_size: the embeddings are of embedding_size). */
function asBert(cfg: AlbertConfig, hidden = cfg.hidden_size): BertConfig {
  return { ...cfg, model_type: 'bert', hidden_size: hidden, classifier_dropout: null };
}

/**
 * One ALBERT layer for training: attention, dropout, add & LayerNorm, then the feed-forward
 * network (`ffn`, activation, `ffn_output`) added and normalised without dropout, as transformers
 * computes it. (In inference graphs, where dropout is the identity, it equals the shared
 * `encoderLayer`, which also brings the fused attention kernel.)
 */
function albertTrainingLayer(ctx: BuildContext, prefix: string, x: Value, mask: AttentionMask, cfg: EncoderLayerConfig): Value {
  const g = ctx.scope.g;
  const n = (sub: string) => `${prefix}.${sub}`;
  const names = ALBERT_LAYER_NAMES;
  const att = selfAttention(ctx, { query: n(names.query), key: n(names.key), value: n(names.value) }, x, mask.additive(), cfg);
  const attOut = dropout(ctx, linear(ctx, n(names.attentionOutput), att, cfg.hidden, cfg.hidden), cfg.hiddenDropout);
  const h = layerNorm(ctx, n(names.attentionNorm), g.add(sublayerOutput(ctx, n(names.attentionOutput), attOut), x), cfg.hidden, cfg.layerNormEps);
  const inter = activate(ctx, linear(ctx, n(names.intermediate), h, cfg.hidden, cfg.intermediate), cfg.activation ?? 'gelu');
  const out = linear(ctx, n(names.output), inter, cfg.intermediate, cfg.hidden);
  return layerNorm(ctx, n(names.outputNorm), g.add(sublayerOutput(ctx, n(names.output), out), h), cfg.hidden, cfg.layerNormEps);
}

/**
 * AlbertModel: the sequence output [batch, seq, hidden], every hidden state (the mapped embeddings,
 * then each of the `num_hidden_layers` layer applications) and, with `withPooler`, the pooled first
 * token (dense + tanh) [batch, hidden].
 */
export function albertModel(
  ctx: BuildContext,
  cfg: AlbertConfig,
  prefix: string,
  inputs: BertInputs,
  withPooler: boolean,
): { sequenceOutput: Value; pooledOutput?: Value; hiddenStates: Value[] } {
  const g = ctx.scope.g;
  const embedded = bertEmbeddings(ctx, asBert(cfg, cfg.embedding_size), prefix, inputs);
  let x = linear(ctx, `${prefix}${ALBERT_NAMES.embeddingMapping}`, embedded, cfg.embedding_size, cfg.hidden_size);
  const mask = new AttentionMask(ctx, inputs.attentionMask);
  const enc = encoderConfig(asBert(cfg));
  const hiddenStates = [x];
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const group = albertGroupOf(cfg, i);
    for (let j = 0; j < cfg.inner_group_num; j++) {
      const layer = `${prefix}${albertLayerPrefix(group, j)}`;
      x = ctx.training ? albertTrainingLayer(ctx, layer, x, mask, enc) : encoderLayer(ctx, layer, x, mask, enc, ALBERT_LAYER_NAMES);
    }
    hiddenStates.push(x);
  }
  if (!withPooler) return { sequenceOutput: x, hiddenStates };
  const first = g.squeeze(g.slice(x, [0], [1], [1]), [1]);
  const pooled = g.tanh(linear(ctx, `${prefix}${ALBERT_NAMES.pooler}`, first, cfg.hidden_size, cfg.hidden_size));
  return { sequenceOutput: x, pooledOutput: pooled, hiddenStates };
}

/**
 * Builds an ALBERT head with Hugging Face parameter names. With `withLoss`, label inputs are
 * declared and the loss Hugging Face computes for that head is returned.
 */
export function buildAlbert(ctx: BuildContext, cfg: AlbertConfig, head: HeadKind, opts: BuildOptions = {}): ModelGraph {
  const g = ctx.scope.g;
  const withLoss = opts.withLoss ?? false;
  const inputs = bertInputs(g);
  const { sequenceOutput, pooledOutput, hiddenStates } = albertModel(ctx, cfg, albertBodyPrefix(head), inputs, albertHasPooler(head));
  const H = cfg.hidden_size;
  switch (head) {
    case 'base':
    case 'encoder':
      return {
        outputs: {
          last_hidden_state: sequenceOutput,
          ...(pooledOutput ? { pooler_output: pooledOutput } : {}),
          ...(opts.hiddenStates ? Object.fromEntries(hiddenStates.map((h, i) => [`hidden_states.${i}`, h])) : {}),
        },
      };
    case 'sequence-classification': {
      const logits = linear(ctx, ALBERT_NAMES.classifier, dropout(ctx, pooledOutput!, cfg.classifier_dropout_prob ?? 0), H, numLabels(cfg));
      return { outputs: { logits, ...lastHiddenStateOutput(opts, sequenceOutput) }, loss: withLoss ? sequenceClassificationLoss(g, cfg, logits) : undefined };
    }
    case 'token-classification': {
      const n = numLabels(cfg);
      const logits = linear(ctx, ALBERT_NAMES.classifier, dropout(ctx, sequenceOutput, cfg.classifier_dropout_prob ?? cfg.hidden_dropout_prob), H, n);
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
      throw new Error(`ALBERT has no ${head} head in tuna`);
  }
}

/** The masked-LM head on rows of hidden states: dense to embedding_size, activation, LayerNorm, decoder tied to the word embeddings. */
function mlmRows(ctx: BuildContext, cfg: AlbertConfig, rows: Value): Value {
  const E = cfg.embedding_size;
  const act = encoderConfig(asBert(cfg)).activation ?? 'gelu';
  const t = activate(ctx, linear(ctx, ALBERT_NAMES.mlmDense, rows, cfg.hidden_size, E), act);
  const h = layerNorm(ctx, ALBERT_NAMES.mlmNorm, t, E, cfg.layer_norm_eps);
  const words = ctx.scope.param(`${ALBERT_PREFIX}${ALBERT_NAMES.wordEmbeddings}.weight`, [cfg.vocab_size, E], { kind: 'normal', std: ctx.initStd });
  const bias = ctx.scope.param(ALBERT_NAMES.mlmBias, [cfg.vocab_size], { kind: 'zeros' }, false);
  return ctx.scope.g.gemm(h, words, bias, { transB: true });
}
