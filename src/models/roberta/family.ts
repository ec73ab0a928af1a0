/** The registry entries of RoBERTa (`model_type: "roberta"`) and XLM-RoBERTa (`"xlm-roberta"`), one architecture. */
import type { HeadKind, ModelFamily } from '../heads.js';
import { type RobertaConfig, type RobertaModelType, parseRobertaConfig, robertaConfigToJson, robertaMaxSequenceLength } from './config.js';
import { buildRoberta } from './modeling.js';
import { ROBERTA_KEY_RULES, isRobertaHeadParameter } from './names.js';
import { robertaParameters } from './parameters.js';
import { loadRobertaTokenizer } from './tokenizer.js';

/** The Hugging Face class names of each head, for a class-name stem (`Roberta`, `XLMRoberta`). */
function architectureNames(stem: string): Readonly<Partial<Record<HeadKind, string>>> {
  return {
    base: `${stem}Model`,
    encoder: `${stem}Model`,
    'sequence-classification': `${stem}ForSequenceClassification`,
    'token-classification': `${stem}ForTokenClassification`,
    'masked-lm': `${stem}ForMaskedLM`,
  };
}

function robertaLikeFamily(modelType: RobertaModelType, stem: string): ModelFamily<RobertaConfig> {
  return {
    modelType,
    architectures: architectureNames(stem),
    parseConfig: (raw, source) => parseRobertaConfig(modelType, raw, source),
    configToJson: robertaConfigToJson,
    withDropout: (config, p) => ({ ...config, hidden_dropout_prob: p, attention_probs_dropout_prob: p, classifier_dropout: config.classifier_dropout === null ? null : p }),
    parameters: robertaParameters,
    keyRules: () => ROBERTA_KEY_RULES,
    isHeadParameter: isRobertaHeadParameter,
    build: buildRoberta,
    loadTokenizer: loadRobertaTokenizer,
    maxSequenceLength: robertaMaxSequenceLength,
    sizeFields: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'],
  };
}

/** RoBERTa: RobertaModel, RobertaForSequenceClassification, RobertaForTokenClassification, RobertaForMaskedLM. */
export const robertaFamily = robertaLikeFamily('roberta', 'Roberta');

/** XLM-RoBERTa: RoBERTa's architecture under its own class names (XLMRobertaFor...). */
export const xlmRobertaFamily = robertaLikeFamily('xlm-roberta', 'XLMRoberta');
