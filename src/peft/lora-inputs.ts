/**
 * An adapter's weights as graph inputs instead of constants, so that one exported graph serves
 * every adapter of its base with the same layers (`tuna export --no-merge`): each LoRA layer takes
 * `adapter.<module>.lora_A` `[r, in]` and `adapter.<module>.lora_B` `[out, r]` (the scale
 * folded into B; r may differ between adapters), and each linear module the adapter saves whole
 * (the classifier, a pooler the base lacks) takes `adapter.<module>.weight` `[out, in]` and
 * `adapter.<module>.bias` `[out]` (the classifier's `out` is the adapter's label count).
 */
import { numLabels } from '../models/heads.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { LayerFactory } from '../nn/layers.js';
import type { Value } from '../onnx/graph.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { AdapterFiles } from './adapter.js';
import { PeftError } from './config.js';
import { isLoraParameter, loraNames, scaling } from './lora.js';
import { type LinearSite, linearSites, moduleOf } from './modules.js';

/** Which layers of a graph take adapter inputs. */
export interface AdapterInputLayout {
  /** LoRA layers. */
  readonly lora: readonly LinearSite[];
  /** Linear modules saved whole. */
  readonly saved: readonly LinearSite[];
  /** The classifier among `saved`, whose output size (the label count) is an input's dimension. */
  readonly labelLayer: string | undefined;
}

/** The input names of a layer. */
export function adapterInputNames(module: string): { a: string; b: string; weight: string; bias: string } {
  return { a: `adapter.${module}.lora_A`, b: `adapter.${module}.lora_B`, weight: `adapter.${module}.weight`, bias: `adapter.${module}.bias` };
}

/**
 * The layout of a LoRA adapter on `model` (its base, with the adapter's head): its LoRA layers and
 * the linear modules it saves. Other saved tensors (not of a linear layer) stay constants of the graph.
 */
export function adapterInputLayout(model: PreTrainedModel, adapter: AdapterFiles): AdapterInputLayout {
  if (adapter.method !== 'lora')
    throw new PeftError('invalid_option', `${adapter.dir}: only LoRA adapters export with their weights as inputs; this one is ${adapter.method}`, { field: 'peft' });
  if (adapter.config?.lora.useDora) {
    throw new PeftError('invalid_option', `${adapter.dir}: a DoRA adapter exports merged into the base weights, not with its weights as inputs; leave out --no-merge`, {
      field: 'use_dora',
    });
  }
  const sites = linearSites(model);
  const byName = new Map(sites.map((s) => [s.name, s]));
  const lora = new Set<string>();
  const saved = new Set<string>();
  for (const name of adapter.tensors.keys()) {
    if (isLoraParameter(name)) lora.add(name.replace(/\.lora_[AB]\.weight$/, ''));
    else if (byName.has(moduleOf(name)) && name.endsWith('.weight')) saved.add(moduleOf(name));
  }
  const n = numLabels(model.config);
  const label = sites.filter((s) => saved.has(s.name) && model.family.isHeadParameter(`${s.name}.weight`) && s.outFeatures === n).at(-1);
  return { lora: sites.filter((s) => lora.has(s.name)), saved: sites.filter((s) => saved.has(s.name)), labelLayer: label?.name };
}

/** The layer factory that builds a graph with the layout's inputs. */
export function adapterInputFactory(layout: AdapterInputLayout): LayerFactory {
  const lora = new Set(layout.lora.map((s) => s.name));
  const saved = new Set(layout.saved.map((s) => s.name));
  return {
    linear(ctx, name, x, inFeatures, outFeatures, bias, next) {
      if (!lora.has(name) && !saved.has(name)) return next(ctx, name, x, inFeatures, outFeatures, bias);
      const g = ctx.scope.g;
      const names = adapterInputNames(name);
      let y: Value;
      if (saved.has(name)) {
        const out = name === layout.labelLayer ? 'num_labels' : outFeatures;
        const w = g.input(names.weight, 'float32', [out, inFeatures]);
        y = g.add(g.matMul(x, g.transpose(w, [1, 0])), g.input(names.bias, 'float32', [out]));
      } else {
        y = next(ctx, name, x, inFeatures, outFeatures, bias);
      }
      if (lora.has(name)) {
        const r = `r.${name}`;
        const a = g.input(names.a, 'float32', [r, inFeatures]);
        const b = g.input(names.b, 'float32', [outFeatures, r]);
        y = g.add(y, g.matMul(g.matMul(x, g.transpose(a, [1, 0])), g.transpose(b, [1, 0])));
      }
      return y;
    },
  };
}

/**
 * The inputs that make a graph of `layout` compute `adapter`: its A, its B times its scale, its
 * saved modules. A layer of the layout the adapter lacks gets a zero update (r 1); a saved module
 * it lacks is refused (the graph has no base weights for it).
 *
 * @throws PeftError (`invalid_checkpoint`) when the adapter's layers do not fit the layout.
 */
export function adapterInputFeeds(layout: AdapterInputLayout, adapter: AdapterFiles): Record<string, HostTensor> {
  const file = adapter.weightsFile;
  if (adapter.method !== 'lora') throw new PeftError('invalid_option', `${adapter.dir}: a ${adapter.method} adapter has no LoRA inputs`, { field: 'peft' });
  const settings = adapter.config!.lora;
  const feeds: Record<string, HostTensor> = {};
  const layers = new Set(layout.lora.map((s) => s.name));
  for (const name of adapter.tensors.keys()) {
    const module = name.replace(/\.lora_[AB]\.weight$/, '');
    if (isLoraParameter(name) && !layers.has(module)) {
      throw new PeftError(
        'invalid_checkpoint',
        `${file}: has LoRA weights for ${module}, which the exported graph takes no inputs for (it was exported from an adapter of other target modules)`,
        {
          file,
        },
      );
    }
  }
  for (const site of layout.lora) {
    const names = loraNames(site.name);
    const a = adapter.tensors.get(names.a);
    const b = adapter.tensors.get(names.b);
    const input = adapterInputNames(site.name);
    if (!a || !b) {
      feeds[input.a] = { dtype: 'float32', dims: [1, site.inFeatures], data: new Float32Array(site.inFeatures) };
      feeds[input.b] = { dtype: 'float32', dims: [site.outFeatures, 1], data: new Float32Array(site.outFeatures) };
      continue;
    }
    const r = a.shape[0]!;
    if (a.shape[1] !== site.inFeatures || b.shape[0] !== site.outFeatures || b.shape[1] !== r) {
      throw new PeftError(
        'invalid_checkpoint',
        `${file}: LoRA weights of ${site.name} are [${a.shape.join(', ')}] and [${b.shape.join(', ')}], not [r, ${site.inFeatures}] and [${site.outFeatures}, r]`,
        { file },
      );
    }
    const { scale } = scaling(site.name, settings, r);
    const scaled = Float32Array.from(b.data as Float32Array, (v) => v * scale);
    feeds[input.a] = { dtype: 'float32', dims: [r, site.inFeatures], data: a.data as Float32Array };
    feeds[input.b] = { dtype: 'float32', dims: [site.outFeatures, r], data: scaled };
  }
  for (const site of layout.saved) {
    const w = adapter.tensors.get(`${site.name}.weight`);
    const bias = adapter.tensors.get(`${site.name}.bias`);
    if (!w) throw new PeftError('invalid_checkpoint', `${file}: has no ${site.name}.weight, which the exported graph takes as an input`, { file });
    const out = w.shape[0]!;
    if (w.shape[1] !== site.inFeatures || (site.name !== layout.labelLayer && out !== site.outFeatures)) {
      throw new PeftError('invalid_checkpoint', `${file}: ${site.name}.weight is [${w.shape.join(', ')}], not [${site.outFeatures}, ${site.inFeatures}]`, { file });
    }
    const input = adapterInputNames(site.name);
    feeds[input.weight] = { dtype: 'float32', dims: [out, site.inFeatures], data: w.data as Float32Array };
    feeds[input.bias] = { dtype: 'float32', dims: [out], data: bias ? (bias.data as Float32Array) : new Float32Array(out) };
  }
  return feeds;
}
