import { TunaError } from '../errors.js';
import type { Parameter } from '../nn/parameters.js';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { AdamW } from './adamw.js';

/** Error raised when a saved training state does not match the model it is loaded into (code `resume_failed`). */
export class TrainingStateError extends TunaError {
  override name = 'TrainingStateError';
  constructor(message: string, details: { readonly file?: string } = {}) {
    super('resume_failed', message, details);
  }
}

/**
 * Saves the AdamW moments and step count (plus any string metadata, e.g. RNG state or the
 * schedule position) as a safetensors file, written atomically.
 */
export async function saveOptimizerState(path: string, opt: AdamW, metadata: Record<string, string> = {}): Promise<void> {
  const s = opt.state();
  const tensors = new Map<string, NamedTensor>();
  for (const [name, m] of s.m) tensors.set(`m.${name}`, { shape: [m.length], data: m });
  for (const [name, v] of s.v) tensors.set(`v.${name}`, { shape: [v.length], data: v });
  const meta = {
    ...metadata,
    format: 'tuna-adamw',
    step: String(s.step),
    beta1: String(opt.beta1),
    beta2: String(opt.beta2),
    eps: String(opt.eps),
    weight_decay: String(opt.weightDecay),
  };
  await writeSafetensors(path, tensors, meta);
}

/** Loads a state written by {@link saveOptimizerState} into `opt`, checking it fits `params`; returns the metadata. */
export async function loadOptimizerState(path: string, opt: AdamW, params: readonly Parameter[]): Promise<Record<string, string>> {
  const { tensors, metadata } = await readSafetensors(path);
  if (metadata.format !== 'tuna-adamw') throw new TrainingStateError(`${path}: not a tuna optimizer state (format "${metadata.format}")`, { file: path });
  const sizes = new Map(params.map((p) => [p.name, p.data.length]));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  for (const [key, t] of tensors) {
    const kind = key.slice(0, 2);
    const name = key.slice(2);
    const size = sizes.get(name);
    if (size === undefined) throw new TrainingStateError(`${path}: state for unknown parameter ${name}`, { file: path });
    if (t.data.length !== size) throw new TrainingStateError(`${path}: state of ${name} has ${t.data.length} values, the parameter ${size}`, { file: path });
    (kind === 'm.' ? m : v).set(name, t.data as Float32Array);
  }
  opt.load({ step: Number(metadata.step), m, v });
  return metadata;
}
