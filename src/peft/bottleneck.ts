/**
 * Bottleneck adapters (Houlsby et al., 2019; Pfeiffer et al., 2021) through the layer factory's
 * `sublayerOutput` hook: a sub-layer's output `y` becomes `y + up(f(down(y)))` before its residual
 * sum and LayerNorm. Houlsby places one after attention and one after the feed-forward block of
 * every layer (swish), Pfeiffer only after the feed-forward block (ReLU). `down` starts normal
 * (the model's initializer range), `up` at zero, so a fresh adapter leaves the model unchanged.
 *
 * Parameters: `<sub-layer output projection>.adapter.down.weight` `[size, hidden]`, `.down.bias`,
 * `.adapter.up.weight` `[hidden, size]`, `.up.bias` (e.g.
 * `bert.encoder.layer.0.output.dense.adapter.down.weight`). PEFT has no such type for encoders.
 */
import type { NamedTensor } from '../io/safetensors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import { type LayerFactory, affine } from '../nn/layers.js';
import { type Parameter, Rng } from '../nn/parameters.js';
import { ParameterScope } from '../nn/parameters.js';
import { Graph } from '../onnx/graph.js';
import { PeftError } from './config.js';
import { linearSites } from './modules.js';

/** Where adapters go. */
export type AdapterPlacement = 'houlsby' | 'pfeiffer';

/** Bottleneck adapter settings. */
export interface BottleneckSettings {
  /** Bottleneck width (default 64). */
  readonly size: number;
  /** `houlsby` (after attention and feed-forward, default) or `pfeiffer` (after feed-forward only). */
  readonly placement: AdapterPlacement;
}

interface AdapterSite {
  readonly name: string;
  readonly hidden: number;
  readonly down: Parameter;
  readonly downBias: Parameter;
  readonly up: Parameter;
  readonly upBias: Parameter;
}

/** Parameter names of the adapter after sub-layer `site`. */
export function adapterNames(site: string): { down: string; downBias: string; up: string; upBias: string } {
  return { down: `${site}.adapter.down.weight`, downBias: `${site}.adapter.down.bias`, up: `${site}.adapter.up.weight`, upBias: `${site}.adapter.up.bias` };
}

/** The sub-layer outputs of a model in build order (attention, feed-forward, per layer), with their widths. */
function sublayerSites(model: PreTrainedModel): { name: string; hidden: number; kind: 'attention' | 'feed-forward' }[] {
  const widths = new Map(linearSites(model).map((s) => [s.name, s.outFeatures]));
  const seen: string[] = [];
  const recorder: LayerFactory = {
    sublayerOutput(_ctx, name, x) {
      seen.push(name);
      return x;
    },
  };
  const g = new Graph('probe');
  model.buildGraph({ scope: new ParameterScope(g, model.store), training: false, nextSeed: () => 0, initStd: 0.02, layers: recorder });
  // Every encoder layer reports its attention output first, then its feed-forward output.
  const out = new Map<string, { name: string; hidden: number; kind: 'attention' | 'feed-forward' }>();
  seen.forEach((name, i) => {
    if (!out.has(name)) out.set(name, { name, hidden: widths.get(name) ?? 0, kind: i % 2 === 0 ? 'attention' : 'feed-forward' });
  });
  return [...out.values()];
}

/** Bottleneck adapters on a model. */
export class BottleneckAdapters {
  private constructor(
    readonly model: PreTrainedModel,
    readonly settings: BottleneckSettings,
    readonly sites: ReadonlyMap<string, AdapterSite>,
  ) {}

  /** Adds fresh adapters where `settings.placement` puts them and installs the layer factory. */
  static attach(model: PreTrainedModel, settings: BottleneckSettings, opts: { seed?: number; initStd?: number } = {}): BottleneckAdapters {
    if (!Number.isInteger(settings.size) || settings.size < 1)
      throw new PeftError('invalid_option', `adapter size must be a positive integer, got ${settings.size}`, { field: 'adapterSize' });
    const chosen = sublayerSites(model).filter((s) => settings.placement === 'houlsby' || s.kind === 'feed-forward');
    if (chosen.length === 0) throw new PeftError('invalid_option', `${model.architecture} reports no transformer sub-layer outputs to put adapters after`, { field: 'peft' });
    const rng = new Rng(opts.seed ?? 42);
    const std = opts.initStd ?? 0.02;
    const sites = new Map<string, AdapterSite>();
    for (const s of chosen) {
      const n = adapterNames(s.name);
      const down = new Float32Array(settings.size * s.hidden);
      for (let i = 0; i < down.length; i++) down[i] = rng.normal() * std;
      sites.set(s.name, {
        name: s.name,
        hidden: s.hidden,
        down: model.store.adopt(n.down, [settings.size, s.hidden], down),
        downBias: model.store.adopt(n.downBias, [settings.size], new Float32Array(settings.size), false),
        up: model.store.adopt(n.up, [s.hidden, settings.size], new Float32Array(s.hidden * settings.size)),
        upBias: model.store.adopt(n.upBias, [s.hidden], new Float32Array(s.hidden), false),
      });
    }
    const adapters = new BottleneckAdapters(model, settings, sites);
    adapters.install();
    return adapters;
  }

  /** Adapters from saved weights (tuna names), checked against the model's sub-layers. */
  static fromTensors(model: PreTrainedModel, settings: BottleneckSettings, tensors: ReadonlyMap<string, NamedTensor>, file: string): BottleneckAdapters {
    const known = new Map(sublayerSites(model).map((s) => [s.name, s]));
    const sites = new Map<string, AdapterSite>();
    const modules = new Set([...tensors.keys()].filter((k) => /\.adapter\.(down|up)\.(weight|bias)$/.test(k)).map((k) => k.replace(/\.adapter\.(down|up)\.(weight|bias)$/, '')));
    for (const module of modules) {
      const s = known.get(module);
      if (!s)
        throw new PeftError(
          'invalid_checkpoint',
          `${file}: holds an adapter after "${module}", which is not a sub-layer of the base model; the adapter was trained on another base`,
          { file },
        );
      const n = adapterNames(module);
      const get = (name: string, shape: number[]) => {
        const t = tensors.get(name);
        if (!t || t.shape.join() !== shape.join() || !(t.data instanceof Float32Array)) {
          throw new PeftError(
            'invalid_checkpoint',
            `${file}: ${name} ${t ? `is [${t.shape.join(', ')}]` : 'is missing'}, the base model needs [${shape.join(', ')}]; the adapter was trained on a base of other sizes`,
            { file },
          );
        }
        return t.data;
      };
      const k = settings.size;
      sites.set(module, {
        name: module,
        hidden: s.hidden,
        down: model.store.adopt(n.down, [k, s.hidden], get(n.down, [k, s.hidden])),
        downBias: model.store.adopt(n.downBias, [k], get(n.downBias, [k]), false),
        up: model.store.adopt(n.up, [s.hidden, k], get(n.up, [s.hidden, k])),
        upBias: model.store.adopt(n.upBias, [s.hidden], get(n.upBias, [s.hidden]), false),
      });
    }
    const adapters = new BottleneckAdapters(model, settings, sites);
    adapters.install();
    return adapters;
  }

  parameterNames(): string[] {
    return [...this.sites.values()].flatMap((s) => [s.down.name, s.downBias.name, s.up.name, s.upBias.name]);
  }

  private install(): void {
    const previous = this.model.layers;
    const sites = this.sites;
    const swish = this.settings.placement === 'houlsby';
    this.model.layers = {
      ...previous,
      sublayerOutput(ctx, name, x) {
        const y = previous?.sublayerOutput ? previous.sublayerOutput(ctx, name, x) : x;
        const s = sites.get(name);
        if (!s) return y;
        const g = ctx.scope.g;
        const p = (q: Parameter) => ctx.scope.param(q.name, q.shape, { kind: 'zeros' }, q.decay);
        const h = affine(ctx, y, p(s.down), p(s.downBias));
        const act = swish ? g.mul(h, g.sigmoid(h)) : g.relu(h);
        return g.add(y, affine(ctx, act, p(s.up), p(s.upBias)));
      },
    };
  }
}
