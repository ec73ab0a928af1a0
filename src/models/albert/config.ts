/**
 * ALBERT's config.json (`model_type: "albert"`): BERT's fields plus the factorised embeddings
 * (`embedding_size`) and the layer sharing (`num_hidden_groups` groups of `inner_group_num`
 * layers, reused over `num_hidden_layers`), with AlbertConfig's defaults.
 */
import { type BertConfig, BertConfigError, bertConfigToJson, parseBertConfig } from '../bert/config.js';

/** Hugging Face's ALBERT defaults where they differ from BERT's (AlbertConfig, albert-xxlarge sizes). */
const ALBERT_DEFAULTS = {
  vocab_size: 30000,
  hidden_size: 4096,
  num_hidden_layers: 12,
  num_attention_heads: 64,
  intermediate_size: 16384,
  hidden_act: 'gelu_new',
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
} as const;

/** The largest `embedding_size`, `num_hidden_groups` and `inner_group_num` tuna builds (far above real checkpoints). */
const LIMITS = { embedding_size: 65_536, num_hidden_groups: 1_000, inner_group_num: 1_000 } as const;

/** An ALBERT configuration with the Hugging Face field names of config.json. */
export interface AlbertConfig extends Omit<BertConfig, 'model_type'> {
  readonly model_type: 'albert';
  /** Width of the word, position and token-type embeddings (mapped to hidden_size by the encoder). */
  readonly embedding_size: number;
  /** Groups of layer weights; layer i uses group floor(i / (num_hidden_layers / num_hidden_groups)). */
  readonly num_hidden_groups: number;
  /** Layers (each with its own weights) in every group, applied one after the other. */
  readonly inner_group_num: number;
  /** Dropout before the classifiers (null: hidden_dropout_prob, for the token classifier). */
  readonly classifier_dropout_prob: number | null;
}

/**
 * Validates a parsed config.json as an ALBERT configuration, filling AlbertConfig's defaults.
 * Fields tuna does not read are kept for the round trip.
 */
export function parseAlbertConfig(json: unknown, source = 'config.json'): AlbertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const raw = json as Record<string, unknown>;
  const fail = (field: string, why: string, code?: 'too_large') => new BertConfigError(`${source}: field "${field}" ${why}`, { file: source, field, code });
  if (raw.model_type !== undefined && raw.model_type !== 'albert') throw fail('model_type', `is "${String(raw.model_type)}", not "albert"`);
  const filled: Record<string, unknown> = { ...raw, model_type: 'bert' };
  for (const [k, v] of Object.entries(ALBERT_DEFAULTS)) filled[k] ??= v;
  const { embedding_size: e = 128, num_hidden_groups: groups = 1, inner_group_num: inner = 1, classifier_dropout_prob: cd = 0.1, ...rest } = filled;
  const bert = parseBertConfig(rest, source);
  const size = (field: keyof typeof LIMITS, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
    if (v > LIMITS[field]) throw fail(field, `is ${v}, larger than the ${LIMITS[field]} tuna builds; the config is corrupt or not for this model`, 'too_large');
    return v;
  };
  const numGroups = size('num_hidden_groups', groups);
  if (bert.num_hidden_layers > 0 && numGroups > bert.num_hidden_layers) {
    throw fail('num_hidden_groups', `(${numGroups}) must not exceed num_hidden_layers (${bert.num_hidden_layers}): a group no layer uses has no place in the model`);
  }
  if (cd !== null && (typeof cd !== 'number' || cd < 0 || cd >= 1)) throw fail('classifier_dropout_prob', 'must be null or a number in [0, 1)');
  return {
    ...bert,
    model_type: 'albert',
    embedding_size: size('embedding_size', e),
    num_hidden_groups: numGroups,
    inner_group_num: size('inner_group_num', inner),
    classifier_dropout_prob: cd as number | null,
  };
}

/** The config as Hugging Face writes config.json (ALBERT has `classifier_dropout_prob`, not BERT's `classifier_dropout`). */
export function albertConfigToJson(config: AlbertConfig, architecture?: string): Record<string, unknown> {
  const { embedding_size, num_hidden_groups, inner_group_num, classifier_dropout_prob, ...bert } = config;
  const out = bertConfigToJson({ ...bert, model_type: 'bert' }, architecture);
  delete out.classifier_dropout;
  return { ...out, model_type: 'albert', embedding_size, num_hidden_groups, inner_group_num, classifier_dropout_prob };
}

/** A config built from sizes, for models created from scratch. */
export function albertConfig(fields: Partial<Omit<AlbertConfig, 'extra' | 'model_type'>> & { num_labels?: number } = {}): AlbertConfig {
  return parseAlbertConfig({ model_type: 'albert', ...fields }, 'config');
}

/**
 * The group of layer weights layer `i` uses, as Hugging Face computes it:
 * `int(i / (num_hidden_layers / num_hidden_groups))`.
 */
export function albertGroupOf(config: AlbertConfig, i: number): number {
  return Math.trunc(i / (config.num_hidden_layers / config.num_hidden_groups));
}
