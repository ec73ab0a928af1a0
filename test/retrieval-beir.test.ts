/** Reading BEIR corpus, queries and qrels files, and the errors that name file, line and field. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../src/data/errors.js';
import { TunaError } from '../src/errors.js';
import { readBeirCorpus, readBeirQueries, readQrels } from '../src/retrieval/beir.js';

const scratch = await mkdtemp(join(tmpdir(), 'tuna-retrieval-beir-'));
after(() => rm(scratch, { recursive: true, force: true }));

let n = 0;
async function file(text: string | Uint8Array, ext = 'jsonl'): Promise<string> {
  const path = join(scratch, `f${n++}.${ext}`);
  await writeFile(path, text);
  return path;
}

/** Asserts that `p` rejects with a DataError for `path` at `line` (and `field`) matching `pattern`. */
async function rejectsAt(p: Promise<unknown>, path: string, line: number | undefined, pattern: RegExp, field?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.equal(e.line, line, e.message);
    assert.ok(e.message.startsWith(line === undefined ? `${path}: ` : `${path}:${line}: `), e.message);
    assert.match(e.message, pattern);
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  });
}

test('a corpus: _id or id, optional title, text; blank lines, BOM, CRLF and extra fields', async () => {
  const path = await file(
    '\ufeff{"_id": "d1", "title": "Cats", "text": "Cats purr.", "metadata": {}}\r\n\r\n{"id": 7, "text": ""}\r\n{"_id": "d3", "title": null, "text": "Dogs bark."}\n',
  );
  assert.deepEqual(await readBeirCorpus(path), [
    { id: 'd1', title: 'Cats', text: 'Cats purr.' },
    { id: '7', title: '', text: '' },
    { id: 'd3', title: '', text: 'Dogs bark.' },
  ]);
});

test('corpus errors name the file, the line and the field', async () => {
  let p = await file('{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n');
  await rejectsAt(readBeirCorpus(p), p, 2, /the document id "d1" is already on line 1\. Ids must be unique/, '_id');
  p = await file('{"_id": "d1", "text": "a"}\n{"title": "x", "text": "b"}\n');
  await rejectsAt(readBeirCorpus(p), p, 2, /no "_id" \(nor "id"\) field/, '_id');
  p = await file('{"_id": "d1"}\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /the line has no "text" field/, 'text');
  p = await file('{"_id": "d1", "text": 3}\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /"text" is a number; it must be a string/, 'text');
  p = await file('{"_id": "d1", "title": ["x"], "text": "a"}\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /"title" is an array; it must be a string/, 'title');
  p = await file('{"_id": "", "text": "a"}\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /"_id" is empty/, '_id');
  p = await file('{"_id": {"a": 1}, "text": "a"}\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /"_id" is an object; it must be a string \(or an integer\)/, '_id');
  p = await file('{"_id": "d1", "text": "a"}\n{"_id": "d2", "text": "b"\n');
  await rejectsAt(readBeirCorpus(p), p, 2, /not valid JSON .*Each line must be one JSON object like \{"_id": "doc1"/);
  p = await file('["d1", "a"]\n');
  await rejectsAt(readBeirCorpus(p), p, 1, /expected a JSON object, got an array/);
  p = await file('');
  await rejectsAt(readBeirCorpus(p), p, undefined, /the file is empty\. It needs documents/);
  p = await file('\n  \n');
  await rejectsAt(readBeirCorpus(p), p, undefined, /holds no document/);
  p = await file(Uint8Array.from([0x7b, 0x7d, 0x0a, 0xff, 0x0a]));
  await rejectsAt(readBeirCorpus(p), p, 2, /not valid UTF-8/);
  const missing = join(scratch, 'nope.jsonl');
  await assert.rejects(readBeirCorpus(missing), (e: unknown) => e instanceof TunaError && e.code === 'file_not_found' && e.message.startsWith(`${missing}: `));
});

test('queries: _id and a non-empty text', async () => {
  const path = await file('{"_id": "q1", "text": "how do cats purr?", "metadata": {}}\n{"_id": 2, "text": "why"}\n');
  assert.deepEqual(await readBeirQueries(path), [
    { id: 'q1', text: 'how do cats purr?' },
    { id: '2', text: 'why' },
  ]);
  let p = await file('{"_id": "q1", "text": "a"}\n{"_id": "q2", "text": "  "}\n');
  await rejectsAt(readBeirQueries(p), p, 2, /the text of query "q2" is empty/, 'text');
  p = await file('{"_id": "q1", "text": "a"}\n\n{"_id": "q1", "text": "b"}\n');
  await rejectsAt(readBeirQueries(p), p, 3, /the query id "q1" is already on line 1/);
  p = await file('{"_id": "q1", "query": "a"}\n');
  await rejectsAt(readBeirQueries(p), p, 1, /the line has no "text" field\. Every line needs one, like \{"_id": "q1", "text": "\.\.\."\}/, 'text');
});

test('qrels: a header, tab-separated rows, grades (0 and negative grades kept)', async () => {
  const path = await file('query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq1\td2\t0\n\nq2\td1\t2\nq2\td9\t-1\n', 'tsv');
  const qrels = await readQrels(path);
  assert.deepEqual(
    [...qrels].map(([q, docs]) => [q, [...docs]]),
    [
      [
        'q1',
        [
          ['d1', 1],
          ['d2', 0],
        ],
      ],
      [
        'q2',
        [
          ['d1', 2],
          ['d9', -1],
        ],
      ],
    ],
  );
  // Without a header, the first row is a judgement.
  const bare = await readQrels(await file('q1\td1\t1\n', 'tsv'));
  assert.equal(bare.get('q1')?.get('d1'), 1);
});

test('qrels errors name the file, the line and the field', async () => {
  const H = 'query-id\tcorpus-id\tscore\n';
  let p = await file(`${H}q1\td1\t1\nq1 d2 1\n`, 'tsv');
  await rejectsAt(readQrels(p), p, 3, /the row has 1 tab-separated field; each row needs three: query id, corpus id and score/);
  p = await file(`${H}q1\td1\tyes\n`, 'tsv');
  await rejectsAt(readQrels(p), p, 2, /the score "yes" is not a number/, 'score');
  p = await file(`${H}q1\td1\t1\nq2\td1\t1\nq1\td1\t2\n`, 'tsv');
  await rejectsAt(readQrels(p), p, 4, /query "q1" and document "d1" are already judged on line 2\. Keep one row per pair/);
  p = await file(`${H}\td1\t1\n`, 'tsv');
  await rejectsAt(readQrels(p), p, 2, /the query id is empty/, 'query-id');
  p = await file(`${H}q1\t\t1\n`, 'tsv');
  await rejectsAt(readQrels(p), p, 2, /the corpus id is empty/, 'corpus-id');
  p = await file('query-id corpus-id score\nq1\td1\t1\n', 'tsv');
  await rejectsAt(readQrels(p), p, 1, /the header row has 1 tab-separated field; a qrels file starts with "query-id\tcorpus-id\tscore"/);
  p = await file(H, 'tsv');
  await rejectsAt(readQrels(p), p, undefined, /holds no judgement/);
  p = await file('', 'tsv');
  await rejectsAt(readQrels(p), p, undefined, /the file is empty\. It needs a header row/);
});
