/**
 * Hugging Face-style entry points: `AutoModelFor*.fromPretrained` and `AutoTokenizer.fromPretrained`
 * return models and tokenizers that load from and save to Hugging Face checkpoint directories, of
 * any registered family.
 */
import type { HubOptions } from '../io/hub.js';
import { resolveModel } from '../io/hub.js';
import { readConfig } from '../io/checkpoint.js';
import { type FromPretrainedOptions, PreTrainedModel } from './pretrained-model.js';
import { type HeadKind, type Tokenizer, familyOfConfig } from './registry.js';

export type { FromPretrainedOptions } from './pretrained-model.js';

/** A loader of one head, as `AutoModelFor...` objects are. */
export interface AutoModelLoader {
  /** Loads a checkpoint directory or Hub id with this head (see {@link PreTrainedModel.fromPretrained}). */
  fromPretrained(dirOrId: string, opts?: Omit<FromPretrainedOptions, 'head'>): Promise<PreTrainedModel>;
}

function loaderFor(head: HeadKind | undefined): AutoModelLoader {
  return { fromPretrained: (dirOrId, opts = {}) => PreTrainedModel.fromPretrained(dirOrId, head === undefined ? opts : { ...opts, head }) };
}

/** Loads a checkpoint as a sequence classifier (e.g. BertForSequenceClassification). */
export const AutoModelForSequenceClassification = loaderFor('sequence-classification');
/** Loads a checkpoint as a token classifier (e.g. BertForTokenClassification). */
export const AutoModelForTokenClassification = loaderFor('token-classification');
/** Loads a checkpoint as a masked language model (e.g. BertForMaskedLM). */
export const AutoModelForMaskedLM = loaderFor('masked-lm');
/** Loads a checkpoint with both pre-training heads (masked LM and next-sentence prediction). */
export const AutoModelForPreTraining = loaderFor('pretraining');
/** Loads a checkpoint as a next-sentence classifier (e.g. BertForNextSentencePrediction). */
export const AutoModelForNextSentencePrediction = loaderFor('next-sentence');
/** Loads the bare encoder with its pooler (e.g. BertModel: last_hidden_state, pooler_output). */
export const AutoModel = loaderFor('base');
/** Loads a checkpoint with the head its config.json names. */
export const AutoModelForAnyHead = loaderFor(undefined);

/** Loads the tokenizer of a checkpoint directory or Hub id (vocab.txt / tokenizer.json, tokenizer_config.json). */
export const AutoTokenizer = {
  fromPretrained: async (dirOrId: string, opts: { hub?: HubOptions } = {}): Promise<Tokenizer> => {
    const dir = await resolveModel(dirOrId, opts.hub);
    let raw: Record<string, unknown> = {};
    try {
      raw = await readConfig(dir);
    } catch {
      // A tokenizer directory need not hold a model config; BERT's tokenizer is the default.
    }
    return familyOfConfig(raw, dir).loadTokenizer(dir);
  },
};
