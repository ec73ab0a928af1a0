/**
 * DeBERTa-v2's parameter names as Hugging Face transformers spells them: the embeddings, the
 * disentangled attention's projections, the relative embeddings of the encoder, the ContextPooler
 * and the two masked-LM head variants.
 */
import type { MatchOptions } from '../../io/names.js';
import { BERT_IGNORED_UNEXPECTED } from '../bert/names.js';
import type { HeadKind } from '../heads.js';
import type { DebertaV2Config } from './config.js';

/** Prefix of the encoder's parameters under a head (DebertaV2Model itself has none). */
export const DEBERTA_PREFIX = 'deberta.';

/** Sub-module names of one `encoder.layer.{i}`. */
export const DEBERTA_LAYER_NAMES = {
  query: 'attention.self.query_proj',
  key: 'attention.self.key_proj',
  value: 'attention.self.value_proj',
  positionKey: 'attention.self.pos_key_proj',
  positionQuery: 'attention.self.pos_query_proj',
  attentionOutput: 'attention.output.dense',
  attentionNorm: 'attention.output.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
} as const;

/** Module names of the embeddings, the encoder and the heads. */
export const DEBERTA_NAMES = {
  wordEmbeddings: 'embeddings.word_embeddings',
  positionEmbeddings: 'embeddings.position_embeddings',
  tokenTypeEmbeddings: 'embeddings.token_type_embeddings',
  embedProj: 'embeddings.embed_proj',
  embeddingsNorm: 'embeddings.LayerNorm',
  relEmbeddings: 'encoder.rel_embeddings',
  relNorm: 'encoder.LayerNorm',
  /** The ConvLayer after the first layer (conv_kernel_size > 0): Conv1d weight [hidden, hidden, kernel]. */
  conv: 'encoder.conv.conv',
  convNorm: 'encoder.conv.LayerNorm',
  pooler: 'pooler.dense',
  classifier: 'classifier',
  /** legacy: true */
  legacyDense: 'cls.predictions.transform.dense',
  legacyNorm: 'cls.predictions.transform.LayerNorm',
  legacyBias: 'cls.predictions.bias',
  /** legacy: false */
  lmDense: 'lm_predictions.lm_head.dense',
  lmNorm: 'lm_predictions.lm_head.LayerNorm',
  lmBias: 'lm_predictions.lm_head.bias',
} as const;

/** The prefix of encoder layer `i` (relative to the encoder's prefix). */
export function debertaLayerPrefix(i: number): string {
  return `encoder.layer.${i}`;
}

/** The legacy masked-LM decoder is tied to the word embeddings, its bias to `cls.predictions.bias`. */
export const DEBERTA_TIED_ALIASES: readonly (readonly [string, string])[] = [
  ['cls.predictions.decoder.weight', 'deberta.embeddings.word_embeddings.weight'],
  ['cls.predictions.decoder.bias', 'cls.predictions.bias'],
  ['lm_predictions.lm_head.weight', 'deberta.embeddings.word_embeddings.weight'],
];

/**
 * Keys transformers ignores in DeBERTa-v2 checkpoints: buffers, the absolute position embeddings
 * of checkpoints whose config does not use them, and the replaced-token-detection head of
 * pre-training checkpoints (`mask_predictions.*`).
 */
export const DEBERTA_IGNORED_UNEXPECTED: readonly RegExp[] = [...BERT_IGNORED_UNEXPECTED, /(^|\.)embeddings\.position_embeddings\.weight$/, /^mask_predictions\./];

/** The key-matching rules of DeBERTa-v2 checkpoints. */
export const DEBERTA_KEY_RULES: MatchOptions = { prefix: DEBERTA_PREFIX, aliases: DEBERTA_TIED_ALIASES, ignoreUnexpected: DEBERTA_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `deberta.` under a head. */
export function debertaBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : DEBERTA_PREFIX;
}

/** Whether a parameter belongs to a task head that is specific to a label set (the pooler is not). */
export function isDebertaHeadParameter(name: string): boolean {
  return name.startsWith(`${DEBERTA_NAMES.classifier}.`);
}

/** The masked-LM head's module names for a config (`legacy` picks `cls.predictions` or `lm_predictions.lm_head`). */
export function debertaMlmNames(config: DebertaV2Config): { dense: string; norm: string; bias: string } {
  return config.legacy
    ? { dense: DEBERTA_NAMES.legacyDense, norm: DEBERTA_NAMES.legacyNorm, bias: DEBERTA_NAMES.legacyBias }
    : { dense: DEBERTA_NAMES.lmDense, norm: DEBERTA_NAMES.lmNorm, bias: DEBERTA_NAMES.lmBias };
}
