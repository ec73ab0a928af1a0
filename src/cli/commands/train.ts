import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type AdapterPlacement, PEFT_METHODS, type PeftMethod, type PeftTrainingOptions } from '../../peft/index.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { resolveModel } from '../../io/hub.js';
import { AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer } from '../../models/auto.js';
import type { PreTrainedModel } from '../../models/pretrained-model.js';
import { MetricsError, TAG_SCHEMES, type TagScheme } from '../../metrics/index.js';
import { writeDataConfig } from '../../tasks/data-config.js';
import { type DataOptions, type Examples, type TaskName, featuresOf, labelMapOf, labelSetWarning, parseLabelList, readExamples, splitValidation } from '../../tasks/prepare.js';
import { type EntityScoring, metricNames, metricsFor, resolveEntityScoring, taskReport } from '../../tasks/reports.js';
import { unknownTokenRate, unknownTokenWarning } from '../../tokenizers/unknown-rate.js';
import { type IntervalStrategy, type LrSchedulerType, type ProgressMode, type TrainingArguments, checkMetricForBestModel, defaultLearningRate } from '../../train/arguments.js';
import { listCheckpoints } from '../../train/checkpoints.js';
import { LEARNING_CURVE, METRICS_LOG } from '../../train/trainer.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { inLockedOutput, startRun } from './run-start.js';
import { predictDataset } from '../../train/evaluate.js';
import { progressCallback } from '../../train/progress.js';
import { Trainer } from '../../train/trainer.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import { CliError } from '../errors.js';
import { trainInterruptibly } from './interruptible.js';
import { type Output, processOutput, toJson } from '../output.js';
import { asError, choice, integer, number } from './options.js';
import { type SentenceTrainFlags, sentenceTrainCommand, sentenceTrainCommandOptions } from './embed.js';
import { type CrossEncoderTrainFlags, crossEncoderTrainCommand, crossEncoderTrainOptions } from './train-cross-encoder.js';
import { type PromptTrainFlags, promptTrainCommand } from './train-prompt.js';
import { type SetFitTrainFlags, refuseSetFitFlags, setfitTrainCommand } from './train-setfit.js';

/** Options of `tuna train`, as commander parses them (numbers arrive as strings). */
export interface TrainOptions extends Omit<DataOptions, 'labelList'> {
  readonly task: string;
  /** Starting checkpoint; the bundled model for the data's language when omitted. */
  readonly model?: string;
  readonly train: string;
  readonly validation?: string;
  readonly test?: string;
  readonly output: string;
  readonly validationSplit: string;
  readonly epochs: string;
  readonly maxSteps?: string;
  readonly batchSize: string;
  readonly evalBatchSize?: string;
  /** Peak learning rate; when omitted, {@link defaultLearningRate} for the model's hidden size. */
  readonly lr?: string;
  readonly maxLength: string;
  readonly warmupRatio: string;
  readonly warmupSteps?: string;
  readonly weightDecay: string;
  readonly maxGradNorm: string;
  readonly lrSchedulerType: string;
  readonly gradientAccumulationSteps: string;
  readonly evalStrategy?: string;
  readonly evalSteps?: string;
  readonly saveStrategy?: string;
  readonly saveSteps?: string;
  readonly saveTotalLimit: string;
  readonly loggingSteps?: string;
  readonly metricForBestModel?: string;
  readonly earlyStoppingPatience?: string;
  readonly groupByLength?: boolean;
  readonly seed: string;
  readonly resume?: boolean;
  readonly resumeFromCheckpoint?: string;
  readonly threads?: string;
  readonly progress: string;
  readonly json?: boolean;
  /** Hub branch, tag or commit of a Hub id given as `model`. */
  readonly revision?: string;
  /** Train a model directory that has config.json but no weights, from random weights. */
  readonly fromScratch?: boolean;
  /** Replace an earlier run in `--output` (its files are removed first). */
  readonly overwriteOutputDir?: boolean;
  /** `error` (default) or `skip`: what a bad data row does. */
  readonly onBadRow?: string;
  /** Names of integer label or tag ids: a file (one per line, or a JSON list) or comma-separated names. */
  readonly labelList?: string;
  /** Token classification: `default` (seqeval's lenient reading) or `strict` entity scores. */
  readonly entityMode?: string;
  /** Token classification, strict mode: IOB2, IOE2, IOBES or BILOU (default: detected from the tags). */
  readonly scheme?: string;
  /** Parameter-efficient fine-tuning: `lora` or `bitfit`, and LoRA's settings. */
  readonly peft?: string;
  readonly loraR?: string;
  readonly loraAlpha?: string;
  readonly loraDropout?: string;
  readonly loraTarget?: string;
  readonly useRslora?: boolean;
  readonly useDora?: boolean;
  readonly loraplusLrRatio?: string;
  readonly adapterSize?: string;
  readonly adapterPlacement?: string;
  readonly numVirtualTokens?: string;
}

const PLACEMENTS = ['houlsby', 'pfeiffer'] as const;

/** `--peft` and its method's flags as the Trainer's settings; undefined without `--peft`. */
export function peftFlags(o: TrainOptions, base: string): PeftTrainingOptions | undefined {
  const owned = {
    lora: o.loraR ?? o.loraAlpha ?? o.loraDropout ?? o.loraTarget ?? o.loraplusLrRatio ?? (o.useRslora || o.useDora ? 'on' : undefined),
    adapter: o.adapterSize ?? o.adapterPlacement,
    prompt: o.numVirtualTokens,
  };
  const method = o.peft === undefined ? undefined : (choice('--peft', o.peft, PEFT_METHODS) as PeftMethod);
  const flags = {
    lora: '--lora-r, --lora-alpha, --lora-dropout, --lora-target, --use-rslora, --use-dora and --loraplus-lr-ratio',
    adapter: '--adapter-size and --adapter-placement',
    prompt: '--num-virtual-tokens',
  };
  for (const [m, given] of Object.entries(owned)) {
    if (given !== undefined && m !== method) throw new CliError('usage', `${flags[m as keyof typeof flags]} apply to --peft ${m}${method ? `, not --peft ${method}` : ''}`);
  }
  if (method === undefined) return undefined;
  const targets = o.loraTarget?.split(',').flatMap((t) => (t.trim() === '' ? [] : [t.trim()]));
  if (targets !== undefined && targets.length === 0) throw new CliError('usage', '--lora-target is empty: name linear layers, e.g. query,value');
  return {
    method,
    ...(o.loraR !== undefined ? { loraR: integer('--lora-r', o.loraR, 1) } : {}),
    ...(o.loraAlpha !== undefined ? { loraAlpha: number('--lora-alpha', o.loraAlpha, { min: 0, exclusive: true }) } : {}),
    ...(o.loraDropout !== undefined ? { loraDropout: number('--lora-dropout', o.loraDropout, { min: 0, max: 0.99 }) } : {}),
    ...(targets !== undefined ? { loraTarget: targets.length === 1 && targets[0] === 'all-linear' ? 'all-linear' : targets } : {}),
    ...(o.useRslora ? { useRslora: true } : {}),
    ...(o.useDora ? { useDora: true } : {}),
    ...(o.loraplusLrRatio !== undefined ? { loraPlusLrRatio: number('--loraplus-lr-ratio', o.loraplusLrRatio, { min: 0, exclusive: true }) } : {}),
    ...(o.adapterSize !== undefined ? { adapterSize: integer('--adapter-size', o.adapterSize, 1) } : {}),
    ...(o.adapterPlacement !== undefined ? { adapterPlacement: choice('--adapter-placement', o.adapterPlacement, PLACEMENTS) as AdapterPlacement } : {}),
    ...(o.numVirtualTokens !== undefined ? { numVirtualTokens: integer('--num-virtual-tokens', o.numVirtualTokens, 1) } : {}),
    // A local base is recorded by its absolute path (PEFT reads it from any working directory), a Hub id as it is.
    baseModel: existsSync(base) ? resolve(base) : base,
  };
}

const STRATEGIES = ['no', 'epoch', 'steps'] as const;

/** Turns the CLI flags into TrainingArguments, checking each. */
export function trainingArguments(o: TrainOptions): TrainingArguments {
  return {
    outputDir: o.output,
    numTrainEpochs: number('--epochs', o.epochs, { min: 0, exclusive: true }),
    maxSteps: o.maxSteps === undefined ? undefined : integer('--max-steps', o.maxSteps, 1),
    perDeviceTrainBatchSize: integer('--batch-size', o.batchSize, 1),
    perDeviceEvalBatchSize: o.evalBatchSize === undefined ? undefined : integer('--eval-batch-size', o.evalBatchSize, 1),
    learningRate: o.lr === undefined ? undefined : number('--lr', o.lr, { min: 0, exclusive: true }),
    warmupRatio: number('--warmup-ratio', o.warmupRatio, { min: 0, max: 1 }),
    warmupSteps: o.warmupSteps === undefined ? undefined : integer('--warmup-steps', o.warmupSteps, 0),
    weightDecay: number('--weight-decay', o.weightDecay, { min: 0 }),
    maxGradNorm: number('--max-grad-norm', o.maxGradNorm, { min: 0 }),
    lrSchedulerType: choice('--lr-scheduler-type', o.lrSchedulerType, ['linear', 'constant', 'constant_with_warmup'] as const) as LrSchedulerType,
    gradientAccumulationSteps: integer('--gradient-accumulation-steps', o.gradientAccumulationSteps, 1),
    evalStrategy: o.evalStrategy === undefined ? undefined : (choice('--eval-strategy', o.evalStrategy, STRATEGIES) as IntervalStrategy),
    evalSteps: o.evalSteps === undefined ? undefined : integer('--eval-steps', o.evalSteps, 1),
    saveStrategy: o.saveStrategy === undefined ? undefined : (choice('--save-strategy', o.saveStrategy, STRATEGIES) as IntervalStrategy),
    saveSteps: o.saveSteps === undefined ? undefined : integer('--save-steps', o.saveSteps, 1),
    saveTotalLimit: integer('--save-total-limit', o.saveTotalLimit, 1),
    loggingSteps: o.loggingSteps === undefined ? undefined : integer('--logging-steps', o.loggingSteps, 1),
    metricForBestModel: o.metricForBestModel,
    earlyStoppingPatience: o.earlyStoppingPatience === undefined ? undefined : integer('--early-stopping-patience', o.earlyStoppingPatience, 1),
    groupByLength: !!o.groupByLength,
    seed: integer('--seed', o.seed, 0),
    threads: o.threads === undefined ? undefined : integer('--threads', o.threads, 1),
    progress: choice('--progress', o.progress, ['auto', 'bar', 'lines', 'none'] as const) as ProgressMode,
    overwriteOutputDir: !!o.overwriteOutputDir,
  };
}

/** How the learning rate is described in `--help`. */
export const LEARNING_RATE_HELP = 'peak learning rate (default by model size: 3e-4 for hidden size <= 256, 1e-4 up to 512, 5e-5 above, as for bert-base)';

/**
 * Adds the options that only `tuna train` has (and the help text on learning rates, bad rows and
 * label lists) to its command; `createProgram` calls it on the train command after the shared
 * training and data flags.
 */
export function trainCommandOptions(c: Command): Command {
  return crossEncoderTrainOptions(sentenceTrainCommandOptions(c))
    .option('--prompt <template>', 'prompt-based training of a masked LM: a cloze template with {text} ({text_pair}) and [MASK]; repeat for an ensemble', collectPrompt)
    .option('--verbalizer <map>', 'with --prompt: the words of each label, e.g. positive=great|good,negative=terrible')
    .option('--unlabeled <file>', 'with --prompt: unlabelled texts for iPET-style self-training')
    .option('--ipet-generations <n>', 'with --unlabeled: self-training generations (default 2)')
    .option('--num-iterations <n>', 'setfit: contrastive pair rounds per example, each a positive and a negative pair (default 20)')
    .option('--sampling <how>', 'setfit: iterations (--num-iterations rounds), or oversampling, undersampling or unique over all unique pairs (default iterations)')
    .option('--head-c <c>', "setfit: inverse L2 strength of the logistic-regression head, scikit-learn's C (default 1)")
    .option('--differentiable-head', "setfit: SetFit's differentiable head (a linear layer trained with cross-entropy) instead of the logistic regression")
    .option('--end-to-end', 'setfit, with --differentiable-head: train the body with the head (default: the head on frozen embeddings)')
    .option('--head-epochs <n>', 'setfit, with --differentiable-head: passes over the examples (default 16)')
    .option('--head-batch-size <n>', 'setfit, with --differentiable-head: examples per step (default 2)')
    .option('--head-lr <lr>', 'setfit, with --differentiable-head: the head learning rate (default 1e-2)')
    .option('--body-lr <lr>', 'setfit, with --end-to-end: the body learning rate while the head trains (default half of --lr)')
    .option('--l2-weight <w>', 'setfit, with --differentiable-head: weight decay of head and body (default 0.01)')
    .option('--from-scratch', 'train a --model directory that has config.json but no weights from random weights (otherwise refused)')
    .option('--overwrite-output-dir', 'replace an earlier run in --output: its checkpoints, model and logs are removed first')
    .option('--on-bad-row <what>', 'error: stop at a bad row (empty text, missing or unreadable label); skip: leave it out and report it', 'error')
    .option('--label-list <file-or-names>', 'names of integer label/tag ids in id order, as a file (one per line, or a JSON list) or comma-separated (O,B-PER,I-PER)')
    .option('--entity-mode <mode>', 'token classification: default (seqeval lenient) or strict entity scores, also for --metric-for-best-model', 'default')
    .option('--scheme <scheme>', 'tag scheme of --entity-mode strict: IOB2, IOE2, IOBES or BILOU (default: detected from the tags)')
    .addHelpText(
      'after',
      '\nLearning rate: without --lr, 3e-4 for models of hidden size <= 256 (the bundled tuna-small models),\n' +
        "1e-4 up to 512, and 5e-5 (Hugging Face's default, right for bert-base) above. The rate used is\n" +
        'printed when training starts.\n' +
        '\nInteger labels and tags, as a Hugging Face dataset exported to JSON Lines has them\n' +
        '({"tokens": [...], "ner_tags": [3, 0, 7]}): --label-list O,B-PER,I-PER,... or --label-list labels.txt\n' +
        '(one name per line, in id order) maps id i to the i-th name; the model keeps those ids.\n' +
        '\nBad rows: --on-bad-row skip leaves out rows with an empty text or a missing or unreadable label\n' +
        'and reports how many, with their line numbers.\n',
    );
}

/** Whether `dir` is a local model directory with config.json but no weights. */
function configWithoutWeights(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && !existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'model.safetensors.index.json'));
}

/** Texts as the model sees them, for the [UNK] rate and the language. */
function textsOf(examples: Examples): string[] {
  return examples.kind === 'text' ? examples.items.map((e) => (e.textPair === undefined ? e.text : `${e.text} ${e.textPair}`)) : examples.items.map((e) => e.tokens.join(' '));
}

/** `--entity-mode` and `--scheme`, checked. */
function entityScoringOf(o: TrainOptions, task: TaskName): EntityScoring {
  const mode = choice('--entity-mode', o.entityMode ?? 'default', ['default', 'strict'] as const);
  if (task !== 'token-classification' && (mode === 'strict' || o.scheme !== undefined)) {
    throw new CliError('usage', '--entity-mode and --scheme apply to entity scores: use them with --task token-classification');
  }
  if (o.scheme !== undefined && mode !== 'strict') throw new CliError('usage', `--scheme ${o.scheme} applies to strict entity scores; add --entity-mode strict`);
  const scheme = o.scheme === undefined ? undefined : (choice('--scheme', o.scheme.toUpperCase(), TAG_SCHEMES) as TagScheme);
  return { mode, scheme };
}

/** Collects repeated --prompt flags. */
function collectPrompt(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `tuna train`: reads the data, learns the label set, loads the model with a fresh head for it,
 * fine-tunes with evaluation and checkpoints, then writes the final model, the reports, the
 * metrics log and the learning curve to `--output`. Ctrl-C saves a checkpoint; `--resume` goes on
 * from it.
 */
export async function trainCommand(o: TrainOptions, out: Output): Promise<void> {
  if (o.task === 'setfit') return setfitTrainCommand(o as SetFitTrainFlags, out);
  refuseSetFitFlags(o as SetFitTrainFlags);
  if (o.task === 'sentence-embedding') return sentenceTrainCommand(o as unknown as SentenceTrainFlags, out);
  if (o.task === 'cross-encoder') return crossEncoderTrainCommand(o as CrossEncoderTrainFlags, out);
  if ((o as { prompt?: unknown }).prompt !== undefined) return promptTrainCommand(o as PromptTrainFlags, out);
  const task = choice('--task', o.task, ['text-classification', 'token-classification', 'sentence-embedding', 'cross-encoder', 'setfit'] as const) as TaskName;
  const args = trainingArguments(o);
  peftFlags(o, o.model ?? '');
  const maxLength = integer('--max-length', o.maxLength, 8);
  const split = number('--validation-split', o.validationSplit, { min: 0, max: 0.9 });
  const onBadRow = choice('--on-bad-row', o.onBadRow ?? 'error', ['error', 'skip'] as const);
  const scoringFlags = entityScoringOf(o, task);
  const labelList = o.labelList === undefined ? undefined : await asError(async () => parseLabelList(o.labelList!));
  const say = (s: string) => out.stderr(`${s}\n`);
  const resuming = !!o.resume || o.resumeFromCheckpoint !== undefined;
  await inLockedOutput(o, resuming, say, () => trainLocked(o, out, { task, args, maxLength, split, onBadRow, scoringFlags, labelList, say, resuming }));
}

/** What {@link trainCommand} has checked of its flags before taking the output directory. */
interface CheckedTrainFlags {
  readonly task: TaskName;
  readonly args: TrainingArguments;
  readonly maxLength: number;
  readonly split: number;
  readonly onBadRow: 'error' | 'skip';
  readonly scoringFlags: EntityScoring;
  readonly labelList: string[] | undefined;
  readonly say: (line: string) => void;
  readonly resuming: boolean;
}

/** The run of `tuna train`, with the output directory locked. */
async function trainLocked(o: TrainOptions, out: Output, flags: CheckedTrainFlags): Promise<void> {
  const { task, args, maxLength, split, onBadRow, scoringFlags, labelList, say, resuming } = flags;
  // Refuse an output directory holding another run now, before any work (see --overwrite-output-dir).
  await asError(() => prepareOutputDir(o.output, { resume: resuming || !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--resume' } }));
  if (o.fromScratch && !(o.model && existsSync(join(o.model, 'config.json')))) {
    throw new CliError('usage', '--from-scratch takes a --model directory with a config.json, which gives the sizes of the new model');
  }
  if (o.model && configWithoutWeights(o.model) && !o.fromScratch) {
    throw new CliError(
      'invalid_model',
      `${o.model}: has config.json but no weights (model.safetensors); training it would start from random weights. Give a trained checkpoint as --model, or pass --from-scratch to train from random initialisation`,
      { file: o.model },
    );
  }

  const dataOptions = { ...o, labelList, onBadRow };
  const read = async (file: string) => {
    const examples = await asError(() => readExamples(task, file, dataOptions));
    const skipped = examples.skipped?.summary();
    if (skipped) say(skipped);
    return examples;
  };
  const trainAll = await read(o.train);
  let modelSource = o.model ?? '';
  const labels = await asError(async () => labelMapOf(trainAll, labelList));
  const labelWarning = labelSetWarning(trainAll, labels);
  if (labelWarning) say(`tuna: warning: ${labelWarning}`);
  if (labels.size < 2 && !o.multiLabel) {
    throw new CliError('invalid_data', `${o.train}: all examples have the label "${labels.labels[0]}"; a classifier needs at least two labels`, { file: o.train });
  }
  const kind = task === 'token-classification' ? 'token' : o.multiLabel ? 'multi_label' : 'single_label';
  let scoring: EntityScoring;
  try {
    scoring = resolveEntityScoring(scoringFlags, labels);
  } catch (e) {
    if (e instanceof MetricsError) throw new CliError('usage', `--scheme: ${e.message}`, { cause: e });
    throw e;
  }
  let trainSet = trainAll;
  let validationSet = o.validation ? await read(o.validation) : undefined;
  if (!validationSet && split > 0) {
    const parts = splitValidation(trainAll, split, args.seed ?? 42);
    trainSet = parts.train;
    validationSet = parts.validation.items.length ? parts.validation : undefined;
  }
  const testSet = o.test ? await read(o.test) : undefined;
  // A typo in the metric would otherwise stop the run only at its first evaluation.
  const metricForBestModel = validationSet ? (args.metricForBestModel ?? 'f1') : args.metricForBestModel;
  if (metricForBestModel !== undefined) await asError(async () => checkMetricForBestModel(metricForBestModel, metricNames(kind)));

  const trainTexts = textsOf(trainAll);
  if (!o.model) {
    const lang = detectLanguage(trainTexts);
    if (!hasBundledModel(lang)) throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a checkpoint with --model`);
    modelSource = bundledModelDir(lang);
    say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${modelSource})`);
  } else if (o.revision !== undefined) {
    // One snapshot of a Hub model for both the tokenizer and the weights.
    modelSource = await asError(() => resolveModel(modelSource, { revision: o.revision }));
  }
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(modelSource));
  tokenizer.modelMaxLength = maxLength;
  const unknownRate = unknownTokenRate(tokenizer, trainTexts);
  const unknownWarning = unknownTokenWarning(unknownRate, trainTexts.slice(0, 200), modelSource, tokenizer);
  say(`vocabulary coverage: ${(100 * unknownRate).toFixed(1)}% of the word pieces of ${o.train} are [UNK]`);
  if (unknownWarning) say(unknownWarning);

  const load = task === 'token-classification' ? AutoModelForTokenClassification : AutoModelForSequenceClassification;
  // --from-scratch on a directory with weights: load its config alone, so every weight starts random.
  const scratchDir = o.fromScratch && !configWithoutWeights(o.model!) ? await mkdtemp(join(tmpdir(), 'tuna-scratch-')) : undefined;
  if (scratchDir) await copyFile(join(o.model!, 'config.json'), join(scratchDir, 'config.json'));
  let model: PreTrainedModel;
  try {
    model = await asError(() =>
      load.fromPretrained(scratchDir ?? modelSource, {
        id2label: labels.toConfig().id2label,
        problemType: o.multiLabel ? 'multi_label_classification' : task === 'text-classification' ? 'single_label_classification' : undefined,
        seed: args.seed,
        threads: args.threads,
        initMissingWeights: !!o.fromScratch,
      }),
    );
  } finally {
    if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
  }
  if (maxLength > model.maxSequenceLength) {
    throw new CliError(
      'usage',
      `--max-length ${maxLength} exceeds the ${model.maxSequenceLength} tokens the model's position embeddings cover (max_position_embeddings ${model.config.max_position_embeddings})`,
    );
  }
  if (resuming) {
    // The weights come from the checkpoint, not from --model: what loading initialised does not matter.
    const from = o.resumeFromCheckpoint ?? (await listCheckpoints(o.output)).at(-1)?.dir;
    if (from) say(`resuming from ${from}: weights, optimizer state and schedule come from the checkpoint`);
  } else if (o.fromScratch) {
    say(`--from-scratch: every weight of the model starts random (seed ${args.seed ?? 42})`);
  } else {
    const r = model.loadReport;
    if (r.mismatched.length) say(`new head for ${labels.size} labels: re-initialised ${r.mismatched.map((m) => m.name).join(', ')}`);
    if (r.missing.length) say(`initialised ${r.missing.length} parameters the checkpoint lacks (${r.missing.slice(0, 4).join(', ')}${r.missing.length > 4 ? ', ...' : ''})`);
  }
  const learningRate = await startRun(o, { learningRate: args.learningRate, hiddenSize: Number(model.config.hidden_size), resuming }, say);

  const multiLabel = !!o.multiLabel;
  const trainFeatures = await asError(async () => featuresOf(tokenizer, trainSet, labels, maxLength, multiLabel));
  const evalFeatures = validationSet ? await asError(async () => featuresOf(tokenizer, validationSet!, labels, maxLength, multiLabel)) : undefined;
  const testFeatures = testSet ? await asError(async () => featuresOf(tokenizer, testSet!, labels, maxLength, multiLabel)) : undefined;
  say(
    `${task}: ${trainFeatures.length} training examples${evalFeatures ? `, ${evalFeatures.length} validation` : ''}${testFeatures ? `, ${testFeatures.length} test` : ''}; ` +
      `${labels.size} labels; model ${modelSource} (${(model.store.count() / 1e6).toFixed(1)}M parameters)`,
  );

  const trainer = await asError(
    async () =>
      new Trainer({
        model,
        args: { ...args, learningRate, metricForBestModel: args.metricForBestModel ?? (evalFeatures ? 'f1' : undefined) },
        trainDataset: trainFeatures,
        evalDataset: evalFeatures,
        tokenizer,
        computeMetrics: metricsFor(kind, labels, scoring),
        peft: peftFlags(o, o.revision === undefined ? modelSource : o.model!),
        callbacks: [progressCallback(args.progress ?? 'auto', out === processOutput ? process.stderr : { write: (s: string) => (out.stderr(s), true) })],
      }),
  );
  if (trainer.peft) {
    const { trainable, total } = trainer.peft.counts();
    say(`--peft ${trainer.peft.method}: training ${trainable} of ${total} parameters (${((100 * trainable) / total).toFixed(2)}%); ${o.output} will hold the adapter`);
  }
  const result = await trainInterruptibly(trainer, o, say);

  await mkdir(o.output, { recursive: true });
  // The data layout, so that evaluating on more data of the same layout needs no flags repeated.
  await writeDataConfig(o.output, {
    task,
    textColumn: task === 'text-classification' ? o.textColumn : undefined,
    textPairColumn: task === 'text-classification' ? o.textPairColumn : undefined,
    labelColumn: task === 'text-classification' ? o.labelColumn : undefined,
    tokensColumn: task === 'token-classification' ? o.tokensColumn : undefined,
    tagsColumn: task === 'token-classification' && o.tagsColumn !== 'tags' ? o.tagsColumn : undefined,
    multiLabel: !!o.multiLabel,
    labelSeparator: o.multiLabel ? (o.labelSeparator ?? ',') : undefined,
    labelList,
  });
  const written = [trainer.peft ? 'adapter' : 'model', 'tuna_data_config.json', METRICS_LOG, LEARNING_CURVE, 'train_results.json'];
  const summary: Record<string, unknown> = { output: o.output, global_step: result.globalStep, train: result.metrics, learning_rate: learningRate, unknown_rate: unknownRate };
  for (const [name, features] of [
    ['eval', evalFeatures],
    ['test', testFeatures],
  ] as const) {
    if (!features) continue;
    const { prediction, loss } = await predictDataset(model, features, { batchSize: trainer.args.perDeviceEvalBatchSize });
    const report = taskReport(kind, prediction, labels, scoring);
    const file = name === 'eval' ? 'validation' : 'test';
    written.push(`${file}_report.txt`, `${file}_results.json`);
    await writeFileAtomic(join(o.output, `${file}_report.txt`), new TextEncoder().encode(report.text));
    await writeFileAtomic(join(o.output, `${file}_results.json`), new TextEncoder().encode(toJson({ loss, ...report.json }) + '\n'));
    summary[file] = { loss, ...report.metrics };
    if (!o.json) out.stdout(`\n${file} set (${features.length} examples)\n${report.text}`);
  }
  await model.dispose();
  summary.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  if (o.json) out.stdout(`${toJson(summary)}\n`);
  else out.stdout(`\n${written.slice(0, -1).join(', ')} and ${written.at(-1)} written to ${o.output}\n`);
}
