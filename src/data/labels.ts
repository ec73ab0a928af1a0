/** Label sets of classifiers and their ids. */
import { TunaError } from '../errors.js';
import { DataError, excerpt } from './errors.js';

/** The largest label id a label set may have (ids in between without a name are `LABEL_<id>`). */
export const MAX_LABEL_ID = 1_000_000;

/** The problem part of an unknown-label error; `of` says whose label it is (e.g. `of word 3 ("Paris")`). */
export function unknownLabelProblem(label: string, labels: readonly string[], of?: string): string {
  const names = labels.slice(0, 12).map((l) => excerpt(l, 40));
  const shown = labels.length > 12 ? `${names.join(', ')}...` : names.join(', ');
  return `label "${excerpt(label)}"${of ? ` ${of}` : ''} is not one of the model's ${labels.length} labels (${shown}); retrain with it or fix the data`;
}

/**
 * The label set of a classifier and its ids: learned from training data (sorted, so the same
 * data always gives the same ids) or read from a checkpoint's `id2label`.
 *
 * @example
 * const labels = LabelMap.fromExamples(['pos', 'neg', 'pos']);
 * labels.labels; // ['neg', 'pos']
 * labels.id('pos'); // 1
 * labels.toConfig(); // { id2label: { '0': 'neg', '1': 'pos' }, label2id: { neg: 0, pos: 1 } }
 */
export class LabelMap {
  private readonly ids: Map<string, number>;
  /** The labels in id order. */
  readonly labels: readonly string[];

  private constructor(labels: readonly string[]) {
    this.labels = Object.freeze([...labels]);
    this.ids = new Map(this.labels.map((l, i) => [l, i]));
  }

  /**
   * The distinct labels of training data (single labels, or lists of labels for multi-label
   * examples and for the tags of token data), sorted by UTF-16 code units: ids do not depend on
   * the order of the examples.
   */
  static fromExamples(labels: Iterable<string | readonly string[]>): LabelMap {
    const set = new Set<string>();
    for (const l of labels) {
      if (typeof l === 'string') set.add(l);
      else for (const x of l) set.add(x);
    }
    return new LabelMap([...set].sort());
  }

  /**
   * The labels of a checkpoint's config.json `id2label` (keys "0".."n-1"); an id missing in
   * between gets Hugging Face's default name `LABEL_<id>`.
   */
  static fromConfig(id2label: Readonly<Record<string, string>>): LabelMap {
    let n = 0;
    for (const k of Object.keys(id2label)) if (/^\d+$/.test(k)) n = Math.max(n, Number(k) + 1);
    if (n > MAX_LABEL_ID + 1) {
      throw new TunaError('invalid_config', `id2label has the label id ${n - 1}, more than the ${MAX_LABEL_ID} a label set may reach; number the labels 0, 1, 2, ...`, {
        field: 'id2label',
      });
    }
    return new LabelMap(Array.from({ length: n }, (_, i) => (Object.hasOwn(id2label, String(i)) ? id2label[String(i)]! : `LABEL_${i}`)));
  }

  /** The number of labels. */
  get size(): number {
    return this.labels.length;
  }

  /** Whether `label` is one of the labels. */
  has(label: string): boolean {
    return this.ids.has(label);
  }

  /**
   * The id of `label`.
   *
   * @param where The example it comes from, named in the error.
   * @throws DataError for a label the map does not have.
   */
  id(label: string, where?: { file: string; line: number }): number {
    const id = this.ids.get(label);
    if (id === undefined) throw new DataError(where?.file ?? '(data)', where?.line, unknownLabelProblem(label, this.labels), 'label');
    return id;
  }

  /**
   * The label of `id`.
   *
   * @throws RangeError for an id outside 0..size-1.
   */
  label(id: number): string {
    const l = this.labels[id];
    if (l === undefined) throw new RangeError(`label id ${id} is outside 0..${this.labels.length - 1}`);
    return l;
  }

  /** `id2label` and `label2id` as a Hugging Face config.json holds them. */
  toConfig(): { id2label: Record<string, string>; label2id: Record<string, number> } {
    // Object.fromEntries defines own properties: a label named `__proto__` is kept as a key.
    return {
      id2label: Object.fromEntries(this.labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(this.labels.map((l, i) => [l, i])),
    };
  }

  /** Whether both maps have the same labels with the same ids. */
  equals(other: LabelMap): boolean {
    return this.labels.length === other.labels.length && this.labels.every((l, i) => other.labels[i] === l);
  }
}
