/**
 * From model outputs to what a user reads: predicted labels, scikit-learn-style classification
 * reports, seqeval-style entity reports, and the metrics the Trainer tracks.
 */
import type { LabelMap } from '../data/index.js';
import {
  type EntityMode,
  type TagScheme,
  canonicalScheme,
  checkScheme,
  classificationReport,
  confusionMatrix,
  detectScheme,
  entityReport,
  formatClassificationReport,
  formatConfusionMatrix,
  formatEntityReport,
  multiLabelClassificationReport,
  reportToJson,
} from '../metrics/index.js';
import type { ComputeMetrics } from '../train/trainer.js';
import type { EvalPrediction, TaskKind } from '../train/evaluate.js';
import { argmax } from '../train/losses.js';

/** Label sets larger than this get no confusion matrix (it grows with the square of the labels). */
export const CONFUSION_MATRIX_MAX_LABELS = 1000;

/** A report as text (for people) and as JSON (for programs), with headline metrics. */
export interface TaskReport {
  readonly text: string;
  readonly json: Record<string, unknown>;
  /** Headline numbers, e.g. `accuracy`, `f1` (macro), or entity `f1` (micro). */
  readonly metrics: Record<string, number>;
}

/** Gold and predicted label names per text (single-label). */
export function singleLabelPairs(p: EvalPrediction, labels: LabelMap): { yTrue: string[]; yPred: string[] } {
  const yTrue: string[] = [];
  const yPred: string[] = [];
  p.logits.forEach((row, i) => {
    yTrue.push(labels.label(p.labels[i] as number));
    yPred.push(labels.label(argmax(row, 0, p.numLabels)));
  });
  return { yTrue, yPred };
}

/** Gold and predicted label sets per text (multi-label: a label is predicted when its sigmoid is at least `threshold`). */
export function multiLabelPairs(p: EvalPrediction, labels: LabelMap, threshold = 0.5): { yTrue: string[][]; yPred: string[][] } {
  const cut = Math.log(threshold / (1 - threshold));
  const yTrue: string[][] = [];
  const yPred: string[][] = [];
  p.logits.forEach((row, i) => {
    const gold = p.labels[i] as Float32Array;
    yTrue.push(labels.labels.filter((_, j) => gold[j]! >= 0.5));
    yPred.push(labels.labels.filter((_, j) => row[j]! >= cut));
  });
  return { yTrue, yPred };
}

/**
 * Word-level gold and predicted tags: one per word. The prediction of a word is that of its first
 * labelled sub-token. When the features carry every word's gold tag (`wordLabels`, as
 * tokenFeatures makes them), words cut off by truncation keep their gold tag and are predicted
 * `O`, so entities the model never saw count as missed and the support is the file's; otherwise
 * only the labelled tokens are scored.
 */
export function wordTagPairs(p: EvalPrediction, labels: LabelMap): { yTrue: string[][]; yPred: string[][] } {
  const yTrue: string[][] = [];
  const yPred: string[][] = [];
  const outside = labels.has('O') ? 'O' : undefined;
  p.logits.forEach((rows, i) => {
    const gold = p.labels[i] as Int32Array;
    const feature = p.features[i];
    const words = feature?.wordLabels;
    const wordIds = feature?.wordIds;
    if (words && wordIds && outside !== undefined) {
      const t = Array.from(words, (id) => labels.label(id));
      const q = t.map(() => outside);
      const seen = new Set<number>();
      for (let k = 0; k < gold.length; k++) {
        const w = wordIds[k]!;
        if (gold[k]! < 0 || w < 0 || seen.has(w) || w >= q.length) continue;
        seen.add(w);
        q[w] = labels.label(argmax(rows, k * p.numLabels, p.numLabels));
      }
      yTrue.push(t);
      yPred.push(q);
      return;
    }
    const t: string[] = [];
    const q: string[] = [];
    for (let k = 0; k < gold.length; k++) {
      if (gold[k]! < 0) continue;
      t.push(labels.label(gold[k]!));
      q.push(labels.label(argmax(rows, k * p.numLabels, p.numLabels)));
    }
    yTrue.push(t);
    yPred.push(q);
  });
  return { yTrue, yPred };
}

/** Whether tags look like BIOES (any S- or E- tag) rather than BIO. */
export function tagScheme(tags: readonly string[]): 'BIO' | 'BIOES' {
  return tags.some((t) => /^[SE]-/.test(t)) ? 'BIOES' : 'BIO';
}

/**
 * How entity scores read entities (token classification): seqeval's lenient default mode, or its
 * strict mode with a tagging scheme (default: detected from the label set).
 */
export interface EntityScoring {
  readonly mode?: EntityMode;
  readonly scheme?: TagScheme;
}

/**
 * Checks entity-scoring options against a label set before any work: a scheme only with strict
 * mode, and every tag of the label set written in the scheme. Returns the options with the scheme
 * filled in for strict mode.
 *
 * @throws MetricsError naming the tag that does not fit the scheme.
 */
export function resolveEntityScoring(scoring: EntityScoring, labels: LabelMap): EntityScoring {
  if (scoring.mode !== 'strict') return { mode: 'default' };
  const scheme = canonicalScheme(scoring.scheme ?? detectScheme(labels.labels));
  checkScheme(labels.labels, scheme);
  return { mode: 'strict', scheme };
}

/** The metric names (without `eval_`) that an evaluation of `task` produces: `loss` and the headline numbers of {@link taskReport}. */
export function metricNames(task: TaskKind): string[] {
  const headline =
    task === 'single_label'
      ? ['accuracy', 'f1', 'precision', 'recall', 'f1_weighted']
      : task === 'multi_label'
        ? ['f1', 'f1_macro', 'subset_accuracy']
        : ['precision', 'recall', 'f1', 'accuracy'];
  return ['loss', ...headline];
}

/** Options of {@link taskReport}: digits of the text report, and (token classification) how entities are read. */
export interface TaskReportOptions extends EntityScoring {
  /** Digits of the numbers in the text report (default 4). */
  readonly digits?: number;
}

/**
 * The full report of a task on a labelled prediction. `options` is the number of digits, or
 * {@link TaskReportOptions}: for token classification `{ mode: 'strict', scheme: 'IOBES' }` reads
 * entities as seqeval's strict mode does (default: its lenient mode).
 */
export function taskReport(task: TaskKind, p: EvalPrediction, labels: LabelMap, options: number | TaskReportOptions = {}): TaskReport {
  const scoring: TaskReportOptions = typeof options === 'number' ? { digits: options } : options;
  const digits = scoring.digits ?? 4;
  if (task === 'single_label') {
    const { yTrue, yPred } = singleLabelPairs(p, labels);
    const report = classificationReport(yTrue, yPred, { labels: labels.labels, digits });
    const json = reportToJson(report) as Record<string, unknown>;
    const cm = labels.size <= CONFUSION_MATRIX_MAX_LABELS ? confusionMatrix(yTrue, yPred, labels.labels) : undefined;
    const matrixText = cm
      ? `confusion matrix (rows: true label, columns: predicted)\n${formatConfusionMatrix(cm)}`
      : `confusion matrix left out: ${labels.size} labels (more than ${CONFUSION_MATRIX_MAX_LABELS})\n`;
    return {
      text: `${formatClassificationReport(report, digits)}\n${matrixText}`,
      json: cm ? { ...json, confusion_matrix: cm } : json,
      metrics: {
        accuracy: report.accuracy ?? Number.NaN,
        f1: report['macro avg']['f1-score'],
        precision: report['macro avg'].precision,
        recall: report['macro avg'].recall,
        f1_weighted: report['weighted avg']['f1-score'],
      },
    };
  }
  if (task === 'multi_label') {
    const { yTrue, yPred } = multiLabelPairs(p, labels);
    const report = multiLabelClassificationReport(yTrue, yPred, { labels: labels.labels, digits });
    const exact = yTrue.filter((t, i) => t.join('\u0000') === yPred[i]!.join('\u0000')).length / Math.max(1, yTrue.length);
    return {
      text: formatClassificationReport(report, digits),
      json: { ...(reportToJson(report) as Record<string, unknown>), subset_accuracy: exact },
      metrics: { f1: report['micro avg']!['f1-score'], f1_macro: report['macro avg']['f1-score'], subset_accuracy: exact },
    };
  }
  const { yTrue, yPred } = wordTagPairs(p, labels);
  const strict = scoring.mode === 'strict';
  const scheme = strict ? canonicalScheme(scoring.scheme ?? detectScheme(labels.labels)) : tagScheme(labels.labels);
  const entities = entityReport(yTrue, yPred, strict ? { mode: 'strict', scheme, digits } : { digits });
  const flatTrue = yTrue.flat();
  const flatPred = yPred.flat();
  const tags = classificationReport(flatTrue, flatPred, { labels: labels.labels, digits });
  const micro = entities['micro avg']!;
  return {
    text: `entities (${strict ? `strict ${scheme}` : scheme}, seqeval-style)\n${formatEntityReport(entities, digits)}\nword-level tags\n${formatClassificationReport(tags, digits)}`,
    json: { ...(reportToJson(tags) as Record<string, unknown>), entity: reportToJson(entities) },
    metrics: { precision: micro.precision, recall: micro.recall, f1: micro['f1-score'], accuracy: tags.accuracy ?? Number.NaN },
  };
}

/** The Trainer's `computeMetrics` for a task: the headline numbers of {@link taskReport} (entity scores read as `scoring` says). */
export function metricsFor(task: TaskKind, labels: LabelMap, scoring: EntityScoring = {}): ComputeMetrics {
  return (p) => {
    const m = taskReport(task, p, labels, scoring).metrics;
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 1e6) / 1e6]));
  };
}
