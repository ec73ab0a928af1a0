/** ERNIE's registry entry (`model_type: "ernie"`): BERT's architecture with task-type embeddings. */
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import type { HeadKind, ModelFamily } from '../heads.js';
import { type ErnieConfig, ernieConfigToJson, parseErnieConfig } from './config.js';
import { buildErnie } from './modeling.js';
import { ERNIE_KEY_RULES, isErnieHeadParameter } from './names.js';
import { ernieParameters } from './parameters.js';

/** Hugging Face's ERNIE classes, by the head they carry. */
export const ERNIE_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'ErnieModel',
  encoder: 'ErnieModel',
  'sequence-classification': 'ErnieForSequenceClassification',
  'token-classification': 'ErnieForTokenClassification',
  'masked-lm': 'ErnieForMaskedLM',
  'next-sentence': 'ErnieForNextSentencePrediction',
  pretraining: 'ErnieForPreTraining',
};

/** ERNIE (Baidu's ernie-1.0/2.0/3.0 checkpoints in transformers' format), with BERT's WordPiece tokenizer. */
export const ernieFamily: ModelFamily<ErnieConfig> = {
  modelType: 'ernie',
  architectures: ERNIE_ARCHITECTURE_NAMES,
  parseConfig: parseErnieConfig,
  configToJson: ernieConfigToJson,
  withDropout: (config, p) => ({ ...config, hidden_dropout_prob: p, attention_probs_dropout_prob: p, classifier_dropout: config.classifier_dropout === null ? null : p }),
  parameters: ernieParameters,
  keyRules: () => ERNIE_KEY_RULES,
  isHeadParameter: isErnieHeadParameter,
  build: buildErnie,
  loadTokenizer: (dir) => BertTokenizer.fromDirectory(dir),
  sizeFields: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size', 'task_type_vocab_size'],
};
