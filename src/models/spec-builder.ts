/**
 * A helper for families declaring their parameters: normal(0, initializer_range) weights with
 * weight decay, zero biases and unit LayerNorm weights without, in the order they are added.
 */
import type { EncoderLayerNames } from '../nn/transformer.js';
import type { ParameterSpec } from './heads.js';

/** Collects {@link ParameterSpec}s with Hugging Face's initialisation and decay rules. */
export class ParameterSpecs {
  readonly specs: ParameterSpec[] = [];

  constructor(private readonly std: number) {}

  /** A normal(0, std) weight with decay (embedding tables too). */
  weight(name: string, shape: readonly number[]): this {
    this.specs.push({ name, shape, init: { kind: 'normal', std: this.std }, decay: true });
    return this;
  }

  /** A zero bias without decay. */
  bias(name: string, size: number): this {
    this.specs.push({ name, shape: [size], init: { kind: 'zeros' }, decay: false });
    return this;
  }

  /** `name.weight` [out, in] and `name.bias` [out]. */
  linear(name: string, inFeatures: number, outFeatures: number): this {
    return this.weight(`${name}.weight`, [outFeatures, inFeatures]).bias(`${name}.bias`, outFeatures);
  }

  /** A LayerNorm's `weight` (ones) and `bias` (zeros), neither decayed. */
  norm(name: string, size: number): this {
    this.specs.push({ name: `${name}.weight`, shape: [size], init: { kind: 'ones' }, decay: false });
    return this.bias(`${name}.bias`, size);
  }

  /** `weight`, `bias`, `linear` and `norm` as plain functions (for declarations written as calls). */
  bound(): {
    weight: (name: string, shape: readonly number[]) => void;
    bias: (name: string, size: number) => void;
    linear: (name: string, inFeatures: number, outFeatures: number) => void;
    norm: (name: string, size: number) => void;
  } {
    return {
      weight: (name, shape) => void this.weight(name, shape),
      bias: (name, size) => void this.bias(name, size),
      linear: (name, inFeatures, outFeatures) => void this.linear(name, inFeatures, outFeatures),
      norm: (name, size) => void this.norm(name, size),
    };
  }

  /** The parameters of one post-LayerNorm encoder layer `prefix`, its sub-modules named by `names`. */
  encoderLayer(prefix: string, names: EncoderLayerNames, hidden: number, intermediate: number): this {
    for (const q of [names.query, names.key, names.value]) this.linear(`${prefix}.${q}`, hidden, hidden);
    this.linear(`${prefix}.${names.attentionOutput}`, hidden, hidden);
    this.norm(`${prefix}.${names.attentionNorm}`, hidden);
    this.linear(`${prefix}.${names.intermediate}`, hidden, intermediate);
    this.linear(`${prefix}.${names.output}`, intermediate, hidden);
    return this.norm(`${prefix}.${names.outputNorm}`, hidden);
  }
}
