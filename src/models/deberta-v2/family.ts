/** DeBERTa-v2/v3's registry entry: config, parameter names, graph builder and tokenizer of `model_type: "deberta-v2"`. */
import type { HeadKind, ModelFamily } from '../heads.js';
import { type DebertaV2Config, debertaV2ConfigToJson, parseDebertaV2Config } from './config.js';
import { buildDebertaV2 } from './modeling.js';
import { DEBERTA_KEY_RULES, isDebertaHeadParameter } from './names.js';
import { debertaV2Parameters } from './parameters.js';
import { loadDebertaV2Tokenizer } from './tokenizer.js';

/** Hugging Face's DeBERTa-v2 classes, by the head they carry (DebertaV2Model has no pooler). */
export const DEBERTA_V2_ARCHITECTURE_NAMES: Readonly<Partial<Record<HeadKind, string>>> = {
  base: 'DebertaV2Model',
  encoder: 'DebertaV2Model',
  'sequence-classification': 'DebertaV2ForSequenceClassification',
  'token-classification': 'DebertaV2ForTokenClassification',
  'masked-lm': 'DebertaV2ForMaskedLM',
};

/** DeBERTa-v2 and v3: disentangled attention over relative (optionally log-bucketed) positions. */
export const debertaV2Family: ModelFamily<DebertaV2Config> = {
  modelType: 'deberta-v2',
  architectures: DEBERTA_V2_ARCHITECTURE_NAMES,
  parseConfig: parseDebertaV2Config,
  configToJson: debertaV2ConfigToJson,
  withDropout: (config, p) => ({
    ...config,
    hidden_dropout_prob: p,
    attention_probs_dropout_prob: p,
    pooler_dropout: p,
    cls_dropout: config.cls_dropout === null ? null : p,
  }),
  parameters: debertaV2Parameters,
  keyRules: () => DEBERTA_KEY_RULES,
  isHeadParameter: isDebertaHeadParameter,
  build: buildDebertaV2,
  loadTokenizer: loadDebertaV2Tokenizer,
  sizeFields: [
    'vocab_size',
    'embedding_size',
    'hidden_size',
    'num_hidden_layers',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'position_buckets',
    'max_relative_positions',
  ],
};
