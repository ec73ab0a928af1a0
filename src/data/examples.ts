/**
 * Reading labelled examples from CSV, TSV, JSON Lines and CoNLL files, streamed (files larger than
 * memory are fine), with errors that name the file, the line and what to do.
 */
import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { DataError } from './errors.js';
import { decodedChunks, decodedLines } from './lines.js';

/** One text (or text pair) and its label(s). */
export interface TextExample {
  text: string;
  textPair?: string;
  /** A class name, or several for multi-label data. */
  label?: string | string[];
  /** The file it comes from. */
  file: string;
  /** 1-based line (for CSV/TSV: the line where the record ends). */
  line: number;
}

/** One sentence as words, with one tag per word. */
export interface TokenExample {
  tokens: string[];
  tags?: string[];
  file: string;
  /** 1-based line of the sentence's first word. */
  line: number;
}

export type DataFormat = 'csv' | 'tsv' | 'jsonl' | 'conll';

const EXTENSIONS: Record<string, DataFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'jsonl',
  conll: 'conll',
  conllu: 'conll',
  txt: 'conll',
  iob: 'conll',
  bio: 'conll',
};

/** The format of a data file, from `override` or its extension. */
export function formatOf(path: string, override?: DataFormat): DataFormat {
  if (override) return override;
  const ext = /\.([a-z]+)$/i.exec(path)?.[1]?.toLowerCase() ?? '';
  const format = EXTENSIONS[ext];
  if (!format) {
    throw new DataError(path, undefined, `cannot tell the format from the extension ".${ext}"; use .csv, .tsv, .jsonl, or .conll/.txt for CoNLL`);
  }
  return format;
}

/** Column names of text data (defaults: `text`, `text_pair` when present, `label`). */
export interface TextColumns {
  text?: string;
  textPair?: string;
  label?: string;
}

/** Options of the text readers. */
export interface ReadOptions {
  columns?: TextColumns;
  format?: DataFormat;
  /** Every example must have a label (default true). */
  requireLabels?: boolean;
  /** Multi-label data: a CSV/TSV cell (or JSONL string) is split on this; a JSONL label may also be an array. */
  multiLabelSeparator?: string;
}

function splitLabels(value: string, sep: string | undefined): string | string[] {
  if (sep === undefined) return value;
  return value
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Reads text examples one by one; the whole file is never held in memory. */
export async function* readTextExamples(path: string, opts: ReadOptions = {}): AsyncGenerator<TextExample> {
  const format = formatOf(path, opts.format);
  if (format === 'conll') throw new DataError(path, undefined, 'a CoNLL file holds tagged words; use --task token-classification, or give a .csv/.tsv/.jsonl file');
  let count = 0;
  const source = format === 'jsonl' ? jsonlTextExamples(path, opts) : delimitedTextExamples(path, format, opts);
  for await (const e of source) {
    count++;
    yield e;
  }
  if (count === 0) throw new DataError(path, undefined, 'no examples in the file');
}

/** All text examples of a file. */
export async function loadTextExamples(path: string, opts: ReadOptions = {}): Promise<TextExample[]> {
  const out: TextExample[] = [];
  for await (const e of readTextExamples(path, opts)) out.push(e);
  return out;
}

function checkText(path: string, line: number, field: string, v: string): string {
  if (v.trim().length === 0) throw new DataError(path, line, `empty text in "${field}"; remove the row or fill it in`, field);
  return v;
}

async function* delimitedTextExamples(path: string, format: 'csv' | 'tsv', opts: ReadOptions): AsyncGenerator<TextExample> {
  const parser = parse({
    delimiter: format === 'tsv' ? '\t' : ',',
    // TSV files (e.g. GLUE's) do not quote: a " is part of the text.
    quote: format === 'tsv' ? false : '"',
    info: true,
    skip_empty_lines: true,
    relax_column_count: false,
  });
  const source = Readable.from(decodedChunks(path));
  source.on('error', (e) => parser.destroy(e));
  source.pipe(parser);
  const names = opts.columns ?? {};
  let header: string[] | undefined;
  let textAt = -1;
  let pairAt = -1;
  let labelAt = -1;
  const requireLabels = opts.requireLabels ?? true;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record.map((h) => h.trim());
        const find = (name: string) => header!.indexOf(name);
        const textName = names.text ?? 'text';
        textAt = find(textName);
        if (textAt < 0) {
          throw new DataError(path, info.lines, `no column "${textName}" in the header (columns: ${header.join(', ')}); name the text column with --text-column`, textName);
        }
        pairAt = names.textPair ? find(names.textPair) : find('text_pair');
        if (names.textPair && pairAt < 0) {
          throw new DataError(path, info.lines, `no column "${names.textPair}" in the header (columns: ${header.join(', ')}); check --text-pair-column`, names.textPair);
        }
        const labelName = names.label ?? 'label';
        labelAt = find(labelName);
        if (labelAt < 0 && requireLabels) {
          throw new DataError(path, info.lines, `no column "${labelName}" in the header (columns: ${header.join(', ')}); name the label column with --label-column`, labelName);
        }
        continue;
      }
      const line = info.lines;
      const e: TextExample = { text: checkText(path, line, header[textAt]!, record[textAt]!), file: path, line };
      if (pairAt >= 0) e.textPair = checkText(path, line, header[pairAt]!, record[pairAt]!);
      if (labelAt >= 0) {
        const raw = record[labelAt]!.trim();
        if (raw === '' && requireLabels) throw new DataError(path, line, `empty label in "${header[labelAt]}"; every training and evaluation example needs one`, header[labelAt]);
        if (raw !== '') e.label = splitLabels(raw, opts.multiLabelSeparator);
      }
      yield e;
    }
  } catch (e) {
    if (e instanceof CsvError) throw new DataError(path, (e as CsvError & { lines?: number }).lines, csvProblem(e, format));
    throw e;
  }
  if (!header) throw new DataError(path, undefined, 'no header row and no examples');
}

function csvProblem(e: CsvError, format: string): string {
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed (a " without its closing "); quote the whole field and double any " inside it';
    case 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH':
      return `the row has a different number of fields from the header; quote fields that contain ${format === 'tsv' ? 'tabs' : 'commas'}`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quote inside a quoted field is not doubled (write "" for a literal ")';
    default:
      return `broken ${format.toUpperCase()}: ${e.message.replace(/^Invalid [^:]*: /, '')}`;
  }
}

async function* jsonlRecords(path: string): AsyncGenerator<{ value: Record<string, unknown>; line: number }> {
  for await (const { text, line } of decodedLines(path)) {
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (e) {
      throw new DataError(path, line, `not valid JSON (${(e as Error).message}); each line must be one JSON object`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(path, line, `expected a JSON object like {"text": "...", "label": "..."}, got ${Array.isArray(value) ? 'an array' : typeof value}`);
    }
    yield { value: value as Record<string, unknown>, line };
  }
}

async function* jsonlTextExamples(path: string, opts: ReadOptions): AsyncGenerator<TextExample> {
  const textName = opts.columns?.text ?? 'text';
  const labelName = opts.columns?.label ?? 'label';
  const pairName = opts.columns?.textPair ?? 'text_pair';
  const requireLabels = opts.requireLabels ?? true;
  for await (const { value, line } of jsonlRecords(path)) {
    const text = value[textName];
    if (text === undefined) {
      throw new DataError(path, line, `no field "${textName}" (fields: ${Object.keys(value).join(', ')}); name the text field with --text-column`, textName);
    }
    if (typeof text !== 'string') throw new DataError(path, line, `"${textName}" must be a string, got ${typeof text}`, textName);
    const e: TextExample = { text: checkText(path, line, textName, text), file: path, line };
    const pair = value[pairName];
    if (pair !== undefined) {
      if (typeof pair !== 'string') throw new DataError(path, line, `"${pairName}" must be a string, got ${typeof pair}`, pairName);
      e.textPair = checkText(path, line, pairName, pair);
    } else if (opts.columns?.textPair) {
      throw new DataError(path, line, `no field "${pairName}"; check --text-pair-column`, pairName);
    }
    const label = value[labelName];
    if (label === undefined || label === null || label === '') {
      if (requireLabels) {
        throw new DataError(path, line, `no "${labelName}" (fields: ${Object.keys(value).join(', ')}); every example needs a label, or name its field with --label-column`, labelName);
      }
    } else if (Array.isArray(label)) {
      if (opts.multiLabelSeparator === undefined) throw new DataError(path, line, `"${labelName}" is a list; for several labels per text use --multi-label`, labelName);
      if (!label.every((l) => typeof l === 'string' || typeof l === 'number')) throw new DataError(path, line, `"${labelName}" must list strings or numbers`, labelName);
      e.label = label.map(String);
    } else if (typeof label === 'string' || typeof label === 'number' || typeof label === 'boolean') {
      e.label = splitLabels(String(label), opts.multiLabelSeparator);
    } else {
      throw new DataError(path, line, `"${labelName}" must be a string or a number, got ${typeof label}`, labelName);
    }
    yield e;
  }
}

/** Options of the token-classification readers. */
export interface TokenReadOptions {
  format?: DataFormat;
  /** JSONL field with the words (default `tokens`). */
  tokensField?: string;
  /** JSONL field with the tags (default `tags`, else `ner_tags` when it holds strings). */
  tagsField?: string;
  /** CoNLL: 0-based column of the tag (default: the last). */
  tagColumn?: number;
  /** Every word must have a tag (default true). */
  requireTags?: boolean;
}

/** Reads sentences of tagged words (CoNLL or JSONL) one by one. */
export async function* readTokenExamples(path: string, opts: TokenReadOptions = {}): AsyncGenerator<TokenExample> {
  const format = formatOf(path, opts.format);
  let count = 0;
  let source: AsyncGenerator<TokenExample>;
  if (format === 'conll') source = conllExamples(path, opts);
  else if (format === 'jsonl') source = jsonlTokenExamples(path, opts);
  else throw new DataError(path, undefined, `token classification reads CoNLL (.conll/.txt) or JSONL with "tokens" and "tags"; ${format.toUpperCase()} is not supported`);
  for await (const e of source) {
    count++;
    yield e;
  }
  if (count === 0) throw new DataError(path, undefined, 'no sentences in the file');
}

/** All sentences of a file. */
export async function loadTokenExamples(path: string, opts: TokenReadOptions = {}): Promise<TokenExample[]> {
  const out: TokenExample[] = [];
  for await (const e of readTokenExamples(path, opts)) out.push(e);
  return out;
}

async function* conllExamples(path: string, opts: TokenReadOptions): AsyncGenerator<TokenExample> {
  const requireTags = opts.requireTags ?? true;
  let fields: number | undefined;
  let tokens: string[] = [];
  let tags: string[] = [];
  let first = 0;
  const flush = (): TokenExample | undefined => {
    if (tokens.length === 0) return undefined;
    const e: TokenExample = { tokens, tags: fields! > 1 ? tags : undefined, file: path, line: first };
    tokens = [];
    tags = [];
    return e;
  };
  for await (const { text, line } of decodedLines(path)) {
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('-DOCSTART-')) {
      const e = flush();
      if (e) yield e;
      continue;
    }
    const parts = trimmed.split(/\s+/);
    if (fields === undefined) {
      fields = parts.length;
      if (fields < 2 && requireTags) {
        throw new DataError(path, line, 'a CoNLL line needs a word and a tag separated by a space or tab (e.g. "Paris B-LOC")');
      }
      if (opts.tagColumn !== undefined && (opts.tagColumn < 1 || opts.tagColumn >= fields)) {
        throw new DataError(path, line, `tag column ${opts.tagColumn} does not exist: lines have ${fields} fields (word at 0)`);
      }
    } else if (parts.length !== fields) {
      throw new DataError(path, line, `${parts.length} field(s) where every line so far had ${fields} (word ... tag); separate sentences with an empty line and keep one word per line`);
    }
    if (tokens.length === 0) first = line;
    tokens.push(parts[0]!);
    if (fields > 1) tags.push(parts[opts.tagColumn ?? fields - 1]!);
  }
  const e = flush();
  if (e) yield e;
}

async function* jsonlTokenExamples(path: string, opts: TokenReadOptions): AsyncGenerator<TokenExample> {
  const tokensName = opts.tokensField ?? 'tokens';
  const requireTags = opts.requireTags ?? true;
  for await (const { value, line } of jsonlRecords(path)) {
    const tokens = value[tokensName];
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
      throw new DataError(path, line, `"${tokensName}" must be a list of strings (fields: ${Object.keys(value).join(', ')})`, tokensName);
    }
    if (tokens.length === 0) throw new DataError(path, line, `"${tokensName}" is empty`, tokensName);
    const tagsName = opts.tagsField ?? (value.tags === undefined && value.ner_tags !== undefined ? 'ner_tags' : 'tags');
    const tags = value[tagsName];
    const e: TokenExample = { tokens: tokens as string[], file: path, line };
    if (tags === undefined) {
      if (requireTags) throw new DataError(path, line, `no "${tagsName}" (fields: ${Object.keys(value).join(', ')}); name the tag field with --tags-column`, tagsName);
    } else {
      if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
        throw new DataError(path, line, `"${tagsName}" must be a list of tag names like "B-PER" (numeric tags need an id2label to read)`, tagsName);
      }
      if (tags.length !== tokens.length) {
        throw new DataError(path, line, `${tokens.length} words but ${tags.length} tags; give one tag per word`, tagsName);
      }
      e.tags = tags as string[];
    }
    yield e;
  }
}
