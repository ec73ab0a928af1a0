import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.js';
import { AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer, type PreTrainedBert } from '../../models/auto.js';
import { type DataOptions, type TaskName, featuresOf, labelMapOf, readExamples, splitValidation } from '../../tasks/prepare.js';
import { metricsFor, taskReport } from '../../tasks/reports.js';
import type { IntervalStrategy, LrSchedulerType, ProgressMode, TrainingArguments } from '../../train/arguments.js';
import { predictDataset } from '../../train/evaluate.js';
import { progressCallback } from '../../train/progress.js';
import { Trainer } from '../../train/trainer.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import { CliError } from '../errors.js';
import { trainInterruptibly } from './interruptible.js';
import { type Output, processOutput, toJson } from '../output.js';
import { asError, choice, integer, number } from './options.js';

/** Options of `tuna train`, as commander parses them (numbers arrive as strings). */
export interface TrainOptions extends DataOptions {
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
  readonly lr: string;
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
    learningRate: number('--lr', o.lr, { min: 0, exclusive: true }),
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
  };
}

/**
 * `tuna train`: reads the data, learns the label set, loads the model with a fresh head for it,
 * fine-tunes with evaluation and checkpoints, then writes the final model, the reports, the
 * metrics log and the learning curve to `--output`. Ctrl-C saves a checkpoint; `--resume` goes on
 * from it.
 */
export async function trainCommand(o: TrainOptions, out: Output): Promise<void> {
  const task = choice('--task', o.task, ['text-classification', 'token-classification'] as const) as TaskName;
  const args = trainingArguments(o);
  const maxLength = integer('--max-length', o.maxLength, 8);
  const split = number('--validation-split', o.validationSplit, { min: 0, max: 0.9 });
  const say = (s: string) => out.stderr(`${s}\n`);

  const trainAll = await asError(() => readExamples(task, o.train, o));
  let modelSource = o.model ?? '';
  const labels = labelMapOf(trainAll);
  if (labels.size < 2 && !o.multiLabel) {
    throw new CliError('invalid_data', `${o.train}: all examples have the label "${labels.labels[0]}"; a classifier needs at least two labels`, { file: o.train });
  }
  let trainSet = trainAll;
  let validationSet = o.validation ? await asError(() => readExamples(task, o.validation!, o)) : undefined;
  if (!validationSet && split > 0) {
    const parts = splitValidation(trainAll, split, args.seed ?? 42);
    trainSet = parts.train;
    validationSet = parts.validation.items.length ? parts.validation : undefined;
  }
  const testSet = o.test ? await asError(() => readExamples(task, o.test!, o)) : undefined;

  if (!o.model) {
    const texts = trainAll.kind === 'text' ? trainAll.items.map((e) => e.text) : trainAll.items.map((e) => e.tokens.join(' '));
    const lang = detectLanguage(texts);
    if (!hasBundledModel(lang)) throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a checkpoint with --model`);
    modelSource = bundledModelDir(lang);
    say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${modelSource})`);
  }
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(modelSource));
  tokenizer.modelMaxLength = maxLength;
  const load = task === 'token-classification' ? AutoModelForTokenClassification : AutoModelForSequenceClassification;
  const model: PreTrainedBert = await asError(() =>
    load.fromPretrained(modelSource, {
      id2label: labels.toConfig().id2label,
      problemType: o.multiLabel ? 'multi_label_classification' : task === 'text-classification' ? 'single_label_classification' : undefined,
      seed: args.seed,
      threads: args.threads,
    }),
  );
  if (maxLength > model.config.max_position_embeddings) {
    throw new CliError('usage', `--max-length ${maxLength} exceeds the model's max_position_embeddings (${model.config.max_position_embeddings})`);
  }
  const r = model.loadReport;
  if (r.mismatched.length) say(`new head for ${labels.size} labels: re-initialised ${r.mismatched.map((m) => m.name).join(', ')}`);
  if (r.missing.length) say(`initialised ${r.missing.length} parameters the checkpoint lacks (${r.missing.slice(0, 4).join(', ')}${r.missing.length > 4 ? ', ...' : ''})`);

  const multiLabel = !!o.multiLabel;
  const trainFeatures = await asError(async () => featuresOf(tokenizer, trainSet, labels, maxLength, multiLabel));
  const evalFeatures = validationSet ? await asError(async () => featuresOf(tokenizer, validationSet!, labels, maxLength, multiLabel)) : undefined;
  const testFeatures = testSet ? await asError(async () => featuresOf(tokenizer, testSet!, labels, maxLength, multiLabel)) : undefined;
  say(
    `${task}: ${trainFeatures.length} training examples${evalFeatures ? `, ${evalFeatures.length} validation` : ''}${testFeatures ? `, ${testFeatures.length} test` : ''}; ` +
      `${labels.size} labels; model ${modelSource} (${(model.store.count() / 1e6).toFixed(1)}M parameters)`,
  );

  const kind = task === 'token-classification' ? 'token' : multiLabel ? 'multi_label' : 'single_label';
  const trainer = await asError(async () =>
    new Trainer({
      model,
      args: { ...args, metricForBestModel: args.metricForBestModel ?? (evalFeatures ? 'f1' : undefined) },
      trainDataset: trainFeatures,
      evalDataset: evalFeatures,
      tokenizer,
      computeMetrics: metricsFor(kind, labels),
      callbacks: [progressCallback(args.progress ?? 'auto', out === processOutput ? process.stderr : { write: (s: string) => (out.stderr(s), true) })],
    }),
  );
  const result = await trainInterruptibly(trainer, o, say);

  await mkdir(o.output, { recursive: true });
  const summary: Record<string, unknown> = { output: o.output, global_step: result.globalStep, train: result.metrics };
  for (const [name, features] of [['eval', evalFeatures], ['test', testFeatures]] as const) {
    if (!features) continue;
    const { prediction, loss } = await predictDataset(model, features, { batchSize: trainer.args.perDeviceEvalBatchSize });
    const report = taskReport(kind, prediction, labels);
    const file = name === 'eval' ? 'validation' : 'test';
    await writeFileAtomic(join(o.output, `${file}_report.txt`), new TextEncoder().encode(report.text));
    await writeFileAtomic(join(o.output, `${file}_results.json`), new TextEncoder().encode(toJson({ loss, ...report.json }) + '\n'));
    summary[file] = { loss, ...report.metrics };
    if (!o.json) out.stdout(`\n${file} set (${features.length} examples)\n${report.text}`);
  }
  await model.dispose();
  summary.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  if (o.json) out.stdout(`${toJson(summary)}\n`);
  else out.stdout(`\nmodel, reports, metrics.jsonl and learning_curve.svg written to ${o.output}\n`);
}
