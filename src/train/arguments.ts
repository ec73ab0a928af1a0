/** Training hyper-parameters and loop settings, named after Hugging Face's `TrainingArguments` in camelCase. */
import { TunaError } from '../errors.js';

/** When to evaluate, save or log. */
export type IntervalStrategy = 'no' | 'epoch' | 'steps';

/** Learning-rate schedules. */
export type LrSchedulerType = 'linear' | 'constant' | 'constant_with_warmup';

/** How progress is shown: a redrawn bar, plain lines, nothing, or bar on a terminal and lines elsewhere. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** What the {@link Trainer} does; every field but `outputDir` has a default (see {@link resolveArguments}). */
export interface TrainingArguments {
  /** Where checkpoints, the final model, metrics.jsonl and the learning curve are written. */
  readonly outputDir: string;
  /** Passes over the training data (default 3); ignored when `maxSteps` is positive. */
  readonly numTrainEpochs?: number;
  /** Optimizer steps to take; overrides `numTrainEpochs` when positive (default -1). */
  readonly maxSteps?: number;
  /** Examples per training micro-batch (default 8). */
  readonly perDeviceTrainBatchSize?: number;
  /** Examples per evaluation batch (default: twice the training batch size). */
  readonly perDeviceEvalBatchSize?: number;
  /** Micro-batches whose gradients are averaged into one optimizer step (default 1). */
  readonly gradientAccumulationSteps?: number;
  /** Peak learning rate (default 5e-5). */
  readonly learningRate?: number;
  /** Decoupled AdamW weight decay, not applied to biases and LayerNorm weights (default 0). */
  readonly weightDecay?: number;
  readonly adamBeta1?: number;
  readonly adamBeta2?: number;
  readonly adamEpsilon?: number;
  /** Global gradient-norm clipping threshold; 0 turns clipping off (default 1). */
  readonly maxGradNorm?: number;
  readonly lrSchedulerType?: LrSchedulerType;
  /** Fraction of the optimizer steps used for linear warmup (default 0). */
  readonly warmupRatio?: number;
  /** Warmup steps; overrides `warmupRatio` when positive (default 0). */
  readonly warmupSteps?: number;
  /** Evaluate every epoch, every `evalSteps` optimizer steps, or never (default `epoch` when there is evaluation data). */
  readonly evalStrategy?: IntervalStrategy;
  readonly evalSteps?: number;
  /** Save a resumable checkpoint every epoch, every `saveSteps` steps, or never (default: as `evalStrategy`, else `epoch`). */
  readonly saveStrategy?: IntervalStrategy;
  readonly saveSteps?: number;
  /**
   * Checkpoints of the run kept on disk (the best one is always kept); default 2. Only the run's
   * own checkpoints are counted and removed, never those of another run in the output directory.
   */
  readonly saveTotalLimit?: number;
  /** Log training loss and learning rate every this many optimizer steps (default: about 50 points per run). */
  readonly loggingSteps?: number;
  /** Seed of weight initialisation, data order and dropout (default 42). */
  readonly seed?: number;
  /** Put the best evaluated weights in `outputDir` at the end (default true when evaluating). */
  readonly loadBestModelAtEnd?: boolean;
  /** Metric that decides the best checkpoint, without the `eval_` prefix (default `loss`). */
  readonly metricForBestModel?: string;
  /** Whether larger is better for `metricForBestModel` (default: false for losses, true otherwise). */
  readonly greaterIsBetter?: boolean;
  /** Stop when the best metric has not improved for this many evaluations (default: never). */
  readonly earlyStoppingPatience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  readonly earlyStoppingThreshold?: number;
  /** Batch examples of similar length together (less padding), as Hugging Face's `group_by_length`. */
  readonly groupByLength?: boolean;
  /** Shuffle the training data every epoch (default true). */
  readonly shuffleTrain?: boolean;
  /** Drop dropout entirely, whatever the config says (default false). */
  readonly disableDropout?: boolean;
  readonly progress?: ProgressMode;
  /** ONNX Runtime intra-op threads (default: all cores or TUNA_THREADS). */
  readonly threads?: number;
  /**
   * Train into an output directory that already holds an earlier run, removing that run's files
   * first (Hugging Face's `overwrite_output_dir`; default false). See `prepareOutputDir` in
   * `train/output-dir.ts`, which applies it.
   */
  readonly overwriteOutputDir?: boolean;
}

/** Every key of {@link TrainingArguments}; any other key is refused, with the closest of these named. */
export const TRAINING_ARGUMENT_KEYS: readonly (keyof TrainingArguments)[] = [
  'outputDir',
  'numTrainEpochs',
  'maxSteps',
  'perDeviceTrainBatchSize',
  'perDeviceEvalBatchSize',
  'gradientAccumulationSteps',
  'learningRate',
  'weightDecay',
  'adamBeta1',
  'adamBeta2',
  'adamEpsilon',
  'maxGradNorm',
  'lrSchedulerType',
  'warmupRatio',
  'warmupSteps',
  'evalStrategy',
  'evalSteps',
  'saveStrategy',
  'saveSteps',
  'saveTotalLimit',
  'loggingSteps',
  'seed',
  'loadBestModelAtEnd',
  'metricForBestModel',
  'greaterIsBetter',
  'earlyStoppingPatience',
  'earlyStoppingThreshold',
  'groupByLength',
  'shuffleTrain',
  'disableDropout',
  'progress',
  'threads',
  'overwriteOutputDir',
];

/** Arguments with every default filled in. */
export type ResolvedArguments = Required<Omit<TrainingArguments, 'earlyStoppingPatience' | 'threads' | 'loggingSteps'>> & {
  readonly earlyStoppingPatience: number | undefined;
  readonly threads: number | undefined;
  readonly loggingSteps: number | undefined;
};

/** Error raised for an argument value the trainer cannot use; `field` names the argument. */
export class TrainingArgumentsError extends TunaError {
  override name = 'TrainingArgumentsError';
  declare readonly field: string;
  constructor(field: string, message: string) {
    super('invalid_arguments', message, { field });
  }
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name`: one that `name` extends by a word (`f1_score` for `f1`), else the
 * nearest by case-insensitive edit distance; undefined when none is near.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const extended = candidates.filter((c) => lower.startsWith(`${c.toLowerCase()}_`) || lower.endsWith(`_${c.toLowerCase()}`)).sort((a, b) => b.length - a.length);
  if (extended[0] !== undefined) return extended[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.ceil(name.length / 2)) ? best : undefined;
}

/**
 * The default peak learning rate for a model of hidden size `hiddenSize`: Hugging Face's 5e-5
 * suits bert-base-size models (768) and larger; small models learn too slowly with it (tuna's
 * bundled 4x256 models reach 0.63 test accuracy on waimai_10k at 5e-5 and 0.74 at 3e-4). So: 3e-4
 * up to hidden size 256, 1e-4 up to 512, 5e-5 above.
 */
export function defaultLearningRate(hiddenSize: number): number {
  return hiddenSize <= 256 ? 3e-4 : hiddenSize <= 512 ? 1e-4 : 5e-5;
}

/** Metric names that measure time or speed, which cannot pick a best model. */
const TIMING_METRIC = /(^|_)(runtime|samples_per_second|steps_per_second)$/;

/**
 * Checks `metricForBestModel` (with or without the `eval_` prefix) against the metrics an
 * evaluation will produce (without the prefix, e.g. `['loss', 'accuracy', 'f1']`), so that a typo
 * stops the run before training rather than at the first evaluation. Returns the name without the
 * prefix.
 *
 * @throws TrainingArgumentsError naming the metric, the closest available one and the full list.
 */
export function checkMetricForBestModel(metric: string, available: readonly string[]): string {
  const name = metric.replace(/^eval_/, '');
  if (TIMING_METRIC.test(name)) {
    throw new TrainingArgumentsError(
      'metricForBestModel',
      `metricForBestModel "${metric}" is a runtime or throughput figure, not a metric of the model; choose one of: ${available.join(', ')}`,
    );
  }
  if (!available.includes(name)) {
    const near = closestName(name, available);
    throw new TrainingArgumentsError(
      'metricForBestModel',
      `metricForBestModel "${metric}" is not a metric this task's evaluation produces${near ? `; did you mean "${near}"?` : '.'} Available: ${available.join(', ')}`,
    );
  }
  return name;
}

/** Refuses keys that are not training arguments (a typo would otherwise be silently ignored), naming the closest one. */
export function checkArgumentKeys(args: object): void {
  const known: readonly string[] = TRAINING_ARGUMENT_KEYS;
  for (const key of Object.keys(args)) {
    if (known.includes(key)) continue;
    const near = closestName(key, known);
    throw new TrainingArgumentsError(key, `"${key}" is not a training argument${near ? `; did you mean "${near}"?` : ''} (see TrainingArguments for the full list)`);
  }
}

/** Fills in defaults and checks ranges; `hasEvalData` decides the evaluation default. */
export function resolveArguments(args: TrainingArguments, hasEvalData: boolean): ResolvedArguments {
  checkArgumentKeys(args);
  const evalStrategy = args.evalStrategy ?? (hasEvalData ? 'epoch' : 'no');
  const metric = (args.metricForBestModel ?? 'loss').replace(/^eval_/, '');
  const r: ResolvedArguments = {
    outputDir: args.outputDir,
    numTrainEpochs: args.numTrainEpochs ?? 3,
    maxSteps: args.maxSteps ?? -1,
    perDeviceTrainBatchSize: args.perDeviceTrainBatchSize ?? 8,
    perDeviceEvalBatchSize: args.perDeviceEvalBatchSize ?? 2 * (args.perDeviceTrainBatchSize ?? 8),
    gradientAccumulationSteps: args.gradientAccumulationSteps ?? 1,
    learningRate: args.learningRate ?? 5e-5,
    weightDecay: args.weightDecay ?? 0,
    adamBeta1: args.adamBeta1 ?? 0.9,
    adamBeta2: args.adamBeta2 ?? 0.999,
    adamEpsilon: args.adamEpsilon ?? 1e-8,
    maxGradNorm: args.maxGradNorm ?? 1,
    lrSchedulerType: args.lrSchedulerType ?? 'linear',
    warmupRatio: args.warmupRatio ?? 0,
    warmupSteps: args.warmupSteps ?? 0,
    evalStrategy,
    evalSteps: args.evalSteps ?? 500,
    saveStrategy: args.saveStrategy ?? (evalStrategy === 'no' ? 'epoch' : evalStrategy),
    saveSteps: args.saveSteps ?? args.evalSteps ?? 500,
    saveTotalLimit: args.saveTotalLimit ?? 2,
    loggingSteps: args.loggingSteps,
    seed: args.seed ?? 42,
    loadBestModelAtEnd: args.loadBestModelAtEnd ?? evalStrategy !== 'no',
    metricForBestModel: metric,
    greaterIsBetter: args.greaterIsBetter ?? !/loss$/.test(metric),
    earlyStoppingPatience: args.earlyStoppingPatience,
    earlyStoppingThreshold: args.earlyStoppingThreshold ?? 0,
    groupByLength: args.groupByLength ?? false,
    shuffleTrain: args.shuffleTrain ?? true,
    disableDropout: args.disableDropout ?? false,
    progress: args.progress ?? 'auto',
    threads: args.threads,
    overwriteOutputDir: args.overwriteOutputDir ?? false,
  };
  if (TIMING_METRIC.test(metric)) {
    throw new TrainingArgumentsError(
      'metricForBestModel',
      `metricForBestModel "${args.metricForBestModel}" is a runtime or throughput figure, not a metric of the model; use loss or a metric such as accuracy or f1`,
    );
  }
  if (!r.outputDir) throw new TrainingArgumentsError('outputDir', 'outputDir is required: the directory for checkpoints and the final model');
  positiveInt(r, 'perDeviceTrainBatchSize');
  positiveInt(r, 'perDeviceEvalBatchSize');
  positiveInt(r, 'gradientAccumulationSteps');
  positiveInt(r, 'evalSteps');
  positiveInt(r, 'saveSteps');
  positiveInt(r, 'saveTotalLimit');
  if (r.loggingSteps !== undefined) positiveInt(r, 'loggingSteps');
  if (!(r.numTrainEpochs > 0) && !(r.maxSteps > 0)) {
    throw new TrainingArgumentsError('numTrainEpochs', `numTrainEpochs must be positive (got ${r.numTrainEpochs}) unless maxSteps is set`);
  }
  if (!Number.isInteger(r.maxSteps)) throw new TrainingArgumentsError('maxSteps', `maxSteps must be an integer, got ${r.maxSteps}`);
  if (!(r.learningRate > 0)) throw new TrainingArgumentsError('learningRate', `learningRate must be positive, got ${r.learningRate}`);
  if (!(r.weightDecay >= 0)) throw new TrainingArgumentsError('weightDecay', `weightDecay must be >= 0, got ${r.weightDecay}`);
  if (!(r.warmupRatio >= 0 && r.warmupRatio <= 1)) throw new TrainingArgumentsError('warmupRatio', `warmupRatio must be in [0, 1], got ${r.warmupRatio}`);
  if (!(r.warmupSteps >= 0)) throw new TrainingArgumentsError('warmupSteps', `warmupSteps must be >= 0, got ${r.warmupSteps}`);
  if (!(r.maxGradNorm >= 0)) throw new TrainingArgumentsError('maxGradNorm', `maxGradNorm must be >= 0, got ${r.maxGradNorm}`);
  if (r.earlyStoppingPatience !== undefined) positiveInt(r, 'earlyStoppingPatience');
  if (r.earlyStoppingPatience !== undefined && r.evalStrategy === 'no') {
    throw new TrainingArgumentsError('earlyStoppingPatience', 'early stopping needs evaluation: set evalStrategy to epoch or steps and give evaluation data');
  }
  if (r.evalStrategy !== 'no' && !hasEvalData) {
    throw new TrainingArgumentsError('evalStrategy', `evalStrategy is "${r.evalStrategy}" but there is no evaluation data; give some or set evalStrategy "no"`);
  }
  return r;
}

function positiveInt(r: ResolvedArguments, field: keyof ResolvedArguments): void {
  const v = r[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new TrainingArgumentsError(field, `${field} must be a positive integer, got ${String(v)}`);
  }
}
