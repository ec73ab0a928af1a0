/**
 * Classification reports with scikit-learn's definitions and layout: per-label precision, recall,
 * F1 and support, then accuracy (or micro average), macro and weighted averages.
 */
import { TunaError } from '../errors.js';
import { padLeft, pyFixed } from './format.js';

/**
 * An empty object without a prototype, for maps keyed by labels: a label named `__proto__` or
 * `constructor` is then an ordinary key, and JSON.stringify writes it like any other.
 */
export function labelRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** The largest of `values` and `floor`, without spreading them into arguments (the call stack limits those). */
export function maxOf(values: Iterable<number>, floor = Number.NEGATIVE_INFINITY): number {
  let max = floor;
  for (const v of values) if (v > max) max = v;
  return max;
}

/** The display width of a label: its code points. */
function widthOf(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Precision, recall, F1 and support of one label or one average. */
export interface Scores {
  precision: number;
  recall: number;
  'f1-score': number;
  support: number;
}

/** What a zero denominator gives: 0 (with a warning for 'warn'), 1, or NaN. */
export type ZeroDivision = 0 | 1 | 'warn' | 'nan';

/** Options of the report functions. */
export interface ReportOptions {
  /** Labels to report, in order (default: the sorted labels of the data). */
  readonly labels?: readonly string[];
  /** Decimals in the text layout (default 2). */
  readonly digits?: number;
  readonly zeroDivision?: ZeroDivision;
}

/** A report: one row per label, then the averages scikit-learn prints. */
export interface ClassificationReport {
  /** Rows in report order, keyed by label (an object without a prototype: any label is a plain key). */
  readonly labels: Record<string, Scores>;
  readonly labelOrder: readonly string[];
  /** Single-label reports over all present labels. */
  readonly accuracy?: number;
  /** Shown instead of accuracy when only some labels are reported, and for multi-label data. */
  readonly 'micro avg'?: Scores;
  readonly 'macro avg': Scores;
  readonly 'weighted avg': Scores;
  /** Multi-label only. */
  readonly 'samples avg'?: Scores;
  /** Total support (number of examples, or of true labels for multi-label data). */
  readonly support: number;
  /** Ill-defined scores that were set by the zero-division rule. */
  readonly warnings: string[];
}

/** Error raised for inputs a metric cannot be computed on. */
export class MetricsError extends TunaError {
  override name = 'MetricsError';
  constructor(message: string) {
    super('invalid_option', message);
  }
}

function divide(num: number, den: number, zd: ZeroDivision, warn: () => void): number {
  if (den !== 0) return num / den;
  if (zd === 'warn') warn();
  return zd === 'nan' ? Number.NaN : zd === 1 ? 1 : 0;
}

/** Scores from counts: true positives, predicted positives, actual positives. */
export function scoresFromCounts(tp: number, predicted: number, actual: number, zd: ZeroDivision, onWarn: (what: string) => void): Scores {
  const precision = divide(tp, predicted, zd, () => onWarn('precision'));
  const recall = divide(tp, actual, zd, () => onWarn('recall'));
  let f1: number;
  if (precision + recall === 0 || Number.isNaN(precision + recall)) {
    f1 = Number.isNaN(precision + recall) ? Number.NaN : 0;
  } else f1 = (2 * precision * recall) / (precision + recall);
  return { precision, recall, 'f1-score': f1, support: actual };
}

/** Unweighted and support-weighted means of per-label scores. */
export function averages(rows: readonly Scores[], zd: ZeroDivision): { macro: Scores; weighted: Scores } {
  const total = rows.reduce((t, r) => t + r.support, 0);
  const mean = (k: 'precision' | 'recall' | 'f1-score') => rows.reduce((t, r) => t + r[k], 0) / Math.max(1, rows.length);
  const weighted = (k: 'precision' | 'recall' | 'f1-score') =>
    total === 0 ? (zd === 'nan' ? Number.NaN : zd === 1 ? 1 : 0) : rows.reduce((t, r) => t + r[k] * r.support, 0) / total;
  return {
    macro: { precision: mean('precision'), recall: mean('recall'), 'f1-score': mean('f1-score'), support: total },
    weighted: { precision: weighted('precision'), recall: weighted('recall'), 'f1-score': weighted('f1-score'), support: total },
  };
}

function sortedUnion(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/** scikit-learn's `classification_report` for single-label data. */
export function classificationReport(yTrue: readonly string[], yPred: readonly string[], opts: ReportOptions = {}): ClassificationReport {
  if (yTrue.length !== yPred.length) throw new MetricsError(`${yTrue.length} true labels but ${yPred.length} predictions`);
  const zd = opts.zeroDivision ?? 'warn';
  const present = sortedUnion(yTrue, yPred);
  const labels = opts.labels ? [...opts.labels] : present;
  const index = new Map(labels.map((l, i) => [l, i]));
  const tp = new Array<number>(labels.length).fill(0);
  const predicted = new Array<number>(labels.length).fill(0);
  const actual = new Array<number>(labels.length).fill(0);
  let correct = 0;
  yTrue.forEach((t, i) => {
    const p = yPred[i]!;
    if (t === p) correct++;
    const ti = index.get(t);
    const pi = index.get(p);
    if (ti !== undefined) actual[ti]!++;
    if (pi !== undefined) predicted[pi]!++;
    if (t === p && ti !== undefined) tp[ti]!++;
  });
  const warnings: string[] = [];
  const rows = labelRecord<Scores>();
  labels.forEach((l, i) => {
    rows[l] = scoresFromCounts(tp[i]!, predicted[i]!, actual[i]!, zd, (what) =>
      warnings.push(`${what} of "${l}" is ill-defined (no ${what === 'precision' ? 'predicted' : 'true'} samples) and set to ${zd === 'warn' ? 0 : zd}`),
    );
  });
  const { macro, weighted } = averages(Object.values(rows), zd);
  const microIsAccuracy = !opts.labels || present.every((l) => index.has(l));
  const base = { labels: rows, labelOrder: labels, 'macro avg': macro, 'weighted avg': weighted, support: macro.support, warnings };
  if (microIsAccuracy) return { ...base, accuracy: yTrue.length ? correct / yTrue.length : 0 };
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const micro = scoresFromCounts(sum(tp), sum(predicted), sum(actual), zd, () => {});
  return { ...base, 'micro avg': micro };
}

/** scikit-learn's `classification_report` for multi-label data (label sets per example). */
export function multiLabelClassificationReport(yTrue: readonly (readonly string[])[], yPred: readonly (readonly string[])[], opts: ReportOptions = {}): ClassificationReport {
  if (yTrue.length !== yPred.length) throw new MetricsError(`${yTrue.length} true label sets but ${yPred.length} predictions`);
  const zd = opts.zeroDivision ?? 'warn';
  const labels = opts.labels ? [...opts.labels] : sortedUnion(yTrue.flat(), yPred.flat());
  const warnings: string[] = [];
  const rows = labelRecord<Scores>();
  const index = new Map(labels.map((l, i) => [l, i]));
  const tp = new Array<number>(labels.length).fill(0);
  const predicted = new Array<number>(labels.length).fill(0);
  const actual = new Array<number>(labels.length).fill(0);
  yTrue.forEach((t, i) => {
    const predictedSet = new Set(yPred[i]!);
    for (const l of new Set(t)) {
      const k = index.get(l);
      if (k === undefined) continue;
      actual[k]!++;
      if (predictedSet.has(l)) tp[k]!++;
    }
    for (const l of predictedSet) {
      const k = index.get(l);
      if (k !== undefined) predicted[k]!++;
    }
  });
  let tpAll = 0;
  let predAll = 0;
  let actualAll = 0;
  labels.forEach((l, k) => {
    tpAll += tp[k]!;
    predAll += predicted[k]!;
    actualAll += actual[k]!;
    rows[l] = scoresFromCounts(tp[k]!, predicted[k]!, actual[k]!, zd, (what) => warnings.push(`${what} of "${l}" is ill-defined and set to ${zd === 'warn' ? 0 : zd}`));
  });
  const { macro, weighted } = averages(Object.values(rows), zd);
  const micro = scoresFromCounts(tpAll, predAll, actualAll, zd, () => {});
  const known = new Set(labels);
  const perSample = yTrue.map((t, i) => {
    const tl = t.filter((x) => known.has(x));
    const pl = yPred[i]!.filter((x) => known.has(x));
    const inter = tl.filter((x) => pl.includes(x)).length;
    return scoresFromCounts(inter, pl.length, tl.length, zd, () => {});
  });
  const n = Math.max(1, perSample.length);
  const samples: Scores = {
    precision: perSample.reduce((t, s) => t + s.precision, 0) / n,
    recall: perSample.reduce((t, s) => t + s.recall, 0) / n,
    'f1-score': perSample.reduce((t, s) => t + s['f1-score'], 0) / n,
    support: actualAll,
  };
  return { labels: rows, labelOrder: labels, 'micro avg': micro, 'macro avg': macro, 'weighted avg': weighted, 'samples avg': samples, support: actualAll, warnings };
}

/** The report in scikit-learn's text layout. */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const averagesShown: [string, Scores][] = [];
  if (report['micro avg']) averagesShown.push(['micro avg', report['micro avg']]);
  averagesShown.push(['macro avg', report['macro avg']], ['weighted avg', report['weighted avg']]);
  if (report['samples avg']) averagesShown.push(['samples avg', report['samples avg']]);
  const nameWidth = maxOf(report.labelOrder.map(widthOf), 0);
  const width = Math.max(nameWidth, 'weighted avg'.length, digits);
  const row = (name: string, s: Scores) =>
    `${padLeft(name, width)} ${[s.precision, s.recall, s['f1-score']].map((v) => ` ${padLeft(pyFixed(v, digits), 9)}`).join('')} ${padLeft(String(s.support), 9)}\n`;
  let out = `${padLeft('', width)} ${headers.map((h) => ` ${padLeft(h, 9)}`).join('')}\n\n`;
  for (const l of report.labelOrder) out += row(l, report.labels[l]!);
  out += '\n';
  if (report.accuracy !== undefined) {
    out += `${padLeft('accuracy', width)} ${' '.repeat(10)}${' '.repeat(10)} ${padLeft(pyFixed(report.accuracy, digits), 9)} ${padLeft(String(report.support), 9)}\n`;
  }
  for (const [name, s] of averagesShown) out += row(name, s);
  return out;
}

/** The report as scikit-learn's `output_dict=True` shapes it. */
export function reportToJson(report: ClassificationReport): Record<string, Scores | number> {
  const out = labelRecord<Scores | number>();
  for (const l of report.labelOrder) out[l] = report.labels[l]!;
  if (report['micro avg']) out['micro avg'] = report['micro avg'];
  if (report.accuracy !== undefined) out.accuracy = report.accuracy;
  out['macro avg'] = report['macro avg'];
  out['weighted avg'] = report['weighted avg'];
  if (report['samples avg']) out['samples avg'] = report['samples avg'];
  return out;
}

/** Counts of (true, predicted) pairs: rows are true labels, columns predicted, as scikit-learn's `confusion_matrix`. */
export function confusionMatrix(yTrue: readonly string[], yPred: readonly string[], labels?: readonly string[]): { labels: string[]; matrix: number[][] } {
  if (yTrue.length !== yPred.length) throw new MetricsError(`${yTrue.length} true labels but ${yPred.length} predictions`);
  const order = labels ? [...labels] : sortedUnion(yTrue, yPred);
  const index = new Map(order.map((l, i) => [l, i]));
  const matrix = order.map(() => new Array<number>(order.length).fill(0));
  yTrue.forEach((t, i) => {
    const r = index.get(t);
    const c = index.get(yPred[i]!);
    if (r !== undefined && c !== undefined) matrix[r]![c]!++;
  });
  return { labels: order, matrix };
}

/** The confusion matrix as an aligned table; columns are numbered, with a key below. */
export function formatConfusionMatrix(cm: { labels: readonly string[]; matrix: readonly (readonly number[])[] }): string {
  const nameWidth = maxOf(cm.labels.map(widthOf), 4);
  let cell = Math.max(3, String(cm.labels.length - 1).length + 1);
  for (const row of cm.matrix)
    cell = maxOf(
      row.map((v) => String(v).length),
      cell,
    );
  const title = 'true \\ predicted';
  const lead = Math.max(nameWidth + 4, title.length);
  let out = `${padLeft(title, lead)}${cm.labels.map((_, j) => padLeft(`#${j}`, cell + 1)).join('')}\n`;
  cm.labels.forEach((l, i) => {
    out += `${padLeft(`${padLeft(l, nameWidth)} ${padLeft(`#${i}`, 3)}`, lead)}${cm.matrix[i]!.map((v) => padLeft(String(v), cell + 1)).join('')}\n`;
  });
  return out;
}
