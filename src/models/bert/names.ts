/**
 * BERT's parameter names as Hugging Face transformers spells them: the encoder layer's sub-module
 * names, the heads' module names, and the rules for matching checkpoint keys. The only place that
 * knows them.
 */
import type { MatchOptions } from '../../io/names.js';
import type { EncoderLayerNames } from '../../nn/transformer.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (BertModel itself has none). */
export const BERT_PREFIX = 'bert.';

/** Sub-module names of one `encoder.layer.{i}`. */
export const BERT_LAYER_NAMES: EncoderLayerNames = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  attentionOutput: 'attention.output.dense',
  attentionNorm: 'attention.output.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

/** Module names of the heads. */
export const BERT_HEAD_NAMES = {
  classifier: 'classifier',
  pooler: 'pooler.dense',
  mlmTransform: 'cls.predictions.transform.dense',
  mlmNorm: 'cls.predictions.transform.LayerNorm',
  mlmBias: 'cls.predictions.bias',
  nsp: 'cls.seq_relationship',
  wordEmbeddings: 'embeddings.word_embeddings',
} as const;

/**
 * Pairs of names that are one parameter in the masked-LM head (full names, with the `bert.`
 * prefix): the decoder weight is tied to the word embeddings and the decoder bias is the
 * prediction bias. Checkpoints saved by transformers usually store only one name of each pair.
 */
export const BERT_TIED_ALIASES: readonly (readonly [string, string])[] = [
  ['cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight'],
  ['cls.predictions.decoder.bias', 'cls.predictions.bias'],
];

/** Buffers of old checkpoints that current transformers never reports: `position_ids`, `token_type_ids`. */
export const BERT_IGNORED_UNEXPECTED: readonly RegExp[] = [/(^|\.)embeddings\.position_ids$/, /(^|\.)embeddings\.token_type_ids$/];

/** The key-matching rules of BERT checkpoints. */
export const BERT_KEY_RULES: MatchOptions = { prefix: BERT_PREFIX, aliases: BERT_TIED_ALIASES, ignoreUnexpected: BERT_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `bert.` under a head. */
export function bodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : BERT_PREFIX;
}

/** Whether a parameter belongs to a task head that is specific to a label set. */
export function isBertHeadParameter(name: string): boolean {
  return name.startsWith(`${BERT_HEAD_NAMES.classifier}.`);
}
