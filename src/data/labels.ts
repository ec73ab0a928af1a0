import { DataError } from './errors.js';

/**
 * The label set of a classifier and its ids: learned from training data (sorted, so the same data
 * always gives the same ids) or read from a checkpoint's `id2label`.
 */
export class LabelMap {
  private readonly ids: Map<string, number>;

  private constructor(readonly labels: readonly string[]) {
    this.ids = new Map(labels.map((l, i) => [l, i]));
  }

  /** The sorted set of labels seen in training data (tags of token data included). */
  static fromExamples(labels: Iterable<string | readonly string[]>): LabelMap {
    const set = new Set<string>();
    for (const l of labels) {
      if (typeof l === 'string') set.add(l);
      else for (const x of l) set.add(x);
    }
    return new LabelMap([...set].sort());
  }

  /** The labels of a checkpoint's config.json `id2label` (ids 0..n-1). */
  static fromConfig(id2label: Readonly<Record<string, string>>): LabelMap {
    const n = Object.keys(id2label).length;
    return new LabelMap(Array.from({ length: n }, (_, i) => id2label[String(i)] ?? `LABEL_${i}`));
  }

  get size(): number {
    return this.labels.length;
  }

  /** The id of `label`; an unknown label is a DataError naming `where` (file and line). */
  id(label: string, where?: { file: string; line: number }): number {
    const id = this.ids.get(label);
    if (id === undefined) {
      const known = this.labels.length > 12 ? `${this.labels.slice(0, 12).join(', ')}, ...` : this.labels.join(', ');
      const problem = `label "${label}" is not one of the model's ${this.labels.length} labels (${known}); fix the data or train a model that has it`;
      if (where) throw new DataError(where.file, where.line, problem, 'label');
      throw new DataError('(data)', undefined, problem, 'label');
    }
    return id;
  }

  has(label: string): boolean {
    return this.ids.has(label);
  }

  label(id: number): string {
    const l = this.labels[id];
    if (l === undefined) throw new RangeError(`label id ${id} is outside 0..${this.labels.length - 1}`);
    return l;
  }

  /** `id2label` and `label2id` as config.json holds them. */
  toConfig(): { id2label: Record<string, string>; label2id: Record<string, number> } {
    return {
      id2label: Object.fromEntries(this.labels.map((l, i) => [String(i), l])),
      label2id: Object.fromEntries(this.labels.map((l, i) => [l, i])),
    };
  }

  equals(other: LabelMap): boolean {
    return this.labels.length === other.labels.length && this.labels.every((l, i) => other.labels[i] === l);
  }
}
