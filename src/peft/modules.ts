/**
 * What parameter-efficient methods need to know about a model: its linear layers (found by building
 * its graph once with a recording layer factory), the modules of its task head, and how PEFT
 * matches module names.
 */
import type { PreTrainedModel } from '../models/pretrained-model.js';
import type { LayerFactory } from '../nn/layers.js';
import { ParameterScope } from '../nn/parameters.js';
import { Graph } from '../onnx/graph.js';

/** One linear layer of a model: its parameter-name prefix and sizes. */
export interface LinearSite {
  readonly name: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Every linear layer the model's graph builds, in build order (built once, nothing compiled). */
export function linearSites(model: PreTrainedModel): LinearSite[] {
  const sites = new Map<string, LinearSite>();
  const recorder: LayerFactory = {
    linear(ctx, name, x, inFeatures, outFeatures, bias, next) {
      if (!sites.has(name)) sites.set(name, { name, inFeatures, outFeatures });
      return next(ctx, name, x, inFeatures, outFeatures, bias);
    },
  };
  const g = new Graph('probe');
  const scope = new ParameterScope(g, model.store);
  model.buildGraph({ scope, training: false, nextSeed: () => 0, initStd: 0.02, layers: recorder });
  return [...sites.values()];
}

/** The module (parameter-name prefix) a parameter belongs to: its name without `.weight`/`.bias`. */
export function moduleOf(param: string): string {
  const i = param.lastIndexOf('.');
  return i < 0 ? param : param.slice(0, i);
}

/**
 * The modules saved whole with an adapter: the task head's top-level modules (`classifier`;
 * DistilBERT's `pre_classifier` too), and any module whose weights the base checkpoint lacked
 * (freshly initialised, e.g. the pooler of a masked-LM checkpoint), which the adapter must carry
 * or loading it later would use other random values.
 */
export function modulesToSave(model: PreTrainedModel): string[] {
  const out = new Set<string>();
  for (const p of model.store.list()) if (model.family.isHeadParameter(p.name)) out.add(p.name.split('.')[0]!);
  const fresh = new Set([...model.loadReport.missing, ...model.loadReport.mismatched.map((m) => m.name)]);
  if (!model.loadReport.fromScratch) {
    for (const name of fresh) if (!inModules(name, [...out])) out.add(moduleOf(name));
  }
  return [...out];
}

/** Whether a parameter (or module) name lies in one of `modules` (PEFT's suffix matching of module names). */
export function inModules(name: string, modules: readonly string[]): boolean {
  const parts = name.split('.');
  for (let i = parts.length; i > 0; i--) {
    const prefix = parts.slice(0, i).join('.');
    if (modules.some((m) => prefix === m || prefix.endsWith(`.${m}`))) return true;
  }
  return false;
}

/** PEFT's test of a `rank_pattern`/`alpha_pattern` key against a module name: `(.*\.)?(key)$`. */
export function patternValue(module: string, pattern: Readonly<Record<string, number>> | undefined): number | undefined {
  if (!pattern) return undefined;
  for (const [key, value] of Object.entries(pattern)) if (new RegExp(`^(.*\\.)?(${key})$`).test(module)) return value;
  return undefined;
}

/** The encoder layer index a module belongs to (`....layer.3....`), undefined outside the layers. */
export function layerIndexOf(module: string): number | undefined {
  const m = /(?:^|\.)(?:layer|layers|h|blocks)\.(\d+)(?:\.|$)/.exec(module);
  return m ? Number(m[1]) : undefined;
}
