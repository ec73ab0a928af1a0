/** ALBERT's registry entry: config, parameter names, graph builder and tokenizer of `model_type: "albert"`. */
import type { HeadKind, ModelFamily } from '../heads.js';
import { type AlbertConfig, albertConfigToJson, parseAlbertConfig } from './config.js';
import { buildAlbert } from './modeling.js';
import { ALBERT_KEY_RULES, isAlbertHeadParameter } from './names.js';
import { albertParameters } from './parameters.js';
import { loadAlbertTokenizer } from './tokenizer.js';

/** Hugging Face's ALBERT classes, by the head they carry. */
export const ALBERT_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'AlbertModel',
  encoder: 'AlbertModel',
  'sequence-classification': 'AlbertForSequenceClassification',
  'token-classification': 'AlbertForTokenClassification',
  'masked-lm': 'AlbertForMaskedLM',
};

/** ALBERT: factorised embeddings and layer weights shared across the encoder's depth. */
export const albertFamily: ModelFamily<AlbertConfig> = {
  modelType: 'albert',
  architectures: ALBERT_ARCHITECTURE_NAMES,
  parseConfig: parseAlbertConfig,
  configToJson: albertConfigToJson,
  withDropout: (config, p) => ({
    ...config,
    hidden_dropout_prob: p,
    attention_probs_dropout_prob: p,
    classifier_dropout_prob: config.classifier_dropout_prob === null ? null : p,
  }),
  parameters: albertParameters,
  keyRules: () => ALBERT_KEY_RULES,
  isHeadParameter: isAlbertHeadParameter,
  build: buildAlbert,
  loadTokenizer: loadAlbertTokenizer,
  sizeFields: [
    'vocab_size',
    'embedding_size',
    'hidden_size',
    'num_hidden_layers',
    'num_hidden_groups',
    'inner_group_num',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
  ],
};
