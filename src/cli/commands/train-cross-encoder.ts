/**
 * `tuna train --task cross-encoder`: fine-tunes a sequence classifier on (query, passage) pairs
 * with sentence-transformers' cross-encoder losses (BinaryCrossEntropy by default, MSE, or
 * CrossEntropy over classes) through the Trainer, and writes a CrossEncoder directory.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { type Feature, collate, DataError, loadTextExamples, textFeatures, type TextExample } from '../../data/index.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { resolveModel } from '../../io/hub.js';
import { AutoModelForSequenceClassification, AutoTokenizer } from '../../models/auto.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../../models/bundled.js';
import type { PreTrainedModel } from '../../models/pretrained-model.js';
import { type CrossEncoderActivation, writeCrossEncoderLayout } from '../../sentence/cross-encoder-layout.js';
import { binaryScores } from '../../sentence/cross-encoder.js';
import { binaryCrossEntropy, crossEntropy } from '../../train/losses.js';
import { prepareOutputDir } from '../../train/output-dir.js';
import { progressCallback } from '../../train/progress.js';
import { Trainer } from '../../train/trainer.js';
import { CliError } from '../errors.js';
import { type Output, processOutput, toJson } from '../output.js';
import { packageVersion } from '../../io/version.js';
import { trainInterruptibly } from './interruptible.js';
import { asError, choice, integer } from './options.js';
import { inLockedOutput, startRun } from './run-start.js';
import { type TrainOptions, trainingArguments } from './train.js';

/** The cross-encoder losses, by their CLI names. */
export const CROSS_ENCODER_LOSSES = ['bce', 'mse', 'cross-entropy'] as const;
export type CrossEncoderLoss = (typeof CROSS_ENCODER_LOSSES)[number];

/** The flags of `tuna train --task cross-encoder` beyond the common ones. */
export interface CrossEncoderTrainFlags extends TrainOptions {
  readonly queryColumn?: string;
  readonly passageColumn?: string;
  readonly loss?: string;
}

/** Adds the cross-encoder flags to the train command. */
export function crossEncoderTrainOptions(c: Command): Command {
  return c
    .option('--query-column <name>', 'cross-encoder: column with the query (default query)')
    .option('--passage-column <name>', 'cross-encoder: column with the passage (default passage)');
}

/** The examples of a cross-encoder data file, with labels as numbers (bce, mse) or class ids. */
export interface CrossEncoderData {
  readonly examples: readonly TextExample[];
  /** One number per example: a 0..1 target (bce), a score (mse), or a class id (cross-entropy). */
  readonly targets: readonly number[];
  /** Class names by id (cross-entropy). */
  readonly classes?: readonly string[];
}

/** The header (CSV/TSV) or the first record's keys (JSONL) of a data file. */
async function columnsOf(path: string): Promise<string[]> {
  let head: string;
  try {
    head = (await readFile(path, 'utf8')).slice(0, 65536).replace(/^\uFEFF/, '');
  } catch {
    return [];
  }
  const first = head.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.tsv') return first.split(ext === '.tsv' ? '\t' : ',').map((c) => c.trim().replace(/^"|"$/g, ''));
  try {
    return Object.keys(JSON.parse(first) as object);
  } catch {
    return [];
  }
}

/**
 * Reads (query, passage, label) rows: columns `query`, `passage` and `label` (or `score` when
 * there is no `label` column), names overridable. Labels are numbers for `bce` (in [0, 1]) and
 * `mse`; classes (names or integer ids) for `cross-entropy`, mapped to ids in sorted order
 * (numerically for integer ids), or by `classes` when given (a validation set uses the training
 * set's).
 *
 * @throws DataError naming the file, line and field of a missing column, an empty text or a label
 *   that is not a number in range.
 */
export async function readCrossEncoderData(
  path: string,
  opts: { queryColumn?: string; passageColumn?: string; labelColumn?: string; loss: CrossEncoderLoss; classes?: readonly string[] },
): Promise<CrossEncoderData> {
  let label = opts.labelColumn ?? 'label';
  if (label === 'label') {
    const columns = await columnsOf(path);
    if (!columns.includes('label') && columns.includes('score')) label = 'score';
  }
  const examples = await loadTextExamples(path, { columns: { text: opts.queryColumn ?? 'query', textPair: opts.passageColumn ?? 'passage', label } });
  const where = (e: TextExample) => [e.file ?? path, e.line] as const;
  for (const e of examples) {
    if (e.textPair === undefined) {
      throw new DataError(...where(e), `has no passage in "${opts.passageColumn ?? 'passage'}"; a cross-encoder trains on (query, passage) pairs`, opts.passageColumn ?? 'passage');
    }
    if (Array.isArray(e.label)) throw new DataError(...where(e), `has several labels in "${label}"; give one number or class`, label);
  }
  if (opts.loss === 'cross-entropy') {
    const names = opts.classes ?? sortedClasses(examples.map((e) => String(e.label).trim()));
    const ids = new Map(names.map((n, i) => [n, i]));
    const targets = examples.map((e) => {
      const id = ids.get(String(e.label).trim());
      if (id === undefined) throw new DataError(...where(e), `has the class "${String(e.label)}", which the training data does not have (${names.join(', ')})`, label);
      return id;
    });
    return { examples, targets, classes: names };
  }
  const targets = examples.map((e) => {
    const raw = String(e.label).trim();
    const v = raw === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(v))
      throw new DataError(...where(e), `"${label}" is ${JSON.stringify(e.label)}, not a number; give 0/1 or a score in [0, 1] (or train classes with --loss cross-entropy)`, label);
    if (opts.loss === 'bce' && (v < 0 || v > 1)) {
      throw new DataError(...where(e), `"${label}" is ${v}, outside [0, 1]; binary cross-entropy needs 0/1 labels or scores in [0, 1] (use --loss mse for other scores)`, label);
    }
    return v;
  });
  return { examples, targets };
}

function sortedClasses(labels: readonly string[]): string[] {
  const set = [...new Set(labels)];
  return set.every((l) => /^\d+$/.test(l)) ? set.sort((a, b) => Number(a) - Number(b)) : set.sort();
}

/** The Hugging Face problem type that gives each loss (the Trainer's graph computes it). */
const PROBLEM = { bce: 'multi_label_classification', mse: 'regression', 'cross-entropy': 'single_label_classification' } as const;
/** The activation saved for `predict`: probabilities for bce, the score itself for mse, logits for classes. */
const ACTIVATION: Record<CrossEncoderLoss, CrossEncoderActivation> = { bce: 'sigmoid', mse: 'identity', 'cross-entropy': 'identity' };

/** Features with the loss's labels: a one-element target (bce, mse) or a class id. */
function featuresOf(data: CrossEncoderData, tokenizer: Parameters<typeof textFeatures>[0], maxLength: number, loss: CrossEncoderLoss): Feature[] {
  const features = textFeatures(tokenizer, data.examples, undefined, { maxLength });
  features.forEach((f, i) => {
    f.labels = loss === 'cross-entropy' ? data.targets[i]! : Float32Array.of(data.targets[i]!);
  });
  return features;
}

/** Batches for the loss: float targets [B, 1] for bce, [B] for mse, class ids [B] for cross-entropy. */
export function crossEncoderCollator(padId: number, loss: CrossEncoderLoss) {
  return (features: readonly Feature[], indices: readonly number[]) => {
    const batch = collate(features, indices, { padId, task: loss === 'cross-entropy' ? 'single_label' : 'multi_label' });
    if (loss === 'mse' && batch.labels) batch.labels = { ...batch.labels, dims: [indices.length] };
    return batch;
  };
}

/** Validation scores: the loss, and for 0/1 labels accuracy, F1 and average precision at 0.5; accuracy for classes. */
export async function evaluateCrossEncoder(model: PreTrainedModel, features: readonly Feature[], targets: readonly number[], loss: CrossEncoderLoss, batchSize: number) {
  const n = model.numLabels;
  const unlabelled = features.map(({ labels: _labels, ...f }) => f);
  const logits: number[][] = [];
  for (let i = 0; i < features.length; i += batchSize) {
    const indices = [...Array(Math.min(batchSize, features.length - i)).keys()].map((k) => i + k);
    const batch = collate(unlabelled, indices, { padId: model.config.pad_token_id, task: 'single_label' });
    const out = (await model.forward(batch)).logits!.data as Float32Array;
    indices.forEach((_, b) => logits.push(Array.from(out.subarray(b * n, (b + 1) * n))));
  }
  let sum = 0;
  logits.forEach((row, i) => {
    const y = targets[i]!;
    sum += loss === 'bce' ? binaryCrossEntropy(row, 0, [y]) : loss === 'mse' ? (row[0]! - y) ** 2 : crossEntropy(row, 0, n, y);
  });
  const metrics: Record<string, number> = { loss: sum / Math.max(1, logits.length) };
  if (loss === 'cross-entropy') {
    metrics.accuracy = logits.filter((row, i) => row.indexOf(Math.max(...row)) === targets[i]).length / Math.max(1, logits.length);
  } else if (targets.every((y) => y === 0 || y === 1)) {
    const scores = logits.map((row) => (loss === 'bce' ? 1 / (1 + Math.exp(-row[0]!)) : row[0]!));
    const s = binaryScores(scores, targets);
    Object.assign(metrics, { accuracy: s.accuracy, f1: s.f1, precision: s.precision, recall: s.recall, average_precision: s.average_precision });
  }
  return metrics;
}

/** `tuna train --task cross-encoder`. */
export async function crossEncoderTrainCommand(o: CrossEncoderTrainFlags, out: Output): Promise<void> {
  const say = (s: string) => out.stderr(`${s}\n`);
  const loss = choice('--loss', o.loss ?? 'bce', CROSS_ENCODER_LOSSES) as CrossEncoderLoss;
  for (const [flag, value] of Object.entries({ '--multi-label': o.multiLabel, '--test': o.test, '--from-scratch': o.fromScratch, '--label-list': o.labelList })) {
    if (value !== undefined && value !== false) throw new CliError('usage', `${flag} does not apply to --task cross-encoder; leave it out`);
  }
  const args = trainingArguments(o);
  let maxLength = integer('--max-length', o.maxLength, 8);
  const resuming = !!o.resume || o.resumeFromCheckpoint !== undefined;
  await inLockedOutput(o, resuming, say, async () => {
    await asError(() => prepareOutputDir(o.output, { resume: resuming || !!o.overwriteOutputDir, remedies: { overwrite: '--overwrite-output-dir', resume: '--resume' } }));
    const columns = { queryColumn: o.queryColumn, passageColumn: o.passageColumn, labelColumn: o.labelColumn, loss };
    const train = await asError(() => readCrossEncoderData(o.train, columns));
    const validation = o.validation ? await asError(() => readCrossEncoderData(o.validation!, { ...columns, classes: train.classes })) : undefined;
    if (loss === 'cross-entropy' && train.classes!.length < 2)
      throw new CliError('invalid_data', `${o.train}: every example has the class "${train.classes![0]}"; cross-entropy needs at least two`, { file: o.train });
    let modelSource = o.model;
    if (modelSource === undefined) {
      const lang = detectLanguage(train.examples.map((e) => e.text));
      if (!hasBundledModel(lang)) throw new CliError('usage', `no --model given and the bundled ${lang} model is missing from this installation; name a checkpoint with --model`);
      modelSource = bundledModelDir(lang);
      say(`no --model: using the bundled ${lang === 'zh' ? 'Chinese' : 'English'} model (${modelSource})`);
    } else if (o.revision !== undefined) {
      modelSource = await asError(() => resolveModel(modelSource!, { revision: o.revision }));
    }
    const id2label = loss === 'cross-entropy' ? Object.fromEntries(train.classes!.map((c, i) => [String(i), c])) : { '0': 'LABEL_0' };
    const model = await asError(() =>
      AutoModelForSequenceClassification.fromPretrained(modelSource!, { id2label, problemType: PROBLEM[loss], seed: args.seed, threads: args.threads }),
    );
    const r = model.loadReport;
    if (r.mismatched.length) say(`new head for ${model.numLabels} label(s): re-initialised ${r.mismatched.map((m) => m.name).join(', ')}`);
    if (r.missing.length) say(`initialised ${r.missing.length} parameters the checkpoint lacks (${r.missing.slice(0, 4).join(', ')})`);
    if (maxLength > model.maxSequenceLength) {
      say(`--max-length ${maxLength}: the model embeds ${model.maxSequenceLength} positions; pairs are cut at ${model.maxSequenceLength} tokens`);
      maxLength = model.maxSequenceLength;
    }
    const tokenizer = await asError(() => AutoTokenizer.fromPretrained(modelSource!));
    tokenizer.modelMaxLength = maxLength;
    const learningRate = await startRun(o, { learningRate: args.learningRate, hiddenSize: Number(model.config.hidden_size), resuming }, say);
    const trainFeatures = featuresOf(train, tokenizer, maxLength, loss);
    const evalFeatures = validation ? featuresOf(validation, tokenizer, maxLength, loss) : undefined;
    say(
      `cross-encoder: ${trainFeatures.length} training pairs${evalFeatures ? `, ${evalFeatures.length} validation` : ''}; loss ${loss}; ` +
        `model ${modelSource} (${(model.store.count() / 1e6).toFixed(1)}M parameters)`,
    );
    const evalBatch = args.perDeviceEvalBatchSize ?? 2 * (args.perDeviceTrainBatchSize ?? 32);
    const trainer = await asError(
      async () =>
        new Trainer({
          model,
          args: { ...args, learningRate, metricForBestModel: args.metricForBestModel ?? (evalFeatures ? 'loss' : undefined) },
          trainDataset: trainFeatures,
          evalDataset: evalFeatures,
          tokenizer,
          dataCollator: crossEncoderCollator(model.config.pad_token_id, loss),
          ...(evalFeatures ? { evaluate: () => evaluateCrossEncoder(model, evalFeatures, validation!.targets, loss, evalBatch) } : {}),
          callbacks: [progressCallback(args.progress ?? 'auto', out === processOutput ? process.stderr : { write: (s: string) => (out.stderr(s), true) })],
        }),
    );
    const result = await trainInterruptibly(trainer, o, say);
    const activation = ACTIVATION[loss];
    await asError(() => writeCrossEncoderLayout(o.output, activation, { tuna: packageVersion() }));
    const summary: Record<string, unknown> = { output: o.output, global_step: result.globalStep, loss, activation, train: result.metrics, learning_rate: learningRate };
    if (evalFeatures) {
      const scores = await evaluateCrossEncoder(model, evalFeatures, validation!.targets, loss, evalBatch);
      summary.validation = scores;
      await writeFileAtomic(join(o.output, 'validation_results.json'), new TextEncoder().encode(`${toJson(scores)}\n`));
      if (!o.json)
        out.stdout(
          `\nvalidation (${evalFeatures.length} pairs): ${Object.entries(scores)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join(', ')}\n`,
        );
    }
    await writeFileAtomic(join(o.output, 'train_results.json'), new TextEncoder().encode(`${toJson(summary)}\n`));
    await model.dispose();
    if (o.json) out.stdout(`${toJson(summary)}\n`);
    else out.stdout(`CrossEncoder model (activation ${activation}), metrics.jsonl and train_results.json written to ${o.output}\n`);
  });
}
