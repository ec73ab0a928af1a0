/**
 * RoBERTa's parameter names as Hugging Face transformers spells them (XLM-RoBERTa uses the same):
 * the encoder under `roberta.` with BERT's layer names, the two-layer classification head and the
 * `lm_head` masked-LM head.
 */
import type { MatchOptions } from '../../io/names.js';
import { BERT_IGNORED_UNEXPECTED, BERT_LAYER_NAMES } from '../bert/names.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (RobertaModel itself has none). */
export const ROBERTA_PREFIX = 'roberta.';

/** Sub-module names of one `encoder.layer.{i}`: BERT's. */
export const ROBERTA_LAYER_NAMES = BERT_LAYER_NAMES;

/** Module names of the embeddings (under the body prefix) and the heads. */
export const ROBERTA_NAMES = {
  wordEmbeddings: 'embeddings.word_embeddings',
  positionEmbeddings: 'embeddings.position_embeddings',
  tokenTypeEmbeddings: 'embeddings.token_type_embeddings',
  embeddingsNorm: 'embeddings.LayerNorm',
  pooler: 'pooler.dense',
  /** Sequence classification: dense + tanh, then out_proj, on the first token. */
  classifierDense: 'classifier.dense',
  classifierOut: 'classifier.out_proj',
  /** Token classification: one linear layer. */
  tokenClassifier: 'classifier',
  lmDense: 'lm_head.dense',
  lmNorm: 'lm_head.layer_norm',
  lmBias: 'lm_head.bias',
} as const;

/**
 * Names that are one parameter in the masked-LM head: the decoder weight is the word embeddings
 * and the decoder bias is `lm_head.bias`. Checkpoints usually store one name of each pair.
 */
export const ROBERTA_TIED_ALIASES: readonly (readonly [string, string])[] = [
  ['lm_head.decoder.weight', `${ROBERTA_PREFIX}${ROBERTA_NAMES.wordEmbeddings}.weight`],
  ['lm_head.decoder.bias', ROBERTA_NAMES.lmBias],
];

/** The key-matching rules of RoBERTa checkpoints. */
export const ROBERTA_KEY_RULES: MatchOptions = { prefix: ROBERTA_PREFIX, aliases: ROBERTA_TIED_ALIASES, ignoreUnexpected: BERT_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `roberta.` under a head. */
export function robertaBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : ROBERTA_PREFIX;
}

/** Whether a head has the pooler: only RobertaModel (the heads are built without it, as in transformers). */
export function robertaHasPooler(head: HeadKind): boolean {
  return head === 'base';
}

/** Whether a parameter belongs to a task head that is specific to a label set. */
export function isRobertaHeadParameter(name: string): boolean {
  return name.startsWith('classifier.');
}
