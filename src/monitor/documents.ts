/**
 * Reading documents: one input row (a CSV record, a JSON object) as an {@link IncomingDocument}
 * with its timestamp parsed, and whole CSV/TSV/JSON Lines files in batches. Errors name the file,
 * the line and the column.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { checkReadableFile } from '../index.js';
import type { InputFields } from './config.js';
import { MonitorError } from './errors.js';
import type { IncomingDocument } from './types.js';

/** The default input columns. */
export const DEFAULT_INPUT_FIELDS: InputFields = { id: 'id', text: 'text', timestamp: 'timestamp', source: 'source' };

/**
 * Milliseconds since the epoch of a timestamp: an ISO 8601 text (a time without a zone is UTC),
 * or a number (or numeric text) of seconds (below 1e11) or milliseconds. Null when it is none.
 */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? (Math.abs(value) < 1e11 ? value * 1000 : value) : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const t = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return parseTimestamp(Number(t));
  const iso = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/.test(t) ? `${t.replace(' ', 'T')}${t.length > 10 ? 'Z' : 'T00:00:00Z'}` : t;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** An id for a row that has none: a hash of its text, timestamp and source (the same row gets the same id). */
export function derivedId(text: string, timestamp: number, source: string | undefined): string {
  return `h:${createHash('sha1')
    .update(`${timestamp}\u0000${source ?? ''}\u0000${text}`)
    .digest('hex')
    .slice(0, 24)}`;
}

/**
 * One input row as a document. `where` prefixes messages (`news.csv, line 7` or `documents[3]`).
 *
 * @throws MonitorError `invalid_data` naming the row and the column.
 */
export function toDocument(row: Readonly<Record<string, unknown>>, fields: InputFields, where: string, file?: string): IncomingDocument {
  const fail = (field: string, problem: string) => new MonitorError('invalid_data', `${where}: ${problem}`, { ...(file ? { file } : {}), field });
  const text = row[fields.text];
  if (typeof text !== 'string' || text.trim() === '') throw fail(fields.text, `"${fields.text}" is missing or empty; every document needs a text`);
  const rawTime = row[fields.timestamp];
  if (rawTime === undefined || rawTime === null || rawTime === '')
    throw fail(fields.timestamp, `"${fields.timestamp}" is missing; give an ISO 8601 time (2024-05-01T13:00:00Z) or epoch seconds/milliseconds`);
  const timestamp = parseTimestamp(rawTime);
  if (timestamp === null)
    throw fail(fields.timestamp, `"${fields.timestamp}" is ${JSON.stringify(rawTime)}, not a time; give ISO 8601 (2024-05-01T13:00:00Z) or epoch seconds/milliseconds`);
  const rawSource = row[fields.source];
  if (rawSource !== undefined && rawSource !== null && typeof rawSource !== 'string') throw fail(fields.source, `"${fields.source}" must be a text`);
  const source = typeof rawSource === 'string' && rawSource.trim() !== '' ? rawSource.trim() : undefined;
  const rawId = row[fields.id];
  if (rawId !== undefined && rawId !== null && rawId !== '' && typeof rawId !== 'string' && typeof rawId !== 'number')
    throw fail(fields.id, `"${fields.id}" must be a text or a number`);
  const id = rawId === undefined || rawId === null || rawId === '' ? derivedId(text, timestamp, source) : String(rawId);
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (k !== fields.id && k !== fields.text && k !== fields.timestamp && k !== fields.source) meta[k] = v;
  return { id, text, timestamp, ...(source ? { source } : {}), ...(Object.keys(meta).length > 0 ? { meta } : {}) };
}

/** File types {@link readDocumentBatches} reads. */
export const DOCUMENT_FILE_TYPES = ['.csv', '.tsv', '.jsonl', '.ndjson'] as const;

/**
 * The documents of a CSV/TSV (header row) or JSON Lines file, in batches of `batchSize`, in file
 * order. A bad row stops the read with an error naming its line.
 */
export async function* readDocumentBatches(file: string, fields: InputFields = DEFAULT_INPUT_FIELDS, batchSize = 256): AsyncGenerator<IncomingDocument[]> {
  await checkReadableFile(file, { what: 'a documents file' });
  const ext = extname(file).toLowerCase();
  let batch: IncomingDocument[] = [];
  if (ext === '.jsonl' || ext === '.ndjson') {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
    let n = 0;
    for await (const raw of lines) {
      n += 1;
      const line = n === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        throw new MonitorError('invalid_data', `${file}, line ${n}: not valid JSON (${(e as Error).message})`, { file, cause: e });
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new MonitorError('invalid_data', `${file}, line ${n}: each line must be a JSON object`, { file });
      batch.push(toDocument(row as Record<string, unknown>, fields, `${file}, line ${n}`, file));
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  } else if (ext === '.csv' || ext === '.tsv') {
    const parser = createReadStream(file).pipe(
      parseCsv({
        columns: (h: string[]) => h.map((c) => c.replace(/^\uFEFF/, '').trim()),
        delimiter: ext === '.csv' ? ',' : '\t',
        skip_empty_lines: true,
        info: true,
        relax_quotes: ext === '.tsv',
        bom: true,
      }),
    );
    try {
      for await (const r of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        batch.push(toDocument(r.record, fields, `${file}, line ${r.info.lines}`, file));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    } catch (e) {
      if (e instanceof MonitorError) throw e;
      throw new MonitorError('invalid_data', `${file}: broken ${ext.slice(1).toUpperCase()} (${(e as Error).message})`, { file, cause: e });
    }
  } else {
    throw new MonitorError('invalid_data', `${file}: a documents file must be ${DOCUMENT_FILE_TYPES.join(', ')}`, { file });
  }
  if (batch.length > 0) yield batch;
}
