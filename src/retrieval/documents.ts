/**
 * Documents of a search index, and the corpus files they are read from: BEIR's corpus.jsonl
 * (`_id`, `title`, `text`), other JSON Lines files, and CSV/TSV files with a header row.
 */
import { readFile } from 'node:fs/promises';
import { CsvError, parse } from 'csv-parse/sync';
import { DataError, excerpt } from '../data/errors.js';
import { decodedLineBatches } from '../data/lines.js';
import { checkReadableFile } from '../io/files.js';
import { RetrievalError } from './errors.js';

/** One document of a search index. */
export interface IndexDocument {
  /** Unique within the index. */
  readonly id: string;
  /** The text that is embedded and searched (after the title, when there is one). */
  readonly text: string;
  readonly title?: string;
  /** Anything JSON the caller wants back with a hit (kept, never searched). */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Fields (JSONL) or columns (CSV/TSV) of a corpus file. */
export interface CorpusFields {
  /** The id (default `_id` when the first record has it, as BEIR writes it, else `id`). */
  readonly id?: string;
  /** The text (default `text`). */
  readonly text?: string;
  /** The title (default `title`, used when present; an empty title is no title). */
  readonly title?: string;
}

/** The text a document is embedded as: its title and text joined by a space, as BEIR does. */
export function documentText(d: IndexDocument): string {
  return d.title ? `${d.title} ${d.text}` : d.text;
}

/**
 * Checks documents given to an index: every id a non-empty string, every text a non-blank string,
 * ids distinct within the list.
 *
 * @throws RetrievalError `invalid_input` naming `documents[i]` and the field.
 */
export function checkDocuments(documents: readonly IndexDocument[], what = 'documents'): IndexDocument[] {
  if (!Array.isArray(documents)) throw new RetrievalError('invalid_input', `${what} must be an array of {id, text, title?, metadata?}`, { field: what });
  const seen = new Map<string, number>();
  return documents.map((d, i) => {
    const field = `${what}[${i}]`;
    if (d === null || typeof d !== 'object') throw new RetrievalError('invalid_input', `${field} must be an object {id, text, title?, metadata?}`, { field });
    if (typeof d.id !== 'string' || d.id === '') throw new RetrievalError('invalid_input', `${field}.id must be a non-empty string`, { field: `${field}.id` });
    if (typeof d.text !== 'string' || d.text.trim() === '') {
      throw new RetrievalError('invalid_input', `${field}.text (document ${JSON.stringify(d.id)}) must be a non-blank string`, { field: `${field}.text` });
    }
    if (d.title !== undefined && typeof d.title !== 'string') throw new RetrievalError('invalid_input', `${field}.title must be a string`, { field: `${field}.title` });
    if (d.metadata !== undefined && (d.metadata === null || typeof d.metadata !== 'object' || Array.isArray(d.metadata))) {
      throw new RetrievalError('invalid_input', `${field}.metadata must be a JSON object`, { field: `${field}.metadata` });
    }
    const first = seen.get(d.id);
    if (first !== undefined) {
      throw new RetrievalError('invalid_input', `${field}: the id ${JSON.stringify(d.id)} is also the id of ${what}[${first}]; give every document its own id`, {
        field: `${field}.id`,
      });
    }
    seen.set(d.id, i);
    const out: { id: string; text: string; title?: string; metadata?: Readonly<Record<string, unknown>> } = { id: d.id, text: d.text };
    if (d.title) out.title = d.title;
    if (d.metadata !== undefined) out.metadata = d.metadata;
    return out;
  });
}

/** An id cell or field as a string: strings as written, numbers in their JSON form. */
function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Reads the documents of a corpus file: JSON Lines (`.jsonl`, `.json`, `.ndjson`; one object per
 * line, blank lines skipped; an object-valued `metadata` field is kept) or CSV/TSV with a header row.
 *
 * @throws DataError naming the file and line: a record without an id or text, a duplicate id (with
 *   the line of its first use), JSON that does not parse, broken CSV; a file without documents.
 */
export async function readCorpus(file: string, fields: CorpusFields = {}): Promise<IndexDocument[]> {
  const ext = /\.([a-z0-9]+)$/i.exec(file)?.[1]?.toLowerCase() ?? '';
  const records: { line: number; get(name: string): unknown; has(name: string): boolean; metadata?: unknown }[] = [];
  if (ext === 'csv' || ext === 'tsv' || ext === 'tab') {
    await checkReadableFile(file, { what: 'a corpus file' });
    const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
    let rows: { record: Record<string, string>; info: { lines: number } }[];
    try {
      rows = parse(text, {
        columns: (h: string[]) => h.map((c) => c.trim()),
        delimiter: ext === 'csv' ? ',' : '\t',
        quote: ext === 'csv' ? '"' : false,
        skip_empty_lines: true,
        info: true,
        relax_column_count: false,
      }) as never;
    } catch (e) {
      if (e instanceof CsvError)
        throw new DataError(file, (e as { lines?: number }).lines, `broken ${ext.toUpperCase()} (${excerpt(e.message, 200)}). Check the quoting of this record`);
      throw e;
    }
    for (const { record, info } of rows) records.push({ line: info.lines, get: (n) => record[n], has: (n) => Object.hasOwn(record, n) });
  } else if (ext === 'jsonl' || ext === 'json' || ext === 'ndjson') {
    for await (const { lines, first } of decodedLineBatches(file, {
      emptyProblem: 'is empty: there are no documents. Give one JSON object per line, like {"_id": "d1", "text": "..."}',
    })) {
      lines.forEach((raw, i) => {
        const line = first + i;
        if (raw.trim() === '') return;
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (e) {
          throw new DataError(
            file,
            line,
            `not valid JSON (${excerpt((e as Error).message, 200)}). Each line must be one JSON object like {"_id": "d1", "title": "", "text": "..."}`,
          );
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value))
          throw new DataError(file, line, 'not a JSON object. Each line must be one object like {"_id": "d1", "text": "..."}');
        const o = value as Record<string, unknown>;
        records.push({ line, get: (n) => o[n], has: (n) => Object.hasOwn(o, n), metadata: o.metadata });
      });
    }
  } else {
    throw new DataError(
      file,
      undefined,
      `cannot tell the format from ${ext ? `the extension ".${ext}"` : 'a file name without an extension'}. Use .jsonl (JSON Lines), .csv or .tsv`,
    );
  }
  if (records.length === 0) throw new DataError(file, undefined, 'has no documents. Give one document per line (JSONL) or per row (CSV/TSV, after the header)');
  const idName = fields.id ?? (records[0]!.has('_id') ? '_id' : 'id');
  const textName = fields.text ?? 'text';
  const titleName = fields.title ?? 'title';
  const firstLine = new Map<string, number>();
  return records.map((r) => {
    const id = idOf(r.get(idName));
    if (id === undefined)
      throw new DataError(file, r.line, `no id in "${idName}" (it must be a non-empty string or a number). Give every document an id, or name the id field`, idName);
    const text = r.get(textName);
    if (typeof text !== 'string' || text.trim() === '') {
      throw new DataError(
        file,
        r.line,
        `document ${JSON.stringify(id)} has no text in "${textName}" (it must be a non-blank string). Fill it in, or name the text field`,
        textName,
      );
    }
    const seen = firstLine.get(id);
    if (seen !== undefined) throw new DataError(file, r.line, `the id ${JSON.stringify(id)} was already used on line ${seen}. Give every document its own id`, idName);
    firstLine.set(id, r.line);
    const title = r.get(titleName);
    if (title !== undefined && title !== null && typeof title !== 'string') throw new DataError(file, r.line, `"${titleName}" must be a string`, titleName);
    const doc: { id: string; text: string; title?: string; metadata?: Record<string, unknown> } = { id, text };
    if (typeof title === 'string' && title.trim() !== '') doc.title = title;
    if (r.metadata !== null && typeof r.metadata === 'object' && !Array.isArray(r.metadata)) doc.metadata = r.metadata as Record<string, unknown>;
    return doc;
  });
}
