/** Reading a data file for a task and turning it into model features. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { checkReadableFileSync, fileSystemError, formatBytes } from '../io/files.js';
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
import type { Tokenizer } from '../tokenizers/types.js';

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
  /** The file they were read from. */
  readonly file?: string;
  /** The column or field their labels (tags) were read from, for messages. */
  readonly labelField?: string;
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
    return { kind: 'token', items, skipped, file: path, labelField: tagsField ?? 'ner_tags' };
  }
  const items = await loadTextExamples(path, {
    columns: { text: opts.textColumn, textPair: opts.textPairColumn, label: opts.labelColumn },
    requireLabels,
    multiLabelSeparator: opts.multiLabel ? (opts.labelSeparator ?? ',') : undefined,
    labelNames: opts.labelList,
    ...policy,
  });
  return { kind: 'text', items, skipped, file: path, labelField: opts.labelColumn ?? 'label' };
}

/**
 * A label list given as a file (one name per line, or a JSON array of names) or as
 * comma-separated names (`O,B-PER,I-PER`).
 *
 * @throws DataError for an empty list, an empty name, or a name given twice.
 */
export function parseLabelList(value: string): string[] {
  const isFile = existsSync(value) && !statSync(value).isDirectory();
  const where = isFile ? value : 'the label list';
  let names: string[];
  if (isFile) {
    const text = readLabelListFile(value);
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

/** The largest label-list file read. */
const MAX_LABEL_LIST_BYTES = 16 * 1024 * 1024;

/** The text of a label-list file: a regular file (devices and pipes refused) of at most 16 MiB. */
function readLabelListFile(path: string): string {
  const st = checkReadableFileSync(path, { what: 'the label list', seekable: true });
  if (st.size > MAX_LABEL_LIST_BYTES) {
    throw new DataError(
      path,
      undefined,
      `is ${formatBytes(st.size)}, larger than the ${formatBytes(MAX_LABEL_LIST_BYTES)} a label list may be. Check that it is the list of label names`,
    );
  }
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    throw fileSystemError(path, e, 'read');
  }
}

/**
 * Labels that look like free text rather than classes are refused when there are at least this
 * many distinct ones and more distinct labels than half the examples.
 */
export const FREE_TEXT_MIN_LABELS = 100;
/** More distinct labels than this get a warning ({@link labelSetWarning}). */
export const MANY_LABELS = 1000;

/** How many labels (tags) the examples carry in all, and how many distinct ones. */
function labelCounts(examples: Examples): { total: number; distinct: number } {
  const seen = new Set<string>();
  let total = 0;
  for (const v of labelValues(examples)) {
    if (typeof v === 'string') {
      seen.add(v);
      total++;
    } else
      for (const x of v) {
        seen.add(x);
        total++;
      }
  }
  return { total, distinct: seen.size };
}

function labelsWhere(examples: Examples): { file: string; field: string } {
  return { file: examples.file ?? '(data)', field: examples.labelField ?? (examples.kind === 'token' ? 'ner_tags' : 'label') };
}

/**
 * Refuses labels that look like free text: at least {@link FREE_TEXT_MIN_LABELS} distinct labels
 * and more distinct labels than half the labels given (most examples with a label of their own),
 * which happens when the label column holds texts (or the wrong column is named).
 *
 * @throws DataError naming the file, the column and the counts.
 */
export function checkLabelSet(examples: Examples): void {
  const { total, distinct } = labelCounts(examples);
  if (distinct < FREE_TEXT_MIN_LABELS || distinct * 2 <= total) return;
  const { file, field } = labelsWhere(examples);
  const what = examples.kind === 'token' ? 'tagged words' : 'labels';
  throw new DataError(
    file,
    undefined,
    `"${field}" has ${distinct} distinct values among ${total} ${what}: it looks like free text, not a set of classes (a classifier needs several examples of each label). Check that the right column holds the labels`,
    field,
  );
}

/**
 * A warning for a label set so large that training it is slow and each label has few examples
 * (more than {@link MANY_LABELS} distinct labels), naming the file, the column and the count; or
 * undefined.
 */
export function labelSetWarning(examples: Examples, labels: LabelMap): string | undefined {
  if (labels.size <= MANY_LABELS) return undefined;
  const { file, field } = labelsWhere(examples);
  const { total } = labelCounts(examples);
  return `${file}: "${field}" has ${labels.size} distinct labels (${(total / labels.size).toFixed(1)} examples per label on average); check that this column holds classes`;
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
export function featuresOf(tokenizer: Tokenizer, examples: Examples, labels: LabelMap | undefined, maxLength: number, multiLabel = false): Feature[] {
  if (examples.kind === 'token') return tokenFeatures(tokenizer, examples.items, labels, { maxLength });
  return textFeatures(tokenizer, examples.items, labels, { maxLength, multiLabel });
}

/**
 * A label map learned from training examples, or, with `labelList`, the list in its order (ids as
 * in the data); a label of the examples missing from the list is a DataError, and so are labels
 * learned from the data that look like free text ({@link checkLabelSet}).
 */
export function labelMapOf(examples: Examples, labelList?: readonly string[]): LabelMap {
  if (!labelList) {
    checkLabelSet(examples);
    return LabelMap.fromExamples(labelValues(examples));
  }
  const map = LabelMap.fromConfig(Object.fromEntries(labelList.map((l, i) => [String(i), l])));
  const check = (values: readonly string[], e: { file?: string; line: number }) => {
    for (const v of values) map.id(v, { file: e.file ?? '(data)', line: e.line });
  };
  if (examples.kind === 'token') for (const e of examples.items) check(e.tags ?? [], e);
  else for (const e of examples.items) check(e.label === undefined ? [] : typeof e.label === 'string' ? [e.label] : e.label, e);
  return map;
}
