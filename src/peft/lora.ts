/**
 * LoRA (Hu et al., 2021) through the layer factory: every targeted linear layer gets a low-rank
 * update `scale * (dropout(x) · Aᵀ) · Bᵀ` added to its output, with `scale = alpha / r` (or
 * `alpha / sqrt(r)` with rsLoRA). A starts Kaiming-uniform (a = sqrt 5, PEFT's initialisation), B
 * at zero, so a fresh adapter leaves the model unchanged. Parameters are named after the layer
 * (`bert.encoder.layer.0.attention.self.query.lora_A.weight`); in PEFT's file they carry
 * `base_model.model.` before that.
 *
 * DoRA (Liu et al., 2024; PEFT's `use_dora`) adds a magnitude `m` per output feature
 * (`....lora_magnitude_vector`, starting at the norms of the base weight's rows) and computes
 * `bias + (m / ||W + scale · B · A||) ⊙ (x · Wᵀ + scale · (dropout(x) · Aᵀ) · Bᵀ)`, the row norms
 * treated as constants in the backward pass, as PEFT (and the paper's section 4.3) does.
 */
import type { NamedTensor } from '../io/safetensors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import { type LayerFactory, affine, dropout } from '../nn/layers.js';
import { type Parameter, Rng } from '../nn/parameters.js';
import { Graph } from '../onnx/graph.js';
import { Session } from '../runtime/session.js';
import { type LoraSettings, PeftError } from './config.js';
import { type LinearSite, inModules, layerIndexOf, linearSites, patternValue } from './modules.js';

/** One wrapped linear layer. */
export interface LoraSite extends LinearSite {
  readonly rank: number;
  readonly scale: number;
  readonly a: Parameter;
  readonly b: Parameter;
  /** DoRA's magnitude per output feature. */
  readonly magnitude?: Parameter;
}

/** The LoRA parameter names of a linear layer (and DoRA's magnitude, as PEFT saves it). */
export function loraNames(site: string): { a: string; b: string; magnitude: string } {
  return { a: `${site}.lora_A.weight`, b: `${site}.lora_B.weight`, magnitude: `${site}.lora_magnitude_vector` };
}

const MAGNITUDE_PARAM = /\.lora_magnitude_vector$/;

/** Whether a parameter is DoRA's magnitude vector. */
export function isDoraMagnitude(name: string): boolean {
  return MAGNITUDE_PARAM.test(name);
}

const LORA_PARAM = /\.lora_[AB]\.weight$/;

/** Whether a parameter is a LoRA weight. */
export function isLoraParameter(name: string): boolean {
  return LORA_PARAM.test(name);
}

/** Whether PEFT's `target_modules` selects a module (list: the name or a `.`-suffix; regex: the whole name). */
export function isTargeted(module: string, s: LoraSettings, exclude: readonly string[]): boolean {
  if (inModules(module, exclude)) return false;
  if (s.layersToTransform) {
    const layer = layerIndexOf(module);
    if (layer === undefined || !s.layersToTransform.includes(layer)) return false;
  }
  const t = s.targetModules;
  if (t === 'all-linear') return true;
  if (t instanceof RegExp) return t.test(module);
  return t.some((name) => module === name || module.endsWith(`.${name}`));
}

/** The rank, alpha and scale of one module (`rank` defaults to `rank_pattern`'s, else `r`). */
export function scaling(module: string, s: LoraSettings, rank = patternValue(module, s.rankPattern) ?? s.r): { rank: number; scale: number } {
  const alpha = patternValue(module, s.alphaPattern) ?? s.alpha;
  return { rank, scale: s.useRslora ? alpha / Math.sqrt(rank) : alpha / rank };
}

/** LoRA on a model: its wrapped layers, its layer factory, and merging into the base weights. */
export class LoraModel {
  private constructor(
    readonly model: PreTrainedModel,
    readonly settings: LoraSettings,
    readonly sites: ReadonlyMap<string, LoraSite>,
  ) {}

  /**
   * Wraps the linear layers `settings.targetModules` selects (never those in `exclude`, the modules
   * saved whole), with fresh weights (A from `seed`, B zeros), and installs the layer factory.
   *
   * @throws PeftError (`invalid_option`) when no linear layer of the model matches the targets.
   */
  static attach(model: PreTrainedModel, settings: LoraSettings, opts: { exclude?: readonly string[]; seed?: number } = {}): LoraModel {
    const all = linearSites(model);
    const chosen = all.filter((site) => isTargeted(site.name, settings, opts.exclude ?? []));
    if (chosen.length === 0) {
      const names = [...new Set(all.map((s) => s.name.split('.').at(-1)!))];
      throw new PeftError(
        'invalid_option',
        `target_modules ${describeTargets(settings)} matches no linear layer of ${model.architecture}; its linear layers end in: ${names.join(', ')}`,
        { field: 'target_modules' },
      );
    }
    const rng = new Rng(opts.seed ?? 42);
    const sites = new Map<string, LoraSite>();
    for (const site of chosen) {
      const { rank, scale } = scaling(site.name, settings);
      const names = loraNames(site.name);
      // Kaiming-uniform with a = sqrt(5): bound = sqrt(6 / ((1 + a²) fan_in)) = 1 / sqrt(fan_in).
      const bound = 1 / Math.sqrt(site.inFeatures);
      const aData = new Float32Array(rank * site.inFeatures);
      for (let i = 0; i < aData.length; i++) aData[i] = (2 * rng.next() - 1) * bound;
      const a = model.store.adopt(names.a, [rank, site.inFeatures], aData);
      const b = model.store.adopt(names.b, [site.outFeatures, rank], new Float32Array(site.outFeatures * rank));
      // With B at zero the updated weight is the base weight: its row norms.
      const magnitude = settings.useDora ? model.store.adopt(names.magnitude, [site.outFeatures], rowNorms(weightOf(model, site), site)) : undefined;
      sites.set(site.name, { ...site, rank, scale, a, b, ...(magnitude ? { magnitude } : {}) });
    }
    const lora = new LoraModel(model, settings, sites);
    lora.install();
    return lora;
  }

  /**
   * Wraps the layers an adapter file holds weights for (`tensors`: tuna names, without PEFT's
   * prefix), taking each layer's rank from its A's shape.
   *
   * @throws PeftError (`invalid_checkpoint`) when a layer is not a linear layer of the model or its
   *   weights' shapes do not fit it (an adapter trained on another base).
   */
  static fromTensors(model: PreTrainedModel, settings: LoraSettings, tensors: ReadonlyMap<string, NamedTensor>, file: string): LoraModel {
    const all = new Map(linearSites(model).map((s) => [s.name, s]));
    const modules = [...new Set([...tensors.keys()].filter(isLoraParameter).map((k) => k.replace(LORA_PARAM, '')))];
    const sites = new Map<string, LoraSite>();
    for (const module of modules) {
      const site = all.get(module);
      if (!site) {
        throw new PeftError(
          'invalid_checkpoint',
          `${file}: holds LoRA weights for "${module}", which is not a linear layer of the base model (${model.architecture} from ${model.source || 'a config'}); the adapter was trained on another base model`,
          { file },
        );
      }
      const names = loraNames(module);
      const a = tensors.get(names.a);
      const b = tensors.get(names.b);
      if (!a || !b) throw new PeftError('invalid_checkpoint', `${file}: has ${a ? names.a : names.b} without ${a ? names.b : names.a}`, { file });
      const rank = a.shape[0]!;
      if (a.shape.length !== 2 || a.shape[1] !== site.inFeatures || b.shape.length !== 2 || b.shape[0] !== site.outFeatures || b.shape[1] !== rank) {
        throw new PeftError(
          'invalid_checkpoint',
          `${file}: LoRA weights of ${module} are [${a.shape.join(', ')}] and [${b.shape.join(', ')}], but the base model's layer is ${site.inFeatures} -> ${site.outFeatures} ` +
            `(A must be [r, ${site.inFeatures}], B [${site.outFeatures}, r]); the adapter was trained on a base of other sizes`,
          { file },
        );
      }
      const { scale } = scaling(module, settings, rank);
      const pa = model.store.adopt(names.a, a.shape, toFloat32(a, file, names.a));
      const pb = model.store.adopt(names.b, b.shape, toFloat32(b, file, names.b));
      const m = tensors.get(names.magnitude);
      if (settings.useDora && !m) {
        throw new PeftError('invalid_checkpoint', `${file}: has no ${names.magnitude}, but its adapter_config.json sets use_dora; the file is not a complete DoRA adapter`, {
          file,
        });
      }
      if (!settings.useDora && m) throw new PeftError('invalid_checkpoint', `${file}: holds ${names.magnitude}, but its adapter_config.json does not set use_dora`, { file });
      if (m && (m.shape.length !== 1 || m.shape[0] !== site.outFeatures)) {
        throw new PeftError('invalid_checkpoint', `${file}: ${names.magnitude} is [${m.shape.join(', ')}], but the base model's layer has ${site.outFeatures} outputs`, { file });
      }
      const magnitude = m ? model.store.adopt(names.magnitude, m.shape, toFloat32(m, file, names.magnitude)) : undefined;
      sites.set(module, { ...site, rank, scale, a: pa, b: pb, ...(magnitude ? { magnitude } : {}) });
    }
    const lora = new LoraModel(model, settings, sites);
    lora.install();
    return lora;
  }

  /** Names of the LoRA parameters. */
  parameterNames(): string[] {
    return [...this.sites.values()].flatMap((s) => [s.a.name, s.b.name, ...(s.magnitude ? [s.magnitude.name] : [])]);
  }

  private install(): void {
    const previous = this.model.layers;
    const sites = this.sites;
    const ratio = this.settings.dropout;
    const factory: LayerFactory = {
      ...previous,
      linear(ctx, name, x, inFeatures, outFeatures, bias, next) {
        const y = previous?.linear ? previous.linear(ctx, name, x, inFeatures, outFeatures, bias, next) : next(ctx, name, x, inFeatures, outFeatures, bias);
        const site = sites.get(name);
        if (!site) return y;
        const g = ctx.scope.g;
        const a = ctx.scope.param(site.a.name, site.a.shape, { kind: 'zeros' });
        const b = ctx.scope.param(site.b.name, site.b.shape, { kind: 'zeros' });
        const dropped = dropout(ctx, x, ratio);
        const update = g.mul(affine(ctx, affine(ctx, dropped, a), b), site.scale);
        if (!site.magnitude) return g.add(y, update);
        // DoRA: y + (f - 1) ⊙ (x' · Wᵀ) + f ⊙ update, f = m / ||W + scale · B · A|| (a constant for
        // the backward pass), x' the LoRA branch's input; without dropout x · Wᵀ is y less its bias.
        const w = ctx.scope.param(`${name}.weight`, [outFeatures, inFeatures], { kind: 'zeros' });
        const updated = g.add(w, g.mul(g.matMul(b, a), site.scale));
        const norm = g.detach(g.sqrt(g.reduceSum(g.mul(updated, updated), [1])));
        const f = g.div(ctx.scope.param(site.magnitude.name, site.magnitude.shape, { kind: 'ones' }), norm);
        const biasValue = bias ? ctx.scope.param(`${name}.bias`, [outFeatures], { kind: 'zeros' }, false) : undefined;
        const base = dropped !== x ? affine(ctx, dropped, w) : biasValue ? g.sub(y, biasValue) : y;
        return g.add(g.add(y, g.mul(g.sub(f, 1), base)), g.mul(f, update));
      },
    };
    this.model.layers = factory;
    this.previous = previous;
  }

  private previous: LayerFactory | undefined;

  /**
   * Merges every update into its layer's weight (`W + scale · B · A`; DoRA's
   * `m / ||W + scale · B · A|| ⊙ (W + scale · B · A)`, row by row; computed by ONNX Runtime),
   * removes the LoRA parameters' effect (the factory is taken away) and returns the merged names.
   * The model is then a plain model with the adapter's behaviour.
   */
  async merge(): Promise<string[]> {
    const g = new Graph('lora-merge');
    const list = [...this.sites.values()];
    list.forEach((s, i) => {
      const w = g.input(`w${i}`, 'float32', [s.outFeatures, s.inFeatures]);
      const a = g.input(`a${i}`, 'float32', s.a.shape);
      const b = g.input(`b${i}`, 'float32', s.b.shape);
      const updated = g.add(w, g.mul(g.matMul(b, a), s.scale));
      if (!s.magnitude) {
        g.output(updated, `merged${i}`);
        return;
      }
      const m = g.input(`m${i}`, 'float32', [s.outFeatures]);
      const norm = g.sqrt(g.reduceSum(g.mul(updated, updated), [1], true));
      g.output(g.mul(updated, g.div(g.unsqueeze(m, [1]), norm)), `merged${i}`);
    });
    const session = await Session.create(g);
    try {
      const feeds: Record<string, { dtype: 'float32'; dims: readonly number[]; data: Float32Array }> = {};
      list.forEach((s, i) => {
        feeds[`w${i}`] = { dtype: 'float32', dims: [s.outFeatures, s.inFeatures], data: this.weightOf(s).data };
        feeds[`a${i}`] = { dtype: 'float32', dims: s.a.shape, data: s.a.data };
        feeds[`b${i}`] = { dtype: 'float32', dims: s.b.shape, data: s.b.data };
        if (s.magnitude) feeds[`m${i}`] = { dtype: 'float32', dims: s.magnitude.shape, data: s.magnitude.data };
      });
      const out = await session.run(feeds);
      list.forEach((s, i) => this.weightOf(s).data.set(out[`merged${i}`]!.data as Float32Array));
    } finally {
      await session.release();
    }
    this.model.layers = this.previous;
    return list.map((s) => s.name);
  }

  private weightOf(site: LinearSite): Parameter {
    return weightOf(this.model, site);
  }
}

function weightOf(model: PreTrainedModel, site: LinearSite): Parameter {
  const w = model.store.get(`${site.name}.weight`);
  if (!w) throw new PeftError('internal', `the model has no weight ${site.name}.weight for a LoRA layer`);
  return w;
}

/** The L2 norm of each row of a [out, in] weight. */
function rowNorms(w: Parameter, site: LinearSite): Float32Array {
  const out = new Float32Array(site.outFeatures);
  for (let r = 0; r < site.outFeatures; r++) {
    let sum = 0;
    for (let c = 0; c < site.inFeatures; c++) sum += w.data[r * site.inFeatures + c]! ** 2;
    out[r] = Math.sqrt(sum);
  }
  return out;
}

function toFloat32(t: NamedTensor, file: string, name: string): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new PeftError('invalid_checkpoint', `${file}: tensor ${name} is ${t.dtype}, not a float tensor`, { file });
  return t.data;
}

function describeTargets(s: LoraSettings): string {
  const t = s.targetModules;
  return t instanceof RegExp ? `/${t.source}/` : t === 'all-linear' ? '"all-linear"' : JSON.stringify(t);
}
