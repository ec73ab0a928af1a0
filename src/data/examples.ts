/**
 * Reading labelled examples from CSV, TSV, JSON Lines and CoNLL files, streamed (files larger than
 * memory are fine), with errors that name the file, the line, the problem and what to do.
 */
import { Readable } from 'node:stream';
import { CsvError, type Options as CsvOptions, parse } from 'csv-parse';
import { type BadRowPolicy, DataError, SkippedRows, excerpt } from './errors.js';
import { decodedChunks, decodedLineBatches } from './lines.js';

/** One text (or text pair) and its label(s), for sequence classification. */
export interface TextExample {
  text: string;
  /** The second text of a pair (e.g. a question and a passage). */
  textPair?: string;
  /** A class name, or several for multi-label data. */
  label?: string | string[];
  /** The file it comes from (the readers set it; used in error messages). */
  file?: string;
  /** 1-based line (for CSV/TSV: the line where the record starts). */
  line: number;
}

/** One sentence as words, with one tag per word, for token classification. */
export interface TokenExample {
  tokens: string[];
  tags?: string[];
  /** The file it comes from (the readers set it; used in error messages). */
  file?: string;
  /** 1-based line (CoNLL: the sentence's first word; JSONL: the sentence's line). */
  line: number;
}

/** The data file formats tuna reads. */
export type DataFormat = 'csv' | 'tsv' | 'jsonl' | 'conll';

const EXTENSIONS: Readonly<Record<string, DataFormat>> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'jsonl',
  conll: 'conll',
  txt: 'conll',
  iob: 'conll',
  bio: 'conll',
};

/**
 * The format of a data file: `override` when given, else from the extension (`.csv`, `.tsv`,
 * `.jsonl`/`.json` (JSON Lines), `.conll`/`.txt`/`.iob`/`.bio`).
 *
 * @throws DataError for an extension it does not know.
 */
export function formatOf(path: string, override?: DataFormat): DataFormat {
  if (override) return override;
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
  const format = EXTENSIONS[ext];
  if (!format) {
    const what = ext ? `the extension ".${ext}"` : 'a file name without an extension';
    throw new DataError(path, undefined, `cannot tell the format from ${what}. Use .csv, .tsv, .jsonl, or .conll/.txt (CoNLL)`);
  }
  return format;
}

/** Column (CSV/TSV) or field (JSONL) names of text data. */
export interface TextColumns {
  /** The text (default `text`). */
  text?: string;
  /** The second text of a pair (default `text_pair`, used when present). */
  textPair?: string;
  /** The label (default `label`). */
  label?: string;
}

/** Options of {@link readTextExamples}. */
export interface ReadOptions {
  columns?: TextColumns;
  /** The format, when the extension does not tell it. */
  format?: DataFormat;
  /** Every example must have a label (default true); false for unlabelled data to predict. */
  requireLabels?: boolean;
  /**
   * Multi-label data: a CSV/TSV label cell (or a JSONL label string) is split on this separator,
   * and a JSONL label may be an array of strings. Unset: one label per example.
   */
  multiLabelSeparator?: string;
  /**
   * A bad row (an empty text, a missing or unreadable label, a JSON line that does not parse, a CSV
   * row with the wrong number of fields): `error` (the default) stops with a DataError; `skip`
   * leaves the row out and records it in `skipped`. Problems of the whole file (a missing column,
   * broken quoting) always stop.
   */
  onBadRow?: BadRowPolicy;
  /** Where rows left out by `onBadRow: 'skip'` are recorded. */
  skipped?: SkippedRows;
  /**
   * Names of integer labels, by id (Hugging Face's ClassLabel names): a label `2` becomes
   * `labelNames[2]`; an id outside the list is a bad row. Unset: labels are taken as written.
   */
  labelNames?: readonly string[];
}

/** The common part of the readers' options about bad rows. */
type RowPolicy = { readonly onBadRow?: BadRowPolicy; readonly skipped?: SkippedRows };

/**
 * Runs `make` for one row. With `onBadRow: 'skip'` a DataError about the row (one with a line) is
 * recorded in `skipped` and the row left out (undefined); otherwise errors pass through.
 */
function rowOrSkip<T>(policy: RowPolicy, make: () => T): T | undefined {
  if (policy.onBadRow !== 'skip') return make();
  try {
    return make();
  } catch (e) {
    if (e instanceof DataError && e.line !== undefined) {
      policy.skipped?.add(e);
      return undefined;
    }
    throw e;
  }
}

/** The error for a file whose every row was bad and skipped. */
function allSkipped(path: string, skipped: SkippedRows, before: number): DataError {
  const first = skipped.first.find((e) => e.file === path);
  return new DataError(path, undefined, `every row is bad (${skipped.count - before} skipped)${first ? `; the first, line ${first.line}: ${first.problem}` : ''}`);
}

/** The name of an integer label id (a number, or a string of digits) from `names`; other labels unchanged. */
function namedLabel(path: string, line: number, field: string, value: string | number, names: readonly string[] | undefined): string {
  if (names === undefined) return String(value);
  const raw = String(value).trim();
  if (!/^\d+$/.test(raw)) {
    if (names.includes(raw)) return raw;
    throw new DataError(
      path,
      line,
      `"${field}" is "${excerpt(raw)}", neither an id (0 to ${names.length - 1}) nor a name of the label list. Give label ids or names from the list`,
      field,
    );
  }
  const name = names[Number(raw)];
  if (name === undefined) {
    throw new DataError(
      path,
      line,
      `label id ${excerpt(raw)} in "${field}" is outside the label list (ids 0 to ${names.length - 1}). Add its name to the list or fix the data`,
      field,
    );
  }
  return name;
}

function splitLabels(value: string, sep: string | undefined): string | string[] {
  if (sep === undefined) return value;
  return value
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Reads text-classification examples one by one from a CSV/TSV file with a header row, or from a
 * JSON Lines file of objects; the whole file is never held in memory. A UTF-8 byte-order mark is
 * removed and CRLF line endings are accepted. Each iteration reads the file afresh.
 *
 * @throws DataError (when iterated) for a missing or empty file, a missing column, broken quoting,
 *   invalid UTF-8 or JSON, wrong types, an empty text, or a missing label; the message names the
 *   file, the line and what to do.
 */
export function readTextExamples(path: string, opts: ReadOptions = {}): AsyncIterable<TextExample> {
  return flatten(() => textBatches(path, opts));
}

/** All text examples of a file, in file order (see {@link readTextExamples}). */
export async function loadTextExamples(path: string, opts: ReadOptions = {}): Promise<TextExample[]> {
  const out: TextExample[] = [];
  for await (const batch of textBatches(path, opts)) for (const e of batch) out.push(e);
  return out;
}

// The readers work in batches (one per piece of the file read) and hand examples out one by one
// only at the end, through a plain iterator: an async generator per example per layer would make
// reading several times slower. Each iteration reads the file afresh.
function flatten<T>(batches: () => AsyncGenerator<T[]>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const source = batches();
      let buffer: T[] = [];
      let at = 0;
      const next = (): Promise<IteratorResult<T>> => {
        if (at < buffer.length) return Promise.resolve({ value: buffer[at++]!, done: false });
        return source.next().then((r) => {
          if (r.done) return { value: undefined, done: true };
          buffer = r.value;
          at = 0;
          return next();
        });
      };
      return {
        next,
        return: () => {
          buffer = [];
          return source.return(undefined).then(() => ({ value: undefined, done: true }));
        },
      };
    },
  };
}

async function* textBatches(path: string, opts: ReadOptions): AsyncGenerator<TextExample[]> {
  const format = formatOf(path, opts.format);
  if (format === 'conll') {
    throw new DataError(
      path,
      undefined,
      'a CoNLL file holds tagged words, not texts, and text classification reads .csv, .tsv or .jsonl files. To tag words, use a token-classification model (tuna train --task token-classification makes one)',
    );
  }
  checkDistinctColumns(path, opts);
  const skipped = opts.skipped ?? new SkippedRows();
  const before = skipped.count;
  const withPolicy: ReadOptions = { ...opts, skipped };
  let count = 0;
  const source = format === 'jsonl' ? jsonlTextBatches(path, withPolicy) : delimitedTextBatches(path, format, withPolicy);
  for await (const batch of source) {
    if (batch.length === 0) continue;
    count += batch.length;
    yield batch;
  }
  if (count === 0 && skipped.count > before) throw allSkipped(path, skipped, before);
  if (count === 0) throw new DataError(path, undefined, 'no examples in the file. Add rows below the header (or JSON objects, one per line)');
}

/**
 * Refuses one column named for two roles (the text read from the label column, say): the model
 * would learn, or be scored on, the wrong thing.
 */
function checkDistinctColumns(path: string, opts: ReadOptions): void {
  const roles: [string, string | undefined][] = [
    ['text', opts.columns?.text ?? 'text'],
    ['second text', opts.columns?.textPair],
    ['label', (opts.requireLabels ?? true) || opts.columns?.label !== undefined ? (opts.columns?.label ?? 'label') : undefined],
  ];
  for (let i = 0; i < roles.length; i++) {
    for (let j = i + 1; j < roles.length; j++) {
      const [a, name] = roles[i]!;
      const [b, other] = roles[j]!;
      if (name !== undefined && name === other) {
        throw new DataError(path, undefined, `"${excerpt(name)}" is named as both the ${a} column and the ${b} column. Name a different column for each`, name);
      }
    }
  }
}

/** The index of column `name` in the header `h`, or -1; a name found twice is an error naming both places. */
function columnIndex(path: string, line: number, h: readonly string[], name: string, role: string): number {
  const at = h.indexOf(name);
  const again = at < 0 ? -1 : h.indexOf(name, at + 1);
  if (again >= 0) {
    throw new DataError(
      path,
      line,
      `the header has two columns named "${excerpt(name)}" (columns ${at + 1} and ${again + 1}), and either could be the ${role}. Rename or remove one of them`,
      name,
    );
  }
  return at;
}

/** The columns of a header for a message: the first few, each cut short. */
function columnsOf(h: readonly string[]): string {
  const shown = h.slice(0, 20).map((c) => excerpt(c, 40));
  return `columns: ${shown.join(', ')}${h.length > shown.length ? `, ... (${h.length} in all)` : ''}`;
}

function checkText(path: string, line: number, field: string, v: string): string {
  if (v.trim().length === 0) throw new DataError(path, line, `empty text in "${field}". Fill it in or remove the example`, field);
  return v;
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function csvOptions(format: 'csv' | 'tsv'): CsvOptions {
  return {
    delimiter: format === 'tsv' ? '\t' : ',',
    // TSV files (e.g. GLUE's) do not quote: a " is part of the text.
    quote: format === 'tsv' ? false : '"',
    record_delimiter: ['\r\n', '\n'],
    // Blank lines and field counts are checked here, so that line numbers stay exact.
    relax_column_count: true,
    skip_empty_lines: false,
  };
}

/** The records of `path` in batches: whatever the parser has ready each time it is asked. */
async function* csvRecordBatches(path: string, options: CsvOptions): AsyncGenerator<string[][]> {
  const parser = parse(options);
  const source = Readable.from(decodedChunks(path));
  let error: unknown;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    ended = true;
    notify();
  });
  parser.on('close', () => {
    ended = true;
    notify();
  });
  parser.on('error', (e) => {
    error ??= e;
    notify();
  });
  source.on('error', (e) => {
    error ??= e;
    parser.destroy();
    notify();
  });
  source.pipe(parser);
  try {
    for (;;) {
      const batch: string[][] = [];
      let r: string[] | null;
      while ((r = parser.read() as string[] | null) !== null) batch.push(r);
      if (batch.length) {
        yield batch;
        continue;
      }
      if (error !== undefined) throw error;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    source.destroy();
    parser.destroy();
  }
}

function csvProblem(e: CsvError, format: 'csv' | 'tsv'): string {
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed (the " that opens it, in the record starting on this line, has no closing "). Close the quote, and double any " inside a quoted field ("")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted field has text after its closing quote. Double every " inside a quoted field ("")';
    case 'INVALID_OPENING_QUOTE':
      return 'a " in the middle of an unquoted field. Wrap the field in quotes and double the " inside it ("")';
    default:
      return `broken ${format.toUpperCase()} (${excerpt(e.message, 200)}). Check the quoting of this record`;
  }
}

async function* delimitedTextBatches(path: string, format: 'csv' | 'tsv', opts: ReadOptions): AsyncGenerator<TextExample[]> {
  const names = opts.columns ?? {};
  const requireLabels = opts.requireLabels ?? true;
  const sep = opts.multiLabelSeparator;
  let header: string[] | undefined;
  let textAt = -1;
  let pairAt = -1;
  let labelAt = -1;
  let headerLine = 1;
  // The first line of the next record.
  let next = 1;
  const readHeader = (record: string[], line: number) => {
    const h = record.map((x) => x.trim());
    header = h;
    headerLine = line;
    const columns = columnsOf(h);
    const textName = names.text ?? 'text';
    textAt = columnIndex(path, line, h, textName, 'text');
    if (textAt < 0) {
      throw new DataError(path, line, `no column "${textName}" in the header (${columns}). Name the text column with --text-column`, textName);
    }
    pairAt = columnIndex(path, line, h, names.textPair ?? 'text_pair', 'second text');
    if (names.textPair !== undefined && pairAt < 0) {
      throw new DataError(path, line, `no column "${names.textPair}" in the header (${columns}). Name the second text's column with --text-pair-column`, names.textPair);
    }
    const labelName = names.label ?? 'label';
    labelAt = requireLabels || names.label !== undefined ? columnIndex(path, line, h, labelName, 'label') : h.indexOf(labelName);
    if (labelAt < 0 && requireLabels) {
      throw new DataError(path, line, `no column "${labelName}" in the header (${columns}). Name the label column with --label-column`, labelName);
    }
  };
  const example = (h: string[], record: string[], line: number): TextExample => {
    if (record.length !== h.length) {
      const fix = format === 'tsv' ? 'Remove tabs inside texts (fields are separated by tabs)' : 'Wrap fields that contain a comma in double quotes';
      throw new DataError(path, line, `a different number of fields from the header: ${record.length}, where the header (line ${headerLine}) has ${h.length}. ${fix}`);
    }
    const e: TextExample = { text: checkText(path, line, h[textAt]!, record[textAt]!), file: path, line };
    if (pairAt >= 0) e.textPair = checkText(path, line, h[pairAt]!, record[pairAt]!);
    if (labelAt >= 0) {
      const raw = record[labelAt]!.trim();
      if (raw === '' && requireLabels) {
        throw new DataError(path, line, `the label in "${h[labelAt]}" is empty. Every training and evaluation example needs one`, h[labelAt]);
      }
      if (raw !== '') {
        const labels = splitLabels(raw, sep);
        const field = h[labelAt]!;
        e.label = typeof labels === 'string' ? namedLabel(path, line, field, labels, opts.labelNames) : labels.map((l) => namedLabel(path, line, field, l, opts.labelNames));
      }
    }
    return e;
  };
  // The last line of the latest record the parser made, seen as each record is made: records made
  // but not yet handed out when the parser fails are lost with the stream, and a pipe cannot be
  // read again to find them.
  let madeUpTo = 0;
  const options: CsvOptions = {
    ...csvOptions(format),
    on_record: (record, info) => {
      madeUpTo = info.lines;
      return record;
    },
  };
  try {
    for await (const records of csvRecordBatches(path, options)) {
      const out: TextExample[] = [];
      for (const record of records) {
        const line = next;
        next += 1;
        for (const field of record) if (field.includes('\n')) next += countNewlines(field);
        if (record.length === 1 && record[0] === '') continue; // a blank line
        if (header) {
          const h = header;
          const e = rowOrSkip(opts, () => example(h, record, line));
          if (e) out.push(e);
        } else readHeader(record, line);
      }
      yield out;
    }
  } catch (e) {
    if (e instanceof CsvError) {
      throw new DataError(path, madeUpTo + 1, csvProblem(e, format));
    }
    throw e;
  }
}

/** The JSON object on a JSON Lines line; undefined for a blank line. */
function jsonlObject(path: string, text: string, line: number, example: string): Record<string, unknown> | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const hint = path.toLowerCase().endsWith('.json')
      ? 'A .json data file must be JSON Lines: one object per line (convert an array with jq -c ".[]")'
      : `Each line must be one JSON object like ${example}`;
    throw new DataError(path, line, `not valid JSON (${excerpt((e as Error).message, 200)}). ${hint}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataError(path, line, `expected a JSON object, got ${typeName(value)}. Each line must be one object like ${example}`);
  }
  return value as Record<string, unknown>;
}

/** The examples made by `make` from the objects of a JSON Lines file, in batches. */
async function* jsonlBatches<T>(path: string, example: string, policy: RowPolicy, make: (value: Record<string, unknown>, line: number) => T): AsyncGenerator<T[]> {
  for await (const { lines, first } of decodedLineBatches(path)) {
    const out: T[] = [];
    for (let i = 0; i < lines.length; i++) {
      const row = rowOrSkip(policy, () => {
        const value = jsonlObject(path, lines[i]!, first + i, example);
        return value && make(value, first + i);
      });
      if (row) out.push(row);
    }
    yield out;
  }
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);

function fieldsOf(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  const shown = keys.slice(0, 20).map((k) => excerpt(k, 40));
  return keys.length ? `fields: ${shown.join(', ')}${keys.length > shown.length ? `, ... (${keys.length} in all)` : ''}` : 'no fields at all';
}

/** The value of an object's own field `name` (a field named `constructor` or `__proto__` is a field like any other). */
function own(value: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(value, name) ? value[name] : undefined;
}

function jsonlTextBatches(path: string, opts: ReadOptions): AsyncGenerator<TextExample[]> {
  const textName = opts.columns?.text ?? 'text';
  const labelName = opts.columns?.label ?? 'label';
  const pairName = opts.columns?.textPair ?? 'text_pair';
  const requireLabels = opts.requireLabels ?? true;
  const multi = opts.multiLabelSeparator !== undefined;
  return jsonlBatches(path, `{"${textName}": "...", "${labelName}": "..."}`, opts, (value, line) => {
    const text = own(value, textName);
    if (text === undefined) {
      throw new DataError(path, line, `no field "${textName}" (${fieldsOf(value)}). Name the text field with --text-column`, textName);
    }
    if (typeof text !== 'string') throw new DataError(path, line, `"${textName}" must be a string, got ${typeName(text)}. Put the text in quotes`, textName);
    const e: TextExample = { text: checkText(path, line, textName, text), file: path, line };
    const pair = own(value, pairName);
    if (pair !== undefined && pair !== null) {
      if (typeof pair !== 'string') throw new DataError(path, line, `"${pairName}" must be a string, got ${typeName(pair)}. Put the text in quotes`, pairName);
      e.textPair = checkText(path, line, pairName, pair);
    } else if (opts.columns?.textPair !== undefined) {
      throw new DataError(path, line, `no field "${pairName}" (${fieldsOf(value)}). Name the second text's field with --text-pair-column`, pairName);
    }
    const label = own(value, labelName);
    if (label === undefined || label === null || label === '') {
      if (requireLabels) {
        const what = label === undefined ? `no "${labelName}" field (${fieldsOf(value)})` : `"${labelName}" is empty`;
        throw new DataError(path, line, `${what}. Every training and evaluation example needs a label; name its field with --label-column`, labelName);
      }
    } else if (Array.isArray(label)) {
      if (!multi) throw new DataError(path, line, `"${labelName}" is a list. For several labels per text use --multi-label; otherwise give one label`, labelName);
      if (!label.every((l) => typeof l === 'string' || typeof l === 'number')) {
        throw new DataError(path, line, `"${labelName}" must list strings or numbers. Write the labels like ["a", "b"]`, labelName);
      }
      e.label = label.map((l) => namedLabel(path, line, labelName, l, opts.labelNames));
    } else if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') {
      const labels = splitLabels(String(label), opts.multiLabelSeparator);
      const name = (l: string) => namedLabel(path, line, labelName, l, opts.labelNames);
      e.label = typeof labels === 'string' ? name(labels) : labels.map(name);
    } else {
      throw new DataError(path, line, `"${labelName}" must be a string or a number, got ${typeName(label)}. Give the class name`, labelName);
    }
    return e;
  });
}

/** Options of {@link readTokenExamples}. */
export interface TokenReadOptions {
  /** The format, when the extension does not tell it. */
  format?: DataFormat;
  /** JSONL field with the words (default `tokens`). */
  tokensField?: string;
  /** JSONL field with the tags (default `ner_tags`, as Hugging Face datasets name it, or `tags` when a line has no `ner_tags`). */
  tagsField?: string;
  /**
   * Names of integer tag ids, by id (the ClassLabel names of a Hugging Face dataset, e.g.
   * `["O", "B-PER", "I-PER", ...]`): JSONL tags given as ids become these names. Unset: integer
   * tags are an error that asks for the names.
   */
  tagNames?: readonly string[];
  /** See {@link ReadOptions.onBadRow}: a bad sentence (a JSONL line, or a CoNLL sentence) is skipped or stops the read. */
  onBadRow?: BadRowPolicy;
  /** Where sentences left out by `onBadRow: 'skip'` are recorded. */
  skipped?: SkippedRows;
  /** CoNLL: the 0-based whitespace-separated column holding the tag (default: the last; the word is column 0). */
  tagColumn?: number;
  /** Every word must have a tag (default true); false for untagged words to predict. */
  requireTags?: boolean;
}

/**
 * Reads token-classification sentences one by one: CoNLL (`word ... tag` per line, a blank line
 * between sentences, `-DOCSTART-` lines skipped, every line with the same number of fields as the
 * first) or JSON Lines (`{"tokens": [...], "tags": [...]}`); streamed, BOM removed, CRLF accepted.
 *
 * @throws DataError (when iterated) naming the file, the line and the problem.
 */
export function readTokenExamples(path: string, opts: TokenReadOptions = {}): AsyncIterable<TokenExample> {
  return flatten(() => tokenBatches(path, opts));
}

/** All sentences of a file, in file order (see {@link readTokenExamples}). */
export async function loadTokenExamples(path: string, opts: TokenReadOptions = {}): Promise<TokenExample[]> {
  const out: TokenExample[] = [];
  for await (const batch of tokenBatches(path, opts)) for (const e of batch) out.push(e);
  return out;
}

async function* tokenBatches(path: string, opts: TokenReadOptions): AsyncGenerator<TokenExample[]> {
  const format = formatOf(path, opts.format);
  const skipped = opts.skipped ?? new SkippedRows();
  const before = skipped.count;
  opts = { ...opts, skipped };
  let source: AsyncGenerator<TokenExample[]>;
  if (format === 'conll') source = conllBatches(path, opts);
  else if (format === 'jsonl') source = jsonlTokenBatches(path, opts);
  else {
    throw new DataError(path, undefined, `token classification reads CoNLL (.conll/.txt) or JSONL with "tokens" and "tags", not ${format.toUpperCase()}. Convert the file`);
  }
  let count = 0;
  for await (const batch of source) {
    if (batch.length === 0) continue;
    count += batch.length;
    yield batch;
  }
  if (count === 0 && skipped.count > before) throw allSkipped(path, skipped, before);
  if (count === 0) throw new DataError(path, undefined, 'no sentences in the file. Add lines of "word tag", with a blank line between sentences');
}

async function* conllBatches(path: string, opts: TokenReadOptions): AsyncGenerator<TokenExample[]> {
  const requireTags = opts.requireTags ?? true;
  let fields: number | undefined;
  let fieldsLine = 0;
  let tagAt = -1;
  let tokens: string[] = [];
  let tags: string[] = [];
  let first = 0;
  let out: TokenExample[] = [];
  // With onBadRow 'skip', a line with the wrong number of fields marks its sentence bad.
  let bad = false;
  const flush = () => {
    if (tokens.length === 0 && !bad) return;
    if (!bad) {
      const e: TokenExample = { tokens, file: path, line: first };
      if (tagAt > 0) e.tags = tags;
      out.push(e);
    }
    tokens = [];
    tags = [];
    bad = false;
  };
  for await (const { lines, first: firstLine } of decodedLineBatches(path)) {
    for (let i = 0; i < lines.length; i++) {
      const line = firstLine + i;
      const trimmed = lines[i]!.trim();
      if (trimmed === '' || trimmed.startsWith('-DOCSTART-')) {
        flush();
        continue;
      }
      const parts = trimmed.split(/\s+/);
      if (fields === undefined) {
        fields = parts.length;
        fieldsLine = line;
        if (fields < 2 && requireTags) {
          throw new DataError(path, line, 'a word without a tag. Each line needs the word and its tag separated by a space or tab (e.g. "Paris B-LOC")');
        }
        if (opts.tagColumn !== undefined && !(Number.isInteger(opts.tagColumn) && opts.tagColumn >= 1 && opts.tagColumn < fields)) {
          throw new DataError(path, line, `no tag column ${opts.tagColumn}: the lines have ${fields} fields (the word is column 0). Give a column from 1 to ${fields - 1}`);
        }
        tagAt = fields < 2 ? -1 : (opts.tagColumn ?? fields - 1);
      } else if (parts.length !== fields) {
        const problem = new DataError(
          path,
          line,
          `${parts.length} field(s) where every line so far had ${fields} (from the first word line, line ${fieldsLine}). Give every line ${fields} fields separated by spaces or tabs (word first), and separate sentences with an empty line`,
        );
        if (opts.onBadRow !== 'skip') throw problem;
        if (!bad) opts.skipped?.add(problem);
        bad = true;
        continue;
      }
      if (bad) continue;
      if (tokens.length === 0) first = line;
      tokens.push(parts[0]!);
      if (tagAt > 0) tags.push(parts[tagAt]!);
    }
    yield out;
    out = [];
  }
  flush();
  yield out;
}

function jsonlTokenBatches(path: string, opts: TokenReadOptions): AsyncGenerator<TokenExample[]> {
  const tokensName = opts.tokensField ?? 'tokens';
  const requireTags = opts.requireTags ?? true;
  return jsonlBatches(path, `{"${tokensName}": ["EU", "rejects"], "${opts.tagsField ?? 'ner_tags'}": ["B-ORG", "O"]}`, opts, (value, line) => {
    const tokens = own(value, tokensName);
    if (tokens === undefined) {
      throw new DataError(path, line, `no field "${tokensName}" (${fieldsOf(value)}). Name the words' field with --tokens-column`, tokensName);
    }
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
      const got = Array.isArray(tokens) ? 'a list with other values' : typeName(tokens);
      throw new DataError(path, line, `"${tokensName}" must be a list of strings, got ${got}. Write the words like ["EU", "rejects"]`, tokensName);
    }
    if (tokens.length === 0) throw new DataError(path, line, `"${tokensName}" is empty. Give the sentence's words, or remove the line`, tokensName);
    const emptyAt = tokens.findIndex((t) => t.trim() === '');
    if (emptyAt >= 0) throw new DataError(path, line, `word ${emptyAt + 1} of "${tokensName}" is empty. Remove it (and its tag)`, tokensName);
    const tagsName = opts.tagsField ?? (own(value, 'ner_tags') === undefined && own(value, 'tags') !== undefined ? 'tags' : 'ner_tags');
    const tags = own(value, tagsName);
    const e: TokenExample = { tokens: tokens as string[], file: path, line };
    if (tags === undefined || tags === null) {
      if (requireTags) {
        const names = opts.tagsField === undefined ? '"ner_tags" or "tags"' : `"${tagsName}"`;
        throw new DataError(path, line, `no field ${names} (${fieldsOf(value)}). Every training and evaluation sentence needs tags; name their field with --tags-column`, tagsName);
      }
    } else {
      const ids = Array.isArray(tags) && tags.length > 0 && tags.every((t) => Number.isInteger(t));
      if (ids && opts.tagNames === undefined) {
        throw new DataError(
          path,
          line,
          `"${tagsName}" holds tag ids (${(tags as number[]).slice(0, 5).join(', ')}${tags.length > 5 ? ', ...' : ''}), not names. Give the names of the ids in order (a Hugging Face dataset's ClassLabel names), e.g. --label-list O,B-PER,I-PER,B-LOC,I-LOC`,
          tagsName,
        );
      }
      if (!Array.isArray(tags) || !(ids || tags.every((t) => typeof t === 'string'))) {
        const got = Array.isArray(tags) ? 'a list with other values' : typeName(tags);
        throw new DataError(
          path,
          line,
          `"${tagsName}" must be a list of tag names like ["B-PER", "O"] (or of tag ids with their names given), got ${got}. Write the tags as strings`,
          tagsName,
        );
      }
      if (tags.length !== tokens.length) {
        throw new DataError(path, line, `${tokens.length} words but ${tags.length} tags. Give one tag per word`, tagsName);
      }
      e.tags = ids ? (tags as number[]).map((t, i) => tagName(path, line, tagsName, t, i, opts.tagNames!)) : (tags as string[]);
    }
    return e;
  });
}

function tagName(path: string, line: number, field: string, id: number, word: number, names: readonly string[]): string {
  const name = names[id];
  if (name === undefined) {
    throw new DataError(
      path,
      line,
      `tag id ${id} of word ${word + 1} in "${field}" is outside the label list (ids 0 to ${names.length - 1}). Give the names of every id in the list`,
      field,
    );
  }
  return name;
}
