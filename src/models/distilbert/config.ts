/**
 * DistilBERT configurations, with the Hugging Face field names of config.json (`dim`, `n_layers`,
 * `n_heads`, `hidden_dim`, `activation`, `dropout`, ...). `hidden_size` is `dim` under the name
 * every family has; config.json is written with DistilBERT's own names only.
 */
import { BERT_SIZE_LIMITS, BertConfigError, type HiddenAct, parseBertConfig } from '../bert/config.js';
import type { ModelConfig, ProblemType } from '../heads.js';

/** A DistilBERT configuration. */
export interface DistilBertConfig extends ModelConfig {
  readonly model_type: 'distilbert';
  readonly vocab_size: number;
  readonly max_position_embeddings: number;
  /** Fixed sinusoidal position embeddings (their values are read from the checkpoint). */
  readonly sinusoidal_pos_embds: boolean;
  readonly n_layers: number;
  readonly n_heads: number;
  readonly dim: number;
  /** `dim`, under the name every family's config has. */
  readonly hidden_size: number;
  readonly hidden_dim: number;
  readonly dropout: number;
  readonly attention_dropout: number;
  readonly activation: HiddenAct;
  readonly initializer_range: number;
  readonly qa_dropout: number;
  readonly seq_classif_dropout: number;
  readonly pad_token_id: number;
  readonly architectures: readonly string[];
  readonly id2label: Readonly<Record<string, string>>;
  readonly label2id: Readonly<Record<string, number>>;
  readonly problem_type?: ProblemType;
  /** Fields tuna does not interpret, kept so a saved config round-trips. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** DistilBERT's LayerNorm epsilon (fixed in transformers, not a config field). */
export const DISTILBERT_LAYER_NORM_EPS = 1e-12;

const DEFAULTS = {
  vocab_size: 30522,
  max_position_embeddings: 512,
  n_layers: 6,
  n_heads: 12,
  dim: 768,
  hidden_dim: 3072,
  dropout: 0.1,
  attention_dropout: 0.1,
  initializer_range: 0.02,
  qa_dropout: 0.1,
  seq_classif_dropout: 0.2,
  pad_token_id: 0,
} as const;

const SIZE_LIMITS = {
  vocab_size: BERT_SIZE_LIMITS.vocab_size,
  max_position_embeddings: BERT_SIZE_LIMITS.max_position_embeddings,
  n_layers: BERT_SIZE_LIMITS.num_hidden_layers,
  n_heads: BERT_SIZE_LIMITS.num_attention_heads,
  dim: BERT_SIZE_LIMITS.hidden_size,
  hidden_dim: BERT_SIZE_LIMITS.intermediate_size,
} as const;

const ACTS = new Set<string>(['gelu', 'relu', 'gelu_new', 'gelu_pytorch_tanh', 'silu', 'swish']);
const LABEL_FIELDS = ['id2label', 'label2id', 'num_labels', 'problem_type', 'architectures'];
const KNOWN = new Set([...Object.keys(DEFAULTS), 'model_type', 'sinusoidal_pos_embds', 'activation', 'hidden_size', ...LABEL_FIELDS]);

/**
 * Validates a parsed config.json as a DistilBERT configuration, filling Hugging Face's defaults.
 * `source` names the file in error messages.
 */
export function parseDistilBertConfig(json: unknown, source = 'config.json'): DistilBertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const raw = json as Record<string, unknown>;
  const fail = (field: string, why: string, code?: 'too_large') => new BertConfigError(`${source}: field "${field}" ${why}`, { file: source, field, code });
  if (raw.model_type !== undefined && raw.model_type !== 'distilbert') throw fail('model_type', `is "${String(raw.model_type)}", expected "distilbert"`);
  const num = (field: keyof typeof DEFAULTS, opts: { int?: boolean; min?: number; max?: number } = {}): number => {
    const v = raw[field] ?? DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(field, `must be a number, got ${JSON.stringify(v)}`);
    if (opts.int && !Number.isInteger(v)) throw fail(field, `must be an integer, got ${v}`);
    if (opts.min !== undefined && v < opts.min) throw fail(field, `must be at least ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) throw fail(field, `must be at most ${opts.max}, got ${v}`);
    return v;
  };
  const size = (field: keyof typeof SIZE_LIMITS, min = 1): number => {
    const v = num(field, { int: true, min });
    if (v > SIZE_LIMITS[field]) throw fail(field, `is ${v}, larger than the ${SIZE_LIMITS[field]} tuna builds; the config is corrupt or not for this model`, 'too_large');
    return v;
  };
  const dim = size('dim');
  const heads = size('n_heads');
  if (dim % heads !== 0) throw fail('dim', `(${dim}) must be divisible by n_heads (${heads})`);
  const vocab = size('vocab_size');
  const pad = num('pad_token_id', { int: true, min: 0 });
  if (pad >= vocab) throw fail('pad_token_id', `is ${pad}, not a token id of the vocabulary of ${vocab} (vocab_size)`);
  const act = raw.activation ?? 'gelu';
  if (typeof act !== 'string' || !ACTS.has(act)) throw fail('activation', `is ${JSON.stringify(act)}; supported: ${[...ACTS].join(', ')}`);
  const sinusoidal = raw.sinusoidal_pos_embds ?? false;
  if (typeof sinusoidal !== 'boolean') throw fail('sinusoidal_pos_embds', `must be true or false, got ${JSON.stringify(sinusoidal)}`);
  // The label fields mean what they mean in BERT's config: parse them with BERT's rules.
  const labelled = parseBertConfig(Object.fromEntries(LABEL_FIELDS.filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]])), source);
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (!KNOWN.has(k)) extra[k] = v;
  const dropout = (field: 'dropout' | 'attention_dropout' | 'qa_dropout' | 'seq_classif_dropout') => num(field, { min: 0, max: 0.999 });
  return {
    model_type: 'distilbert',
    vocab_size: vocab,
    max_position_embeddings: size('max_position_embeddings'),
    sinusoidal_pos_embds: sinusoidal,
    n_layers: size('n_layers', 0),
    n_heads: heads,
    dim,
    hidden_size: dim,
    hidden_dim: size('hidden_dim'),
    dropout: dropout('dropout'),
    attention_dropout: dropout('attention_dropout'),
    activation: act as HiddenAct,
    initializer_range: num('initializer_range', { min: 0 }),
    qa_dropout: dropout('qa_dropout'),
    seq_classif_dropout: dropout('seq_classif_dropout'),
    pad_token_id: pad,
    architectures: labelled.architectures,
    id2label: labelled.id2label,
    label2id: labelled.label2id,
    problem_type: labelled.problem_type,
    extra,
  };
}

/** The config as Hugging Face writes config.json (DistilBERT's field names; no `hidden_size`). */
export function distilBertConfigToJson(config: DistilBertConfig, architecture?: string): Record<string, unknown> {
  const { extra, hidden_size: _dim, ...fields } = config;
  const out: Record<string, unknown> = { ...extra, ...fields };
  if (architecture) out.architectures = [architecture];
  if (out.problem_type === undefined) delete out.problem_type;
  return out;
}
