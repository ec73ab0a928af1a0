/**
 * {@link PreTrainedModel}: a model of any registered family with one head, its configuration and
 * its parameter values. It loads Hugging Face checkpoint directories through the checkpoint reader
 * (single files, shards, tied weights, prefixes, legacy names), compiles inference and training
 * graphs, and saves checkpoints Hugging Face loads.
 */
import type { NamedTensor, SafetensorsDType } from '../io/safetensors.js';
import { CheckpointError, type CheckpointContents, findPickleFiles, hasWeights, pickleRefusal, readCheckpoint, readConfig, writeCheckpoint } from '../io/checkpoint.js';
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
    let tensors = new Map<string, NamedTensor>();
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
    } else {
      tensors = (await readCheckpoint(dir)).tensors;
    }
    const match = matchKeys(
      specs.map((s) => s.name),
      tensors.keys(),
      family.keyRules(head),
    );
    const store = new ParameterStore(new Rng(opts.seed ?? 42));
    const mismatched: LoadReport['mismatched'] = [];
    const missing: string[] = [];
    for (const spec of specs) {
      const key = match.mapping.get(spec.name);
      const t = key === undefined ? undefined : tensors.get(key);
      if (t === undefined) {
        if (!fromScratch) missing.push(spec.name);
        store.create(spec.name, spec.shape, spec.init, spec.decay);
        continue;
      }
      if ((relabelled && family.isHeadParameter(spec.name)) || t.shape.join() !== spec.shape.join()) {
        mismatched.push({ name: spec.name, checkpoint: t.shape, model: spec.shape });
        store.create(spec.name, spec.shape, spec.init, spec.decay);
        continue;
      }
      if (!(t.data instanceof Float32Array)) {
        throw new CheckpointError(`${dir}: tensor "${key}" is stored as ${t.dtype}, but ${spec.name} is a float parameter`, { file: dir });
      }
      store.adopt(spec.name, spec.shape, t.data, spec.decay);
    }
    store.seal(`${family.architectures[head] ?? family.modelType} (${head})`);
    const report: LoadReport = { missing, unexpected: match.unexpected, mismatched, fromScratch };
    if (opts.missing === 'error') refuseIncomplete(dir, report, opts.optional);
    return new PreTrainedModel(family, config, head, store, report, dir, opts.threads);
  }

  /** A model with freshly initialised weights from a config (a parsed config.json object). */
  static fromConfig(rawConfig: Readonly<Record<string, unknown>>, opts: { head?: HeadKind; seed?: number; threads?: number } = {}): PreTrainedModel {
    const family = familyOfConfig(rawConfig as Record<string, unknown>, 'config');
    const config = family.parseConfig(rawConfig, 'config');
    const head = opts.head ?? headOfArchitectures(family, config.architectures, 'config');
    const store = new ParameterStore(new Rng(opts.seed ?? 42));
    for (const s of family.parameters(config, head)) store.create(s.name, s.shape, s.init, s.decay);
    store.seal(`${family.architectures[head] ?? family.modelType} (${head})`);
    return new PreTrainedModel(family, config, head, store, { missing: [], unexpected: [], mismatched: [], fromScratch: true }, '', opts.threads);
  }

  /** The Hugging Face class name of this model (e.g. `BertForSequenceClassification`). */
  get architecture(): string {
    return this.family.architectures[this.head] ?? this.head;
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

  /** Loads the tokenizer saved with the model (its source directory). */
  async loadTokenizer(): Promise<Tokenizer> {
    if (!this.source) throw new CheckpointError('this model was built from a config and has no directory to load a tokenizer from');
    return this.family.loadTokenizer(this.source);
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

/** Refuses a checkpoint that lacks parameters (or holds them with another shape) for inference. */
function refuseIncomplete(dir: string, report: LoadReport, optional?: (name: string) => boolean): void {
  const error = incompleteCheckpointError(dir, report, optional);
  if (error) throw error;
}

/**
 * The error for a checkpoint that lacks parameters (or holds them with another shape), which
 * inference must refuse; undefined when the checkpoint is complete.
 */
export function incompleteCheckpointError(dir: string, report: LoadReport, optional?: (name: string) => boolean): CheckpointError | undefined {
  const missing = report.missing.filter((n) => !optional?.(n));
  const problems = [...missing.map((n) => `${n} (missing)`), ...report.mismatched.map((m) => `${m.name} (shape [${m.checkpoint}] in the checkpoint, [${m.model}] in the model)`)];
  if (report.fromScratch || problems.length === 0) return undefined;
  return new CheckpointError(
    `${dir}: the checkpoint lacks ${problems.length} parameter(s) the model needs: ${problems.slice(0, 4).join(', ')}${problems.length > 4 ? ', ...' : ''}; ` +
      'running it would use random weights. Use a complete trained checkpoint (re-save or re-download it)',
    { file: dir },
  );
}
