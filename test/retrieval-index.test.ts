// SearchIndex on the tiny sentence-transformers model of test/fixtures/sentence/base (mean pooling,
// Normalize, prompts "query: "/"passage: ") over an English and Chinese corpus of 24 documents:
// dense search against brute-force cosines of the pipeline's own embeddings, BM25 against the
// formula, Chinese queries, fusion, reranking, add/delete, atomic saves and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from '../src/pipelines/pipeline.js';
import { type IndexDocument, type SaveStep, SearchIndex, readCorpus, wordTokenizer } from '../src/retrieval/index.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const DENSE = new URL('./fixtures/sentence/dense/', import.meta.url).pathname;
const CORPUS = new URL('./fixtures/search/corpus.jsonl', import.meta.url).pathname;

let work: string;
let docs: IndexDocument[];
let index: SearchIndex;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-retrieval-'));
  docs = await readCorpus(CORPUS);
  index = await SearchIndex.build({ model: BASE, documents: docs, threads: 1 });
});
test.after(async () => {
  await index.dispose();
  await rm(work, { recursive: true, force: true });
});

/** What the rejections below are checked for. */
type Err = { code: string; message: string; field?: string };

const ids = (hits: readonly { id: string }[]) => hits.map((h) => h.id);

test('dense search: cosine of the query: and passage: embeddings, exact equal to brute force, HNSW equal to exact on a small corpus', async () => {
  const embed = await pipeline('feature-extraction', BASE, { threads: 1 });
  try {
    const d = (await embed.runBatch(
      docs.map((x) => (x.title ? `${x.title} ${x.text}` : x.text)),
      { promptName: 'document', normalize: true } as never,
    )) as unknown as number[][];
    for (const query of ['how do i reset my password', 'cat and dog in the park', 'weather today', '退货政策是什么']) {
      const [q] = (await embed.runBatch([query], { promptName: 'query', normalize: true } as never)) as unknown as number[][];
      const cos = d.map((v, i) => ({ id: docs[i]!.id, score: v.reduce((s, x, k) => s + x * q![k]!, 0) })).sort((a, b) => b.score - a.score);
      // Equal scores (the tiny vocabulary reads most Chinese as [UNK]) may come in either order.
      const exact = await index.search(query, { topK: 5, exact: true });
      exact.forEach((h, i) => {
        assert.ok(Math.abs(h.score - cos[i]!.score) < 1e-5, `${query}: ${h.score} vs ${cos[i]!.score}`);
        assert.ok(Math.abs(h.score - cos.find((c) => c.id === h.id)!.score) < 1e-5, `${query}: ${h.id}`);
      });
      const ann = await index.search(query, { topK: 5 });
      assert.deepEqual(
        ann.map((h) => h.score),
        exact.map((h) => h.score),
        query,
      );
    }
  } finally {
    await embed.dispose();
  }
  // Several queries at once: each as if alone (queries are embedded together, then searched one by one).
  const many = ['weather today', 'cat and dog in the park', 'send money to a bank account'];
  for (const exact of [true, false]) {
    const together = await index.searchMany(many, { topK: 3, exact });
    for (const [i, q] of many.entries()) assert.deepEqual(together[i], await index.search(q, { topK: 3, exact }), `${q} (exact ${exact})`);
  }
  const [hit] = await index.search('how do i reset my password', { topK: 1, retriever: 'bm25' });
  assert.deepEqual(hit, { id: 'en1', score: hit!.score, title: 'Passwords', text: docs[0]!.text });
});

test('BM25: Chinese queries find their documents through word segmentation; scores are plain BM25 (k1 1.2, b 0.75)', async () => {
  const tok = wordTokenizer();
  assert.deepEqual(tok('如何重置我的密码？'), ['如何', '重', '置', '我的', '密码']);
  assert.deepEqual(tok('Reset my ＰＡＳＳＷＯＲＤ!'), ['reset', 'my', 'password']);
  assert.equal((await index.search('忘记密码怎么重置', { retriever: 'bm25', topK: 1 }))[0]!.id, 'zh1');
  assert.equal((await index.search('退货政策是什么', { retriever: 'bm25', topK: 1 }))[0]!.id, 'zh6');
  assert.equal((await index.search('银行卡丢了怎么办', { retriever: 'bm25', topK: 1 }))[0]!.id, 'zh2');
  assert.equal((await index.search('快递几天送达', { retriever: 'bm25', topK: 1 }))[0]!.id, 'zh7');
  // The formula over the corpus's tokens, for a two-word query (MiniSearch counts a document's
  // length in distinct words).
  const lengths = docs.map((d) => tok(`${d.title ?? ''} ${d.text}`));
  const avg = lengths.reduce((s, t) => s + new Set(t).size, 0) / lengths.length;
  const bm25 = (words: string[], i: number) =>
    words.reduce((s, w) => {
      const n = lengths.filter((t) => t.includes(w)).length;
      const tf = lengths[i]!.filter((t) => t === w).length;
      if (tf === 0) return s;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      return s + (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * new Set(lengths[i]!).size) / avg));
    }, 0);
  const want = docs.map((d, i) => ({ id: d.id, score: bm25(['weather', 'rain'], i) })).filter((x) => x.score > 0);
  want.sort((a, b) => b.score - a.score);
  const got = await index.search('weather rain weather', { retriever: 'bm25', topK: 10 });
  assert.deepEqual(ids(got), ids(want));
  got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-9, `${h.id}: ${h.score} vs ${want[i]!.score}`));
});

test('hybrid: reciprocal rank fusion (k 60) of the dense and BM25 rankings, or weighted min-max scores', async () => {
  const q = 'lost card bank';
  const dense = ids(await index.search(q, { topK: 24, exact: true }));
  const lexical = ids(await index.search(q, { topK: 24, retriever: 'bm25' }));
  const rrf = (id: string) => (dense.includes(id) ? 1 / (61 + dense.indexOf(id)) : 0) + (lexical.includes(id) ? 1 / (61 + lexical.indexOf(id)) : 0);
  const hybrid = await index.search(q, { topK: 5, retriever: 'hybrid', exact: true });
  const want = [...new Set([...dense, ...lexical])].map((id) => ({ id, score: rrf(id) })).sort((a, b) => b.score - a.score);
  assert.deepEqual(ids(hybrid), ids(want.slice(0, 5)));
  hybrid.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-12));
  const bm25Only = await index.search(q, { topK: 2, retriever: 'hybrid', fusion: 'weighted', alpha: 0, exact: true });
  assert.deepEqual(ids(bm25Only), lexical.slice(0, 2));
  assert.equal(bm25Only[0]!.score, 1);
  const denseOnly = await index.search(q, { topK: 3, retriever: 'hybrid', fusion: 'weighted', alpha: 1, exact: true });
  assert.deepEqual(ids(denseOnly), dense.slice(0, 3));
});

test('rerank: the first rerank_top_k hits are reordered by the cross-encoder and get its scores', async () => {
  const seen: string[][] = [];
  // A stand-in cross-encoder with the text-ranking interface: longer documents first.
  const ranker = async (_q: string, texts: string[], o: { topK?: number }) => {
    seen.push(texts);
    return texts
      .map((t, corpus_id) => ({ corpus_id, score: t.length }))
      .sort((a, b) => b.score - a.score)
      .slice(0, o.topK);
  };
  const first = await index.search('the weather in the park today', { topK: 4, retriever: 'bm25' });
  assert.equal(first.length, 4);
  const hits = await index.search('the weather in the park today', { topK: 2, retriever: 'bm25', rerank: ranker, rerankTopK: 4 });
  assert.equal(seen[0]!.length, 4);
  const byLength = [...first].sort((a, b) => `${b.title} ${b.text}`.length - `${a.title} ${a.text}`.length);
  assert.deepEqual(ids(hits), ids(byLength.slice(0, 2)));
  assert.equal(hits[0]!.score, `${byLength[0]!.title} ${byLength[0]!.text}`.length);
});

test('save, open, add (new and replaced ids), delete, save again: the same answers before and after reopening', async () => {
  const dir = join(work, 'idx');
  await index.save(dir);
  const opened = await SearchIndex.open(dir, { threads: 1 });
  try {
    for (const retriever of ['dense', 'bm25', 'hybrid'] as const) {
      assert.deepEqual(await opened.search('my password', { retriever, topK: 5 }), await index.search('my password', { retriever, topK: 5 }), retriever);
    }
    const info = opened.info();
    assert.equal(info.documents, 24);
    assert.equal(info.dimension, 32);
    assert.deepEqual(info.prompts, { document: 'document', query: 'query' });
    assert.deepEqual(Object.keys(info.files).sort(), ['ann.usearch', 'bm25.json', 'documents.jsonl', 'keys.u64', 'vectors.f32']);
    const vectorsFile = join(dir, 'gen-000001', 'vectors.f32');
    assert.equal((await readFile(vectorsFile)).length, 24 * 32 * 4);

    const r = await opened.add([
      { id: 'new1', title: '发票', text: '电子发票在订单页面下载。', metadata: { lang: 'zh' } },
      { id: 'en5', text: 'snow and ice: the weather is freezing' },
    ]);
    assert.deepEqual(r, { added: 1, replaced: ['en5'] });
    assert.equal(opened.size, 25);
    const d = await opened.delete(['en7', 'nope']);
    assert.deepEqual(d, { deleted: ['en7'], missing: ['nope'] });
    const check = async (ix: SearchIndex) => {
      assert.equal(ix.size, 24);
      assert.equal(ix.get('en7'), undefined);
      assert.equal(ix.get('en5')!.text, 'snow and ice: the weather is freezing');
      assert.equal((await ix.search('freezing snow', { retriever: 'bm25', topK: 1 }))[0]!.id, 'en5');
      assert.ok(!ids(await ix.search('cat sat on the mat', { topK: 24 })).includes('en7'));
      assert.ok(!ids(await ix.search('cat sat on the mat', { topK: 24, retriever: 'bm25' })).includes('en7'));
      const [hit] = await ix.search('电子发票下载', { retriever: 'bm25', topK: 1 });
      assert.deepEqual(hit, { id: 'new1', score: hit!.score, title: '发票', text: '电子发票在订单页面下载。', metadata: { lang: 'zh' } });
      assert.deepEqual(ids(await ix.search('weather', { topK: 5 })), ids(await ix.search('weather', { topK: 5, exact: true })));
    };
    await check(opened);
    await opened.save();
    assert.deepEqual((await readdir(dir)).sort(), ['gen-000002', 'manifest.json']);
    const again = await SearchIndex.open(dir, { threads: 1 });
    try {
      await check(again);
      assert.equal(again.info().generation, 2);
    } finally {
      await again.dispose();
    }
  } finally {
    await opened.dispose();
  }
});

test('two writers: a save waits for no one but is refused while another live process holds the lock, and a stale save is a conflict', async () => {
  const dir = join(work, 'idx-writers');
  await index.save(dir);
  const first = await SearchIndex.open(dir, { threads: 1 });
  const second = await SearchIndex.open(dir, { threads: 1 });
  try {
    // Another live process holds the directory's lock: refused, naming it; nothing written.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(join(dir, '.tuna-lock'), `${JSON.stringify({ pid: holder.pid, hostname: hostname(), started: new Date().toISOString() })}\n`);
      await first.add([{ id: 'w1', text: 'first writer' }]);
      await assert.rejects(first.save(), (e: Err) => e.code === 'output_locked' && e.message.includes(`pid ${holder.pid}`));
      assert.deepEqual((await readdir(dir)).sort(), ['.tuna-lock', 'gen-000001', 'manifest.json']);
    } finally {
      holder.kill();
      await once(holder, 'exit');
    }
    // The holder is gone: its lock is taken over and the save goes through.
    await first.save();
    assert.deepEqual((await readdir(dir)).sort(), ['gen-000002', 'manifest.json']);
    // The second writer read generation 1: saving would drop w1, so it is refused.
    await second.add([{ id: 'w2', text: 'second writer' }]);
    await assert.rejects(second.save(), (e: Err) => e.code === 'conflict' && /generation 2 .* generation 1/.test(e.message) && e.message.includes('Open the index again'));
    const reread = await SearchIndex.open(dir, { threads: 1 });
    try {
      assert.ok(reread.get('w1') && !reread.get('w2'));
      await reread.add([{ id: 'w2', text: 'second writer' }]);
      await reread.save();
      assert.equal(reread.info().generation, 3);
    } finally {
      await reread.dispose();
    }
  } finally {
    await Promise.all([first.dispose(), second.dispose()]);
  }
});

test('a save that fails at any step leaves the previous index readable; the next save clears what it left', async () => {
  const dir = join(work, 'atomic');
  await index.save(dir);
  const before = await SearchIndex.open(dir);
  const want = await before.search('bank card', { retriever: 'bm25', topK: 3 });
  await before.delete(['en2', 'zh2']);
  const steps: SaveStep[] = ['documents', 'vectors', 'ann', 'bm25', 'generation'];
  for (const at of steps) {
    await assert.rejects(
      before.save(undefined, {
        onStep: (s) => {
          if (s === at) throw new Error(`stop at ${s}`);
        },
      }),
      new RegExp(`stop at ${at}`),
    );
    const reader = await SearchIndex.open(dir);
    assert.equal(reader.size, 24, at);
    assert.deepEqual(await reader.search('bank card', { retriever: 'bm25', topK: 3 }), want, at);
    await reader.dispose();
  }
  // A crash after the manifest's rename: the new index is what readers see.
  await assert.rejects(
    before.save(undefined, {
      onStep: (s) => {
        if (s === 'manifest') throw new Error('stop after the manifest');
      },
    }),
  );
  const after = await SearchIndex.open(dir);
  assert.equal(after.size, 22);
  assert.ok(!ids(await after.search('bank card', { retriever: 'bm25', topK: 24 })).includes('en2'));
  // Leftovers of a dead save (a generation directory nobody points at) go with the next save.
  await mkdir(join(dir, 'gen-000099'));
  await writeFile(join(dir, 'gen-000099', 'vectors.f32'), 'partial');
  await after.save();
  assert.deepEqual((await readdir(dir)).sort(), ['gen-000100', 'manifest.json']);
  await after.dispose();
  await before.dispose();
});

test('errors: corrupt or missing files named with "rebuild", another model, another dimension, duplicate ids, no index', async () => {
  const dir = join(work, 'errors');
  await index.save(dir);
  const gen = join(dir, 'gen-000001');
  const vectors = await readFile(join(gen, 'vectors.f32'));
  const flipped = Buffer.from(vectors);
  flipped[5]! ^= 0xff;
  await writeFile(join(gen, 'vectors.f32'), flipped);
  await assert.rejects(
    SearchIndex.open(dir),
    (e: Err) => e.code === 'file_unreadable' && e.message.includes('vectors.f32') && /SHA-256/.test(e.message) && /rebuild/.test(e.message),
  );
  await writeFile(join(gen, 'vectors.f32'), vectors);
  // A damaged HNSW file is caught before usearch reads it.
  const ann = await readFile(join(gen, 'ann.usearch'));
  await writeFile(join(gen, 'ann.usearch'), ann.subarray(0, 100));
  await assert.rejects(SearchIndex.open(dir), (e: Err) => e.code === 'file_unreadable' && e.message.includes('ann.usearch') && /100 bytes/.test(e.message));
  await writeFile(join(gen, 'ann.usearch'), ann);
  await rm(join(gen, 'bm25.json'));
  await assert.rejects(SearchIndex.open(dir), (e: Err) => e.code === 'file_not_found' && e.message.includes('bm25.json') && /rebuild/.test(e.message));
  await writeFile(join(dir, 'manifest.json'), '{"format": "tuna-search-index", "version": 1, ');
  await assert.rejects(SearchIndex.open(dir), (e: Err) => e.code === 'file_unreadable' && e.message.includes('manifest.json') && /rebuild/.test(e.message));
  await assert.rejects(SearchIndex.open(join(work, 'nothing-here')), (e: Err) => e.code === 'file_not_found' && /no search index/.test(e.message));

  const good = join(work, 'good');
  await index.save(good);
  // Another model of the same size (cls pooling): refused by its fingerprint.
  const other = join(work, 'other-model');
  await cp(BASE, other, { recursive: true });
  await writeFile(join(other, '1_Pooling', 'config.json'), JSON.stringify({ embedding_dimension: 32, pooling_mode: 'cls' }));
  await assert.rejects(SearchIndex.open(good, { model: other }), (e: Err) => e.code === 'invalid_model' && /another model/.test(e.message));
  // A model with a Dense projection to 16 dimensions: refused by its dimension.
  const projected = join(work, 'projected-model');
  await cp(BASE, projected, { recursive: true });
  await rm(join(projected, '2_Normalize'), { recursive: true });
  for (const f of ['modules.json', '2_Dense', '3_Normalize']) await cp(join(DENSE, f), join(projected, f), { recursive: true });
  await assert.rejects(
    SearchIndex.open(good, { model: projected }),
    (e: Err) => e.code === 'invalid_model' && /16-dimensional/.test(e.message) && /32-dimensional/.test(e.message),
  );
  // The model changed where the index was built: refused at the first dense search.
  const moved = join(work, 'moved-model');
  await cp(BASE, moved, { recursive: true });
  const built = await SearchIndex.build({ model: moved, documents: docs.slice(0, 3), threads: 1, ann: false });
  await built.save(join(work, 'moved-index'));
  await built.dispose();
  await writeFile(join(moved, '1_Pooling', 'config.json'), JSON.stringify({ embedding_dimension: 32, pooling_mode: 'max' }));
  const stale = await SearchIndex.open(join(work, 'moved-index'));
  assert.equal((await stale.search('password', { retriever: 'bm25', topK: 1 })).length, 1);
  await assert.rejects(stale.search('password'), (e: Err) => e.code === 'invalid_model' && /changed since the index/.test(e.message));
  await assert.rejects(stale.search('password', { retriever: 'hybrid' }), (e: Err) => e.code === 'invalid_model');
  await stale.dispose();

  const dupes = join(work, 'dupes.jsonl');
  await writeFile(dupes, '{"_id": "a", "text": "x"}\n\n{"_id": "b", "text": "y"}\n{"_id": "a", "text": "z"}\n');
  await assert.rejects(readCorpus(dupes), (e: Err) => e.code === 'invalid_data' && e.message.startsWith(`${dupes}:4:`) && /already used on line 1/.test(e.message));
  await assert.rejects(
    index.add([
      { id: 'x', text: 'a' },
      { id: 'x', text: 'b' },
    ]),
    (e: Err) => e.code === 'invalid_input' && e.field === 'documents[1].id',
  );
  await assert.rejects(index.search('  '), (e: Err) => e.code === 'invalid_input');
  await assert.rejects(index.save(join(work, 'atomic')), (e: Err) => e.code === 'output_exists' && /holds a search index/.test(e.message));
  await assert.rejects(index.save(join(work, 'other-model')), (e: Err) => e.code === 'output_exists' && /holds no search index/.test(e.message));
  await assert.rejects(index.search('x', { retriever: 'nope' as never }), (e: Err) => e.code === 'invalid_option' && e.field === 'retriever');
  const noBm25 = await SearchIndex.build({ model: BASE, documents: docs.slice(0, 2), bm25: false, threads: 1 });
  await assert.rejects(noBm25.search('x', { retriever: 'hybrid' }), (e: Err) => e.code === 'invalid_option' && /without/.test(e.message));
  await noBm25.dispose();
});
