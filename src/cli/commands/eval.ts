import { LabelMap } from '../../data/index.js';
import { AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer } from '../../models/auto.js';
import { readConfig } from '../../io/checkpoint.js';
import { resolveModel } from '../../io/hub.js';
import { type DataOptions, type TaskName, featuresOf, readExamples } from '../../tasks/prepare.js';
import { taskReport } from '../../tasks/reports.js';
import { predictDataset, taskKind } from '../../train/evaluate.js';
import { CliError } from '../errors.js';
import { type Output, toJson } from '../output.js';
import { asError, integer } from './options.js';

/** Options of `tuna eval`. */
export interface EvalOptions extends DataOptions {
  readonly model: string;
  readonly data: string;
  readonly batchSize: string;
  readonly threads?: string;
  readonly json?: boolean;
}

/**
 * `tuna eval --model DIR --data FILE`: runs a fine-tuned classifier over a labelled file and prints
 * the classification report (seqeval entity scores too for token classification); `--json` prints
 * one JSON document instead.
 */
export async function evalCommand(o: EvalOptions, out: Output): Promise<void> {
  const batchSize = integer('--batch-size', o.batchSize, 1);
  const threads = o.threads === undefined ? undefined : integer('--threads', o.threads, 1);
  const dir = await asError(() => resolveModel(o.model));
  const raw = await asError(() => readConfig(dir));
  const archs = (raw.architectures as string[] | undefined) ?? [];
  const task: TaskName | undefined = archs.includes('BertForTokenClassification')
    ? 'token-classification'
    : archs.includes('BertForSequenceClassification')
      ? 'text-classification'
      : undefined;
  if (!task) {
    throw new CliError('invalid_model', `${dir}: config.json architectures ${JSON.stringify(archs)} name no classifier; eval needs a model fine-tuned by tuna train (BertForSequenceClassification or BertForTokenClassification)`);
  }
  const load = task === 'token-classification' ? AutoModelForTokenClassification : AutoModelForSequenceClassification;
  const model = await asError(() => load.fromPretrained(dir, { initMissingWeights: false, threads }));
  const tokenizer = await asError(() => AutoTokenizer.fromPretrained(dir));
  const labels = LabelMap.fromConfig(model.config.id2label);
  const kind = taskKind(model);
  const multiLabel = kind === 'multi_label';
  const examples = await asError(() => readExamples(task, o.data, { ...o, multiLabel }));
  const maxLength = Math.min(tokenizer.modelMaxLength ?? model.config.max_position_embeddings, model.config.max_position_embeddings);
  const features = await asError(async () => featuresOf(tokenizer, examples, labels, maxLength, multiLabel));
  const t0 = performance.now();
  const { prediction, loss } = await predictDataset(model, features, { batchSize });
  const seconds = (performance.now() - t0) / 1000;
  await model.dispose();
  const report = taskReport(kind, prediction, labels);
  if (o.json) {
    out.stdout(`${toJson({ model: o.model, data: o.data, examples: features.length, loss, ...report.json })}\n`);
    return;
  }
  out.stdout(`${o.data}: ${features.length} examples, loss ${loss?.toFixed(4)}, ${(features.length / seconds).toFixed(1)} examples/s\n\n${report.text}`);
}
