// `POST /v1/rerank` on a real tuna server with the sentence-transformers CrossEncoder fixture:
// sentence-transformers' rank order and scores, top_k and return_documents, batching of concurrent
// requests, validation errors, and which models serve the endpoint.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type TunaServer, startServer } from '../src/serve/server.js';
import { get, post } from './helpers/serve.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'cross-encoder');
const E = JSON.parse(readFileSync(join(ROOT, 'expected.json'), 'utf8'));
let server: TunaServer;
let base: string;

before(async () => {
  server = await startServer({ models: [`ce=${join(ROOT, 'base')}`, `three=${join(ROOT, 'labels3')}`], port: 0, maxBatchSize: 4, maxWaitMs: 20, threads: 1 });
  base = server.address!;
});
after(async () => {
  await server.close();
});

test('models: the one-label cross-encoder serves rerank (and classify, embed); the 3-label one does not rerank', async () => {
  const { body } = await get(base, '/v1/models');
  const byName = Object.fromEntries(body.models.map((m: any) => [m.name, m.tasks]));
  assert.deepEqual(byName.ce, ['classify', 'embed', 'rerank']);
  assert.deepEqual(byName.three, ['classify', 'embed']);
});

test('rerank answers CrossEncoder.rank: index, score, best first; top_k and return_documents', async () => {
  const r = await post(base, '/v1/rerank', { query: E.query, documents: E.documents });
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.map((x: any) => x.index),
    E.variants.base.rank.map((x: any) => x.corpus_id),
  );
  r.body.forEach((x: any, i: number) => {
    assert.ok(Math.abs(x.score - E.variants.base.rank[i].score) < 1e-5);
    assert.deepEqual(Object.keys(x), ['index', 'score']);
  });
  const top = await post(base, '/v1/rerank', { model: 'ce', query: E.query, documents: E.documents, parameters: { top_k: 3, return_documents: true } });
  assert.deepEqual(
    top.body.map((x: any) => [x.index, x.document]),
    E.variants.base.rank_top3_docs.map((x: any) => [x.corpus_id, x.text]),
  );
  // Concurrent requests share batches and still get their own rankings.
  const many = await Promise.all(E.documents.map((_: string, k: number) => post(base, '/v1/rerank', { query: E.query, documents: E.documents.slice(k) })));
  many.forEach((m, k) => {
    assert.equal(m.status, 200);
    assert.equal(m.body.length, E.documents.length - k);
    const full = new Map<number, number>(E.variants.base.rank.map((x: any) => [x.corpus_id, x.score]));
    const want = E.variants.base.rank.filter((x: any) => x.corpus_id >= k).map((x: any) => x.corpus_id - k);
    assert.deepEqual(
      m.body.map((x: any) => x.index),
      want,
    );
    for (const x of m.body) assert.ok(Math.abs(x.score - full.get(x.index + k)!) < 1e-5);
  });
});

test('rerank refuses bad bodies with a clear error and field', async () => {
  const cases: [unknown, number, string, string?][] = [
    [{ documents: ['a'] }, 400, 'query'],
    [{ query: 'a' }, 400, 'documents'],
    [{ query: 'a', documents: [] }, 400, 'documents'],
    [{ query: ' ', documents: ['a'] }, 400, 'query'],
    [{ query: 'a', documents: ['b', ''] }, 400, 'documents[1]'],
    [{ query: 'a', documents: ['b'], parameters: { top_k: 0 } }, 400, 'parameters.top_k'],
    [{ query: 'a', documents: ['b'], parameters: { topk: 1 } }, 400, 'parameters'],
    [{ query: 'a', documents: ['b'], model: 'three' }, 400, 'model', 'unsupported_task'],
    [{ inputs: 'a' }, 400, ''],
  ];
  for (const [body, status, field, code] of cases) {
    const r = await post(base, '/v1/rerank', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.ok(r.body.error.message.length > 10);
    if (field) assert.ok(String(r.body.error.field ?? '').startsWith(field), `${JSON.stringify(body)}: field ${r.body.error.field}`);
    if (code) assert.equal(r.body.error.code, code);
  }
});
