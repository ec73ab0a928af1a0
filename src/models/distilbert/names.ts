/**
 * DistilBERT's parameter names as Hugging Face transformers spells them: `embeddings` and
 * `transformer.layer.{i}` (q_lin ... output_layer_norm) under `distilbert.`, and the heads'
 * `pre_classifier`, `classifier`, `vocab_transform`, `vocab_layer_norm`, `vocab_projector`.
 */
import type { MatchOptions } from '../../io/names.js';
import type { EncoderLayerNames } from '../../nn/transformer.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (DistilBertModel itself has none). */
export const DISTILBERT_PREFIX = 'distilbert.';

/** Sub-module names of one `transformer.layer.{i}`. */
export const DISTILBERT_LAYER_NAMES: EncoderLayerNames = {
  query: 'attention.q_lin',
  key: 'attention.k_lin',
  value: 'attention.v_lin',
  attentionOutput: 'attention.out_lin',
  attentionNorm: 'sa_layer_norm',
  intermediate: 'ffn.lin1',
  output: 'ffn.lin2',
  outputNorm: 'output_layer_norm',
};

/** Module names of the embeddings and layers (under the body prefix) and of the heads. */
export const DISTILBERT_NAMES = {
  wordEmbeddings: 'embeddings.word_embeddings',
  positionEmbeddings: 'embeddings.position_embeddings',
  embeddingsNorm: 'embeddings.LayerNorm',
  layers: 'transformer.layer',
  preClassifier: 'pre_classifier',
  classifier: 'classifier',
  vocabTransform: 'vocab_transform',
  vocabNorm: 'vocab_layer_norm',
  vocabProjector: 'vocab_projector',
} as const;

/** The masked-LM projector's weight is the word embeddings; its bias is its own (`vocab_projector.bias`). */
export const DISTILBERT_TIED_ALIASES: readonly (readonly [string, string])[] = [
  [`${DISTILBERT_NAMES.vocabProjector}.weight`, `${DISTILBERT_PREFIX}${DISTILBERT_NAMES.wordEmbeddings}.weight`],
];

/** Buffers of old checkpoints that current transformers never reports. */
export const DISTILBERT_IGNORED_UNEXPECTED: readonly RegExp[] = [/(^|\.)embeddings\.position_ids$/];

/** The key-matching rules of DistilBERT checkpoints. */
export const DISTILBERT_KEY_RULES: MatchOptions = { prefix: DISTILBERT_PREFIX, aliases: DISTILBERT_TIED_ALIASES, ignoreUnexpected: DISTILBERT_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `distilbert.` under a head. */
export function distilBertBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : DISTILBERT_PREFIX;
}

/** Whether a parameter belongs to a task head that is specific to a label set. */
export function isDistilBertHeadParameter(name: string): boolean {
  return name.startsWith(`${DISTILBERT_NAMES.classifier}.`) || name.startsWith(`${DISTILBERT_NAMES.preClassifier}.`);
}
