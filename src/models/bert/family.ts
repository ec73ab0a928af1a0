/** BERT's registry entry: config, parameter names, graph builder and tokenizer of `model_type: "bert"`. */
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import type { HeadKind, ModelFamily } from '../heads.js';
import { type BertConfig, bertConfigToJson, parseBertConfig } from './config.js';
import { buildBert } from './modeling.js';
import { BERT_KEY_RULES, isBertHeadParameter } from './names.js';
import { bertParameters } from './parameters.js';

/** Hugging Face's BERT classes, by the head they carry. */
export const BERT_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'BertModel',
  encoder: 'BertModel',
  'sequence-classification': 'BertForSequenceClassification',
  'token-classification': 'BertForTokenClassification',
  'masked-lm': 'BertForMaskedLM',
  'next-sentence': 'BertForNextSentencePrediction',
  pretraining: 'BertForPreTraining',
};

/** BERT (and every checkpoint of its architecture: chinese-roberta-wwm-ext, MacBERT, ...). */
export const bertFamily: ModelFamily<BertConfig> = {
  modelType: 'bert',
  architectures: BERT_ARCHITECTURE_NAMES,
  parseConfig: parseBertConfig,
  configToJson: bertConfigToJson,
  withDropout: (config, p) => ({ ...config, hidden_dropout_prob: p, attention_probs_dropout_prob: p, classifier_dropout: config.classifier_dropout === null ? null : p }),
  parameters: bertParameters,
  keyRules: () => BERT_KEY_RULES,
  isHeadParameter: isBertHeadParameter,
  build: buildBert,
  loadTokenizer: (dir) => BertTokenizer.fromDirectory(dir),
  sizeFields: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'],
};
