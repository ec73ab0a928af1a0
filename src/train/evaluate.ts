/** Running a classifier over a dataset: logits per example in dataset order, and the loss when the data is labelled. */
import { type Feature, collate } from '../data/index.js';
import { TunaError } from '../errors.js';
import type { PreTrainedModel } from '../models/pretrained-model.js';
import { TrainingArgumentsError } from './arguments.js';
import { binaryCrossEntropy, crossEntropy } from './losses.js';

/** How the model's labels are shaped: one class per text, a set of classes per text, or one class per token. */
export type TaskKind = 'single_label' | 'multi_label' | 'token';

/** Model outputs on a dataset, one entry per example, in dataset order. */
export interface EvalPrediction {
  /** Logits: `[numLabels]` per text, or `[tokens * numLabels]` per example for token classification (padding excluded). */
  readonly logits: readonly Float32Array[];
  readonly labels: readonly Feature['labels'][];
  readonly numLabels: number;
  readonly features: readonly Feature[];
}

/** The kind of labels a model's head takes. */
export function taskKind(model: PreTrainedModel): TaskKind {
  const labels = model.headInfo.labels;
  if (labels === 'token') return 'token';
  if (labels !== 'sequence') {
    throw new TrainingArgumentsError('model', `fine-tuning and evaluation need a classifier; ${model.architecture} has no classification head`);
  }
  return model.config.problem_type === 'multi_label_classification' ? 'multi_label' : 'single_label';
}

/**
 * Runs `model` (dropout off) over `dataset` in batches of similar length and returns the logits of
 * every example in dataset order, plus the mean loss when every example has labels (per text, or
 * per labelled token for token classification).
 */
export async function predictDataset(model: PreTrainedModel, dataset: readonly Feature[], opts: { batchSize: number }): Promise<{ prediction: EvalPrediction; loss?: number }> {
  const task = taskKind(model);
  const n = model.numLabels;
  // Longest first, so batches hold examples of similar length; results go back to dataset order.
  const order = [...dataset.keys()].sort((x, y) => dataset[y]!.inputIds.length - dataset[x]!.inputIds.length);
  const logits: Float32Array[] = new Array(dataset.length);
  for (let i = 0; i < order.length; i += opts.batchSize) {
    const indices = order.slice(i, i + opts.batchSize);
    const batch = collate(dataset, indices, { padId: model.config.pad_token_id, task });
    delete batch.labels;
    const out = await model.forward(batch);
    const data = out.logits!.data as Float32Array;
    const T = batch.input_ids!.dims[1]!;
    indices.forEach((ex, b) => {
      logits[ex] = task === 'token' ? data.slice(b * T * n, (b * T + dataset[ex]!.inputIds.length) * n) : data.slice(b * n, (b + 1) * n);
    });
  }
  return predictionOf(task, n, dataset, logits, model.source || undefined);
}

/**
 * The prediction over `dataset` from its logits (one row per example, or per token of each example
 * for token classification), with the mean loss when every example has labels.
 *
 * @throws TunaError (`non_finite`, naming `source`, the model's directory) when a logit or the loss
 *   is NaN or infinite: metrics over such a model would be meaningless.
 */
export function predictionOf(
  task: TaskKind,
  numLabels: number,
  dataset: readonly Feature[],
  logits: readonly Float32Array[],
  source?: string,
): { prediction: EvalPrediction; loss?: number } {
  const n = numLabels;
  refuseNonFiniteLogits(logits, source);
  const labelled = dataset.length > 0 && dataset.every((f) => f.labels !== undefined);
  let lossSum = 0;
  let lossCount = 0;
  if (labelled) {
    dataset.forEach((f, ex) => {
      const rows = logits[ex]!;
      if (task === 'token') {
        const labels = f.labels as Int32Array;
        for (let t = 0; t < f.inputIds.length; t++) {
          if (labels[t]! < 0) continue;
          lossSum += crossEntropy(rows, t * n, n, labels[t]!);
          lossCount++;
        }
        return;
      }
      lossSum += task === 'multi_label' ? binaryCrossEntropy(rows, 0, f.labels as Float32Array) : crossEntropy(rows, 0, n, f.labels as number);
      lossCount++;
    });
  }
  const prediction: EvalPrediction = { logits, labels: dataset.map((f) => f.labels), numLabels: n, features: dataset };
  const loss = labelled && lossCount > 0 ? lossSum / lossCount : undefined;
  if (loss !== undefined && !Number.isFinite(loss)) {
    throw new TunaError(
      'non_finite',
      `${source ?? 'the model'}: the evaluation loss is ${loss}; the model's outputs cannot be scored. Use an earlier checkpoint, or retrain with a lower learning rate`,
      {
        file: source,
      },
    );
  }
  return { prediction, loss };
}

/** Throws `non_finite` at the first example whose logits hold NaN or an infinity. */
function refuseNonFiniteLogits(logits: readonly Float32Array[], source: string | undefined): void {
  logits.forEach((row, example) => {
    for (let i = 0; i < row.length; i++) {
      const v = row[i]!;
      if (v - v === 0) continue;
      throw new TunaError(
        'non_finite',
        `${source ?? 'the model'}: the logits of example ${example + 1} hold ${v}: its weights hold NaN/Inf or overflow (a diverged training run or a corrupt file), ` +
          'so no metric over them means anything. Use an earlier checkpoint, or retrain with a lower learning rate',
        { file: source },
      );
    }
  });
}
