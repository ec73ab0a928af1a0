/**
 * The sentence-transformers directory layout: `modules.json` naming the module stack (the
 * Transformer at the root, then Pooling, optional Dense projections and Normalize, each in its own
 * folder), `1_Pooling/config.json`, `sentence_bert_config.json` and
 * `config_sentence_transformers.json` (prompts, default prompt, similarity function). Reads what
 * sentence-transformers 2 to 6 write (the legacy `pooling_mode_*` keys included) and writes what
 * sentence-transformers 6 writes.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { TunaError } from '../errors.js';

/** The pooling modes of sentence-transformers, in the order its legacy config concatenates them. */
export const POOLING_MODES = ['cls', 'max', 'mean', 'mean_sqrt_len_tokens', 'weightedmean', 'lasttoken'] as const;
export type PoolingMode = (typeof POOLING_MODES)[number];

/** What `1_Pooling/config.json` says. */
export interface PoolingConfig {
  /** Hidden size of the token vectors pooled. */
  readonly dimension: number;
  /** Modes whose vectors are concatenated, in this order. */
  readonly modes: readonly PoolingMode[];
  /** Whether prompt tokens count in the pooled vector (false: they are masked out of pooling). */
  readonly includePrompt: boolean;
}

/** The activations a Dense module may apply after its linear layer. */
export const DENSE_ACTIVATIONS = {
  identity: 'torch.nn.modules.linear.Identity',
  tanh: 'torch.nn.modules.activation.Tanh',
  relu: 'torch.nn.modules.activation.ReLU',
  sigmoid: 'torch.nn.modules.activation.Sigmoid',
  gelu: 'torch.nn.modules.activation.GELU',
} as const;
export type DenseActivation = keyof typeof DENSE_ACTIVATIONS;

/** A Dense module: `activation(x W^T + b)`. */
export interface DenseModule {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  readonly activation: DenseActivation;
  /** `[out, in]`. */
  readonly weight: Float32Array;
  readonly biasValues?: Float32Array;
}

/** A sentence-embedding model's modules beyond its Transformer, and its prompts. */
export interface SentenceLayout {
  readonly pooling: PoolingConfig;
  readonly dense: readonly DenseModule[];
  readonly normalize: boolean;
  /** Prompt name -> text prepended to the input (`query: `). */
  readonly prompts: Readonly<Record<string, string>>;
  readonly defaultPromptName: string | null;
  readonly similarityFnName: string | null;
  /** `max_seq_length` of a sentence_bert_config.json written before sentence-transformers 6. */
  readonly maxSeqLength?: number;
}

/** The dimension of the embeddings the layout gives (that of the last Dense, else the pooling's). */
export function embeddingDimension(layout: SentenceLayout): number {
  const last = layout.dense.at(-1);
  return last ? last.outFeatures : layout.pooling.dimension * layout.pooling.modes.length;
}

/** Module type names sentence-transformers has used for each module kind (2.x to 6.x). */
const MODULE_KINDS: Readonly<Record<string, 'transformer' | 'pooling' | 'dense' | 'normalize'>> = {
  'sentence_transformers.models.Transformer': 'transformer',
  'sentence_transformers.models.Pooling': 'pooling',
  'sentence_transformers.models.Dense': 'dense',
  'sentence_transformers.models.Normalize': 'normalize',
  'sentence_transformers.base.modules.transformer.Transformer': 'transformer',
  'sentence_transformers.sentence_transformer.modules.pooling.Pooling': 'pooling',
  'sentence_transformers.base.modules.dense.Dense': 'dense',
  'sentence_transformers.base.modules.normalize.Normalize': 'normalize',
  'sentence_transformers.models.Transformer.Transformer': 'transformer',
  'sentence_transformers.models.Pooling.Pooling': 'pooling',
  'sentence_transformers.models.Dense.Dense': 'dense',
  'sentence_transformers.models.Normalize.Normalize': 'normalize',
};

/** The type names sentence-transformers 6 writes. */
const WRITTEN_TYPES = {
  transformer: 'sentence_transformers.base.modules.transformer.Transformer',
  pooling: 'sentence_transformers.sentence_transformer.modules.pooling.Pooling',
  dense: 'sentence_transformers.base.modules.dense.Dense',
  normalize: 'sentence_transformers.base.modules.normalize.Normalize',
} as const;

const LEGACY_POOLING_KEYS: Readonly<Record<string, PoolingMode>> = {
  pooling_mode_cls_token: 'cls',
  pooling_mode_max_tokens: 'max',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_mean_sqrt_len_tokens: 'mean_sqrt_len_tokens',
  pooling_mode_weightedmean_tokens: 'weightedmean',
  pooling_mode_lasttoken: 'lasttoken',
};

function layoutError(file: string, message: string, field?: string): TunaError {
  return new TunaError('invalid_model', `${file}: ${message}`, { file, field });
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new TunaError('file_unreadable', `${file}: cannot be read (${(e as Error).message}); re-save or re-download the model`, { file, cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw layoutError(file, `is not valid JSON (${(e as Error).message}); re-save the model with sentence-transformers or tuna`);
  }
}

function asObject(v: unknown, file: string, field?: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw layoutError(file, `${field ?? 'the file'} must be a JSON object`, field);
  return v as Record<string, unknown>;
}

/** Parses a pooling config object (sentence-transformers 6's `pooling_mode`, or the legacy booleans). */
export function parsePoolingConfig(raw: unknown, file: string): PoolingConfig {
  const o = asObject(raw, file);
  const dimension = o.embedding_dimension ?? o.word_embedding_dimension;
  if (!Number.isInteger(dimension) || (dimension as number) < 1) {
    throw layoutError(file, 'embedding_dimension (or word_embedding_dimension) must be a positive integer', 'embedding_dimension');
  }
  let modes: PoolingMode[];
  if (o.pooling_mode !== undefined) {
    const list = Array.isArray(o.pooling_mode) ? o.pooling_mode : [o.pooling_mode];
    modes = list.map((m, i) => {
      if (typeof m !== 'string' || !(POOLING_MODES as readonly string[]).includes(m)) {
        throw layoutError(
          file,
          `pooling_mode${Array.isArray(o.pooling_mode) ? `[${i}]` : ''} is ${JSON.stringify(m)}; expected one of ${POOLING_MODES.join(', ')}`,
          'pooling_mode',
        );
      }
      return m as PoolingMode;
    });
    if (modes.length === 0) throw layoutError(file, 'pooling_mode is an empty list; name at least one mode', 'pooling_mode');
  } else {
    modes = Object.entries(LEGACY_POOLING_KEYS)
      .filter(([key]) => o[key] === true)
      .map(([, mode]) => mode);
    if (modes.length === 0) modes = ['mean'];
  }
  const includePrompt = o.include_prompt === undefined ? true : o.include_prompt;
  if (typeof includePrompt !== 'boolean') throw layoutError(file, 'include_prompt must be true or false', 'include_prompt');
  return { dimension: dimension as number, modes, includePrompt };
}

/** The pooling config as sentence-transformers 6 writes it. */
export function poolingConfigJson(p: PoolingConfig): Record<string, unknown> {
  return { embedding_dimension: p.dimension, pooling_mode: p.modes.length === 1 ? p.modes[0] : [...p.modes], include_prompt: p.includePrompt };
}

/** Whether `dir` holds a sentence-transformers model (a modules.json). */
export function hasSentenceLayout(dir: string): boolean {
  return existsSync(join(dir, 'modules.json'));
}

/**
 * Reads the sentence-transformers modules of `dir`; undefined when it has no modules.json.
 *
 * @throws TunaError `invalid_model` naming the file and field at fault: a module stack other than
 *   Transformer, Pooling, Dense..., Normalize; unknown pooling modes; a Dense whose weights are
 *   missing or of the wrong shape.
 */
export async function readSentenceLayout(dir: string): Promise<SentenceLayout | undefined> {
  const modulesFile = join(dir, 'modules.json');
  if (!existsSync(modulesFile)) return undefined;
  const modules = await readJson(modulesFile);
  if (!Array.isArray(modules)) throw layoutError(modulesFile, 'must be a JSON list of modules ({idx, name, path, type})');
  const kinds = modules.map((m, i) => {
    const o = asObject(m, modulesFile, `[${i}]`);
    const kind = typeof o.type === 'string' ? MODULE_KINDS[o.type] : undefined;
    if (!kind) {
      throw layoutError(
        modulesFile,
        `module ${i} has type ${JSON.stringify(o.type)}, which tuna does not run; tuna runs a Transformer followed by Pooling, optional Dense modules and Normalize`,
        `[${i}].type`,
      );
    }
    return { kind, path: typeof o.path === 'string' ? o.path : '', index: i };
  });
  // A Transformer alone is a CrossEncoder directory (src/sentence/cross-encoder-layout.ts): no modules to pool with.
  if (kinds.length === 1 && kinds[0]!.kind === 'transformer') return undefined;
  const order = kinds.map((k) => k.kind).join(' ');
  if (!/^transformer pooling( dense)*( normalize)?$/.test(order)) {
    throw layoutError(
      modulesFile,
      `the modules are ${order.replaceAll(' ', ', ')}; tuna runs transformer, pooling, then any dense modules and an optional normalize, in that order`,
    );
  }
  if (kinds[0]!.path !== '')
    throw layoutError(modulesFile, `the Transformer module lives in "${kinds[0]!.path}"; tuna reads it from the model directory itself (path "")`, '[0].path');

  const poolingFile = join(dir, kinds[1]!.path, 'config.json');
  if (!existsSync(poolingFile)) throw new TunaError('file_not_found', `${poolingFile}: missing; modules.json names a Pooling module in ${kinds[1]!.path}`, { file: poolingFile });
  const pooling = parsePoolingConfig(await readJson(poolingFile), poolingFile);

  const dense: DenseModule[] = [];
  let width = pooling.dimension * pooling.modes.length;
  for (const k of kinds.filter((x) => x.kind === 'dense')) {
    const d = await readDense(join(dir, k.path));
    if (d.inFeatures !== width)
      throw layoutError(join(dir, k.path, 'config.json'), `in_features is ${d.inFeatures}, but the module before it gives vectors of ${width}`, 'in_features');
    width = d.outFeatures;
    dense.push(d);
  }

  const stFile = join(dir, 'config_sentence_transformers.json');
  const st = existsSync(stFile) ? asObject(await readJson(stFile), stFile) : {};
  const prompts: Record<string, string> = {};
  if (st.prompts !== undefined) {
    for (const [name, text] of Object.entries(asObject(st.prompts, stFile, 'prompts'))) {
      if (typeof text !== 'string') throw layoutError(stFile, `prompts.${name} must be a string`, `prompts.${name}`);
      prompts[name] = text;
    }
  }
  const defaultPromptName = st.default_prompt_name ?? null;
  if (defaultPromptName !== null && (typeof defaultPromptName !== 'string' || !(defaultPromptName in prompts))) {
    throw layoutError(
      stFile,
      `default_prompt_name ${JSON.stringify(defaultPromptName)} is not among the prompts (${Object.keys(prompts).join(', ') || 'none'})`,
      'default_prompt_name',
    );
  }
  const similarityFnName = typeof st.similarity_fn_name === 'string' ? st.similarity_fn_name : null;

  const sbertFile = join(dir, 'sentence_bert_config.json');
  let maxSeqLength: number | undefined;
  if (existsSync(sbertFile)) {
    const sb = asObject(await readJson(sbertFile), sbertFile);
    if (sb.max_seq_length !== undefined && sb.max_seq_length !== null) {
      if (!Number.isInteger(sb.max_seq_length) || (sb.max_seq_length as number) < 1) throw layoutError(sbertFile, 'max_seq_length must be a positive integer', 'max_seq_length');
      maxSeqLength = sb.max_seq_length as number;
    }
  }
  return {
    pooling,
    dense,
    normalize: kinds.at(-1)!.kind === 'normalize',
    prompts,
    defaultPromptName: defaultPromptName as string | null,
    similarityFnName,
    ...(maxSeqLength === undefined ? {} : { maxSeqLength }),
  };
}

async function readDense(folder: string): Promise<DenseModule> {
  const file = join(folder, 'config.json');
  const o = asObject(await readJson(file), file);
  const inFeatures = o.in_features;
  const outFeatures = o.out_features;
  if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures)) throw layoutError(file, 'in_features and out_features must be integers', 'in_features');
  const bias = o.bias === undefined ? true : o.bias === true;
  const name = typeof o.activation_function === 'string' ? o.activation_function : DENSE_ACTIVATIONS.tanh;
  const activation = (Object.entries(DENSE_ACTIVATIONS).find(([, full]) => full === name || full.split('.').at(-1) === name.split('.').at(-1))?.[0] ?? undefined) as
    | DenseActivation
    | undefined;
  if (!activation) throw layoutError(file, `activation_function ${name} is not one tuna has (${Object.values(DENSE_ACTIVATIONS).join(', ')})`, 'activation_function');
  if (o.use_residual === true) throw layoutError(file, 'use_residual is true; tuna runs Dense modules without a residual', 'use_residual');
  const weights = join(folder, 'model.safetensors');
  if (!existsSync(weights)) {
    const pickle = existsSync(join(folder, 'pytorch_model.bin'));
    throw new TunaError(
      'file_not_found',
      `${weights}: missing${pickle ? ' (only pytorch_model.bin, a pickle tuna does not read: re-save the model with safe_serialization)' : ''}`,
      { file: weights },
    );
  }
  const { tensors } = await readSafetensors(weights);
  const w = tensors.get('linear.weight');
  if (!w || !(w.data instanceof Float32Array) || w.shape.join() !== `${outFeatures},${inFeatures}`) {
    throw layoutError(weights, `needs a float tensor linear.weight of shape [${outFeatures}, ${inFeatures}]`, 'linear.weight');
  }
  const b = tensors.get('linear.bias');
  if (bias && (!b || !(b.data instanceof Float32Array) || b.shape.join() !== `${outFeatures}`)) {
    throw layoutError(weights, `needs a float tensor linear.bias of shape [${outFeatures}] (config.json says bias: true)`, 'linear.bias');
  }
  return {
    inFeatures: inFeatures as number,
    outFeatures: outFeatures as number,
    bias,
    activation,
    weight: w.data,
    ...(bias ? { biasValues: b!.data as Float32Array } : {}),
  };
}

const json = (v: unknown, indent: number) => new TextEncoder().encode(JSON.stringify(v, null, indent));

/**
 * Writes the sentence-transformers files of `layout` into `dir` (the Transformer's own files, the
 * config, weights and tokenizer, are written by the model and tokenizer): modules.json,
 * sentence_bert_config.json, config_sentence_transformers.json and a folder per module, as
 * sentence-transformers 6 writes them. Returns the files written.
 */
export async function writeSentenceLayout(dir: string, layout: SentenceLayout, versions: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const modules: Record<string, unknown>[] = [{ idx: 0, name: '0', path: '', type: WRITTEN_TYPES.transformer }];
  const written: string[] = [];
  const put = async (rel: string, bytes: Uint8Array) => {
    const file = join(dir, rel);
    await mkdir(join(file, '..'), { recursive: true });
    await writeFileAtomic(file, bytes);
    written.push(rel);
  };
  const addModule = (kind: keyof typeof WRITTEN_TYPES, folder: string) => {
    const idx = modules.length;
    const path = `${idx}_${folder}`;
    modules.push({ idx, name: String(idx), path, type: WRITTEN_TYPES[kind] });
    return path;
  };
  const poolingPath = addModule('pooling', 'Pooling');
  await put(join(poolingPath, 'config.json'), json(poolingConfigJson(layout.pooling), 4));
  for (const d of layout.dense) {
    const path = addModule('dense', 'Dense');
    await put(
      join(path, 'config.json'),
      json(
        {
          in_features: d.inFeatures,
          out_features: d.outFeatures,
          bias: d.bias,
          activation_function: DENSE_ACTIVATIONS[d.activation],
          module_input_name: 'sentence_embedding',
          module_output_name: 'sentence_embedding',
        },
        4,
      ),
    );
    const tensors = new Map<string, NamedTensor>([['linear.weight', { shape: [d.outFeatures, d.inFeatures], data: d.weight, dtype: 'F32' }]]);
    if (d.bias && d.biasValues) tensors.set('linear.bias', { shape: [d.outFeatures], data: d.biasValues, dtype: 'F32' });
    await mkdir(join(dir, path), { recursive: true });
    await writeSafetensors(join(dir, path, 'model.safetensors'), tensors);
    written.push(join(path, 'model.safetensors'));
  }
  if (layout.normalize) {
    const path = addModule('normalize', 'Normalize');
    await put(join(path, 'config.json'), json({ module_input_name: 'sentence_embedding', module_output_name: 'sentence_embedding' }, 4));
  }
  await put('modules.json', json(modules, 2));
  await put(
    'sentence_bert_config.json',
    json(
      {
        transformer_task: 'feature-extraction',
        modality_config: { text: { method: 'forward', method_output_name: 'last_hidden_state' } },
        module_output_name: 'token_embeddings',
      },
      4,
    ),
  );
  const sortedPrompts = Object.fromEntries(Object.entries(layout.prompts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await put(
    'config_sentence_transformers.json',
    json(
      {
        __version__: { ...versions },
        default_prompt_name: layout.defaultPromptName,
        model_type: 'SentenceTransformer',
        prompts: sortedPrompts,
        similarity_fn_name: layout.similarityFnName ?? 'cosine',
      },
      2,
    ),
  );
  return written;
}
