/** DistilBERT's registry entry (`model_type: "distilbert"`), with BERT's WordPiece tokenizer. */
import { BertTokenizer } from '../../tokenizers/bert-tokenizer.js';
import type { HeadKind, ModelFamily } from '../heads.js';
import { type DistilBertConfig, distilBertConfigToJson, parseDistilBertConfig } from './config.js';
import { buildDistilBert } from './modeling.js';
import { DISTILBERT_KEY_RULES, isDistilBertHeadParameter } from './names.js';
import { distilBertParameters } from './parameters.js';

/** Hugging Face's DistilBERT classes, by the head they carry (DistilBertModel has no pooler). */
export const DISTILBERT_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'DistilBertModel',
  encoder: 'DistilBertModel',
  'sequence-classification': 'DistilBertForSequenceClassification',
  'token-classification': 'DistilBertForTokenClassification',
  'masked-lm': 'DistilBertForMaskedLM',
};

/** DistilBERT: DistilBertModel, DistilBertForSequenceClassification, DistilBertForTokenClassification, DistilBertForMaskedLM. */
export const distilBertFamily: ModelFamily<DistilBertConfig> = {
  modelType: 'distilbert',
  architectures: DISTILBERT_ARCHITECTURE_NAMES,
  parseConfig: parseDistilBertConfig,
  configToJson: distilBertConfigToJson,
  withDropout: (config, p) => ({ ...config, dropout: p, attention_dropout: p, seq_classif_dropout: p, qa_dropout: p }),
  parameters: distilBertParameters,
  keyRules: () => DISTILBERT_KEY_RULES,
  isHeadParameter: isDistilBertHeadParameter,
  build: buildDistilBert,
  loadTokenizer: (dir) => BertTokenizer.fromDirectory(dir),
  sizeFields: ['vocab_size', 'dim', 'n_layers', 'hidden_dim', 'max_position_embeddings'],
};
