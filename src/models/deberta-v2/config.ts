/**
 * DeBERTa-v2/v3's config.json (`model_type: "deberta-v2"`): BERT's size fields plus the
 * disentangled attention's settings (`relative_attention`, `max_relative_positions`,
 * `position_buckets`, `pos_att_type`, `share_att_key`, `norm_rel_ebd`), the optional absolute
 * positions (`position_biased_input`), token types (`type_vocab_size`, 0 in v3), the factorised
 * embeddings (`embedding_size`), the ContextPooler and the masked-LM head variant (`legacy`), with
 * DebertaV2Config's defaults.
 */
import { type BertConfig, BertConfigError, bertConfigToJson, parseBertConfig } from '../bert/config.js';

/** The activations of the ContextPooler and the ConvLayer: `hidden_act`'s, and tanh. */
export type DebertaAct = BertConfig['hidden_act'] | 'tanh';

/** The relative attention terms: content-to-position and position-to-content. */
export type PosAttType = 'c2p' | 'p2c';

/** Hugging Face's DeBERTa-v2 defaults where they differ from BERT's (DebertaV2Config, deberta-v2-xlarge sizes). */
const DEBERTA_DEFAULTS = {
  vocab_size: 128100,
  hidden_size: 1536,
  num_hidden_layers: 24,
  num_attention_heads: 24,
  intermediate_size: 6144,
  layer_norm_eps: 1e-7,
} as const;

/** A DeBERTa-v2 configuration with the Hugging Face field names of config.json. */
export interface DebertaV2Config extends Omit<BertConfig, 'model_type'> {
  readonly model_type: 'deberta-v2';
  /** Token-type embeddings (0: none, as in DeBERTa-v3; the graph then has no `token_type_ids` input). */
  readonly type_vocab_size: number;
  /** Width of the word (and position, token-type) embeddings; `embed_proj` maps it to hidden_size when they differ. */
  readonly embedding_size: number;
  /** Disentangled (relative position) attention. */
  readonly relative_attention: boolean;
  /** Relative distances beyond this are clamped (-1: max_position_embeddings). */
  readonly max_relative_positions: number;
  /** Log buckets of relative positions (-1: none). */
  readonly position_buckets: number;
  readonly pos_att_type: readonly PosAttType[];
  /** The position projections are the content key/query projections. */
  readonly share_att_key: boolean;
  /** `"layer_norm"`: the relative embeddings go through `encoder.LayerNorm`; `"none"`: as they are. */
  readonly norm_rel_ebd: string;
  /** Absolute position embeddings are added to the word embeddings. */
  readonly position_biased_input: boolean;
  readonly pooler_hidden_size: number;
  readonly pooler_dropout: number;
  readonly pooler_hidden_act: DebertaAct;
  /** Dropout before the sequence classifier (null: hidden_dropout_prob). */
  readonly cls_dropout: number | null;
  /** The masked-LM head: `cls.predictions` (true, transformers' default) or `lm_predictions.lm_head` (false). */
  readonly legacy: boolean;
  /** Width of the ConvLayer after the first layer (0: none; some DeBERTa-v2 checkpoints use 3). */
  readonly conv_kernel_size: number;
  /** The ConvLayer's activation (`tanh` by default). */
  readonly conv_act: DebertaAct;
}

/** The fields tuna reads beyond BERT's (with their DebertaV2Config defaults), and those it refuses. */
const OWN_FIELDS = [
  'embedding_size',
  'relative_attention',
  'max_relative_positions',
  'position_buckets',
  'pos_att_type',
  'share_att_key',
  'norm_rel_ebd',
  'position_biased_input',
  'pooler_hidden_size',
  'pooler_dropout',
  'pooler_hidden_act',
  'cls_dropout',
  'legacy',
  'conv_kernel_size',
  'conv_act',
] as const;

/**
 * Validates a parsed config.json as a DeBERTa-v2 configuration, filling DebertaV2Config's
 * defaults. Fields tuna does not read are kept for the round trip. A ConvLayer of an even width or
 * with `conv_groups` other than 1, and an `attention_head_size` other than hidden_size /
 * num_attention_heads are refused.
 */
export function parseDebertaV2Config(json: unknown, source = 'config.json'): DebertaV2Config {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BertConfigError(`${source}: expected a JSON object`, { file: source });
  const raw = json as Record<string, unknown>;
  const fail = (field: string, why: string) => new BertConfigError(`${source}: field "${field}" ${why}`, { file: source, field });
  if (raw.model_type !== undefined && raw.model_type !== 'deberta-v2') throw fail('model_type', `is "${String(raw.model_type)}", not "deberta-v2"`);
  const filled: Record<string, unknown> = { ...raw, model_type: 'bert' };
  for (const [k, v] of Object.entries(DEBERTA_DEFAULTS)) filled[k] ??= v;
  const own: Record<string, unknown> = {};
  for (const k of OWN_FIELDS) {
    own[k] = filled[k];
    delete filled[k];
  }
  const typeVocab = filled.type_vocab_size ?? 0;
  if (typeof typeVocab !== 'number' || !Number.isInteger(typeVocab) || typeVocab < 0)
    throw fail('type_vocab_size', `must be a non-negative integer, got ${JSON.stringify(typeVocab)}`);
  // BERT's parser wants at least one token type; DeBERTa-v3 has none.
  const bert = parseBertConfig({ ...filled, type_vocab_size: Math.max(1, typeVocab) }, source);
  const headSize = bert.extra.attention_head_size;
  if (headSize !== undefined && headSize !== bert.hidden_size / bert.num_attention_heads) {
    throw fail(
      'attention_head_size',
      `is ${JSON.stringify(headSize)}; tuna builds heads of hidden_size / num_attention_heads (${bert.hidden_size / bert.num_attention_heads}) only`,
    );
  }
  const bool = (field: string, dflt: boolean): boolean => {
    const v = own[field] ?? dflt;
    if (typeof v !== 'boolean') throw fail(field, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (field: string, dflt: number, min: number): number => {
    const v = own[field] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw fail(field, `must be an integer of at least ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  const prob = (field: string, dflt: number | null): number | null => {
    const v = own[field] === undefined ? dflt : own[field];
    if (v === null) return null;
    if (typeof v !== 'number' || v < 0 || v >= 1) throw fail(field, `must be a number in [0, 1), got ${JSON.stringify(v)}`);
    return v;
  };
  const embeddingSize = int('embedding_size', bert.hidden_size, 1);
  const convKernel = int('conv_kernel_size', 0, 0);
  if (convKernel > 0 && convKernel % 2 === 0)
    throw fail('conv_kernel_size', `is ${convKernel}; tuna builds DeBERTa-v2's ConvLayer with an odd width only (the output keeps the sequence length)`);
  if (convKernel > 64) throw fail('conv_kernel_size', `is ${convKernel}, larger than the 64 tuna builds`);
  const convGroups = bert.extra.conv_groups;
  if (convKernel > 0 && convGroups !== undefined && convGroups !== 1)
    throw fail('conv_groups', `is ${JSON.stringify(convGroups)}; tuna builds DeBERTa-v2's ConvLayer with conv_groups 1 only`);
  if (embeddingSize > 65_536)
    throw new BertConfigError(`${source}: field "embedding_size" is ${embeddingSize}, larger than the 65536 tuna builds`, {
      file: source,
      field: 'embedding_size',
      code: 'too_large',
    });
  const maxRel = own.max_relative_positions ?? -1;
  if (typeof maxRel !== 'number' || !Number.isInteger(maxRel)) throw fail('max_relative_positions', `must be an integer, got ${JSON.stringify(maxRel)}`);
  if (maxRel > 1_048_576)
    throw new BertConfigError(`${source}: field "max_relative_positions" is ${maxRel}, larger than tuna builds`, {
      file: source,
      field: 'max_relative_positions',
      code: 'too_large',
    });
  const buckets = own.position_buckets ?? -1;
  if (typeof buckets !== 'number' || !Number.isInteger(buckets)) throw fail('position_buckets', `must be an integer, got ${JSON.stringify(buckets)}`);
  if (buckets > 1_048_576)
    throw new BertConfigError(`${source}: field "position_buckets" is ${buckets}, larger than tuna builds`, { file: source, field: 'position_buckets', code: 'too_large' });
  return {
    ...bert,
    model_type: 'deberta-v2',
    type_vocab_size: typeVocab,
    embedding_size: embeddingSize,
    relative_attention: bool('relative_attention', false),
    max_relative_positions: maxRel,
    position_buckets: buckets,
    pos_att_type: parsePosAttType(own.pos_att_type, fail),
    share_att_key: bool('share_att_key', false),
    norm_rel_ebd: parseNormRelEbd(own.norm_rel_ebd, fail),
    position_biased_input: bool('position_biased_input', true),
    pooler_hidden_size: parsePoolerSize(own.pooler_hidden_size, bert.hidden_size, fail),
    pooler_dropout: prob('pooler_dropout', 0) ?? 0,
    pooler_hidden_act: parseAct('pooler_hidden_act', own.pooler_hidden_act ?? 'gelu', source),
    cls_dropout: prob('cls_dropout', null),
    legacy: bool('legacy', true),
    conv_kernel_size: convKernel,
    conv_act: parseAct('conv_act', own.conv_act ?? 'tanh', source),
  };
}

function parsePosAttType(v: unknown, fail: (field: string, why: string) => Error): PosAttType[] {
  if (v === undefined || v === null) return [];
  const items =
    typeof v === 'string'
      ? v
          .toLowerCase()
          .split('|')
          .map((s) => s.trim())
      : v;
  if (!Array.isArray(items) || items.some((s) => s !== 'c2p' && s !== 'p2c')) {
    throw fail('pos_att_type', `is ${JSON.stringify(v)}; expected a list of "c2p" and "p2c" (or a "c2p|p2c" string)`);
  }
  return items as PosAttType[];
}

function parseNormRelEbd(v: unknown, fail: (field: string, why: string) => Error): string {
  if (v === undefined || v === null) return 'none';
  if (typeof v !== 'string') throw fail('norm_rel_ebd', `must be a string, got ${JSON.stringify(v)}`);
  const parts = v
    .toLowerCase()
    .split('|')
    .map((s) => s.trim());
  if (parts.some((p) => p !== 'layer_norm' && p !== 'none')) throw fail('norm_rel_ebd', `is "${v}"; tuna supports "layer_norm" and "none"`);
  return v;
}

function parsePoolerSize(v: unknown, hidden: number, fail: (field: string, why: string) => Error): number {
  if (v === undefined || v === null) return hidden;
  if (v !== hidden) throw fail('pooler_hidden_size', `is ${JSON.stringify(v)}; the ContextPooler maps hidden_size (${hidden}) to itself, so it must equal hidden_size`);
  return hidden;
}

function parseAct(field: string, v: unknown, source: string): DebertaAct {
  if (v === 'tanh') return 'tanh';
  try {
    return parseBertConfig({ hidden_act: v }, source).hidden_act;
  } catch {
    throw new BertConfigError(`${source}: field "${field}" is ${JSON.stringify(v)}; supported: gelu, relu, gelu_new, gelu_pytorch_tanh, silu, swish, tanh`, {
      file: source,
      field,
    });
  }
}

/** Whether the relative embeddings go through `encoder.LayerNorm`. */
export function normalisesRelEmbeddings(config: DebertaV2Config): boolean {
  return config.norm_rel_ebd
    .toLowerCase()
    .split('|')
    .map((s) => s.trim())
    .includes('layer_norm');
}

/** The clamp of relative distances: max_relative_positions, or max_position_embeddings when below 1. */
export function maxRelativePositions(config: DebertaV2Config): number {
  return config.max_relative_positions < 1 ? config.max_position_embeddings : config.max_relative_positions;
}

/** Half the rows of `rel_embeddings` (the attention span): position_buckets when set, else the clamp. */
export function attentionSpan(config: DebertaV2Config): number {
  return config.position_buckets > 0 ? config.position_buckets : maxRelativePositions(config);
}

/** The config as Hugging Face writes config.json. */
export function debertaV2ConfigToJson(config: DebertaV2Config, architecture?: string): Record<string, unknown> {
  const { type_vocab_size, ...rest } = config;
  const ownValues: Record<string, unknown> = {};
  const bertPart: Record<string, unknown> = { ...rest };
  for (const k of OWN_FIELDS) {
    ownValues[k] = bertPart[k];
    delete bertPart[k];
  }
  const out = bertConfigToJson({ ...(bertPart as unknown as BertConfig), model_type: 'bert' }, architecture);
  delete out.classifier_dropout;
  delete out.position_embedding_type;
  if (ownValues.cls_dropout === null) delete ownValues.cls_dropout;
  if (ownValues.conv_kernel_size === 0) {
    delete ownValues.conv_kernel_size;
    delete ownValues.conv_act;
  }
  return { ...out, ...ownValues, model_type: 'deberta-v2', type_vocab_size };
}

/** A config built from sizes, for models created from scratch. */
export function debertaV2Config(fields: Record<string, unknown> = {}): DebertaV2Config {
  return parseDebertaV2Config({ model_type: 'deberta-v2', ...fields }, 'config');
}
