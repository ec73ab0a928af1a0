/**
 * Training data of sentence-embedding models: pairs and triplets (`anchor`, `positive`, optional
 * `negative`), scored pairs (`sentence1`, `sentence2`, `score`) from CSV/TSV (with a header row) or
 * JSON Lines, and raw texts (one per line, or a `text` column) for unsupervised SimCSE.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { DataError } from '../data/errors.js';

/** One training example: the texts of its columns and, for scored pairs, the score. */
export interface SentenceExample {
  /** The texts, in column order (anchor, positive, negative...; or sentence1, sentence2). */
  readonly texts: readonly string[];
  readonly score?: number;
}

/** What a data file holds. */
export interface SentenceDataset {
  /** `triplets`: anchor, positive, negative; `pairs`: anchor, positive; `scored`: two texts and a score; `texts`: one text. */
  readonly kind: 'pairs' | 'triplets' | 'scored' | 'texts';
  readonly columns: readonly string[];
  readonly examples: readonly SentenceExample[];
}

/** Column names a file may use for each kind (the first matching set wins). */
const LAYOUTS: readonly { kind: SentenceDataset['kind']; texts: readonly string[]; score?: string }[] = [
  { kind: 'triplets', texts: ['anchor', 'positive', 'negative'] },
  { kind: 'pairs', texts: ['anchor', 'positive'] },
  { kind: 'scored', texts: ['sentence1', 'sentence2'], score: 'score' },
  { kind: 'scored', texts: ['sentence1', 'sentence2'], score: 'label' },
  { kind: 'texts', texts: ['text'] },
];

/** Splits CSV/TSV text into rows of fields (RFC 4180 quoting: "a ""b""", fields spanning lines). */
function parseDelimited(text: string, sep: string, path: string): { rows: string[][]; lines: number[] } {
  const rows: string[][] = [];
  const lines: number[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === sep) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') {
        rows.push(row);
        lines.push(rowLine);
      }
      row = [];
      field = '';
      line++;
      rowLine = line;
    } else field += c;
  }
  if (quoted) throw new DataError(path, rowLine, 'a quoted field is never closed; close the quote (a quote inside a field is written "")');
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
    lines.push(rowLine);
  }
  return { rows, lines };
}

/** Records of a CSV/TSV/JSONL file, with their line numbers. */
async function readRecords(path: string): Promise<{ records: Record<string, unknown>[]; lines: number[]; fields: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(path, undefined, code === 'ENOENT' ? 'does not exist; check the path' : `cannot be read (${(e as Error).message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.json') {
    const records: Record<string, unknown>[] = [];
    const lines: number[] = [];
    const fields = new Set<string>();
    text.split(/\r?\n/).forEach((l, i) => {
      if (l.trim() === '') return;
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch (e) {
        throw new DataError(path, i + 1, `is not valid JSON (${(e as Error).message}); write one JSON object per line`);
      }
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DataError(path, i + 1, 'must be a JSON object such as {"anchor": "...", "positive": "..."}');
      for (const k of Object.keys(v)) fields.add(k);
      records.push(v as Record<string, unknown>);
      lines.push(i + 1);
    });
    return { records, lines, fields: [...fields] };
  }
  if (ext === '.csv' || ext === '.tsv') {
    const { rows, lines } = parseDelimited(text, ext === '.tsv' ? '\t' : ',', path);
    if (rows.length === 0) throw new DataError(path, undefined, 'is empty; give a header row and one example per row');
    const header = rows[0]!.map((h) => h.trim());
    const records = rows.slice(1).map((r, i) => {
      if (r.length !== header.length) throw new DataError(path, lines[i + 1], `has ${r.length} fields, the header ${header.length}; quote fields that hold the separator`);
      return Object.fromEntries(header.map((h, k) => [h, r[k]]));
    });
    return { records, lines: lines.slice(1), fields: header };
  }
  // Plain text: one text per line (SimCSE).
  const records: Record<string, unknown>[] = [];
  const lines: number[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    if (l.trim() === '') return;
    records.push({ text: l });
    lines.push(i + 1);
  });
  return { records, lines, fields: ['text'] };
}

/**
 * Reads a sentence-embedding training file. The kind follows from the columns: `anchor`,
 * `positive` and optional `negative` (more negatives as `negative_2`, ... are kept too);
 * `sentence1`, `sentence2` and `score` (or `label`); or `text` (a plain text file is one text per
 * line).
 *
 * @throws DataError naming the file, the line and the field: a missing file or column, an empty
 *   text, a score that is not a number.
 */
export async function readSentenceDataset(path: string): Promise<SentenceDataset> {
  const { records, lines, fields } = await readRecords(path);
  if (records.length === 0) throw new DataError(path, undefined, 'has no examples');
  const layout = LAYOUTS.find((l) => l.texts.every((c) => fields.includes(c)) && (l.score === undefined || fields.includes(l.score)));
  if (!layout) {
    throw new DataError(
      path,
      undefined,
      `has the columns ${fields.join(', ')}; sentence-embedding training needs anchor and positive (optional negative), sentence1, sentence2 and score, or text (SimCSE)`,
    );
  }
  const columns = [...layout.texts];
  if (layout.kind === 'triplets') for (const f of fields) if (/^negative_\d+$/.test(f)) columns.push(f);
  const examples = records.map((r, i): SentenceExample => {
    const texts = columns.map((c) => {
      const v = r[c];
      if (typeof v !== 'string' || v.trim() === '') throw new DataError(path, lines[i], `"${c}" is ${typeof v === 'string' ? 'empty' : 'missing or not a string'}; give a text`, c);
      return v;
    });
    if (layout.score === undefined) return { texts };
    const raw = r[layout.score];
    const score = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (!Number.isFinite(score))
      throw new DataError(path, lines[i], `"${layout.score}" is ${JSON.stringify(raw)}, not a number; give a similarity score (e.g. 0 to 1)`, layout.score);
    return { texts, score };
  });
  return { kind: layout.kind === 'triplets' && columns.length === 2 ? 'pairs' : layout.kind, columns, examples };
}
