// POST /v1/search on a real tuna server: two indexes by name (one without BM25), a cross-encoder
// for reranking, answers equal to the library's, concurrent queries batched, validation errors;
// and `tuna serve --index` from the command line.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/cli/main.js';
import { readCorpus, SearchIndex } from '../src/retrieval/index.js';
import { type TunaServer, startServer } from '../src/serve/server.js';
import { get, post } from './helpers/serve.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const CROSS = new URL('./fixtures/cross-encoder/base/', import.meta.url).pathname;
const CORPUS = new URL('./fixtures/search/corpus.jsonl', import.meta.url).pathname;

let work: string;
let server: TunaServer;
let base: string;
let faq: SearchIndex;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-search-serve-'));
  const docs = await readCorpus(CORPUS);
  faq = await SearchIndex.build({ model: BASE, documents: docs, threads: 1 });
  await faq.save(join(work, 'faq'));
  const dense = await SearchIndex.build({ model: BASE, documents: docs.slice(0, 12), threads: 1, bm25: false });
  await dense.save(join(work, 'dense-only'));
  await dense.dispose();
  server = await startServer({ models: [`ce=${CROSS}`], indexes: [join(work, 'faq'), `small=${join(work, 'dense-only')}`], port: 0, maxBatchSize: 8, maxWaitMs: 20, threads: 1 });
  base = server.address!;
});
after(async () => {
  await server?.close();
  await faq?.dispose();
  await rm(work, { recursive: true, force: true });
});

test('GET /v1/indexes lists the indexes with their documents and retrievers', async () => {
  const { status, body } = await get(base, '/v1/indexes');
  assert.equal(status, 200);
  assert.deepEqual(
    body.indexes.map((x: { name: string; documents: number; retrievers: string[]; ann: boolean; dimension: number }) => [x.name, x.documents, x.retrievers, x.ann, x.dimension]),
    [
      ['faq', 24, ['dense', 'bm25', 'hybrid'], true, 32],
      ['small', 12, ['dense'], true, 32],
    ],
  );
});

test('search answers what the library answers: one query, a list of queries, each retriever; concurrent requests', async () => {
  for (const retriever of ['dense', 'bm25', 'hybrid'] as const) {
    const r = await post(base, '/v1/search', { query: '忘记密码怎么重置', parameters: { retriever, top_k: 3 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, await faq.search('忘记密码怎么重置', { retriever, topK: 3 }), retriever);
  }
  const many = await post(base, '/v1/search', { index: 'faq', queries: ['lost card bank', 'weather today'], parameters: { top_k: 2, exact: true, return_documents: false } });
  assert.equal(many.status, 200);
  assert.deepEqual(many.body, await faq.searchMany(['lost card bank', 'weather today'], { topK: 2, exact: true, returnDocuments: false }));
  assert.deepEqual(Object.keys(many.body[0]![0]!).sort(), ['id', 'score']);
  const queries = ['cat', 'dog', 'music in the park', 'send money', 'store hours', 'password'];
  const answers = await Promise.all(queries.map((q) => post(base, '/v1/search', { query: q, parameters: { top_k: 1, return_documents: false } })));
  const want = await faq.searchMany(queries, { topK: 1, returnDocuments: false });
  answers.forEach((a, i) => assert.deepEqual(a.body, want[i]));
  const small = await post(base, '/v1/search', { index: 'small', query: 'password', parameters: { top_k: 20 } });
  assert.equal(small.body.length, 12);
});

test('rerank: the served cross-encoder reorders the first rerank_top_k hits', async () => {
  const r = await post(base, '/v1/search', { query: 'how do i reset my password', parameters: { retriever: 'bm25', top_k: 3, rerank: 'ce', rerank_top_k: 5 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const first = await faq.search('how do i reset my password', { retriever: 'bm25', topK: 5 });
  const scores = await post(base, '/v1/rerank', { query: 'how do i reset my password', documents: first.map((h) => (h.title ? `${h.title} ${h.text}` : h.text!)) });
  assert.deepEqual(
    r.body.map((h: { id: string }) => h.id),
    scores.body.slice(0, 3).map((s: { index: number }) => first[s.index]!.id),
  );
  r.body.forEach((h: { score: number }, i: number) => assert.ok(Math.abs(h.score - scores.body[i].score) < 1e-6));
  const again = await post(base, '/v1/search', { query: 'how do i reset my password', parameters: { retriever: 'bm25', top_k: 3, rerank: true, rerank_top_k: 5 } });
  assert.deepEqual(again.body, r.body);
});

test('errors: unknown index, both or neither of query/queries, blank query, bad parameters, BM25 missing, unknown reranker', async () => {
  const cases: [unknown, number, string, string | undefined][] = [
    [{ index: 'nope', query: 'x' }, 404, 'unknown_model', 'index'],
    [{ query: 'x', queries: ['y'] }, 400, 'invalid_request', 'queries'],
    [{}, 400, 'invalid_request', 'query'],
    [{ query: '   ' }, 400, 'invalid_request', 'query'],
    [{ queries: ['ok', ' '] }, 400, 'invalid_request', 'queries[1]'],
    [{ query: 'x', parameters: { top_k: 0 } }, 400, 'invalid_request', 'parameters.top_k'],
    [{ query: 'x', parameters: { retriever: 'sparse' } }, 400, 'invalid_request', 'parameters.retriever'],
    [{ query: 'x', parameters: { colour: 'red' } }, 400, 'invalid_request', 'parameters.colour'],
    [{ index: 'small', query: 'x', parameters: { retriever: 'hybrid' } }, 400, 'invalid_parameter', 'parameters.retriever'],
    [{ query: 'x', parameters: { rerank: 'nobody' } }, 404, 'unknown_model', 'parameters.rerank'],
    [{ query: 'x', parameters: { rerank_top_k: 5 } }, 400, 'invalid_parameter', 'parameters.rerank_top_k'],
    [{ query: 'x', parameters: { alpha: 0.3 } }, 400, 'invalid_parameter', 'parameters.alpha'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await post(base, '/v1/search', body);
    assert.equal(r.status, status, JSON.stringify([body, r.body]));
    assert.equal(r.body.error.code, code, JSON.stringify([body, r.body]));
    assert.equal(r.body.error.field, field, JSON.stringify([body, r.body]));
  }
  const r = await fetch(`${base}/v1/search`);
  assert.equal(r.status, 405);
});

test('tuna serve --index NAME=DIR alone (no --model) serves /v1/search until SIGTERM', async () => {
  let stderr = '';
  const done = run(['serve', '--index', `kb=${join(work, 'faq')}`, '--port', '0', '--threads', '1'], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  let address: string | undefined;
  for (let i = 0; i < 400 && address === undefined; i++) {
    address = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
    if (address === undefined) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(address, stderr);
  assert.match(stderr, /index kb: 24 documents, dense, bm25, hybrid/);
  const r = await post(address, '/v1/search', { index: 'kb', query: '退货政策是什么', parameters: { retriever: 'bm25', top_k: 1, return_documents: false } });
  assert.deepEqual(
    r.body.map((h: { id: string }) => h.id),
    ['zh6'],
  );
  process.emit('SIGTERM', 'SIGTERM');
  assert.equal(await done, 0);
});
