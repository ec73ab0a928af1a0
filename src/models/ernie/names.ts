/**
 * ERNIE's parameter names as Hugging Face transformers spells them: BERT's under `ernie.`, plus
 * `embeddings.task_type_embeddings`.
 */
import type { MatchOptions } from '../../io/names.js';
import { BERT_HEAD_NAMES, BERT_IGNORED_UNEXPECTED, BERT_LAYER_NAMES } from '../bert/names.js';
import type { HeadKind } from '../heads.js';

/** Prefix of the encoder's parameters under a head (ErnieModel itself has none). */
export const ERNIE_PREFIX = 'ernie.';

/** Sub-module names of one `encoder.layer.{i}`: BERT's. */
export const ERNIE_LAYER_NAMES = BERT_LAYER_NAMES;

/** Module names of the embeddings (under the body prefix) and the heads: BERT's, plus the task types. */
export const ERNIE_NAMES = {
  ...BERT_HEAD_NAMES,
  positionEmbeddings: 'embeddings.position_embeddings',
  tokenTypeEmbeddings: 'embeddings.token_type_embeddings',
  taskTypeEmbeddings: 'embeddings.task_type_embeddings',
  embeddingsNorm: 'embeddings.LayerNorm',
} as const;

/** The tied masked-LM decoder: its weight is the word embeddings, its bias `cls.predictions.bias`. */
export const ERNIE_TIED_ALIASES: readonly (readonly [string, string])[] = [
  ['cls.predictions.decoder.weight', `${ERNIE_PREFIX}${ERNIE_NAMES.wordEmbeddings}.weight`],
  ['cls.predictions.decoder.bias', ERNIE_NAMES.mlmBias],
];

/** Buffers old checkpoints carry: BERT's, and `task_type_ids`. */
export const ERNIE_IGNORED_UNEXPECTED: readonly RegExp[] = [...BERT_IGNORED_UNEXPECTED, /(^|\.)embeddings\.task_type_ids$/];

/** The key-matching rules of ERNIE checkpoints. */
export const ERNIE_KEY_RULES: MatchOptions = { prefix: ERNIE_PREFIX, aliases: ERNIE_TIED_ALIASES, ignoreUnexpected: ERNIE_IGNORED_UNEXPECTED };

/** Parameter-name prefix of the encoder for a head: none for the bare encoder, `ernie.` under a head. */
export function ernieBodyPrefix(head: HeadKind): string {
  return head === 'base' || head === 'encoder' ? '' : ERNIE_PREFIX;
}

/** Whether a head has the pooler (masked LM and token classification do not, as in transformers). */
export function ernieHasPooler(head: HeadKind): boolean {
  return head !== 'masked-lm' && head !== 'token-classification' && head !== 'encoder';
}

/** Whether a parameter belongs to a task head that is specific to a label set. */
export function isErnieHeadParameter(name: string): boolean {
  return name.startsWith(`${ERNIE_NAMES.classifier}.`);
}
