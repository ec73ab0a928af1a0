/** ELECTRA's registry entry: config, parameter names, graph builder and tokenizer of `model_type: "electra"`. */
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import type { HeadKind, ModelFamily } from '../heads.js';
import { type ElectraConfig, electraConfigToJson, parseElectraConfig } from './config.js';
import { buildElectra } from './modeling.js';
import { ELECTRA_KEY_RULES, isElectraHeadParameter } from './names.js';
import { electraParameters } from './parameters.js';

/** Hugging Face's ELECTRA classes, by the head they carry (ElectraModel has no pooler). */
export const ELECTRA_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'ElectraModel',
  encoder: 'ElectraModel',
  'sequence-classification': 'ElectraForSequenceClassification',
  'token-classification': 'ElectraForTokenClassification',
  'masked-lm': 'ElectraForMaskedLM',
  'replaced-token-detection': 'ElectraForPreTraining',
};

/** ELECTRA: generators (ElectraForMaskedLM), discriminators (ElectraForPreTraining) and their fine-tuned heads. */
export const electraFamily: ModelFamily<ElectraConfig> = {
  modelType: 'electra',
  architectures: ELECTRA_ARCHITECTURE_NAMES,
  parseConfig: parseElectraConfig,
  configToJson: electraConfigToJson,
  withDropout: (config, p) => ({ ...config, hidden_dropout_prob: p, attention_probs_dropout_prob: p, classifier_dropout: config.classifier_dropout === null ? null : p }),
  parameters: electraParameters,
  keyRules: () => ELECTRA_KEY_RULES,
  isHeadParameter: isElectraHeadParameter,
  build: buildElectra,
  // ELECTRA's tokenizer is BERT's WordPiece (ElectraTokenizer).
  loadTokenizer: (dir) => BertTokenizer.fromDirectory(dir),
  sizeFields: ['vocab_size', 'embedding_size', 'hidden_size', 'num_hidden_layers', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'],
};
