/**
 * Many LoRA adapters of one base model in one inference graph. Every LoRA layer of the graph takes
 * the adapters' weights as graph inputs, stacked along a first axis (`A` `[adapters, r_max, in]`,
 * `B` `[adapters, out, r_max]`, zero-padded to the layer's largest rank, with each adapter's scale
 * folded into its `B`), and each row of the batch picks its adapter through the `adapter_index`
 * input `[batch]`: a Gather takes the row's `A` and `B`, then two batched MatMuls add the row's
 * update. The modules an adapter saves whole (its classifier, a pooler the base lacked) are
 * stacked the same way (`[adapters, out, in]` weights and `[adapters, out]` biases, per row), the
 * classifier zero-padded to the largest label count, so each row gets its adapter's own head.
 *
 * The graph depends only on which layers are stacked (the layout); the adapters' weights are
 * feeds, so adapters load and unload without compiling anything while the layout holds.
 */
import type { NamedTensor } from '../io/safetensors.js';
import { numLabels } from '../models/heads.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { ModelConfig } from '../models/registry.js';
import type { ForwardModel } from '../nn/forward.js';
import type { LayerFactory } from '../nn/layers.js';
import type { Graph, Value } from '../onnx/graph.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { AdapterFiles } from './adapter.js';
import { PeftError } from './config.js';
import { isLoraParameter, loraNames, scaling } from './lora.js';
import { type LinearSite, linearSites, moduleOf } from './modules.js';

/** One LoRA layer of an adapter, its scale folded into `b`. */
interface StackedLoraLayer {
  readonly rank: number;
  /** `[rank, in]`. */
  readonly a: Float32Array;
  /** `[out, rank]`, times the layer's scale. */
  readonly b: Float32Array;
}

/** A module an adapter replaces whole (a linear layer's weight and bias). */
interface SavedLinear {
  /** Output size (the label count for the classifier). */
  readonly out: number;
  /** `[out, in]`. */
  readonly weight: Float32Array;
  /** `[out]`, when the layer has a bias. */
  readonly bias: Float32Array | undefined;
}

/** An adapter prepared for stacking on one base model. */
export interface StackableAdapter {
  readonly dir: string;
  /** LoRA layers by module name. */
  readonly lora: ReadonlyMap<string, StackedLoraLayer>;
  /** Linear modules the adapter saves whole, by module name. */
  readonly saved: ReadonlyMap<string, SavedLinear>;
  /** The base model's config with the adapter's head (label maps, problem type). */
  readonly config: ModelConfig;
  /** Bytes of its stacked weights. */
  readonly bytes: number;
}

/** Which layers a stacked graph wraps: the graph changes only when this does. */
export interface StackLayout {
  /** Modules with a LoRA update in some adapter. */
  readonly lora: readonly string[];
  /** Modules some adapter replaces whole (the classifier always). */
  readonly saved: readonly string[];
}

/** The classifier layer of a sequence classifier: the saved linear layer with the label count as its output. */
function labelLayerOf(model: PreTrainedModel, sites: readonly LinearSite[]): LinearSite {
  const n = numLabels(model.config);
  const head = sites.filter((s) => model.family.isHeadParameter(`${s.name}.weight`) && s.outFeatures === n);
  const site = head.at(-1);
  if (!site) throw new PeftError('internal', `${model.architecture} has no classifier layer with ${n} outputs among its head's linear layers`);
  return site;
}

/** What the stacked graphs of one base model share: its linear layers and classifier. */
export class StackBase {
  readonly sites: ReadonlyMap<string, LinearSite>;
  /** The classifier: its output size varies by adapter. */
  readonly labelLayer: LinearSite;

  constructor(readonly model: PreTrainedModel) {
    if (model.head !== 'sequence-classification') {
      throw new PeftError('invalid_option', `stacked LoRA serves sequence classifiers; ${model.source} is loaded as ${model.head}`, { field: 'head' });
    }
    const list = linearSites(model);
    this.sites = new Map(list.map((s) => [s.name, s]));
    this.labelLayer = labelLayerOf(model, list);
  }

  /**
   * Prepares an adapter for stacking on this base, checking that it fits. Adapters that cannot be
   * stacked (another method or head, weights other than LoRA layers and whole linear modules) are
   * refused with `invalid_option`; weights that do not fit the base with `invalid_checkpoint`.
   */
  prepare(adapter: AdapterFiles): StackableAdapter {
    const file = adapter.weightsFile;
    if (adapter.method !== 'lora') throw new PeftError('invalid_option', `${adapter.dir}: a ${adapter.method} adapter cannot be stacked (LoRA only)`, { field: 'peft' });
    if (adapter.head !== this.model.head)
      throw new PeftError('invalid_option', `${adapter.dir}: a ${adapter.head} adapter cannot be stacked on a ${this.model.head} graph`, { field: 'task_type' });
    const settings = adapter.config!.lora;
    if (settings.useDora) {
      throw new PeftError('invalid_option', `${adapter.dir}: a DoRA adapter cannot be stacked (its magnitudes rescale the base layers' outputs); it runs on its own graph`, {
        field: 'use_dora',
      });
    }
    const lora = new Map<string, StackedLoraLayer>();
    const saved = new Map<string, { weight?: NamedTensor; bias?: NamedTensor }>();
    let bytes = 0;
    for (const [name, t] of adapter.tensors) {
      if (isLoraParameter(name)) {
        const module = name.replace(/\.lora_[AB]\.weight$/, '');
        if (lora.has(module)) continue;
        const site = this.sites.get(module);
        const names = loraNames(module);
        const a = adapter.tensors.get(names.a);
        const b = adapter.tensors.get(names.b);
        if (!site)
          throw new PeftError('invalid_checkpoint', `${file}: holds LoRA weights for "${module}", which is not a linear layer of the base model ${this.model.source}`, { file });
        if (!a || !b) throw new PeftError('invalid_checkpoint', `${file}: has ${a ? names.a : names.b} without ${a ? names.b : names.a}`, { file });
        const rank = a.shape[0]!;
        if (a.shape.length !== 2 || a.shape[1] !== site.inFeatures || b.shape.length !== 2 || b.shape[0] !== site.outFeatures || b.shape[1] !== rank) {
          throw new PeftError(
            'invalid_checkpoint',
            `${file}: LoRA weights of ${module} are [${a.shape.join(', ')}] and [${b.shape.join(', ')}], but the base model's layer is ${site.inFeatures} -> ${site.outFeatures}; the adapter was trained on a base of other sizes`,
            { file },
          );
        }
        const { scale } = scaling(module, settings, rank);
        const scaled = new Float32Array(floats(b, file, names.b));
        for (let i = 0; i < scaled.length; i++) scaled[i]! *= scale;
        lora.set(module, { rank, a: floats(a, file, names.a), b: scaled });
        bytes += 4 * (a.data.length + b.data.length);
        continue;
      }
      const module = moduleOf(name);
      const kind = name.slice(module.length + 1);
      if (!this.sites.has(module) || (kind !== 'weight' && kind !== 'bias')) {
        throw new PeftError(
          'invalid_option',
          `${file}: holds "${name}", which is neither a LoRA weight nor a linear layer's weight or bias; such an adapter runs on its own graph`,
          {
            field: 'modules_to_save',
          },
        );
      }
      const entry = saved.get(module) ?? {};
      entry[kind] = t;
      saved.set(module, entry);
    }
    const savedLinear = new Map<string, SavedLinear>();
    for (const [module, { weight, bias }] of saved) {
      const site = this.sites.get(module)!;
      const label = module === this.labelLayer.name;
      const base = this.model.store.get(`${module}.weight`);
      if (!weight)
        throw new PeftError('invalid_option', `${file}: holds ${module}.bias without ${module}.weight; such an adapter runs on its own graph`, { field: 'modules_to_save' });
      const out = weight.shape[0]!;
      if (
        weight.shape.length !== 2 ||
        weight.shape[1] !== site.inFeatures ||
        (!label && out !== site.outFeatures) ||
        (bias && (bias.shape.length !== 1 || bias.shape[0] !== out))
      ) {
        throw new PeftError(
          'invalid_checkpoint',
          `${file}: "${module}.weight" is [${weight.shape.join(', ')}]${bias ? ` with a bias of [${bias.shape.join(', ')}]` : ''}, but the base model (${this.model.source}) has [${base?.shape.join(', ')}]; the adapter was trained on a base of other sizes`,
          { file },
        );
      }
      const baseBias = this.model.store.get(`${module}.bias`);
      const b = bias ? floats(bias, file, `${module}.bias`) : label ? undefined : baseBias?.data;
      if (baseBias && !b) throw new PeftError('invalid_checkpoint', `${file}: holds ${module}.weight without its bias`, { file });
      savedLinear.set(module, { out, weight: floats(weight, file, `${module}.weight`), bias: b });
      bytes += 4 * (weight.data.length + (bias?.data.length ?? 0));
    }
    // Weights the base checkpoint lacks must come from the adapter, as when it is loaded alone.
    const lacking = [...this.model.loadReport.missing, ...this.model.loadReport.mismatched.map((m) => m.name)].filter((n) => !adapter.tensors.has(n));
    if (lacking.length && !this.model.loadReport.fromScratch) {
      throw new PeftError(
        'invalid_checkpoint',
        `${this.model.source}: the base model lacks ${lacking.length} weight(s) the model needs (${lacking.slice(0, 4).join(', ')}), and the adapter ${adapter.dir} does not carry them; use the base model the adapter was trained on`,
        { file: this.model.source },
      );
    }
    return { dir: adapter.dir, lora, saved: savedLinear, config: this.adapterConfig(adapter, savedLinear), bytes };
  }

  /** The base config with the adapter's labels (head_config.json, else the base's when the counts agree). */
  private adapterConfig(adapter: AdapterFiles, saved: ReadonlyMap<string, SavedLinear>): ModelConfig {
    const base = this.model.config;
    const n = saved.get(this.labelLayer.name)?.out ?? numLabels(base);
    const given = adapter.headConfig?.id2label;
    let id2label: Record<string, string>;
    if (given && typeof given === 'object') id2label = Object.fromEntries(Object.entries(given as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    else if (n === numLabels(base)) id2label = { ...base.id2label };
    else id2label = Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
    if (Object.keys(id2label).length !== n) {
      throw new PeftError('invalid_checkpoint', `${adapter.dir}: head_config.json names ${Object.keys(id2label).length} labels, but the classifier has ${n} outputs`, {
        file: adapter.weightsFile,
      });
    }
    const label2id = Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)]));
    const problem = adapter.headConfig?.problem_type;
    return { ...base, id2label, label2id, ...(typeof problem === 'string' ? { problem_type: problem } : {}) } as ModelConfig;
  }

  /** The layout that serves `adapters`: every LoRA layer any of them has, every module any saves, and the classifier. */
  layoutOf(adapters: Iterable<StackableAdapter>): StackLayout {
    const lora = new Set<string>();
    const saved = new Set<string>([this.labelLayer.name]);
    for (const a of adapters) {
      for (const m of a.lora.keys()) lora.add(m);
      for (const m of a.saved.keys()) saved.add(m);
    }
    const order = [...this.sites.keys()];
    const sorted = (s: Set<string>) => order.filter((m) => s.has(m));
    return { lora: sorted(lora), saved: sorted(saved) };
  }

  /** Whether `layout` covers every layer `adapter` needs. */
  covers(layout: StackLayout, adapter: StackableAdapter): boolean {
    return [...adapter.lora.keys()].every((m) => layout.lora.includes(m)) && [...adapter.saved.keys()].every((m) => layout.saved.includes(m));
  }

  /** Compiles the stacked graph of `layout` (base weights frozen into it). */
  async compile(layout: StackLayout, threads?: number): Promise<ForwardModel> {
    const model = this.model;
    const previous = model.layers;
    model.layers = stackedFactory(layout, this.labelLayer.name);
    try {
      return await model.compileInference({ frozen: true, fusedKernels: true, threads, outputs: ['logits'] });
    } finally {
      model.layers = previous;
    }
  }

  /**
   * The stacked weights of `adapters` (slot i is adapters[i]) as feeds of a graph of `layout`.
   * Slots of adapters without a layer hold zeros (LoRA) or the base's weights (saved modules).
   */
  feeds(layout: StackLayout, adapters: readonly StackableAdapter[]): Record<string, HostTensor> {
    const n = Math.max(adapters.length, 1);
    const feeds: Record<string, HostTensor> = {};
    for (const module of layout.lora) {
      const site = this.sites.get(module)!;
      const r = Math.max(1, ...adapters.map((a) => a.lora.get(module)?.rank ?? 0));
      const A = new Float32Array(n * r * site.inFeatures);
      const B = new Float32Array(n * site.outFeatures * r);
      adapters.forEach((adapter, j) => {
        const l = adapter.lora.get(module);
        if (!l) return;
        A.set(l.a, j * r * site.inFeatures);
        for (let o = 0; o < site.outFeatures; o++) B.set(l.b.subarray(o * l.rank, (o + 1) * l.rank), (j * site.outFeatures + o) * r);
      });
      feeds[inputNames(module).a] = { dtype: 'float32', dims: [n, r, site.inFeatures], data: A };
      feeds[inputNames(module).b] = { dtype: 'float32', dims: [n, site.outFeatures, r], data: B };
    }
    for (const module of layout.saved) {
      const site = this.sites.get(module)!;
      const label = module === this.labelLayer.name;
      const baseW = this.model.store.get(`${module}.weight`)!;
      const baseB = this.model.store.get(`${module}.bias`);
      const out = label ? Math.max(1, ...adapters.map((a) => a.saved.get(module)?.out ?? site.outFeatures)) : site.outFeatures;
      const W = new Float32Array(n * out * site.inFeatures);
      const Bias = new Float32Array(n * out);
      adapters.forEach((adapter, j) => {
        const s = adapter.saved.get(module);
        W.set(s?.weight ?? baseW.data, j * out * site.inFeatures);
        const b = s ? s.bias : baseB?.data;
        if (b) Bias.set(b, j * out);
      });
      feeds[inputNames(module).weight] = { dtype: 'float32', dims: [n, out, site.inFeatures], data: W };
      feeds[inputNames(module).bias] = { dtype: 'float32', dims: [n, out], data: Bias };
    }
    return feeds;
  }
}

/** The graph input names of a stacked layer. */
export function inputNames(module: string): { a: string; b: string; weight: string; bias: string } {
  return { a: `stack.${module}.lora_A`, b: `stack.${module}.lora_B`, weight: `stack.${module}.weight`, bias: `stack.${module}.bias` };
}

/** The per-row adapter index input: `[batch]` int64, a slot of the stacked weights. */
export const ADAPTER_INDEX = 'adapter_index';

/** `x` `[batch, ..., k]` times a per-row matrix `w` `[batch, k, m]`: `[batch, ..., m]` (x of rank 2 or 3). */
function rowMatMul(g: Graph, x: Value, w: Value): Value {
  if (x.rank === 3) return g.matMul(x, w);
  if (x.rank === 2) return g.squeeze(g.matMul(g.unsqueeze(x, [1]), w), [1]);
  throw new PeftError('internal', `stacked LoRA takes inputs of rank 2 or 3, got rank ${x.rank}`);
}

/** The layer factory of a stacked graph. */
function stackedFactory(layout: StackLayout, labelLayer: string): LayerFactory {
  const lora = new Set(layout.lora);
  const saved = new Set(layout.saved);
  const indexOf = new WeakMap<Graph, Value>();
  return {
    linear(ctx, name, x, inFeatures, outFeatures, bias, next) {
      if (!lora.has(name) && !saved.has(name)) return next(ctx, name, x, inFeatures, outFeatures, bias);
      const g = ctx.scope.g;
      let index = indexOf.get(g);
      if (!index) indexOf.set(g, (index = g.input(ADAPTER_INDEX, 'int64', [x.shape[0]!])));
      const names = inputNames(name);
      let y: Value;
      if (saved.has(name)) {
        const out = name === labelLayer ? 'labels' : outFeatures;
        const w = g.gather(g.input(names.weight, 'float32', ['adapters', out, inFeatures]), index, 0);
        y = rowMatMul(g, x, g.transpose(w, [0, 2, 1]));
        const b = g.gather(g.input(names.bias, 'float32', ['adapters', out]), index, 0);
        y = g.add(y, x.rank === 3 ? g.unsqueeze(b, [1]) : b);
      } else {
        y = next(ctx, name, x, inFeatures, outFeatures, bias);
      }
      if (lora.has(name)) {
        const rank = `rank.${name}`;
        const a = g.gather(g.input(names.a, 'float32', ['adapters', rank, inFeatures]), index, 0);
        const b = g.gather(g.input(names.b, 'float32', ['adapters', outFeatures, rank]), index, 0);
        y = g.add(y, rowMatMul(g, rowMatMul(g, x, g.transpose(a, [0, 2, 1])), g.transpose(b, [0, 2, 1])));
      }
      return y;
    },
  };
}

function floats(t: NamedTensor, file: string, name: string): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new PeftError('invalid_checkpoint', `${file}: tensor ${name} is ${t.dtype}, not a float tensor`, { file });
  return t.data;
}
