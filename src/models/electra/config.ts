/**
 * ELECTRA's config.json (`model_type: "electra"`): BERT's fields plus `embedding_size`, the width
 * of the embeddings (projected to `hidden_size` by `embeddings_project` when they differ), with
 * ElectraConfig's defaults.
 */
import { type BertConfig, BertConfigError, bertConfigToJson, parseBertConfig } from '../bert/config.js';

/** Hugging Face's ELECTRA defaults where they differ from BERT's (ElectraConfig). */
const ELECTRA_DEFAULTS = {
  embedding_size: 128,
  hidden_size: 256,
  num_hidden_layers: 12,
  num_attention_heads: 4,
  intermediate_size: 1024,
} as const;

/** The largest `embedding_size` tuna builds (far above real checkpoints). */
const MAX_EMBEDDING_SIZE = 65_536;

/** An ELECTRA configuration with the Hugging Face field names of config.json. */
export interface ElectraConfig extends Omit<BertConfig, 'model_type'> {
  readonly model_type: 'electra';
  /** Width of the word, position and token-type embeddings. */
  readonly embedding_size: number;
}

/**
 * Validates a parsed config.json as an ELECTRA configuration, filling ElectraConfig's defaults.
 * Fields tuna does not read (`summary_type`, `summary_use_proj`, ...) are kept for the round trip.
 */
export function parseElectraConfig(json: unknown, source = 'config.json'): ElectraConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const raw = json as Record<string, unknown>;
  if (raw.model_type !== undefined && raw.model_type !== 'electra') {
    throw new BertConfigError(`${source}: field "model_type" is "${String(raw.model_type)}", not "electra"`, { file: source, field: 'model_type' });
  }
  const filled: Record<string, unknown> = { ...raw, model_type: 'bert' };
  for (const [k, v] of Object.entries(ELECTRA_DEFAULTS)) filled[k] ??= v;
  const { embedding_size: e, ...rest } = filled;
  const bert = parseBertConfig(rest, source);
  if (typeof e !== 'number' || !Number.isInteger(e) || e < 1) {
    throw new BertConfigError(`${source}: field "embedding_size" must be a positive integer, got ${JSON.stringify(e)}`, { file: source, field: 'embedding_size' });
  }
  if (e > MAX_EMBEDDING_SIZE) {
    throw new BertConfigError(`${source}: field "embedding_size" is ${e}, larger than the ${MAX_EMBEDDING_SIZE} tuna builds; the config is corrupt or not for this model`, {
      file: source,
      field: 'embedding_size',
      code: 'too_large',
    });
  }
  return { ...bert, model_type: 'electra', embedding_size: e };
}

/** The config as Hugging Face writes config.json. */
export function electraConfigToJson(config: ElectraConfig, architecture?: string): Record<string, unknown> {
  const { embedding_size, ...bert } = config;
  return { ...bertConfigToJson({ ...bert, model_type: 'bert' }, architecture), model_type: 'electra', embedding_size };
}

/** A config built from sizes, for models created from scratch. */
export function electraConfig(fields: Partial<Omit<ElectraConfig, 'extra' | 'model_type'>> & { num_labels?: number } = {}): ElectraConfig {
  return parseElectraConfig({ model_type: 'electra', ...fields }, 'config');
}
