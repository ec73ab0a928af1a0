/**
 * ELECTRA's parameter names as Hugging Face transformers spells them. The encoder layers use BERT's
 * sub-module names; the embeddings are BERT's at `embedding_size`, then `embeddings_project`.
 */
import type { MatchOptions } from '../../io/names.js';
import { BERT_IGNORED_UNEXPECTED } from '../bert/names.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (ElectraModel itself has none). */
export const ELECTRA_PREFIX = 'electra.';

/** Module names of the projection and the heads. */
export const ELECTRA_NAMES = {
  /** Linear embedding_size -> hidden_size, present only when the two differ. */
  embeddingsProject: 'embeddings_project',
  wordEmbeddings: 'embeddings.word_embeddings',
  /** ElectraForTokenClassification's linear layer. */
  tokenClassifier: 'classifier',
  /** ElectraForSequenceClassification's head: dense, GELU, out_proj on the first token. */
  sequenceDense: 'classifier.dense',
  sequenceOut: 'classifier.out_proj',
  /** The generator (ElectraForMaskedLM): dense to embedding_size, GELU, LayerNorm, tied decoder. */
  generatorDense: 'generator_predictions.dense',
  generatorNorm: 'generator_predictions.LayerNorm',
  generatorHead: 'generator_lm_head',
  /** The discriminator (ElectraForPreTraining): dense, activation, one logit per token. */
  discriminatorDense: 'discriminator_predictions.dense',
  discriminatorPrediction: 'discriminator_predictions.dense_prediction',
} as const;

/** The generator's decoder weight is the word embeddings (transformers saves only one of the two). */
export const ELECTRA_TIED_ALIASES: readonly (readonly [string, string])[] = [['generator_lm_head.weight', 'electra.embeddings.word_embeddings.weight']];

/** The key-matching rules of ELECTRA checkpoints. */
export const ELECTRA_KEY_RULES: MatchOptions = { prefix: ELECTRA_PREFIX, aliases: ELECTRA_TIED_ALIASES, ignoreUnexpected: BERT_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `electra.` under a head. */
export function electraBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : ELECTRA_PREFIX;
}

/**
 * Whether a parameter is specific to a label set: the token classifier, and the sequence
 * classifier's output projection (its `classifier.dense` does not depend on the labels and is kept
 * for a new label set, as transformers keeps it).
 */
export function isElectraHeadParameter(name: string): boolean {
  return name === 'classifier.weight' || name === 'classifier.bias' || name.startsWith(`${ELECTRA_NAMES.sequenceOut}.`);
}
