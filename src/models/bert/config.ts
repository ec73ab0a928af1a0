import { TunaError } from '../../errors.js';
import type { ModelConfig, ProblemType } from '../heads.js';

export type { ProblemType } from '../heads.js';
export { numLabels } from '../heads.js';

/** Activation functions BERT checkpoints use (`hidden_act` in config.json). */
export type HiddenAct = 'gelu' | 'relu' | 'gelu_new' | 'gelu_pytorch_tanh' | 'silu' | 'swish';

/** Hugging Face BERT task heads tuna builds. */
export type BertArchitecture =
  | 'BertModel'
  | 'BertForSequenceClassification'
  | 'BertForTokenClassification'
  | 'BertForMaskedLM'
  | 'BertForNextSentencePrediction'
  | 'BertForPreTraining';

export const BERT_ARCHITECTURES: readonly BertArchitecture[] = [
  'BertModel',
  'BertForSequenceClassification',
  'BertForTokenClassification',
  'BertForMaskedLM',
  'BertForNextSentencePrediction',
  'BertForPreTraining',
];

/** A BERT configuration with the Hugging Face field names of config.json. */
export interface BertConfig extends ModelConfig {
  readonly model_type: 'bert';
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly intermediate_size: number;
  readonly hidden_act: HiddenAct;
  readonly hidden_dropout_prob: number;
  readonly attention_probs_dropout_prob: number;
  readonly max_position_embeddings: number;
  readonly type_vocab_size: number;
  readonly initializer_range: number;
  readonly layer_norm_eps: number;
  readonly pad_token_id: number;
  readonly position_embedding_type: 'absolute';
  readonly classifier_dropout: number | null;
  readonly architectures: readonly string[];
  readonly id2label: Readonly<Record<string, string>>;
  readonly label2id: Readonly<Record<string, number>>;
  readonly problem_type?: ProblemType;
  /** Fields tuna does not interpret, kept so a saved config round-trips. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/**
 * A config.json that tuna cannot use as a BERT configuration (code `invalid_config`), or whose
 * sizes are larger than tuna builds (code `too_large`).
 */
export class BertConfigError extends TunaError {
  override name = 'BertConfigError';
  constructor(message: string, details: { file?: string; field?: string; code?: 'invalid_config' | 'too_large' } = {}) {
    super(details.code ?? 'invalid_config', message, details);
  }
}

/**
 * The largest value of each size field tuna builds a model of, far above real checkpoints (BERT-large:
 * hidden 1024, 24 layers, vocabulary 30522, 512 positions). A larger value is a corrupt or hostile
 * config.json, and would otherwise be found out only by an allocation of gigabytes.
 */
export const BERT_SIZE_LIMITS = {
  vocab_size: 10_000_000,
  hidden_size: 65_536,
  num_hidden_layers: 1_000,
  num_attention_heads: 65_536,
  intermediate_size: 1_048_576,
  max_position_embeddings: 1_048_576,
  type_vocab_size: 100_000,
} as const;

/** The most labels a config.json may give (`num_labels`, or the entries of `id2label`). */
export const MAX_NUM_LABELS = 1_000_000;

const DEFAULTS = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
} as const;

const KNOWN = new Set([...Object.keys(DEFAULTS), 'model_type', 'architectures', 'id2label', 'label2id', 'problem_type', 'num_labels']);
const ACTS = new Set<string>(['gelu', 'relu', 'gelu_new', 'gelu_pytorch_tanh', 'silu', 'swish']);

/**
 * Validates a parsed config.json as a BERT configuration, filling Hugging Face's defaults.
 * `source` names the file in error messages.
 */
export function parseBertConfig(json: unknown, source = 'config.json'): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`);
  const raw = json as Record<string, unknown>;
  const fail = (field: string, why: string, code?: 'too_large') => new BertConfigError(`${source}: field "${field}" ${why}`, { file: source, field, code });
  if (raw.model_type !== undefined && raw.model_type !== 'bert') {
    throw fail('model_type', `is "${String(raw.model_type)}"; tuna loads BERT checkpoints (model_type "bert") only`);
  }
  const num = (field: keyof typeof DEFAULTS, opts: { int?: boolean; min?: number; max?: number } = {}): number => {
    const v = raw[field] ?? DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(field, `must be a number, got ${JSON.stringify(v)}`);
    if (opts.int && !Number.isInteger(v)) throw fail(field, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) throw fail(field, `must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) throw fail(field, `must be at most ${opts.max}, got ${v}`);
    return v;
  };
  /** A size field: an integer from `min` to its limit, a larger one refused as too large. */
  const size = (field: keyof typeof BERT_SIZE_LIMITS, min = 1): number => {
    const v = num(field, { int: true, min });
    const limit = BERT_SIZE_LIMITS[field];
    if (v > limit) throw fail(field, `is ${v}, larger than the ${limit} tuna builds; the config is corrupt or not for this model`, 'too_large');
    return v;
  };
  const hidden = size('hidden_size');
  const heads = size('num_attention_heads');
  if (hidden % heads !== 0) throw fail('hidden_size', `(${hidden}) must be divisible by num_attention_heads (${heads})`);
  const vocab = size('vocab_size');
  const padTokenId = num('pad_token_id', { int: true, min: 0 });
  if (padTokenId >= vocab) throw fail('pad_token_id', `is ${padTokenId}, not a token id of the vocabulary of ${vocab} (vocab_size)`);
  const act = raw.hidden_act ?? DEFAULTS.hidden_act;
  if (typeof act !== 'string' || !ACTS.has(act)) {
    throw fail('hidden_act', `is ${JSON.stringify(act)}; supported: ${[...ACTS].join(', ')}`);
  }
  const pet = raw.position_embedding_type ?? 'absolute';
  if (pet !== 'absolute') {
    throw fail('position_embedding_type', `is "${String(pet)}"; tuna supports absolute position embeddings only (relative_key/relative_key_query are not implemented)`);
  }
  if (raw.is_decoder === true || raw.add_cross_attention === true) {
    throw fail(raw.is_decoder === true ? 'is_decoder' : 'add_cross_attention', 'is true; tuna builds BERT encoders only');
  }
  const cd = raw.classifier_dropout;
  if (cd !== undefined && cd !== null && (typeof cd !== 'number' || cd < 0 || cd >= 1)) throw fail('classifier_dropout', 'must be null or a number in [0, 1)');
  const { id2label, label2id } = labels(raw, fail);
  const problem = raw.problem_type;
  if (problem !== undefined && problem !== null && !['single_label_classification', 'multi_label_classification', 'regression'].includes(problem as string)) {
    throw fail('problem_type', `is ${JSON.stringify(problem)}; expected single_label_classification, multi_label_classification or regression`);
  }
  const arch = raw.architectures ?? [];
  if (!Array.isArray(arch) || arch.some((a) => typeof a !== 'string')) throw fail('architectures', 'must be a list of strings');
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!KNOWN.has(k)) extra[k] = v;
  return {
    model_type: 'bert',
    vocab_size: vocab,
    hidden_size: hidden,
    num_hidden_layers: size('num_hidden_layers', 0),
    num_attention_heads: heads,
    intermediate_size: size('intermediate_size'),
    hidden_act: act as HiddenAct,
    hidden_dropout_prob: num('hidden_dropout_prob', { min: 0, max: 0.999 }),
    attention_probs_dropout_prob: num('attention_probs_dropout_prob', { min: 0, max: 0.999 }),
    max_position_embeddings: size('max_position_embeddings'),
    type_vocab_size: size('type_vocab_size'),
    initializer_range: num('initializer_range', { min: 0 }),
    layer_norm_eps: num('layer_norm_eps', { min: 0 }),
    pad_token_id: padTokenId,
    position_embedding_type: 'absolute',
    classifier_dropout: (cd as number | null | undefined) ?? null,
    architectures: arch as string[],
    id2label,
    label2id,
    problem_type: (problem ?? undefined) as ProblemType | undefined,
    extra,
  };
}

function labels(raw: Record<string, unknown>, fail: (f: string, why: string, code?: 'too_large') => Error) {
  let id2label: Record<string, string> = {};
  if (raw.id2label !== undefined) {
    if (typeof raw.id2label !== 'object' || raw.id2label === null) throw fail('id2label', 'must be an object mapping ids to label names');
    const count = Object.keys(raw.id2label).length;
    if (count > MAX_NUM_LABELS) throw fail('id2label', `has ${count} labels, more than the ${MAX_NUM_LABELS} tuna builds a head for; the config is corrupt`, 'too_large');
    for (const [k, v] of Object.entries(raw.id2label as Record<string, unknown>)) {
      if (!/^\d+$/.test(k) || typeof v !== 'string') throw fail('id2label', `entry ${JSON.stringify(k)}: ${JSON.stringify(v)} must map an integer id to a string`);
      id2label[k] = v;
    }
  } else {
    const n = raw.num_labels ?? 2;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw fail('num_labels', `must be a positive integer, got ${JSON.stringify(n)}`);
    if (n > MAX_NUM_LABELS) throw fail('num_labels', `is ${n}, more than the ${MAX_NUM_LABELS} labels tuna builds a head for; the config is corrupt`, 'too_large');
    for (let i = 0; i < n; i++) id2label[String(i)] = `LABEL_${i}`;
  }
  const ids = Object.keys(id2label)
    .map(Number)
    .sort((a, b) => a - b);
  if (ids.some((id, i) => id !== i)) throw fail('id2label', `ids must be 0..${ids.length - 1} without gaps`);
  id2label = Object.fromEntries(ids.map((i) => [String(i), id2label[String(i)]!]));
  const label2id = Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)]));
  return { id2label, label2id };
}

/** The config as Hugging Face writes config.json. */
export function bertConfigToJson(config: BertConfig, architecture?: string): Record<string, unknown> {
  const { extra, ...fields } = config;
  const out: Record<string, unknown> = { ...extra, ...fields };
  if (architecture) out.architectures = [architecture];
  if (out.problem_type === undefined) delete out.problem_type;
  return out;
}

/** A config built from sizes, for models created from scratch. */
export function bertConfig(fields: Partial<Omit<BertConfig, 'extra' | 'model_type'>> & { num_labels?: number } = {}): BertConfig {
  return parseBertConfig({ model_type: 'bert', ...fields }, 'config');
}
