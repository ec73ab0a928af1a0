/** Labelled few-shot data: texts (and optional pairs) with one class each, classes in sorted order. */
import { DataError, loadTextExamples } from '../data/index.js';

/** The examples of a few-shot file and its classes. */
export interface FewShotData {
  readonly examples: readonly { text: string; textPair?: string; label: number }[];
  /** Class names by id. */
  readonly labels: readonly string[];
}

/**
 * Reads a CSV/TSV/JSONL file of `text` (and `text_pair`) and `label` columns. Labels map to ids
 * in the order of `labels` when given (e.g. a verbalizer's), else in sorted order.
 *
 * @throws DataError naming the file and line of a label outside `labels` or a multi-label row.
 */
export async function readFewShotData(
  path: string,
  opts: { textColumn?: string; textPairColumn?: string; labelColumn?: string; labels?: readonly string[] } = {},
): Promise<FewShotData> {
  const label = opts.labelColumn ?? 'label';
  const rows = await loadTextExamples(path, { columns: { text: opts.textColumn, textPair: opts.textPairColumn, label } });
  for (const r of rows) if (Array.isArray(r.label)) throw new DataError(r.file ?? path, r.line, `has several labels in "${label}"; give one class`, label);
  const names = opts.labels ?? [...new Set(rows.map((r) => String(r.label)))].sort();
  const ids = new Map(names.map((n, i) => [n, i]));
  const examples = rows.map((r) => {
    const id = ids.get(String(r.label));
    if (id === undefined) throw new DataError(r.file ?? path, r.line, `has the label "${String(r.label)}", which is not one of ${names.join(', ')}`, label);
    return { text: r.text, ...(r.textPair === undefined ? {} : { textPair: r.textPair }), label: id };
  });
  return { examples, labels: names };
}
