import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { type HubOptions, resolveModel } from '../../io/hub.js';
import { type NamedTensor, parseSafetensors, writeSafetensors } from '../../io/safetensors.js';
import { Graph } from '../../onnx/graph.js';
import { ParameterScope, ParameterStore, Rng } from '../../nn/parameters.js';
import { BERT_ARCHITECTURES, type BertArchitecture, type BertConfig, bertConfigToJson, parseBertConfig } from './config.js';
import { buildBert } from './modeling.js';

/** A checkpoint directory that cannot be loaded, with what to do about it. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** What loading did with the checkpoint's tensors, in Hugging Face's terms. */
export interface LoadReport {
  /** Parameters the model needs that the checkpoint lacks: newly initialised. */
  readonly missing: string[];
  /** Checkpoint tensors the model does not use. */
  readonly unexpected: string[];
  /** Parameters whose checkpoint shape differs (e.g. another label set): re-initialised. */
  readonly mismatched: { name: string; checkpoint: readonly number[]; model: readonly number[] }[];
}

/** A BERT model's configuration, architecture and parameter values. */
export interface LoadedBert {
  readonly config: BertConfig;
  readonly architecture: BertArchitecture;
  readonly store: ParameterStore;
  readonly report: LoadReport;
}

const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/;

/** The parameter names and shapes an architecture uses, found by building its graph once. */
export function parameterShapes(config: BertConfig, architecture: BertArchitecture): Map<string, readonly number[]> {
  const store = new ParameterStore(new Rng(0), { allocate: false });
  const scope = new ParameterScope(new Graph('shapes'), store);
  buildBert({ scope, training: false, nextSeed: () => 0, initStd: config.initializer_range }, config, architecture, false);
  return new Map(store.list().map((p) => [p.name, p.shape]));
}

/** Maps a checkpoint key onto the model's naming: legacy gamma/beta, and the `bert.` prefix either way. */
function candidates(key: string): string[] {
  const k = key.replace(/\.gamma$/, '.weight').replace(/\.beta$/, '.bias');
  return k.startsWith('bert.') ? [k, k.slice(5)] : [k, `bert.${k}`];
}

/**
 * Loads a Hugging Face BERT checkpoint directory (config.json + model.safetensors), or a Hub id
 * (downloaded into the cache by {@link resolveModel}). The
 * architecture comes from `opts.architecture`, else from config.json. Parameters the checkpoint
 * lacks, or has with another shape (a classifier for a different label set), are initialised
 * afresh from the config's `initializer_range` and reported. Pickled weight files are never read.
 */
export async function loadBert(
  dirOrId: string,
  opts: {
    architecture?: BertArchitecture;
    config?: Partial<BertConfig>;
    seed?: number;
    hub?: HubOptions;
    /** A directory with config.json but no weights gets freshly initialised weights (Hugging Face's `from_config`). */
    initMissingWeights?: boolean;
    /** Parameters initialised afresh even when the checkpoint has them (e.g. a head for a new label set). */
    reinitialize?: (name: string) => boolean;
  } = {},
): Promise<LoadedBert> {
  const dir = await resolveModel(dirOrId, opts.hub);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointError(`${dir}: no config.json; a Hugging Face checkpoint directory needs one`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${configPath}: not valid JSON (${(e as Error).message})`);
  }
  const config = parseBertConfig({ ...raw, ...(opts.config ?? {}) }, configPath);
  const architecture = opts.architecture ?? pickArchitecture(config, configPath);
  const weightsPath = join(dir, 'model.safetensors');
  const fresh = !existsSync(weightsPath) && opts.initMissingWeights === true && !readdirSync(dir).some((f) => PICKLE.test(f));
  if (!existsSync(weightsPath) && !fresh) {
    const pickled = readdirSync(dir).filter((f) => PICKLE.test(f));
    throw new CheckpointError(
      pickled.length
        ? `${dir}: only pickled weights (${pickled.join(', ')}); tuna never executes pickle files. Convert once with Python: ` +
            `AutoModel.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)`
        : `${dir}: no model.safetensors`,
    );
  }
  const tensors = fresh ? new Map<string, NamedTensor>() : parseSafetensors(await readFile(weightsPath), weightsPath).tensors;
  const shapes = parameterShapes(config, architecture);
  const store = new ParameterStore(new Rng(opts.seed ?? 0));
  const used = new Set<string>();
  const mismatched: LoadReport['mismatched'] = [];
  const byName = new Map<string, [string, NamedTensor]>();
  for (const [key, t] of tensors) {
    const target = candidates(key).find((c) => shapes.has(c));
    if (target && !byName.has(target)) byName.set(target, [key, t]);
  }
  // The tied decoder and its bias alias are covered by the word embeddings and cls.predictions.bias.
  for (const key of tensors.keys()) if (/^cls\.predictions\.decoder\.(weight|bias)$/.test(key)) used.add(key);
  const missing: string[] = [];
  for (const [name, shape] of shapes) {
    const hit = byName.get(name);
    const noDecay = /(\.bias|LayerNorm\.weight)$/.test(name);
    const init = /LayerNorm\.weight$/.test(name)
      ? ({ kind: 'ones' } as const)
      : /\.bias$/.test(name)
        ? ({ kind: 'zeros' } as const)
        : ({ kind: 'normal', std: config.initializer_range } as const);
    if (hit && opts.reinitialize?.(name)) {
      used.add(hit[0]);
      mismatched.push({ name, checkpoint: hit[1].shape, model: shape });
      store.create(name, shape, init, !noDecay);
      continue;
    }
    if (!hit) {
      if (!fresh) missing.push(name);
      store.create(name, shape, init, !noDecay);
      continue;
    }
    const [key, t] = hit;
    used.add(key);
    if (t.shape.join() !== shape.join()) {
      mismatched.push({ name, checkpoint: t.shape, model: shape });
      store.create(name, shape, init, !noDecay);
      continue;
    }
    if (!(t.data instanceof Float32Array)) throw new CheckpointError(`${weightsPath}: tensor ${key} is not a float tensor`);
    store.adopt(name, shape, t.data, !noDecay);
  }
  const unexpected = [...tensors.keys()].filter((k) => !used.has(k));
  return { config, architecture, store, report: { missing, unexpected, mismatched } };
}

function pickArchitecture(config: BertConfig, source: string): BertArchitecture {
  const named = config.architectures.find((a) => (BERT_ARCHITECTURES as readonly string[]).includes(a));
  if (named) return named as BertArchitecture;
  if (config.architectures.length) {
    throw new CheckpointError(`${source}: architectures ${JSON.stringify(config.architectures)} has no BERT head tuna builds (${BERT_ARCHITECTURES.join(', ')})`);
  }
  return 'BertModel';
}

/**
 * Writes a Hugging Face checkpoint directory: config.json (with `architectures`) and
 * model.safetensors (keys sorted, F32), each atomically.
 */
export async function saveBert(
  dir: string,
  model: { config: BertConfig; architecture: BertArchitecture; store: ParameterStore },
  opts: { dtype?: 'F32' | 'F16' | 'BF16' } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const names = [...parameterShapes(model.config, model.architecture).keys()].sort();
  const tensors = new Map<string, NamedTensor>();
  for (const name of names) {
    const p = model.store.get(name);
    if (!p) throw new CheckpointError(`cannot save: parameter ${name} has no value`);
    tensors.set(name, { shape: p.shape, data: p.data, dtype: opts.dtype ?? 'F32' });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const json = JSON.stringify(bertConfigToJson(model.config, model.architecture), null, 2) + '\n';
  await writeFileAtomic(join(dir, 'config.json'), new TextEncoder().encode(json));
}
