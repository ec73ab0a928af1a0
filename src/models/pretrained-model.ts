/**
 * {@link PreTrainedModel}: a model of any registered family with one head, its configuration and
 * its parameter values. It loads Hugging Face checkpoint directories through the checkpoint reader
 * (single files, shards, tied weights, prefixes, legacy names), compiles inference and training
 * graphs, and saves checkpoints Hugging Face loads.
 */
import { constants as bufferConstants } from 'node:buffer';
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { TunaError } from '../errors.js';
import { type NamedTensor, type SafetensorsDType, readSafetensorsHeader } from '../io/safetensors.js';
import {
  CheckpointError,
  type CheckpointContents,
  WEIGHTS_INDEX_FILE,
  findPickleFiles,
  hasWeights,
  pickleRefusal,
  readCheckpoint,
  readConfig,
  weightFiles,
  writeCheckpoint,
} from '../io/checkpoint.js';
import { formatBytes } from '../io/files.js';
import { type HubOptions, resolveModel } from '../io/hub.js';
import { matchKeys } from '../io/names.js';
import { ForwardModel } from '../nn/forward.js';
import type { BuildContext, LayerFactory } from '../nn/layers.js';
import { type Parameter, ParameterStore, Rng } from '../nn/parameters.js';
import type { Value } from '../onnx/graph.js';
import type { HostTensor } from '../runtime/tensor.js';
import { TrainStep } from '../train/step.js';
import { join } from 'node:path';
import {
  type BuildOptions,
  HEADS,
  type HeadInfo,
  type HeadKind,
  type ModelConfig,
  type ModelFamily,
  type ModelGraph,
  type ParameterSpec,
  type ProblemType,
  type Tokenizer,
  UnsupportedModelError,
  familyOfConfig,
  headOfArchitectures,
  numLabels,
} from './registry.js';

/** What loading did with the checkpoint's tensors, in Hugging Face's terms. */
export interface LoadReport {
  /** Parameters the model needs that the checkpoint lacks: newly initialised. */
  readonly missing: string[];
  /** Checkpoint tensors the model does not use. */
  readonly unexpected: string[];
  /** Parameters whose checkpoint shape (or label set) differs: re-initialised. */
  readonly mismatched: { name: string; checkpoint: readonly number[]; model: readonly number[] }[];
  /** True when the directory had no weights and every parameter was initialised afresh. */
  readonly fromScratch: boolean;
}

/** Options of {@link PreTrainedModel.fromPretrained}. */
export interface FromPretrainedOptions {
  /** The head to build (default: the one config.json's `architectures` names, else the bare encoder). */
  readonly head?: HeadKind;
  /** Labels of a classification head, by id; a head trained on other labels is re-initialised. */
  readonly id2label?: Readonly<Record<string, string>>;
  /** Number of labels when no names are given (labels become LABEL_0, LABEL_1, ...). */
  readonly numLabels?: number;
  readonly problemType?: ProblemType;
  /** Further config.json fields to override (e.g. `hidden_dropout_prob`). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Seed of freshly initialised weights (default 42). */
  readonly seed?: number;
  /**
   * Accept a directory with config.json but no weights and initialise every parameter afresh
   * (Hugging Face's `from_config`). Off by default: a checkpoint without weights is an error.
   */
  readonly initMissingWeights?: boolean;
  /**
   * What to do with parameters the checkpoint lacks or holds with another shape: `init` creates
   * them and reports them (training a new head, as Hugging Face does), `error` refuses the
   * checkpoint (inference, where a random weight would give silent garbage). Default `init`.
   */
  readonly missing?: 'init' | 'error';
  /** Parameters that may be missing even under `missing: 'error'` (e.g. a pooler a task never reads). */
  readonly optional?: (name: string) => boolean;
  readonly hub?: HubOptions;
  /** ONNX Runtime threads of the sessions the model compiles. */
  readonly threads?: number;
  /**
   * Refuse weights that hold NaN or infinities (`non_finite`, naming the first such tensor and its
   * file): what inference sets, since such weights give garbage labels and scores. Default false.
   */
  readonly checkFinite?: boolean;
  /**
   * What the model is loaded for, which sets the memory its declared parameters must fit in before
   * any is allocated: `inference` counts the weights twice (here and in a compiled session),
   * `training` four times (weights, gradients and AdamW's two moments). Default: `inference` with
   * `missing: 'error'`, else `training`.
   */
  readonly use?: 'inference' | 'training';
}

/** Options of {@link PreTrainedModel.compileInference}. */
export interface InferenceOptions extends BuildOptions {
  /** Bake the current weights into the graph (faster; later updates are not seen). Default false. */
  readonly frozen?: boolean;
  /** Use ONNX Runtime's fused transformer kernels. Default true. */
  readonly fusedKernels?: boolean;
  readonly threads?: number;
  /** Output names to keep (default: every output of the head). */
  readonly outputs?: readonly string[];
  /** Replaces the head's graph, e.g. with post-processing added; gets the head's graph builder. */
  readonly build?: (ctx: BuildContext, buildHead: (opts?: BuildOptions) => ModelGraph) => Readonly<Record<string, Value>>;
}

/** Options of {@link PreTrainedModel.compileTraining}. */
export interface TrainingGraphOptions {
  /** Masked-LM heads score only masked tokens (batches carry `masked_positions`, `masked_labels`). */
  readonly sparseMlm?: boolean;
  /** Build the training graph with every dropout probability 0. */
  readonly disableDropout?: boolean;
  readonly dropoutSeed?: number;
  readonly threads?: number;
  /** Only these parameters get gradients and updates (default: all). */
  readonly trainable?: (name: string) => boolean;
}

/** Options of {@link PreTrainedModel.savePretrained}. */
export interface SaveOptions {
  /** Stored float type: F16 or BF16 halve the file (loading upcasts to F32). Default F32. */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  /** Saves only the parameters for which this returns true (e.g. a head and adapter weights). */
  readonly select?: (name: string) => boolean;
  /** Splits the weights into shards of at most this many bytes, as save_pretrained does. */
  readonly maxShardBytes?: number;
  /** Further files of the directory (name -> text or bytes). */
  readonly extraFiles?: CheckpointContents['extraFiles'];
}

/**
 * A model of a registered family with one head: its configuration, its parameter values (live:
 * compiled graphs that feed parameters always see the current ones) and the report of how they
 * were loaded. What `AutoModelFor*.fromPretrained` returns, what pipelines run and what the
 * Trainer trains.
 */
export class PreTrainedModel<C extends ModelConfig = ModelConfig> {
  private forwardModel: ForwardModel | undefined;
  /** The layer factory every graph of this model is built with (LoRA, adapters, prompts plug in here). */
  layers: LayerFactory | undefined;

  constructor(
    readonly family: ModelFamily<C>,
    public config: C,
    readonly head: HeadKind,
    readonly store: ParameterStore,
    readonly loadReport: LoadReport,
    /** The directory the model was loaded from ('' for a model built from a config). */
    readonly source: string,
    private readonly threads?: number,
  ) {}

  /**
   * Loads a Hugging Face checkpoint directory, or a Hub id (downloaded into the cache), as the
   * head `opts.head` (default: the head config.json names). Parameters the checkpoint lacks or
   * holds with another shape are initialised from the config's `initializer_range` and reported
   * (or refused with `missing: 'error'`). Pickled weight files are never read.
   *
   * Nothing is allocated before the checks that can be made without it: the declared parameters
   * must fit in memory (`too_large`, naming config.json's size fields), and the shapes in the files'
   * headers are matched against them before any tensor data is read.
   */
  static async fromPretrained(dirOrId: string, opts: FromPretrainedOptions = {}): Promise<PreTrainedModel> {
    const dir = await resolveModel(dirOrId, opts.hub);
    const configPath = join(dir, 'config.json');
    const raw = await readConfig(dir);
    const family = familyOfConfig(raw, configPath);
    const overrides: Record<string, unknown> = { ...(opts.config ?? {}) };
    const id2label = opts.id2label ?? (opts.numLabels ? Object.fromEntries(Array.from({ length: opts.numLabels }, (_, i) => [String(i), `LABEL_${i}`])) : undefined);
    if (id2label) {
      overrides.id2label = id2label;
      overrides.label2id = Object.fromEntries(Object.entries(id2label).map(([k, v]) => [v, Number(k)]));
      delete overrides.num_labels;
    }
    if (opts.problemType) overrides.problem_type = opts.problemType;
    const config = family.parseConfig({ ...raw, ...overrides }, configPath);
    const declaredHead = headOfArchitectures(family, config.architectures, configPath);
    const head = opts.head ?? declaredHead;
    // A head trained on other labels is meaningless for the new ones, even when the count matches.
    const relabelled = id2label !== undefined && HEADS[declaredHead].labelled && HEADS[head].labelled && !sameLabels(raw.id2label, id2label);

    const specs = family.parameters(config, head);
    checkDeclaredSize(specs, family, config, configPath, opts.use ?? (opts.missing === 'error' ? 'inference' : 'training'));
    const fromScratch = !hasWeights(dir);
    if (fromScratch) {
      const pickles = findPickleFiles(dir);
      if (pickles.length) throw new CheckpointError(pickleRefusal(dir, pickles), { file: dir });
      if (!opts.initMissingWeights) {
        throw new CheckpointError(
          `${dir}: has config.json but no weights (model.safetensors or model.safetensors.index.json); give a trained checkpoint, or ask for freshly initialised weights (initMissingWeights) to train from scratch`,
          { file: dir },
        );
      }
    }
    // Shapes first, from the files' headers: a checkpoint that does not fit is refused before any
    // tensor data is read or any parameter allocated.
    const stored = fromScratch ? new Map<string, StoredTensor>() : await storedTensors(dir);
    const match = matchKeys(
      specs.map((s) => s.name),
      stored.keys(),
      family.keyRules(head),
    );
    const mismatched: LoadReport['mismatched'] = [];
    const missing: string[] = [];
    const adopted = new Map<string, string>();
    for (const spec of specs) {
      const key = match.mapping.get(spec.name);
      const t = key === undefined ? undefined : stored.get(key);
      if (key === undefined || t === undefined) {
        if (!fromScratch) missing.push(spec.name);
      } else if ((relabelled && family.isHeadParameter(spec.name)) || t.shape.join() !== spec.shape.join()) {
        mismatched.push({ name: spec.name, checkpoint: t.shape, model: spec.shape });
      } else {
        adopted.set(spec.name, key);
      }
    }
    const report: LoadReport = { missing, unexpected: match.unexpected, mismatched, fromScratch };
    if (opts.missing === 'error') {
      const error = incompleteCheckpointError(dir, report, opts.optional, weightsFileOf(dir, stored));
      if (error) throw error;
    }

    const keys = new Set(adopted.values());
    const tensors = keys.size === 0 ? new Map<string, NamedTensor>() : (await readCheckpoint(dir, { select: (name) => keys.has(name) })).tensors;
    const store = new ParameterStore(new Rng(opts.seed ?? 42));
    for (const spec of specs) {
      const key = adopted.get(spec.name);
      const t = key === undefined ? undefined : tensors.get(key);
      if (key === undefined || t === undefined) {
        store.create(spec.name, spec.shape, spec.init, spec.decay);
        continue;
      }
      if (!(t.data instanceof Float32Array)) {
        throw new CheckpointError(`${stored.get(key)?.file ?? dir}: tensor "${key}" is stored as ${t.stored ?? t.dtype}, but ${spec.name} is a float parameter`, { file: dir });
      }
      if (opts.checkFinite) refuseNonFinite(key, t.data, stored.get(key)?.file ?? dir);
      store.adopt(spec.name, spec.shape, t.data, spec.decay);
    }
    store.seal(`${family.architectures[head] ?? family.modelType} (${head})`);
    return new PreTrainedModel(family, config, head, store, report, dir, opts.threads);
  }

  /** A model with freshly initialised weights from a config (a parsed config.json object). */
  static fromConfig(rawConfig: Readonly<Record<string, unknown>>, opts: { head?: HeadKind; seed?: number; threads?: number } = {}): PreTrainedModel {
    const family = familyOfConfig(rawConfig as Record<string, unknown>, 'config');
    const config = family.parseConfig(rawConfig, 'config');
    const head = opts.head ?? headOfArchitectures(family, config.architectures, 'config');
    const specs = family.parameters(config, head);
    checkDeclaredSize(specs, family, config, 'config', 'training');
    const store = new ParameterStore(new Rng(opts.seed ?? 42));
    for (const s of specs) store.create(s.name, s.shape, s.init, s.decay);
    store.seal(`${family.architectures[head] ?? family.modelType} (${head})`);
    return new PreTrainedModel(family, config, head, store, { missing: [], unexpected: [], mismatched: [], fromScratch: true }, '', opts.threads);
  }

  /** The Hugging Face class name of this model (e.g. `BertForSequenceClassification`). */
  get architecture(): string {
    return this.family.architectures[this.head] ?? this.head;
  }

  /** The longest input in tokens the position embeddings cover (see {@link ModelFamily.maxSequenceLength}). */
  get maxSequenceLength(): number {
    return this.family.maxSequenceLength?.(this.config) ?? this.config.max_position_embeddings;
  }

  /** What the head serves and how its labels look. */
  get headInfo(): HeadInfo {
    return HEADS[this.head];
  }

  /** Number of labels of the classification head (that of the config for heads without one). */
  get numLabels(): number {
    return numLabels(this.config);
  }

  /** Parameters in declaration order. */
  parameters(): Parameter[] {
    return this.store.list();
  }

  /**
   * Builds this model's graph into a build context (the graph of the context's scope), with the
   * model's layer factory unless the context brings its own.
   */
  buildGraph(ctx: BuildContext, opts: BuildOptions = {}, config: C = this.config): ModelGraph {
    return this.family.build({ ...ctx, layers: ctx.layers ?? this.layers }, config, this.head, opts);
  }

  /**
   * Compiles an inference graph (dropout off) into an ONNX Runtime session. Unless `frozen`, the
   * parameters are fed on every run, so the session sees later updates.
   */
  async compileInference(opts: InferenceOptions = {}): Promise<ForwardModel> {
    const { frozen, fusedKernels, threads, outputs, build, ...buildOpts } = opts;
    return ForwardModel.create(
      this.store,
      (ctx) => {
        const all = build ? build(ctx, (o) => this.buildGraph(ctx, { ...buildOpts, ...o })) : this.buildGraph(ctx, buildOpts).outputs;
        if (!outputs) return all;
        return Object.fromEntries(
          outputs.map((name) => {
            const v = all[name];
            if (!v) throw new UnsupportedModelError(`${this.architecture} has no output "${name}" (it has ${Object.keys(all).join(', ')})`);
            return [name, v];
          }),
        );
      },
      { frozen: frozen ?? false, fusedKernels: fusedKernels ?? true, session: { threads: threads ?? this.threads }, initStd: this.initStd, layers: this.layers },
    );
  }

  /**
   * Compiles the training graph (loss and the gradients of the trainable parameters) into an
   * ONNX Runtime session.
   */
  async compileTraining(opts: TrainingGraphOptions = {}): Promise<TrainStep> {
    const config = opts.disableDropout ? this.family.withDropout(this.config, 0) : this.config;
    const trainable = opts.trainable;
    return TrainStep.create(
      this.store,
      (ctx) => {
        const { loss } = this.buildGraph(ctx, { withLoss: true, sparseMlm: opts.sparseMlm }, config);
        if (!loss) throw new UnsupportedModelError(`${this.architecture} has no training loss`);
        return { loss };
      },
      {
        session: { threads: opts.threads ?? this.threads },
        dropoutSeed: opts.dropoutSeed,
        initStd: this.initStd,
        trainable: trainable ? (p) => trainable(p.name) : undefined,
        layers: this.layers,
      },
    );
  }

  /** Runs the model (dropout off, live weights) on a batch of token inputs; returns its outputs (e.g. `logits`). */
  async forward(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    this.forwardModel ??= await this.compileInference();
    return this.forwardModel.run(inputs);
  }

  /** The parameters as named tensors (for safetensors), `dtype` F32 unless given. */
  namedTensors(opts: { dtype?: SafetensorsDType; select?: (name: string) => boolean } = {}): Map<string, NamedTensor> {
    const out = new Map<string, NamedTensor>();
    for (const p of this.store.list()) {
      if (opts.select && !opts.select(p.name)) continue;
      out.set(p.name, { shape: p.shape, data: p.data, dtype: opts.dtype ?? 'F32' });
    }
    return out;
  }

  /**
   * Writes a Hugging Face checkpoint directory: config.json (naming the architecture) and the
   * weights (model.safetensors, or shards and their index), each atomically.
   */
  async savePretrained(dir: string, opts: SaveOptions = {}): Promise<string[]> {
    return writeCheckpoint(dir, {
      config: this.family.configToJson(this.config, this.architecture),
      tensors: this.namedTensors({ dtype: opts.dtype, select: opts.select }),
      extraFiles: opts.extraFiles,
      maxShardBytes: opts.maxShardBytes,
    });
  }

  /**
   * Loads the tokenizer saved with the model (its source directory), checking that every id it
   * can produce (its vocabulary and added tokens) has a row in the word embeddings.
   *
   * @throws CheckpointError (`invalid_checkpoint`) naming the tokenizer file and config.json's
   *   `vocab_size` when the tokenizer has more ids than the model embeds.
   */
  async loadTokenizer(): Promise<Tokenizer> {
    if (!this.source) throw new CheckpointError('this model was built from a config and has no directory to load a tokenizer from');
    const tokenizer = await this.family.loadTokenizer(this.source);
    const error = vocabularyMismatchError(this.source, tokenizer.vocabSize, this.config.vocab_size);
    if (error) throw error;
    return tokenizer;
  }

  /** Frees the inference session of {@link forward}. */
  async dispose(): Promise<void> {
    await this.forwardModel?.release();
    this.forwardModel = undefined;
  }

  private get initStd(): number {
    const std = (this.config as { initializer_range?: unknown }).initializer_range;
    return typeof std === 'number' ? std : 0.02;
  }
}

function sameLabels(previous: unknown, next: Readonly<Record<string, string>>): boolean {
  if (previous === null || typeof previous !== 'object') return false;
  const a = Object.entries(previous as Record<string, unknown>).sort(([x], [y]) => Number(x) - Number(y));
  const b = Object.entries(next).sort(([x], [y]) => Number(x) - Number(y));
  return a.length === b.length && a.every(([k, v], i) => k === b[i]![0] && v === b[i]![1]);
}

/**
 * The error for a checkpoint that lacks parameters (or holds them with another shape), which
 * inference must refuse; undefined when the checkpoint is complete. `weightsFile` names the file
 * the tensors were looked for in (default: the directory's model.safetensors).
 */
export function incompleteCheckpointError(
  dir: string,
  report: LoadReport,
  optional?: (name: string) => boolean,
  weightsFile = join(dir, 'model.safetensors'),
): IncompleteCheckpointError | undefined {
  const missing = report.missing.filter((n) => !optional?.(n));
  if (report.fromScratch || (missing.length === 0 && report.mismatched.length === 0)) return undefined;
  const problems = [
    ...missing.map((n) => `${n} (missing)`),
    ...report.mismatched.map((m) => `${m.name} (stored with shape [${m.checkpoint.join(', ')}], but config.json declares [${m.model.join(', ')}])`),
  ];
  return new IncompleteCheckpointError(
    `${weightsFile}: the checkpoint lacks ${problems.length} parameter(s) the model needs: ${listFew(problems)}; running it would use random weights. ` +
      'Use the complete checkpoint the model was saved as (re-save or re-download it), with the config.json it was trained with',
    weightsFile,
    missing,
    report.mismatched,
  );
}

/** A checkpoint inference cannot run: tensors missing, or stored with other shapes than the config declares. */
export class IncompleteCheckpointError extends CheckpointError {
  override name = 'IncompleteCheckpointError';
  constructor(
    message: string,
    file: string,
    /** Parameters the checkpoint lacks. */
    readonly missing: readonly string[],
    /** Parameters stored with another shape. */
    readonly mismatched: LoadReport['mismatched'],
  ) {
    super(message, { file });
  }
}

function listFew(items: readonly string[], few = 4): string {
  return `${items.slice(0, few).join(', ')}${items.length > few ? `, ... (${items.length - few} more)` : ''}`;
}

/** One tensor of a checkpoint as its file's header describes it. */
interface StoredTensor {
  readonly shape: readonly number[];
  readonly dtype: SafetensorsDType;
  /** The safetensors file that holds it. */
  readonly file: string;
}

/**
 * Every tensor of a checkpoint directory, from the headers of its safetensors files (no data read).
 * A shard its index names but the directory lacks, or that lacks a tensor the index places in it,
 * is an incomplete download, and said so.
 */
async function storedTensors(dir: string): Promise<Map<string, StoredTensor>> {
  const { files, index } = await weightFiles(dir);
  const out = new Map<string, StoredTensor>();
  const inFile = new Map<string, Set<string>>();
  for (const file of files) {
    if (!existsSync(file)) throw new CheckpointError(`${file}: shard named by ${WEIGHTS_INDEX_FILE} is missing; the download is incomplete`, { file });
    let header: Awaited<ReturnType<typeof readSafetensorsHeader>>;
    try {
      header = await readSafetensorsHeader(file);
    } catch (e) {
      if (e instanceof TunaError && e.code === 'invalid_safetensors') {
        throw new CheckpointError(`${e.message}\n(the checkpoint at ${dir} cannot be loaded; re-download or re-save it)`, { file, cause: e });
      }
      throw e;
    }
    for (const t of header.tensors) if (!out.has(t.name)) out.set(t.name, { shape: t.shape, dtype: t.dtype, file });
    inFile.set(file, new Set(header.tensors.map((t) => t.name)));
  }
  for (const [tensor, shard] of index ?? []) {
    const file = join(dir, shard);
    if (!inFile.get(file)?.has(tensor)) throw new CheckpointError(`${file}: lacks tensor "${tensor}" that ${WEIGHTS_INDEX_FILE} places in it`, { file });
  }
  return out;
}

/** The weights file errors about missing tensors name: the index of a sharded checkpoint, else model.safetensors. */
function weightsFileOf(dir: string, stored: ReadonlyMap<string, StoredTensor>): string {
  const files = new Set([...stored.values()].map((t) => t.file));
  if (files.size === 1) return [...files][0]!;
  return existsSync(join(dir, WEIGHTS_INDEX_FILE)) ? join(dir, WEIGHTS_INDEX_FILE) : join(dir, 'model.safetensors');
}

/** Throws `non_finite` naming the tensor and its file when `values` hold NaN or an infinity. */
function refuseNonFinite(name: string, values: Float32Array, file: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v === 0) continue; // finite
    throw new TunaError(
      'non_finite',
      `${file}: tensor "${name}" holds ${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'} (at element ${i}): the weights are broken ` +
        '(a diverged training run or a corrupt file) and would give meaningless outputs. Use an earlier checkpoint, or retrain with a lower learning rate',
      { file },
    );
  }
}

/** The most elements one parameter may have: what a JavaScript typed array holds. */
const MAX_TENSOR_ELEMENTS = bufferConstants.MAX_LENGTH;

/** Memory this process may use: the machine's, or less under a cgroup limit. */
export function memoryLimit(): number {
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : undefined;
  const total = totalmem();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * Refuses (`too_large`, naming config.json and its size fields) a model whose declared parameters
 * cannot fit in this machine's memory, before any of them is allocated: a typo or hostile size in
 * config.json otherwise takes gigabytes, or fails deep inside with "Invalid typed array length".
 */
export function checkDeclaredSize(
  specs: readonly ParameterSpec[],
  family: ModelFamily,
  config: ModelConfig,
  configPath: string,
  use: 'inference' | 'training',
  limit = memoryLimit(),
): void {
  let values = 0;
  let largest: ParameterSpec | undefined;
  let largestSize = 0;
  for (const spec of specs) {
    let size = 1;
    for (const d of spec.shape) size *= d;
    values += size;
    if (size > largestSize) {
      largestSize = size;
      largest = spec;
    }
  }
  const copies = use === 'training' ? 4 : 2;
  const needed = values * 4 * copies;
  const tooBigTensor = largestSize > MAX_TENSOR_ELEMENTS;
  if (!tooBigTensor && needed <= limit) return;
  const fields = sizeFieldsOf(family, config);
  const biggest = largest ? `; the largest tensor is ${largest.name} [${largest.shape.join(', ')}] (${formatBytes(largestSize * 4)})` : '';
  const why = tooBigTensor
    ? `declares a tensor of ${largestSize} values, more than one array can hold (${MAX_TENSOR_ELEMENTS})`
    : `declares ${values} parameters (${formatBytes(values * 4)}); ${use === 'training' ? 'training holds them four times (weights, gradients, two AdamW moments)' : 'inference holds them twice (weights and the compiled session)'}, ` +
      `${formatBytes(needed)}, more than the ${formatBytes(limit)} of memory this machine has`;
  throw new TunaError('too_large', `${configPath}: ${why}${biggest}. Its sizes: ${fields}; check these fields (a typo, or the config of another model)`, {
    file: configPath,
    field: largestField(family, config),
  });
}

/** The size fields of a config, largest value first, as `name value` pairs. */
function sizeFieldsOf(family: ModelFamily, config: ModelConfig): string {
  const record = config as unknown as Record<string, unknown>;
  const fields = (family.sizeFields ?? []).filter((f) => typeof record[f] === 'number');
  return fields
    .sort((a, b) => (record[b] as number) - (record[a] as number))
    .map((f) => `${f} ${record[f]}`)
    .join(', ');
}

function largestField(family: ModelFamily, config: ModelConfig): string | undefined {
  const record = config as unknown as Record<string, unknown>;
  let best: string | undefined;
  for (const f of family.sizeFields ?? []) {
    if (typeof record[f] === 'number' && (best === undefined || (record[f] as number) > (record[best] as number))) best = f;
  }
  return best;
}

/**
 * The error for a tokenizer that can produce ids the model has no embedding for (a vocabulary
 * larger than config.json's `vocab_size`), undefined when it fits. ONNX Runtime would otherwise
 * fail at the first such token with an out-of-bounds Gather.
 */
export function vocabularyMismatchError(dir: string, tokenizerIds: number, vocabSize: number): CheckpointError | undefined {
  if (tokenizerIds <= vocabSize) return undefined;
  const file = existsSync(join(dir, 'tokenizer.json')) ? join(dir, 'tokenizer.json') : join(dir, 'vocab.txt');
  return new CheckpointError(
    `${file}: the tokenizer has ${tokenizerIds} token ids (its vocabulary and added tokens; the largest id is ${tokenizerIds - 1}), but ${join(dir, 'config.json')} ` +
      `has vocab_size ${vocabSize}, so the model has no embedding for ids ${vocabSize} and above. Use the tokenizer the model was trained with ` +
      '(or, after adding tokens, resize the embeddings and train again)',
    { file },
  );
}
