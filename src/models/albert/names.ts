/**
 * ALBERT's parameter names as Hugging Face transformers spells them: factorised embeddings, the
 * mapping to the hidden size, the shared layer groups and the heads.
 */
import type { MatchOptions } from '../../io/names.js';
import type { EncoderLayerNames } from '../../nn/transformer.js';
import { BERT_IGNORED_UNEXPECTED } from '../bert/names.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (AlbertModel itself has none). */
export const ALBERT_PREFIX = 'albert.';

/** Sub-module names of one shared `albert_layers.{j}` layer. */
export const ALBERT_LAYER_NAMES: EncoderLayerNames = {
  query: 'attention.query',
  key: 'attention.key',
  value: 'attention.value',
  attentionOutput: 'attention.dense',
  attentionNorm: 'attention.LayerNorm',
  intermediate: 'ffn',
  output: 'ffn_output',
  outputNorm: 'full_layer_layer_norm',
};

/** Module names of the encoder and the heads. */
export const ALBERT_NAMES = {
  /** Linear embedding_size -> hidden_size at the encoder's input (always present). */
  embeddingMapping: 'encoder.embedding_hidden_mapping_in',
  wordEmbeddings: 'embeddings.word_embeddings',
  pooler: 'pooler',
  classifier: 'classifier',
  mlmDense: 'predictions.dense',
  mlmNorm: 'predictions.LayerNorm',
  mlmBias: 'predictions.bias',
} as const;

/** The prefix of layer `j` of group `group` (relative to the encoder's prefix). */
export function albertLayerPrefix(group: number, j: number): string {
  return `encoder.albert_layer_groups.${group}.albert_layers.${j}`;
}

/** The masked-LM decoder is tied to the word embeddings, its bias to `predictions.bias`. */
export const ALBERT_TIED_ALIASES: readonly (readonly [string, string])[] = [
  ['predictions.decoder.weight', 'albert.embeddings.word_embeddings.weight'],
  ['predictions.decoder.bias', 'predictions.bias'],
];

/** The key-matching rules of ALBERT checkpoints. */
export const ALBERT_KEY_RULES: MatchOptions = { prefix: ALBERT_PREFIX, aliases: ALBERT_TIED_ALIASES, ignoreUnexpected: BERT_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `albert.` under a head. */
export function albertBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : ALBERT_PREFIX;
}

/** Whether a parameter belongs to a task head that is specific to a label set. */
export function isAlbertHeadParameter(name: string): boolean {
  return name.startsWith(`${ALBERT_NAMES.classifier}.`);
}

/** Whether a head has the pooler (masked LM and token classification do not, as in transformers). */
export function albertHasPooler(head: HeadKind): boolean {
  return head === 'base' || head === 'sequence-classification';
}
