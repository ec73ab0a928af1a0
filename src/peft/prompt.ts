/**
 * Deep prompt tuning (P-tuning v2, Liu et al., 2022) for encoders through the layer factory's
 * `attentionKeysValues` hook: every self-attention layer gets `n` trained virtual tokens prepended
 * to its keys and values. Queries stay the real tokens, so the output keeps the input's length
 * (nothing is pooled from the prefix: [CLS] is still position 0), and the attention mask is
 * extended with visible entries for the prefix, so padding stays masked.
 *
 * Parameters: `<query projection>.prefix.key` and `.prefix.value`, `[n, hidden]` with the hidden
 * axis laid out as the key projection's output (heads × head size), e.g.
 * `bert.encoder.layer.0.attention.self.query.prefix.key`. PEFT's prefix tuning passes
 * `past_key_values`, which BERT-family encoders do not take correctly; tuna's layout is its own.
 */
import type { NamedTensor } from '../io/safetensors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { LayerFactory } from '../nn/layers.js';
import { type Parameter, ParameterScope, Rng } from '../nn/parameters.js';
import { Graph } from '../onnx/graph.js';
import { PeftError } from './config.js';

/** Deep prompt settings. */
export interface PromptSettings {
  /** Virtual tokens per layer (default 20). */
  readonly numVirtualTokens: number;
}

interface PromptSite {
  readonly name: string;
  readonly heads: number;
  readonly headDim: number;
  readonly key: Parameter;
  readonly value: Parameter;
}

/** Parameter names of the prefix of attention layer `site` (its query projection). */
export function promptNames(site: string): { key: string; value: string } {
  return { key: `${site}.prefix.key`, value: `${site}.prefix.value` };
}

function attentionSites(model: PreTrainedModel): { name: string; heads: number; headDim: number }[] {
  const out = new Map<string, { name: string; heads: number; headDim: number }>();
  const recorder: LayerFactory = {
    attentionKeysValues(_ctx, name, kv) {
      const [, heads, , headDim] = kv.key.shape;
      if (!out.has(name) && typeof heads === 'number' && typeof headDim === 'number') out.set(name, { name, heads, headDim });
      return kv;
    },
  };
  const g = new Graph('probe');
  model.buildGraph({ scope: new ParameterScope(g, model.store), training: false, nextSeed: () => 0, initStd: 0.02, layers: recorder });
  return [...out.values()];
}

/** Deep prompts on a model. */
export class DeepPrompts {
  private constructor(
    readonly model: PreTrainedModel,
    readonly settings: PromptSettings,
    readonly sites: ReadonlyMap<string, PromptSite>,
  ) {}

  /** Adds fresh prefixes (normal, the model's initializer range) to every self-attention layer. */
  static attach(model: PreTrainedModel, settings: PromptSettings, opts: { seed?: number; initStd?: number } = {}): DeepPrompts {
    const n = settings.numVirtualTokens;
    if (!Number.isInteger(n) || n < 1) throw new PeftError('invalid_option', `the number of virtual tokens must be a positive integer, got ${n}`, { field: 'numVirtualTokens' });
    const found = attentionSites(model);
    if (found.length === 0) throw new PeftError('invalid_option', `${model.architecture}'s attention does not take deep prompts (no attentionKeysValues hook)`, { field: 'peft' });
    const rng = new Rng(opts.seed ?? 42);
    const std = opts.initStd ?? 0.02;
    const fresh = (size: number) => Float32Array.from({ length: size }, () => rng.normal() * std);
    const sites = new Map<string, PromptSite>();
    for (const s of found) {
      const names = promptNames(s.name);
      const hidden = s.heads * s.headDim;
      sites.set(s.name, { ...s, key: model.store.adopt(names.key, [n, hidden], fresh(n * hidden)), value: model.store.adopt(names.value, [n, hidden], fresh(n * hidden)) });
    }
    const prompts = new DeepPrompts(model, settings, sites);
    prompts.install();
    return prompts;
  }

  /** Prefixes from saved weights (tuna names), checked against the model's attention layers. */
  static fromTensors(model: PreTrainedModel, settings: PromptSettings, tensors: ReadonlyMap<string, NamedTensor>, file: string): DeepPrompts {
    const known = new Map(attentionSites(model).map((s) => [s.name, s]));
    const n = settings.numVirtualTokens;
    const sites = new Map<string, PromptSite>();
    for (const module of new Set([...tensors.keys()].filter((k) => /\.prefix\.(key|value)$/.test(k)).map((k) => k.replace(/\.prefix\.(key|value)$/, '')))) {
      const s = known.get(module);
      if (!s)
        throw new PeftError(
          'invalid_checkpoint',
          `${file}: holds a prefix for "${module}", which is not an attention layer of the base model; the prompts were trained on another base`,
          { file },
        );
      const names = promptNames(module);
      const shape = [n, s.heads * s.headDim];
      const get = (name: string) => {
        const t = tensors.get(name);
        if (!t || t.shape.join() !== shape.join() || !(t.data instanceof Float32Array)) {
          throw new PeftError(
            'invalid_checkpoint',
            `${file}: ${name} ${t ? `is [${t.shape.join(', ')}]` : 'is missing'}, the base model needs [${shape.join(', ')}]; the prompts were trained on a base of other sizes`,
            { file },
          );
        }
        return t.data;
      };
      sites.set(module, { ...s, key: model.store.adopt(names.key, shape, get(names.key)), value: model.store.adopt(names.value, shape, get(names.value)) });
    }
    const prompts = new DeepPrompts(model, settings, sites);
    prompts.install();
    return prompts;
  }

  parameterNames(): string[] {
    return [...this.sites.values()].flatMap((s) => [s.key.name, s.value.name]);
  }

  private install(): void {
    const previous = this.model.layers;
    const sites = this.sites;
    const n = this.settings.numVirtualTokens;
    this.model.layers = {
      ...previous,
      attentionKeysValues(ctx, name, given) {
        const kv = previous?.attentionKeysValues ? previous.attentionKeysValues(ctx, name, given) : given;
        const s = sites.get(name);
        if (!s) return kv;
        const g = ctx.scope.g;
        const batch = kv.key.shape[0]!;
        const prefix = (p: Parameter) => {
          const t = ctx.scope.param(p.name, p.shape, { kind: 'zeros' });
          const perHead = g.transpose(g.reshape(t, [n, s.heads, s.headDim]), [1, 0, 2]);
          return g.expand(g.unsqueeze(perHead, [0]), [batch, s.heads, n, s.headDim], kv.key);
        };
        // The prefix is visible to every query: zeros in the additive mask, one per virtual token.
        const visible = g.mul(g.slice(kv.mask, [0], [1], [3]), 0);
        const [mb, m1, m2] = kv.mask.shape;
        const prefixMask = g.expand(visible, [mb!, m1!, m2!, n], kv.mask);
        return {
          key: g.concat([prefix(s.key), kv.key], 2),
          value: g.concat([prefix(s.value), kv.value], 2),
          mask: g.concat([prefixMask, kv.mask], 3),
        };
      },
    };
  }
}
