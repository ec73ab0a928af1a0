/**
 * RoBERTa and XLM-RoBERTa configurations: BERT's config.json fields with RoBERTa's defaults
 * (`pad_token_id` 1, which is also the position embeddings' padding index).
 */
import { type BertConfig, BertConfigError, parseBertConfig } from '../bert/config.js';

/** The model types that share RoBERTa's architecture. */
export type RobertaModelType = 'roberta' | 'xlm-roberta';

/** A RoBERTa or XLM-RoBERTa configuration with the Hugging Face field names of config.json. */
export interface RobertaConfig extends Omit<BertConfig, 'model_type'> {
  readonly model_type: RobertaModelType;
}

/** Hugging Face's defaults where RoBERTa's differ from BERT's. */
const ROBERTA_DEFAULTS: Readonly<Record<RobertaModelType, Record<string, unknown>>> = {
  roberta: { vocab_size: 50265, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 },
  'xlm-roberta': { vocab_size: 30522, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2 },
};

/**
 * Validates a parsed config.json of `modelType`, filling Hugging Face's defaults. `source` names
 * the file in error messages.
 */
export function parseRobertaConfig(modelType: RobertaModelType, json: unknown, source = 'config.json'): RobertaConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const raw = json as Record<string, unknown>;
  if (raw.model_type !== undefined && raw.model_type !== modelType) {
    throw new BertConfigError(`${source}: field "model_type" is "${String(raw.model_type)}", expected "${modelType}"`, { file: source, field: 'model_type' });
  }
  const bert = parseBertConfig({ ...ROBERTA_DEFAULTS[modelType], ...raw, model_type: 'bert' }, source);
  // Positions count from pad_token_id + 1, so the table needs at least one row beyond it.
  if (bert.max_position_embeddings <= bert.pad_token_id + 1) {
    throw new BertConfigError(
      `${source}: field "max_position_embeddings" is ${bert.max_position_embeddings}; ${modelType} positions start at pad_token_id + 1 (${bert.pad_token_id + 1}), so it must be larger`,
      { file: source, field: 'max_position_embeddings' },
    );
  }
  return { ...bert, model_type: modelType };
}

/** The config as Hugging Face writes config.json. */
export function robertaConfigToJson(config: RobertaConfig, architecture?: string): Record<string, unknown> {
  const { extra, ...fields } = config;
  const out: Record<string, unknown> = { ...extra, ...fields };
  if (architecture) out.architectures = [architecture];
  if (out.problem_type === undefined) delete out.problem_type;
  return out;
}

/**
 * The longest sequence a config embeds: positions run from pad_token_id + 1, so two fewer than
 * max_position_embeddings for the usual padding index 1 (514 rows: 512 tokens).
 */
export function robertaMaxSequenceLength(config: RobertaConfig): number {
  return config.max_position_embeddings - config.pad_token_id - 1;
}
