/**
 * Reading retrieval test collections in the BEIR layout: a corpus (`corpus.jsonl`), queries
 * (`queries.jsonl`) and relevance judgements (`qrels/test.tsv`). Errors name the file and line,
 * the field concerned and what to do.
 */
import { DataError, excerpt } from '../data/errors.js';
import { decodedLineBatches } from '../data/lines.js';

/** A document of a corpus. */
export interface BeirDocument {
  readonly id: string;
  /** Empty when the line has no title. */
  readonly title: string;
  readonly text: string;
}

/** A query. */
export interface BeirQuery {
  readonly id: string;
  readonly text: string;
}

/**
 * Relevance judgements: query id -> corpus id -> relevance (BEIR's integer grade; 0 or less
 * means judged not relevant).
 */
export type Qrels = ReadonlyMap<string, ReadonlyMap<string, number>>;

const CORPUS_EXAMPLE = '{"_id": "doc1", "title": "...", "text": "..."}';
const QUERY_EXAMPLE = '{"_id": "q1", "text": "..."}';

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

function own(value: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(value, name) ? value[name] : undefined;
}

/** The objects of a JSON Lines file with their 1-based lines; blank lines are skipped. */
async function* jsonObjects(file: string, example: string, what: string): AsyncGenerator<{ value: Record<string, unknown>; line: number }> {
  const source = { emptyProblem: `the file is empty. It needs ${what}, one JSON object per line like ${example}` };
  for await (const { lines, first } of decodedLineBatches(file, source)) {
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      const line = first + i;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        throw new DataError(file, line, `not valid JSON (${excerpt((e as Error).message, 200)}). Each line must be one JSON object like ${example}`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new DataError(file, line, `expected a JSON object, got ${typeName(value)}. Each line must be one object like ${example}`);
      }
      yield { value: value as Record<string, unknown>, line };
    }
  }
}

/** The id of a line: `_id`, else `id`; a string or an integer (written as a string). */
function idOf(file: string, line: number, value: Record<string, unknown>, example: string): string {
  const field = own(value, '_id') !== undefined ? '_id' : 'id';
  const raw = own(value, field);
  if (raw === undefined) {
    throw new DataError(file, line, `the line has no "_id" (nor "id") field. Every line needs an id, like ${example}`, '_id');
  }
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  if (typeof raw !== 'string') {
    throw new DataError(file, line, `"${field}" is ${typeName(raw)}; it must be a string (or an integer)`, field);
  }
  if (raw === '') throw new DataError(file, line, `"${field}" is empty. Give every line a non-empty id`, field);
  return raw;
}

/** A string field; `optional` ones default to the empty string. */
function textField(file: string, line: number, value: Record<string, unknown>, name: string, example: string, optional = false): string {
  const raw = own(value, name);
  if (raw === undefined || (optional && raw === null)) {
    if (optional) return '';
    throw new DataError(file, line, `the line has no "${name}" field. Every line needs one, like ${example}`, name);
  }
  if (typeof raw !== 'string') throw new DataError(file, line, `"${name}" is ${typeName(raw)}; it must be a string`, name);
  return raw;
}

/** Refuses an id seen before, naming the line it was first on. */
function checkUnique(file: string, line: number, id: string, seen: Map<string, number>, what: string): void {
  const before = seen.get(id);
  if (before !== undefined) {
    throw new DataError(file, line, `the ${what} id "${excerpt(id)}" is already on line ${before}. Ids must be unique: remove or rename one of them`, '_id');
  }
  seen.set(id, line);
}

/**
 * The documents of a BEIR `corpus.jsonl`: one object per line with `_id` (or `id`), an optional
 * `title` and `text` (which may be empty); other fields are ignored. Blank lines are skipped.
 *
 * @throws DataError naming the file and line for invalid JSON, a missing or non-string field, and
 *   an id used twice; for an empty file; TunaError for a missing or unreadable file.
 */
export async function readBeirCorpus(file: string): Promise<BeirDocument[]> {
  const out: BeirDocument[] = [];
  const seen = new Map<string, number>();
  for await (const { value, line } of jsonObjects(file, CORPUS_EXAMPLE, 'documents')) {
    const id = idOf(file, line, value, CORPUS_EXAMPLE);
    checkUnique(file, line, id, seen, 'document');
    const title = textField(file, line, value, 'title', CORPUS_EXAMPLE, true);
    const text = textField(file, line, value, 'text', CORPUS_EXAMPLE);
    out.push({ id, title, text });
  }
  if (out.length === 0) throw new DataError(file, undefined, `the file holds no document (only blank lines). Write one per line like ${CORPUS_EXAMPLE}`);
  return out;
}

/**
 * The queries of a BEIR `queries.jsonl`: one object per line with `_id` (or `id`) and a
 * non-empty `text`; other fields (`metadata`) are ignored. Blank lines are skipped.
 *
 * @throws DataError naming the file and line for invalid JSON, a missing, non-string or empty
 *   text, a missing id and an id used twice; for an empty file; TunaError for a missing or
 *   unreadable file.
 */
export async function readBeirQueries(file: string): Promise<BeirQuery[]> {
  const out: BeirQuery[] = [];
  const seen = new Map<string, number>();
  for await (const { value, line } of jsonObjects(file, QUERY_EXAMPLE, 'queries')) {
    const id = idOf(file, line, value, QUERY_EXAMPLE);
    checkUnique(file, line, id, seen, 'query');
    const text = textField(file, line, value, 'text', QUERY_EXAMPLE);
    if (text.trim() === '') throw new DataError(file, line, `the text of query "${excerpt(id)}" is empty. Give it a text or remove the line`, 'text');
    out.push({ id, text });
  }
  if (out.length === 0) throw new DataError(file, undefined, `the file holds no query (only blank lines). Write one per line like ${QUERY_EXAMPLE}`);
  return out;
}

const QRELS_HEADER = 'query-id\tcorpus-id\tscore';

/**
 * The relevance judgements of a BEIR qrels file: tab-separated `query-id`, `corpus-id`, `score`
 * (a number, usually an integer grade; 0 or less means not relevant), after a header row
 * `query-id	corpus-id	score` (a first row whose score is not a number is taken as the header,
 * whatever it names). Blank lines are skipped.
 *
 * @throws DataError naming the file and line for a row without three fields, an empty id, a score
 *   that is not a number, and a (query, document) pair judged twice; for a file without judgements;
 *   TunaError for a missing or unreadable file.
 */
export async function readQrels(file: string): Promise<Qrels> {
  const out = new Map<string, Map<string, number>>();
  const lineOf = new Map<string, Map<string, number>>();
  const source = { emptyProblem: `the file is empty. It needs a header row "${QRELS_HEADER}" and one judgement per row` };
  let firstRow = true;
  let rows = 0;
  for await (const { lines, first } of decodedLineBatches(file, source)) {
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i]!;
      const line = first + i;
      if (text.trim() === '') continue;
      const fields = text.split('\t');
      const header = firstRow;
      firstRow = false;
      if (header && (fields.length !== 3 || !isNumber(fields[2]!))) {
        if (fields.length !== 3) {
          throw new DataError(
            file,
            line,
            `the header row has ${fields.length} tab-separated field${fields.length === 1 ? '' : 's'}; a qrels file starts with "${QRELS_HEADER}" (tabs between the names)`,
          );
        }
        continue;
      }
      if (fields.length !== 3) {
        throw new DataError(
          file,
          line,
          `the row has ${fields.length} tab-separated field${fields.length === 1 ? '' : 's'}; each row needs three: query id, corpus id and score, separated by tabs`,
        );
      }
      const [query, doc, scoreText] = fields as [string, string, string];
      if (query === '') throw new DataError(file, line, 'the query id is empty. Every row needs one', 'query-id');
      if (doc === '') throw new DataError(file, line, 'the corpus id is empty. Every row needs one', 'corpus-id');
      if (!isNumber(scoreText)) {
        throw new DataError(
          file,
          line,
          `the score "${excerpt(scoreText)}" is not a number. Write the relevance as an integer grade (0 = not relevant, 1 or more = relevant)`,
          'score',
        );
      }
      let docs = out.get(query);
      let docLines = lineOf.get(query);
      if (!docs || !docLines) {
        docs = new Map();
        docLines = new Map();
        out.set(query, docs);
        lineOf.set(query, docLines);
      }
      const before = docLines.get(doc);
      if (before !== undefined) {
        throw new DataError(file, line, `query "${excerpt(query)}" and document "${excerpt(doc)}" are already judged on line ${before}. Keep one row per pair`);
      }
      docLines.set(doc, line);
      docs.set(doc, Number(scoreText));
      rows++;
    }
  }
  if (rows === 0) throw new DataError(file, undefined, `the file holds no judgement. After the header "${QRELS_HEADER}", write one row per (query, document) pair`);
  return out;
}

function isNumber(text: string): boolean {
  const t = text.trim();
  return t !== '' && Number.isFinite(Number(t));
}
