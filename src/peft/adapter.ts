/**
 * A model under a parameter-efficient method (LoRA or BitFit): which parameters train, what the
 * adapter directory holds, and loading an adapter directory onto its base model.
 *
 * An adapter directory holds `adapter_config.json` and `adapter_model.safetensors` in PEFT's layout
 * (keys `base_model.model.<parameter>`: LoRA's `....lora_A.weight`/`....lora_B.weight`, and the
 * modules saved whole, such as the classifier), plus tuna's `head_config.json` (the head's label
 * maps) and the tokenizer. BitFit, which PEFT has no type for, uses the same files with
 * `peft_type` `BITFIT`: the weights file then holds the biases and the head.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { readConfig } from '../io/checkpoint.js';
import { type HubOptions, resolveModel } from '../io/hub.js';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { type FromPretrainedOptions, PreTrainedModel } from '../models/pretrained-model.js';
import { HEADS, type HeadKind, familyOfConfig } from '../models/registry.js';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  type AdapterConfig,
  HEAD_CONFIG_FILE,
  type LoraSettings,
  PEFT_KEY_PREFIX,
  PEFT_METHODS,
  type PeftMethod,
  PeftError,
  TASK_TYPE_HEADS,
  loraConfigJson,
  loraSettings,
  readAdapterConfig,
  taskTypeOfHead,
} from './config.js';
import { type AdapterPlacement, BottleneckAdapters, type BottleneckSettings } from './bottleneck.js';
import { LoraModel } from './lora.js';
import { DeepPrompts, type PromptSettings } from './prompt.js';
import { inModules, modulesToSave as defaultModulesToSave } from './modules.js';

/** What {@link applyPeft} sets up. */
export interface PeftOptions {
  readonly method: PeftMethod;
  /** LoRA's settings (defaults: r 8, alpha 16, dropout 0, targets query and value). */
  readonly lora?: Partial<LoraSettings>;
  /** Bottleneck adapters' settings (default size 64, Houlsby placement). */
  readonly adapter?: Partial<BottleneckSettings>;
  /** Deep prompts' settings (default 20 virtual tokens). */
  readonly prompt?: Partial<PromptSettings>;
  /** Modules trained and saved whole (default: the task head, and modules the base checkpoint lacked). */
  readonly modulesToSave?: readonly string[];
  /** Seed of LoRA's A initialisation (default 42). */
  readonly seed?: number;
}

/** Options of {@link PeftModel.save}. */
export interface AdapterSaveOptions {
  /** `base_model_name_or_path` to record (default: the directory the base model was loaded from, made absolute). */
  readonly baseModel?: string;
}

/** A model with a parameter-efficient method applied. */
export class PeftModel {
  private constructor(
    readonly model: PreTrainedModel,
    readonly method: PeftMethod,
    /** Modules trained and saved whole. */
    readonly modulesToSave: readonly string[],
    /** The layers the method adds (none for BitFit). */
    readonly added: MethodLayers | undefined,
    /** Where the base model came from, as adapter_config.json names it. */
    readonly baseModel: string | undefined,
  ) {}

  /** Applies a method to a freshly loaded model: adds LoRA's parameters, and decides what trains. */
  static apply(model: PreTrainedModel, opts: PeftOptions): PeftModel {
    const modules = opts.modulesToSave ?? defaultModulesToSave(model);
    const init = { seed: opts.seed, initStd: initStdOf(model) };
    switch (opts.method) {
      case 'lora':
        return new PeftModel(model, 'lora', modules, LoraModel.attach(model, loraSettings(opts.lora), { exclude: modules, seed: opts.seed }), undefined);
      case 'bitfit':
        return new PeftModel(model, 'bitfit', modules, undefined, undefined);
      case 'adapter':
        return new PeftModel(model, 'adapter', modules, BottleneckAdapters.attach(model, bottleneckSettings(opts.adapter), init), undefined);
      case 'prompt':
        return new PeftModel(model, 'prompt', modules, DeepPrompts.attach(model, { numVirtualTokens: opts.prompt?.numVirtualTokens ?? 20 }, init), undefined);
    }
    throw new PeftError('invalid_option', `unknown parameter-efficient method "${String((opts as { method: unknown }).method)}"; use ${PEFT_METHODS.join(', ')}`, {
      field: 'peft',
    });
  }

  /** The same model recording `baseModel` as its base in adapter_config.json (unchanged when undefined). */
  withBaseModel(baseModel: string | undefined): PeftModel {
    return baseModel === undefined ? this : new PeftModel(this.model, this.method, this.modulesToSave, this.added, baseModel);
  }

  /** Wraps a model an adapter was loaded onto. */
  static loaded(model: PreTrainedModel, method: PeftMethod, modules: readonly string[], added: MethodLayers | undefined, baseModel: string | undefined): PeftModel {
    return new PeftModel(model, method, modules, added, baseModel);
  }

  /** LoRA's layers, when the method is LoRA. */
  get lora(): LoraModel | undefined {
    return this.added instanceof LoraModel ? this.added : undefined;
  }

  /** Whether a parameter trains (and is saved in the adapter): LoRA's weights or the biases, and the modules saved whole. */
  isTrainable = (name: string): boolean => {
    if (inModules(name, this.modulesToSave)) return true;
    if (this.method === 'bitfit') return name.endsWith('.bias');
    this.names ??= new Set(this.added?.parameterNames() ?? []);
    return this.names.has(name);
  };

  private names: Set<string> | undefined;

  /** Trainable parameters against all of them. */
  counts(): { trainable: number; total: number } {
    let trainable = 0;
    let total = 0;
    for (const p of this.model.store.list()) {
      total += p.data.length;
      if (this.isTrainable(p.name)) trainable += p.data.length;
    }
    return { trainable, total };
  }

  /** The adapter's tensors under PEFT's key names. */
  tensors(): Map<string, NamedTensor> {
    const out = new Map<string, NamedTensor>();
    for (const p of this.model.store.list()) if (this.isTrainable(p.name)) out.set(`${PEFT_KEY_PREFIX}${p.name}`, { shape: p.shape, data: p.data, dtype: 'F32' });
    return out;
  }

  /** adapter_config.json's contents. */
  configJson(baseModel: string | undefined): Record<string, unknown> {
    const taskType = taskTypeOfHead(this.model.head);
    if (this.added instanceof LoraModel) return loraConfigJson(this.added.settings, { taskType, modulesToSave: this.modulesToSave, baseModel });
    const common = { task_type: taskType ?? null, base_model_name_or_path: baseModel ?? null, modules_to_save: [...this.modulesToSave], inference_mode: true };
    if (this.added instanceof BottleneckAdapters) {
      const a = this.added.settings;
      return {
        peft_type: 'BOTTLENECK',
        ...common,
        adapter_size: a.size,
        placement: a.placement,
        non_linearity: a.placement === 'houlsby' ? 'swish' : 'relu',
        format: 'tuna-bottleneck',
      };
    }
    if (this.added instanceof DeepPrompts) return { peft_type: 'P_TUNING_V2', ...common, num_virtual_tokens: this.added.settings.numVirtualTokens, format: 'tuna-deep-prompt' };
    return {
      peft_type: 'BITFIT',
      task_type: taskType ?? null,
      base_model_name_or_path: baseModel ?? null,
      bias: 'all',
      modules_to_save: [...this.modulesToSave],
      inference_mode: true,
      format: 'tuna-bitfit',
    };
  }

  /**
   * Writes the adapter directory: adapter_config.json, adapter_model.safetensors and
   * head_config.json (each atomically). The tokenizer is the caller's to save.
   */
  async save(dir: string, opts: AdapterSaveOptions = {}): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const base = opts.baseModel ?? this.baseModel ?? (this.model.source ? resolve(this.model.source) : undefined);
    const files = [join(dir, ADAPTER_CONFIG_FILE), join(dir, ADAPTER_WEIGHTS_FILE)];
    await writeSafetensors(files[1]!, this.tensors(), { format: 'pt' });
    await writeJson(files[0]!, this.configJson(base));
    const head = headConfigOf(this.model);
    if (head) {
      files.push(join(dir, HEAD_CONFIG_FILE));
      await writeJson(files[2]!, head);
    }
    return files;
  }
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/** The head's config.json fields an adapter carries: its architecture and label maps; undefined for heads without labels. */
function headConfigOf(model: PreTrainedModel): Record<string, unknown> | undefined {
  if (!HEADS[model.head].labelled) return undefined;
  const c = model.config as unknown as Record<string, unknown>;
  return {
    architectures: [model.architecture],
    id2label: c.id2label,
    label2id: c.label2id,
    ...(c.problem_type ? { problem_type: c.problem_type } : {}),
  };
}

/** An adapter directory's files, read and checked. */
export interface AdapterFiles {
  readonly dir: string;
  readonly method: PeftMethod;
  readonly config: AdapterConfig | undefined;
  readonly raw: Readonly<Record<string, unknown>>;
  readonly head: HeadKind;
  readonly modulesToSave: readonly string[];
  readonly baseModel: string | undefined;
  /** head_config.json's fields, when the directory has one. */
  readonly headConfig: Readonly<Record<string, unknown>> | undefined;
  /** The weights, by tuna parameter name (PEFT's prefix removed). */
  readonly tensors: Map<string, NamedTensor>;
  readonly weightsFile: string;
}

/** Reads an adapter directory (LoRA from PEFT or tuna, or tuna's BitFit). */
export async function readAdapter(dir: string): Promise<AdapterFiles> {
  const file = join(dir, ADAPTER_CONFIG_FILE);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new PeftError('file_not_found', `${file}: not found; an adapter directory holds ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}`, { file });
    throw new PeftError('invalid_config', `${file}: not valid JSON (${(e as Error).message})`, { file, cause: e });
  }
  const method = TUNA_TYPES[String(raw?.peft_type)] ?? 'lora';
  const config = method !== 'lora' ? undefined : await readAdapterConfig(dir);
  const taskType = config?.taskType ?? (typeof raw.task_type === 'string' ? raw.task_type : 'FEATURE_EXTRACTION');
  const head = TASK_TYPE_HEADS[taskType];
  if (!head)
    throw new PeftError('invalid_config', `${file}: task_type ${JSON.stringify(raw.task_type)} is not one tuna runs (${Object.keys(TASK_TYPE_HEADS).join(', ')})`, {
      file,
      field: 'task_type',
    });
  const weightsFile = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!existsSync(weightsFile)) {
    const pickled = existsSync(join(dir, 'adapter_model.bin'));
    throw new PeftError(
      'invalid_checkpoint',
      `${weightsFile}: not found${pickled ? '; the directory has adapter_model.bin, a pickle, which tuna never reads: re-save the adapter with safe_serialization=True' : ''}`,
      { file: weightsFile },
    );
  }
  const { tensors: stored } = await readSafetensors(weightsFile);
  const tensors = new Map<string, NamedTensor>();
  for (const [key, t] of stored) {
    if (/\.lora_embedding_[AB]\b/.test(key)) {
      throw new PeftError('invalid_checkpoint', `${weightsFile}: holds LoRA weights of an embedding (${key}); tuna applies LoRA to linear layers only`, { file: weightsFile });
    }
    const name = (key.startsWith(PEFT_KEY_PREFIX) ? key.slice(PEFT_KEY_PREFIX.length) : key).replace(/\.(lora_[AB])\.default\.weight$/, '.$1.weight');
    tensors.set(name, t);
  }
  let headConfig: Record<string, unknown> | undefined;
  const headFile = join(dir, HEAD_CONFIG_FILE);
  if (existsSync(headFile)) {
    try {
      headConfig = JSON.parse(await readFile(headFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new PeftError('invalid_config', `${headFile}: not valid JSON (${(e as Error).message})`, { file: headFile, cause: e });
    }
  }
  const mts = config?.modulesToSave ?? (Array.isArray(raw.modules_to_save) ? (raw.modules_to_save as string[]) : []);
  const base = config?.baseModel ?? (typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : undefined);
  return { dir, method, config, raw, head, modulesToSave: mts, baseModel: base, headConfig, tensors, weightsFile };
}

/**
 * Where an adapter's base model is: `given` (an option, relative to the working directory) or
 * `base_model_name_or_path` (a directory, relative paths resolved against the adapter directory
 * first, then the working directory, as PEFT does; or a Hub id).
 */
export function resolveBaseModel(adapter: Pick<AdapterFiles, 'dir' | 'baseModel'>, given?: string): string {
  if (given !== undefined) return given;
  const name = adapter.baseModel;
  if (name === undefined) {
    throw new PeftError(
      'invalid_config',
      `${join(adapter.dir, ADAPTER_CONFIG_FILE)}: base_model_name_or_path is empty, so the base model is unknown; give the base model (the baseModel option, or --base-model)`,
      { file: join(adapter.dir, ADAPTER_CONFIG_FILE), field: 'base_model_name_or_path' },
    );
  }
  if (isAbsolute(name)) return name;
  const near = resolve(adapter.dir, name);
  if (existsSync(near)) return near;
  return name;
}

/** Options of {@link loadAdapterModel}. */
export interface LoadAdapterOptions {
  /** The base model (a directory or Hub id) instead of the one adapter_config.json names. */
  readonly baseModel?: string;
  readonly threads?: number;
  readonly hub?: HubOptions;
  readonly checkFinite?: boolean;
  readonly use?: FromPretrainedOptions['use'];
}

/**
 * Loads an adapter directory onto its base model: the base with the adapter's head (its labels
 * from head_config.json), then the adapter's weights (LoRA layers added through the layer factory;
 * the modules saved whole and BitFit's biases replacing the base's).
 *
 * @throws PeftError (`invalid_checkpoint`) when the adapter does not fit the base (a LoRA layer the
 *   base lacks or of other sizes, a saved module of another shape) or when the base lacks weights
 *   the adapter does not carry either; `invalid_config` for a broken adapter_config.json.
 */
export async function loadAdapterModel(dir: string, opts: LoadAdapterOptions = {}): Promise<PeftModel> {
  const adapter = await readAdapter(dir);
  const base = resolveBaseModel(adapter, opts.baseModel);
  const id2label = adapter.headConfig?.id2label as Record<string, string> | undefined;
  const model = await PreTrainedModel.fromPretrained(base, {
    head: adapter.head,
    ...(id2label && typeof id2label === 'object' ? { id2label } : {}),
    ...(typeof adapter.headConfig?.problem_type === 'string' ? { problemType: adapter.headConfig.problem_type as never } : {}),
    missing: 'init',
    threads: opts.threads,
    hub: opts.hub,
    checkFinite: opts.checkFinite,
    use: opts.use ?? 'inference',
  });
  return applyAdapter(model, adapter, base);
}

/** Applies a read adapter to a loaded base model (see {@link loadAdapterModel}). */
export function applyAdapter(model: PreTrainedModel, adapter: AdapterFiles, baseModel?: string): PeftModel {
  const file = adapter.weightsFile;
  const covered = new Set<string>();
  for (const [name, t] of adapter.tensors) {
    if (isAddedParameter(name)) continue;
    const p = model.store.get(name);
    if (!p) {
      throw new PeftError(
        'invalid_checkpoint',
        `${file}: holds "${name}", which the base model (${model.architecture} from ${model.source}) does not have; the adapter was trained on another base model or head`,
        { file },
      );
    }
    if (p.shape.join() !== t.shape.join()) {
      throw new PeftError(
        'invalid_checkpoint',
        `${file}: "${name}" is [${t.shape.join(', ')}], but the base model (${model.source}) has [${p.shape.join(', ')}]; the adapter was trained on a base of other sizes${name.startsWith('classifier') ? ' or another label set' : ''}`,
        { file },
      );
    }
    if (!(t.data instanceof Float32Array)) throw new PeftError('invalid_checkpoint', `${file}: tensor ${name} is not a float tensor`, { file });
    p.data = t.data;
    covered.add(name);
  }
  const lacking = [...model.loadReport.missing, ...model.loadReport.mismatched.map((m) => m.name)].filter((n) => !covered.has(n));
  if (lacking.length && !model.loadReport.fromScratch) {
    throw new PeftError(
      'invalid_checkpoint',
      `${model.source}: the base model lacks ${lacking.length} weight(s) the model needs (${lacking.slice(0, 4).join(', ')}${lacking.length > 4 ? ', ...' : ''}), and the adapter ${adapter.dir} does not carry them; ` +
        'use the base model the adapter was trained on',
      { file: model.source },
    );
  }
  const added = addedLayersOf(model, adapter);
  return PeftModel.loaded(model, adapter.method, adapter.modulesToSave, added, baseModel ?? adapter.baseModel);
}

/**
 * The config.json an adapter directory stands for: its base model's, with the adapter's head (its
 * architecture and label maps), for commands that read a checkpoint's config before loading it.
 */
export async function adapterModelConfig(dir: string, opts: { baseModel?: string; hub?: HubOptions } = {}): Promise<Record<string, unknown>> {
  const adapter = await readAdapter(dir);
  const base = await resolveModel(resolveBaseModel(adapter, opts.baseModel), opts.hub);
  const raw = await readConfig(base);
  const family = familyOfConfig(raw, join(base, 'config.json'));
  const head = adapter.headConfig ?? {};
  return { ...raw, ...head, architectures: [family.architectures[adapter.head] ?? adapter.head] };
}

/** Whether an adapter directory carries its own tokenizer files. */
export function hasTokenizerFiles(dir: string): boolean {
  return ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json'].some((f) => existsSync(join(dir, f)));
}

/**
 * Writes the full checkpoint an adapter directory stands for into `out`: the base with LoRA merged
 * into its weights (`W + scale · B · A`) and the saved modules and biases in place, config.json
 * with the head's labels, and the tokenizer (the adapter's, else the base's). What `tuna export`
 * exports from.
 */
export async function mergeAdapter(
  dir: string,
  out: string,
  opts: LoadAdapterOptions & { /** false: LoRA is left out of the weights (the model keeps its LoRA layers). */ readonly merge?: boolean } = {},
): Promise<{ model: PreTrainedModel; merged: string[] }> {
  const peft = await loadAdapterModel(dir, opts);
  const merged = peft.lora && opts.merge !== false ? await peft.lora.merge() : [];
  const model = peft.model;
  if (peft.added && !peft.lora) {
    throw new PeftError('invalid_option', `${dir}: ${peft.method} layers cannot be merged into the base weights; only LoRA adapters and BitFit export as a plain model`, {
      field: 'peft',
    });
  }
  await model.savePretrained(out, { select: (name) => !isAddedParameter(name) });
  const tokenizer = hasTokenizerFiles(dir) ? await model.family.loadTokenizer(dir) : await model.loadTokenizer();
  await tokenizer.save(out);
  return { model, merged };
}

/** What a method adds to a model: its layers' parameters. */
export type MethodLayers = LoraModel | BottleneckAdapters | DeepPrompts;

/** tuna's own adapter_config.json types (PEFT has none for them) and their methods. */
const TUNA_TYPES: Readonly<Record<string, PeftMethod>> = { BITFIT: 'bitfit', BOTTLENECK: 'adapter', P_TUNING_V2: 'prompt' };

/** Parameters a method adds (LoRA's A and B, DoRA's magnitudes, adapters, prefixes), as opposed to base parameters an adapter replaces. */
function isAddedParameter(name: string): boolean {
  return /\.(lora_[AB]\.weight|lora_magnitude_vector|adapter\.(down|up)\.(weight|bias)|prefix\.(key|value))$/.test(name);
}

function initStdOf(model: PreTrainedModel): number {
  const std = (model.config as { initializer_range?: unknown }).initializer_range;
  return typeof std === 'number' ? std : 0.02;
}

function bottleneckSettings(given: Partial<BottleneckSettings> = {}): BottleneckSettings {
  const placement: AdapterPlacement = given.placement ?? 'houlsby';
  if (placement !== 'houlsby' && placement !== 'pfeiffer')
    throw new PeftError('invalid_option', `adapter placement must be houlsby or pfeiffer, got "${String(placement)}"`, { field: 'adapterPlacement' });
  return { size: given.size ?? 64, placement };
}

/** The layers a read adapter adds to `model`, from its saved weights. */
function addedLayersOf(model: PreTrainedModel, adapter: AdapterFiles): MethodLayers | undefined {
  const file = adapter.weightsFile;
  const raw = adapter.raw;
  const int = (field: string): number => {
    const v = raw[field];
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new PeftError('invalid_config', `${join(adapter.dir, ADAPTER_CONFIG_FILE)}: ${field} must be a positive integer, got ${JSON.stringify(v)}`, { field });
    return v as number;
  };
  switch (adapter.method) {
    case 'lora':
      return LoraModel.fromTensors(model, adapter.config!.lora, adapter.tensors, file);
    case 'adapter':
      return BottleneckAdapters.fromTensors(model, bottleneckSettings({ size: int('adapter_size'), placement: raw.placement as AdapterPlacement }), adapter.tensors, file);
    case 'prompt':
      return DeepPrompts.fromTensors(model, { numVirtualTokens: int('num_virtual_tokens') }, adapter.tensors, file);
    case 'bitfit':
      return undefined;
  }
}
