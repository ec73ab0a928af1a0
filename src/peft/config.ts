/**
 * Parameter-efficient fine-tuning settings and the files of an adapter directory: Hugging Face
 * PEFT's `adapter_config.json` (read and written with PEFT's field names) and tuna's
 * `head_config.json` (the label maps of the head saved with the adapter).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunaError } from '../errors.js';
import type { HeadKind } from '../models/registry.js';

/** The file PEFT keeps an adapter's settings in. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
/** The file PEFT keeps an adapter's weights in. */
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';
/** tuna's file of the label maps of the head saved with an adapter (config.json fields). */
export const HEAD_CONFIG_FILE = 'head_config.json';
/** The prefix PEFT gives every key of an adapter's weights file. */
export const PEFT_KEY_PREFIX = 'base_model.model.';
/** The PEFT version whose adapter_config.json layout tuna writes. */
export const PEFT_FORMAT_VERSION = '0.21.0';

/** The methods tuna trains. */
export type PeftMethod = 'lora' | 'bitfit' | 'adapter' | 'prompt';
export const PEFT_METHODS: readonly PeftMethod[] = ['lora', 'bitfit', 'adapter', 'prompt'];

/** Which linear layers LoRA wraps: module-name suffixes (`query`, `dense`), `all-linear`, or a regular expression matching whole module names. */
export type LoraTargets = readonly string[] | RegExp | 'all-linear';

/** LoRA's settings, named after PEFT's `LoraConfig` in camelCase. */
export interface LoraSettings {
  /** Rank of the update (default 8). */
  readonly r: number;
  /** Scale numerator: the update is scaled by alpha / r, or alpha / sqrt(r) with rsLoRA (default 16). */
  readonly alpha: number;
  /** Dropout on the input of the LoRA branch while training (default 0). */
  readonly dropout: number;
  /** Linear layers to wrap (default `query`, `value`). */
  readonly targetModules: LoraTargets;
  /** Rank-stabilised scaling, alpha / sqrt(r) (default false). */
  readonly useRslora: boolean;
  /**
   * DoRA (weight-decomposed LoRA, PEFT's `use_dora`): each wrapped layer's output is rescaled per
   * output feature by a trained magnitude over the norm of its updated weight's row (default false).
   */
  readonly useDora?: boolean;
  /** Per-module ranks and alphas (PEFT's `rank_pattern`, `alpha_pattern`: module-name patterns). */
  readonly rankPattern?: Readonly<Record<string, number>>;
  readonly alphaPattern?: Readonly<Record<string, number>>;
  /** Only layers with these indices (PEFT's `layers_to_transform`). */
  readonly layersToTransform?: readonly number[];
}

/** An adapter directory's settings as tuna uses them. */
export interface AdapterConfig {
  readonly method: 'lora';
  readonly lora: LoraSettings;
  /** PEFT's task type: `SEQ_CLS`, `TOKEN_CLS` or `FEATURE_EXTRACTION`. */
  readonly taskType: string;
  /** Modules saved whole with the adapter (the task head). */
  readonly modulesToSave: readonly string[];
  /** Where the base model is: a directory or a Hub id; undefined when the file names none. */
  readonly baseModel: string | undefined;
  /** The file read. */
  readonly file: string;
  /** The whole parsed file (fields tuna does not use are kept for writing it back). */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** Error of an adapter that cannot be used: its files, its settings or a base it does not fit. */
export class PeftError extends TunaError {
  override name = 'PeftError';
}

/** PEFT task types and the heads they are built on. */
export const TASK_TYPE_HEADS: Readonly<Record<string, HeadKind>> = {
  SEQ_CLS: 'sequence-classification',
  TOKEN_CLS: 'token-classification',
  FEATURE_EXTRACTION: 'base',
};

/** The PEFT task type of a head, undefined for heads PEFT has no task type for. */
export function taskTypeOfHead(head: HeadKind): string | undefined {
  return Object.entries(TASK_TYPE_HEADS).find(([, h]) => h === head)?.[0];
}

/** Whether `dir` is an adapter directory (adapter_config.json, and no full checkpoint beside it). */
export function isAdapterDir(dir: string): boolean {
  return existsSync(join(dir, ADAPTER_CONFIG_FILE)) && !existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'model.safetensors.index.json'));
}

/** Checks LoRA settings (rank a positive integer, alpha positive, dropout in [0, 1)). */
export function checkLoraSettings(s: LoraSettings, where = 'LoRA settings'): LoraSettings {
  const bad = (field: string, what: string) => new PeftError('invalid_option', `${where}: ${field} ${what}`, { field });
  if (!Number.isInteger(s.r) || s.r < 1) throw bad('r', `must be a positive integer, got ${String(s.r)}`);
  if (!(s.alpha > 0)) throw bad('lora_alpha', `must be positive, got ${String(s.alpha)}`);
  if (!(s.dropout >= 0 && s.dropout < 1)) throw bad('lora_dropout', `must be in [0, 1), got ${String(s.dropout)}`);
  if (Array.isArray(s.targetModules) && s.targetModules.length === 0) throw bad('target_modules', 'is empty: name at least one linear layer (e.g. query, value)');
  return s;
}

/** LoRA settings with tuna's defaults for what is not given: r 8, alpha 16 (scale 2), dropout 0, query and value, no rsLoRA, no DoRA. */
export function loraSettings(given: Partial<LoraSettings> = {}): LoraSettings {
  return checkLoraSettings({
    r: given.r ?? 8,
    alpha: given.alpha ?? 16,
    dropout: given.dropout ?? 0,
    targetModules: given.targetModules ?? ['query', 'value'],
    useRslora: given.useRslora ?? false,
    ...(given.useDora ? { useDora: true } : {}),
    ...(given.rankPattern ? { rankPattern: given.rankPattern } : {}),
    ...(given.alphaPattern ? { alphaPattern: given.alphaPattern } : {}),
    ...(given.layersToTransform ? { layersToTransform: given.layersToTransform } : {}),
  });
}

/** Reads and checks an adapter directory's adapter_config.json. */
export async function readAdapterConfig(dir: string): Promise<AdapterConfig> {
  const file = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(file)) throw new PeftError('file_not_found', `${file}: not found; an adapter directory holds adapter_config.json and adapter_model.safetensors`, { file });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new PeftError('invalid_config', `${file}: not valid JSON (${(e as Error).message})`, { file, cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new PeftError('invalid_config', `${file}: must hold a JSON object`, { file });
  const fail = (field: string, what: string) => new PeftError('invalid_config', `${file}: ${field} ${what}`, { file, field });
  const type = raw.peft_type;
  if (type !== 'LORA') {
    throw fail('peft_type', `is ${JSON.stringify(type)}; tuna loads PEFT's LoRA adapters (peft_type "LORA") and its own BITFIT, BOTTLENECK and P_TUNING_V2 layouts (docs/peft.md)`);
  }
  if (raw.fan_in_fan_out === true) throw fail('fan_in_fan_out', 'is true: that layout is for Conv1D models (GPT-2), not BERT-family encoders');
  if (raw.bias !== undefined && raw.bias !== 'none' && raw.bias !== 'all' && raw.bias !== 'lora_only')
    throw fail('bias', `must be "none", "all" or "lora_only", got ${JSON.stringify(raw.bias)}`);
  if (raw.lora_bias === true) throw fail('lora_bias', 'is true: LoRA B biases are not supported by tuna');
  const num = (field: string, dflt: number): number => {
    const v = raw[field] ?? dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw fail(field, `must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const targets = raw.target_modules;
  let targetModules: LoraTargets;
  if (typeof targets === 'string') targetModules = targets === 'all-linear' ? 'all-linear' : new RegExp(`^(?:${targets})$`);
  else if (Array.isArray(targets) && targets.every((t) => typeof t === 'string')) targetModules = targets as string[];
  else throw fail('target_modules', `must be a list of module names or a regular expression, got ${JSON.stringify(targets)}`);
  const pattern = (field: string): Record<string, number> | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'number')) throw fail(field, 'must map module-name patterns to numbers');
    return Object.keys(v).length ? (v as Record<string, number>) : undefined;
  };
  const layers = raw.layers_to_transform;
  let layersToTransform: number[] | undefined;
  if (typeof layers === 'number') layersToTransform = [layers];
  else if (Array.isArray(layers) && layers.every((l) => Number.isInteger(l))) layersToTransform = layers as number[];
  else if (layers !== undefined && layers !== null) throw fail('layers_to_transform', `must be a layer index or a list of them, got ${JSON.stringify(layers)}`);
  const lora = checkLoraSettings(
    {
      r: num('r', 8),
      alpha: num('lora_alpha', 8),
      dropout: num('lora_dropout', 0),
      targetModules,
      useRslora: raw.use_rslora === true,
      useDora: raw.use_dora === true,
      rankPattern: pattern('rank_pattern'),
      alphaPattern: pattern('alpha_pattern'),
      layersToTransform,
    },
    file,
  );
  const taskType = typeof raw.task_type === 'string' ? raw.task_type : 'FEATURE_EXTRACTION';
  if (!(taskType in TASK_TYPE_HEADS)) {
    throw fail('task_type', `is ${JSON.stringify(raw.task_type)}; tuna runs encoder adapters of task types ${Object.keys(TASK_TYPE_HEADS).join(', ')}`);
  }
  const mts = raw.modules_to_save;
  if (mts !== undefined && mts !== null && !(Array.isArray(mts) && mts.every((m) => typeof m === 'string'))) throw fail('modules_to_save', 'must be a list of module names');
  const base = raw.base_model_name_or_path;
  return {
    method: 'lora',
    lora,
    taskType,
    modulesToSave: (mts as string[] | null | undefined) ?? [],
    baseModel: typeof base === 'string' && base !== '' ? base : undefined,
    file,
    raw,
  };
}

/**
 * adapter_config.json for a LoRA adapter, with every field PEFT 0.21 writes (so PEFT loads it
 * without warnings).
 */
export function loraConfigJson(s: LoraSettings, opts: { taskType: string | undefined; modulesToSave: readonly string[]; baseModel: string | undefined }): Record<string, unknown> {
  const targets =
    s.targetModules instanceof RegExp ? s.targetModules.source.replace(/^\^\(\?:(.*)\)\$$/, '$1') : s.targetModules === 'all-linear' ? 'all-linear' : [...s.targetModules];
  return {
    alora_invocation_tokens: null,
    alpha_pattern: s.alphaPattern ?? {},
    arrow_config: null,
    auto_mapping: null,
    base_model_name_or_path: opts.baseModel ?? null,
    bias: 'none',
    corda_config: null,
    ensure_weight_tying: false,
    eva_config: null,
    exclude_modules: null,
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    kasa_config: null,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: s.layersToTransform ? [...s.layersToTransform] : null,
    loftq_config: {},
    lora_alpha: s.alpha,
    lora_bias: false,
    lora_dropout: s.dropout,
    lora_ga_config: null,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: opts.modulesToSave.length ? [...opts.modulesToSave] : null,
    monteclora_config: null,
    peft_type: 'LORA',
    peft_version: PEFT_FORMAT_VERSION,
    qalora_group_size: 16,
    r: s.r,
    rank_pattern: s.rankPattern ?? {},
    revision: null,
    target_modules: targets,
    target_parameters: null,
    task_type: opts.taskType ?? null,
    trainable_token_indices: null,
    use_bdlora: null,
    use_dora: s.useDora === true,
    use_qalora: false,
    use_rslora: s.useRslora,
    velora_config: null,
  };
}
