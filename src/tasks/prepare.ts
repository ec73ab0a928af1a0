/** Reading a data file for a task and turning it into model features. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import {
  type BadRowPolicy,
  DataError,
  type Feature,
  SkippedRows,
  LabelMap,
  type TextExample,
  type TokenExample,
  loadTextExamples,
  loadTokenExamples,
  stratifiedSplit,
  textFeatures,
  tokenFeatures,
} from '../data/index.js';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer.js';

/** The tasks `tuna train` fine-tunes for. */
export type TaskName = 'text-classification' | 'token-classification';

/** Which columns and fields hold what; names follow the CLI flags. */
export interface DataOptions {
  readonly textColumn?: string;
  readonly textPairColumn?: string;
  readonly labelColumn?: string;
  readonly tokensColumn?: string;
  readonly tagsColumn?: string;
  /** Texts may carry several labels (a JSON array, or a cell split on `labelSeparator`). */
  readonly multiLabel?: boolean;
  readonly labelSeparator?: string;
  /**
   * Names of integer label (or tag) ids, in id order, as a Hugging Face dataset's ClassLabel has
   * them: data may then give ids instead of names, and the label ids of the model follow this order.
   */
  readonly labelList?: readonly string[];
}

/** What reading does with bad rows (see {@link ReadOptions.onBadRow}). */
export interface ReadPolicy {
  /** `error` (default) stops at a bad row; `skip` leaves it out and counts it in the result's `skipped`. */
  readonly onBadRow?: BadRowPolicy;
}

/** Examples of one file, for either kind of task; `skipped` holds the rows left out with `onBadRow: 'skip'`. */
export type Examples = ({ readonly kind: 'text'; readonly items: TextExample[] } | { readonly kind: 'token'; readonly items: TokenExample[] }) & {
  readonly skipped?: SkippedRows;
};

/**
 * Reads a data file for `task`; labels are required unless `requireLabels` is false. A tags
 * column named `tags` (the command line's old default) also finds `ner_tags`, Hugging Face's name.
 */
export async function readExamples(task: TaskName, path: string, opts: DataOptions & ReadPolicy, requireLabels = true): Promise<Examples> {
  const skipped = new SkippedRows();
  const policy = { onBadRow: opts.onBadRow ?? 'error', skipped };
  if (task === 'token-classification') {
    const tagsField = opts.tagsColumn === 'tags' ? undefined : opts.tagsColumn;
    const items = await loadTokenExamples(path, { tokensField: opts.tokensColumn, tagsField, requireTags: requireLabels, tagNames: opts.labelList, ...policy });
    return { kind: 'token', items, skipped };
  }
  const items = await loadTextExamples(path, {
    columns: { text: opts.textColumn, textPair: opts.textPairColumn, label: opts.labelColumn },
    requireLabels,
    multiLabelSeparator: opts.multiLabel ? (opts.labelSeparator ?? ',') : undefined,
    labelNames: opts.labelList,
    ...policy,
  });
  return { kind: 'text', items, skipped };
}

/**
 * A label list given as a file (one name per line, or a JSON array of names) or as
 * comma-separated names (`O,B-PER,I-PER`).
 *
 * @throws DataError for an empty list, an empty name, or a name given twice.
 */
export function parseLabelList(value: string): string[] {
  const isFile = existsSync(value) && statSync(value).isFile();
  const where = isFile ? value : 'the label list';
  let names: string[];
  if (isFile) {
    const text = readFileSync(value, 'utf8').replace(/^\uFEFF/, '');
    if (text.trimStart().startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new DataError(value, undefined, `not a valid JSON list of label names (${(e as Error).message}). Write ["O", "B-PER", ...] or one name per line`);
      }
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string'))
        throw new DataError(value, undefined, 'the JSON must be a list of label names (strings), in id order');
      names = parsed;
    } else {
      names = text.split(/\r?\n/).map((l) => l.trim());
      while (names.length && names.at(-1) === '') names.pop();
    }
  } else {
    names = value.split(',').map((l) => l.trim());
  }
  if (names.length === 0 || (names.length === 1 && names[0] === ''))
    throw new DataError(where, undefined, 'the label list is empty. Give the names of the label ids in order, e.g. O,B-PER,I-PER');
  const empty = names.indexOf('');
  if (empty >= 0) throw new DataError(where, isFile ? empty + 1 : undefined, `label ${empty} of the list has no name. Give every id a name`);
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new DataError(where, isFile ? names.indexOf(n, names.indexOf(n) + 1) + 1 : undefined, `"${n}" is in the label list twice. Give each name once`);
    seen.add(n);
  }
  return names;
}

/** The label (or labels) of every example, for building a label map. */
export function labelValues(examples: Examples): (string | readonly string[])[] {
  if (examples.kind === 'token') return examples.items.map((e) => e.tags ?? []);
  return examples.items.filter((e) => e.label !== undefined).map((e) => e.label!);
}

/** Splits off a stratified validation share (by label; by first tag for token classification). */
export function splitValidation(examples: Examples, fraction: number, seed: number): { train: Examples; validation: Examples } {
  if (examples.kind === 'token') {
    const { train, validation } = stratifiedSplit(examples.items, (e) => (e.tags ?? []).find((t) => t !== 'O') ?? 'O', fraction, seed);
    return { train: { kind: 'token', items: train }, validation: { kind: 'token', items: validation } };
  }
  const key = (e: TextExample) => (Array.isArray(e.label) ? [...e.label].sort().join('|') : String(e.label));
  const { train, validation } = stratifiedSplit(examples.items, key, fraction, seed);
  return { train: { kind: 'text', items: train }, validation: { kind: 'text', items: validation } };
}

/** Tokenizes examples and maps their labels to ids (unknown labels are errors naming file and line). */
export function featuresOf(tokenizer: BertTokenizer, examples: Examples, labels: LabelMap | undefined, maxLength: number, multiLabel = false): Feature[] {
  if (examples.kind === 'token') return tokenFeatures(tokenizer, examples.items, labels, { maxLength });
  return textFeatures(tokenizer, examples.items, labels, { maxLength, multiLabel });
}

/**
 * A label map learned from training examples, or, with `labelList`, the list in its order (ids as
 * in the data); a label of the examples missing from the list is a DataError.
 */
export function labelMapOf(examples: Examples, labelList?: readonly string[]): LabelMap {
  if (!labelList) return LabelMap.fromExamples(labelValues(examples));
  const map = LabelMap.fromConfig(Object.fromEntries(labelList.map((l, i) => [String(i), l])));
  const check = (values: readonly string[], e: { file?: string; line: number }) => {
    for (const v of values) map.id(v, { file: e.file ?? '(data)', line: e.line });
  };
  if (examples.kind === 'token') for (const e of examples.items) check(e.tags ?? [], e);
  else for (const e of examples.items) check(e.label === undefined ? [] : typeof e.label === 'string' ? [e.label] : e.label, e);
  return map;
}
