// The tuna command on a search index: index build, info, search (dense, bm25, hybrid, --rerank),
// index add from a CSV file, index delete, and eval --task retrieval, whose metrics equal those of
// the rankings `tuna search --json` prints; the errors name the file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/cli/main.js';
import { readQrels } from '../src/retrieval/beir.js';
import { retrievalMetrics, retrievalMetricsJson } from '../src/retrieval/metrics.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const CROSS = new URL('./fixtures/cross-encoder/base/', import.meta.url).pathname;
const DATA = new URL('./fixtures/search/', import.meta.url).pathname;

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

interface Hit {
  id: string;
  score: number;
  title?: string;
  text?: string;
}
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { query: string; hits: Hit[] });

let work: string;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-search-cli-'));
});
test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('index build, info and search: dense, bm25 (Chinese), hybrid, reranked; JSON lines and text', async () => {
  const dir = join(work, 'idx');
  const built = await tuna('index', 'build', '--model', BASE, '--input', join(DATA, 'corpus.jsonl'), '--output', dir, '--threads', '1', '--json');
  assert.equal(built.code, 0, built.stderr);
  assert.deepEqual(JSON.parse(built.stdout).documents, 24);
  const info = await tuna('index', 'info', '--index', dir, '--json');
  const i = JSON.parse(info.stdout);
  assert.equal(i.dimension, 32);
  assert.equal(i.bm25.k1, 1.2);
  assert.equal(i.ann.library, 'usearch 2.26');
  const text = await tuna('index', 'info', '--index', dir);
  assert.match(text.stdout, /documents {2}24/);

  const s = await tuna('search', '--index', dir, '--query', '忘记密码怎么重置', '--query', 'lost card bank', '--retriever', 'bm25', '--top-k', '2', '--json');
  assert.equal(s.code, 0, s.stderr);
  const [zh, en] = lines(s.stdout);
  assert.equal(zh!.query, '忘记密码怎么重置');
  assert.equal(zh!.hits[0]!.id, 'zh1');
  assert.equal(zh!.hits[0]!.title, '密码');
  assert.equal(en!.hits[0]!.id, 'en2');
  for (const retriever of ['dense', 'hybrid']) {
    const r = await tuna('search', '--index', dir, '--query', 'how do i reset my password', '--retriever', retriever, '--json', '--threads', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r.stdout)[0]!.hits.length, 10);
  }
  const exact = lines((await tuna('search', '--index', dir, '--query', 'weather', '--exact', '--json')).stdout)[0]!.hits;
  const ann = lines((await tuna('search', '--index', dir, '--query', 'weather', '--json')).stdout)[0]!.hits;
  assert.deepEqual(
    ann.map((h) => h.score),
    exact.map((h) => h.score),
  );
  const reranked = await tuna('search', '--index', dir, '--query', 'reset my password', '--retriever', 'bm25', '--rerank', CROSS, '--rerank-top-k', '4', '--top-k', '3', '--json');
  assert.equal(reranked.code, 0, reranked.stderr);
  const hits = lines(reranked.stdout)[0]!.hits;
  assert.equal(hits.length, 3);
  assert.ok(hits[0]!.score >= hits[1]!.score && hits[1]!.score >= hits[2]!.score);
  assert.match(reranked.stderr, /reranked by/);
  const human = await tuna('search', '--index', dir, '--query', 'store open today', '--retriever', 'bm25', '--top-k', '1');
  assert.match(human.stdout, /^store open today\n +1\. \d+\.\d{4} {2}en4 {2}Store hours \| what time/);
});

test('index add from CSV (a known id replaced), index delete by --id and --ids-file; each change saved atomically', async () => {
  const dir = join(work, 'idx2');
  assert.equal((await tuna('index', 'build', '--model', BASE, '--input', join(DATA, 'corpus.jsonl'), '--output', dir, '--no-ann', '--threads', '1')).code, 0);
  const csv = join(work, 'more.csv');
  await writeFile(csv, 'qid,answer\nn1,"snow and ice, freezing weather"\nen4,the store never closes\n');
  const added = await tuna('index', 'add', '--index', dir, '--input', csv, '--id-field', 'qid', '--text-field', 'answer', '--json');
  assert.equal(added.code, 0, added.stderr);
  assert.deepEqual(JSON.parse(added.stdout), { index: dir, added: 1, replaced: 1, documents: 25, dimension: 32, generation: 2, bytes: JSON.parse(added.stdout).bytes });
  const top = async (q: string) => lines((await tuna('search', '--index', dir, '--query', q, '--retriever', 'bm25', '--top-k', '1', '--json')).stdout)[0]!.hits[0];
  assert.equal((await top('freezing snow'))!.id, 'n1');
  assert.equal((await top('store never closes'))!.text, 'the store never closes');
  const deleted = await tuna('index', 'delete', '--index', dir, '--id', 'n1', '--id', 'missing-id');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /1 documents deleted; .* holds 24 documents/);
  assert.match(deleted.stderr, /1 id\(s\) not in the index: missing-id/);
  const idsFile = join(work, 'ids.txt');
  await writeFile(idsFile, 'zh1\n\nzh2\n');
  assert.equal((await tuna('index', 'delete', '--index', dir, '--ids-file', idsFile)).code, 0);
  assert.notEqual((await top('freezing snow'))?.id, 'n1');
  const info = JSON.parse((await tuna('index', 'info', '--index', dir, '--json')).stdout);
  assert.equal(info.documents, 22);
  assert.equal(info.generation, 4);
  assert.deepEqual((await readdir(dir)).sort(), ['gen-000004', 'manifest.json']);
});

test('eval --task retrieval: the metrics of the rankings tuna search prints, for dense, bm25 and hybrid', async () => {
  const dir = join(work, 'eval-idx');
  assert.equal((await tuna('index', 'build', '--model', BASE, '--input', join(DATA, 'corpus.jsonl'), '--output', dir, '--no-ann', '--threads', '1')).code, 0);
  const qrels = await readQrels(join(DATA, 'qrels.tsv'));
  const queries = (await import('node:fs/promises').then((f) => f.readFile(join(DATA, 'queries.jsonl'), 'utf8')))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { _id: string; text: string });
  for (const retriever of ['dense', 'bm25', 'hybrid']) {
    const e = await tuna(
      'eval',
      '--task',
      'retrieval',
      '--model',
      BASE,
      '--corpus',
      join(DATA, 'corpus.jsonl'),
      '--queries',
      join(DATA, 'queries.jsonl'),
      '--qrels',
      join(DATA, 'qrels.tsv'),
      '--retriever',
      retriever,
      '--json',
      '--threads',
      '1',
    );
    assert.equal(e.code, 0, e.stderr);
    const got = JSON.parse(e.stdout);
    const s = await tuna('search', '--index', dir, ...queries.flatMap((q) => ['--query', q.text]), '--retriever', retriever, '--top-k', '100', '--json');
    const rankings = new Map(lines(s.stdout).map((l, i) => [queries[i]!._id, l.hits.map((h) => ({ id: h.id, score: h.score }))]));
    const want = retrievalMetricsJson(retrievalMetrics(rankings, qrels));
    for (const [k, v] of Object.entries(want)) assert.ok(Math.abs(got[k] - v) < 1e-9, `${retriever} ${k}: ${got[k]} vs ${v}`);
    assert.equal(got.queries, 8);
    assert.equal(got.retriever, retriever);
  }
  const bm25 = JSON.parse(
    (
      await tuna(
        'eval',
        '--task',
        'retrieval',
        '--model',
        BASE,
        '--corpus',
        join(DATA, 'corpus.jsonl'),
        '--queries',
        join(DATA, 'queries.jsonl'),
        '--qrels',
        join(DATA, 'qrels.tsv'),
        '--retriever',
        'bm25',
        '--json',
      )
    ).stdout,
  );
  assert.ok(bm25['ndcg@10'] > 0.9, String(bm25['ndcg@10']));
  const table = await tuna(
    'eval',
    '--task',
    'retrieval',
    '--model',
    BASE,
    '--corpus',
    join(DATA, 'corpus.jsonl'),
    '--queries',
    join(DATA, 'queries.jsonl'),
    '--qrels',
    join(DATA, 'qrels.tsv'),
  );
  assert.match(table.stdout, /8 queries evaluated\n.*@1.*@100\nnDCG/);
});

test('errors: duplicate ids (file:line), no index, flags of another task, missing --data', async () => {
  const dupes = join(work, 'dupes.jsonl');
  await writeFile(dupes, '{"_id": "a", "text": "one"}\n{"_id": "b", "text": "two"}\n{"_id": "a", "text": "three"}\n');
  const d = await tuna('index', 'build', '--model', BASE, '--input', dupes, '--output', join(work, 'never'), '--json');
  assert.equal(d.code, 1);
  assert.match(d.stderr, new RegExp(`${dupes}:3: the id "a" was already used on line 1`));
  assert.equal(JSON.parse(d.stdout).error.code, 'invalid_data');
  const none = await tuna('search', '--index', join(work, 'nothing'), '--query', 'x');
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no search index/);
  const existing = await tuna('index', 'build', '--model', BASE, '--input', join(DATA, 'corpus.jsonl'), '--output', join(work, 'idx'));
  assert.equal(existing.code, 1);
  assert.match(existing.stderr, /holds a search index already/);
  const mixed = await tuna('eval', '--model', BASE, '--corpus', join(DATA, 'corpus.jsonl'), '--data', 'x.csv');
  assert.match(mixed.stderr, /--corpus belong to --task retrieval/);
  const noData = await tuna('eval', '--model', BASE);
  assert.match(noData.stderr, /--data/);
  const missing = await tuna('eval', '--task', 'retrieval', '--model', BASE, '--corpus', join(DATA, 'corpus.jsonl'));
  assert.match(missing.stderr, /needs --queries/);
});
