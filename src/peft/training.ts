/**
 * The Trainer's view of parameter-efficient fine-tuning: its options (named as `tuna train`'s
 * flags, in camelCase), applying them to a model, and restoring an adapter checkpoint.
 */
import { join } from 'node:path';
import { readSafetensors } from '../io/safetensors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { Parameter } from '../nn/parameters.js';
import { PeftModel } from './adapter.js';
import { ADAPTER_WEIGHTS_FILE, PEFT_KEY_PREFIX, PEFT_METHODS, type PeftMethod, PeftError } from './config.js';

/** Parameter-efficient settings of a training run. */
export interface PeftTrainingOptions {
  /** The method: `lora`, `bitfit`, `adapter` (bottleneck adapters) or `prompt` (deep prompts, P-tuning v2). */
  readonly method: PeftMethod;
  /** LoRA rank (default 8). */
  readonly loraR?: number;
  /** LoRA alpha (default 16). */
  readonly loraAlpha?: number;
  /** Dropout on LoRA's input while training (default 0). */
  readonly loraDropout?: number;
  /** Linear layers LoRA wraps: module-name suffixes, or `all-linear` (default query, value). */
  readonly loraTarget?: readonly string[] | 'all-linear';
  /** Rank-stabilised scaling alpha / sqrt(r) (default false). */
  readonly useRslora?: boolean;
  /** DoRA: a trained magnitude per output feature over the updated weight's row norm (PEFT's `use_dora`, default false). */
  readonly useDora?: boolean;
  /**
   * LoRA+ (PEFT's `create_loraplus_optimizer`, `loraplus_lr_ratio`): B trains at this many times
   * the learning rate (and A, the head and the rest at the rate itself). Default: off (1).
   */
  readonly loraPlusLrRatio?: number;
  /** Bottleneck width of `adapter` (default 64). */
  readonly adapterSize?: number;
  /** Where `adapter` puts adapters: `houlsby` (after attention and feed-forward, default) or `pfeiffer` (after feed-forward). */
  readonly adapterPlacement?: 'houlsby' | 'pfeiffer';
  /** Virtual tokens per layer of `prompt` (default 20). */
  readonly numVirtualTokens?: number;
  /** Modules trained and saved whole (default: the task head, and what the base checkpoint lacked). */
  readonly modulesToSave?: readonly string[];
  /** `base_model_name_or_path` the adapter records (default: the base's directory, absolute). */
  readonly baseModel?: string;
}

/** Applies a run's settings (or takes an already applied {@link PeftModel}). */
export function peftForTraining(model: PreTrainedModel, given: PeftMethod | PeftTrainingOptions | PeftModel, seed?: number): PeftModel {
  if (given instanceof PeftModel) {
    if (given.model !== model) throw new PeftError('invalid_option', 'the PeftModel given as peft wraps another model than the one being trained', { field: 'peft' });
    return given;
  }
  const o: PeftTrainingOptions = typeof given === 'string' ? { method: given } : given;
  if (!PEFT_METHODS.includes(o.method)) {
    throw new PeftError('invalid_option', `peft method "${String(o.method)}" is not one tuna trains; use ${PEFT_METHODS.join(' or ')}`, { field: 'peft' });
  }
  const owners = {
    lora: ['loraR', 'loraAlpha', 'loraDropout', 'loraTarget', 'useRslora', 'useDora', 'loraPlusLrRatio'],
    adapter: ['adapterSize', 'adapterPlacement'],
    prompt: ['numVirtualTokens'],
  } as const;
  for (const [method, keys] of Object.entries(owners)) {
    if (method === o.method) continue;
    const stray = keys.find((k) => o[k] !== undefined);
    if (stray) throw new PeftError('invalid_option', `${stray} applies to peft "${method}"; it means nothing with peft "${o.method}"`, { field: stray });
  }
  if (o.loraPlusLrRatio !== undefined && !(o.loraPlusLrRatio > 0)) {
    throw new PeftError('invalid_option', `loraPlusLrRatio must be a positive number, got ${String(o.loraPlusLrRatio)}`, { field: 'loraPlusLrRatio' });
  }
  const targets = o.loraTarget;
  return PeftModel.apply(model, {
    method: o.method,
    lora: {
      ...(o.loraR !== undefined ? { r: o.loraR } : {}),
      ...(o.loraAlpha !== undefined ? { alpha: o.loraAlpha } : {}),
      ...(o.loraDropout !== undefined ? { dropout: o.loraDropout } : {}),
      ...(targets !== undefined ? { targetModules: targets === 'all-linear' ? 'all-linear' : [...targets] } : {}),
      ...(o.useRslora !== undefined ? { useRslora: o.useRslora } : {}),
      ...(o.useDora !== undefined ? { useDora: o.useDora } : {}),
    },
    adapter: { ...(o.adapterSize !== undefined ? { size: o.adapterSize } : {}), ...(o.adapterPlacement !== undefined ? { placement: o.adapterPlacement } : {}) },
    prompt: o.numVirtualTokens !== undefined ? { numVirtualTokens: o.numVirtualTokens } : {},
    ...(o.modulesToSave ? { modulesToSave: o.modulesToSave } : {}),
    ...(seed !== undefined ? { seed } : {}),
  }).withBaseModel(o.baseModel);
}

/** LoRA+'s rate multiplier of each parameter (B's at `ratio`), or undefined when the run has none. */
export function loraPlusScale(given: PeftMethod | PeftTrainingOptions | PeftModel | undefined): ((p: Parameter) => number) | undefined {
  if (given === undefined || typeof given === 'string' || given instanceof PeftModel) return undefined;
  const ratio = given.loraPlusLrRatio;
  if (ratio === undefined || ratio === 1) return undefined;
  return (p) => (p.name.endsWith('.lora_B.weight') ? ratio : 1);
}

/** Copies the weights of an adapter checkpoint (adapter_model.safetensors) into the model's live parameters. */
export async function restoreAdapterWeights(dir: string, peft: PeftModel): Promise<void> {
  const path = join(dir, ADAPTER_WEIGHTS_FILE);
  const { tensors } = await readSafetensors(path);
  for (const p of peft.model.store.list()) {
    if (!peft.isTrainable(p.name)) continue;
    const t = tensors.get(`${PEFT_KEY_PREFIX}${p.name}`);
    if (!t)
      throw new PeftError('resume_failed', `${path}: no tensor ${PEFT_KEY_PREFIX}${p.name}; the checkpoint was saved by a run with other parameter-efficient settings`, {
        file: path,
      });
    if (t.data.length !== p.data.length) throw new PeftError('resume_failed', `${path}: ${p.name} has ${t.data.length} values, the model ${p.data.length}`, { file: path });
    p.data.set(t.data as Float32Array);
  }
}
