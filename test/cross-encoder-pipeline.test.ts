// The text-ranking pipeline against sentence-transformers' CrossEncoder (test/fixtures/cross-encoder,
// written by tools/make-cross-encoder-fixtures.py): predict scores with every activation layout
// (sentence-transformers 6, 4/5 and older), rank order and shape, 3 labels, options and errors, and
// the CrossEncoder files tuna writes.
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import type { TextRankingPipeline } from '../src/pipelines/types.js';
import { isCrossEncoderDirectory, readCrossEncoderLayout } from '../src/sentence/cross-encoder-layout.js';
import { averagePrecision, binaryScores, rankDocuments, saveCrossEncoder } from '../src/sentence/cross-encoder.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'cross-encoder');
const E = JSON.parse(readFileSync(join(ROOT, 'expected.json'), 'utf8'));
const tmp = mkdtempSync(join(tmpdir(), 'tuna-ce-'));

/** A variant directory with base's weights and tokenizer copied in (as the fixture script loads it). */
function variantDir(name: string): string {
  if (name === 'base' || name === 'labels3') return join(ROOT, name);
  const dir = join(tmp, name);
  cpSync(join(ROOT, name), dir, { recursive: true });
  for (const f of ['model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(ROOT, 'base', f), join(dir, f));
  return dir;
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

let base: TextRankingPipeline;
before(async () => {
  base = await pipeline('text-ranking', join(ROOT, 'base'), { batchSize: 4, threads: 1 });
});
after(async () => {
  await base.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

test('predict equals CrossEncoder.predict within 1e-5 for every activation layout, and logits without activation', async () => {
  for (const [name, want] of Object.entries<any>(E.variants)) {
    const ranker = name === 'base' ? base : await pipeline('text-ranking', variantDir(name), { batchSize: 4, threads: 1 });
    try {
      assert.equal(ranker.activation, want.activation.toLowerCase(), name);
      assert.equal(ranker.numLabels, want.num_labels);
      const scores = await ranker.predict(E.pairs);
      const logits = await ranker.predict(E.pairs, { apply_activation: false } as never);
      if (want.num_labels === 1) {
        assert.ok(maxDiff(scores as number[], want.scores) < 1e-5, `${name}: ${maxDiff(scores as number[], want.scores)}`);
        assert.ok(maxDiff(logits as number[], want.logits) < 1e-5, name);
      } else {
        assert.equal((scores as number[][])[0]!.length, 3);
        assert.ok(maxDiff((scores as number[][]).flat(), want.scores.flat()) < 1e-5, name);
      }
    } finally {
      if (ranker !== base) await ranker.dispose();
    }
  }
});

test('the long pair is truncated to max_length as sentence-transformers does, and batch size does not change scores', async () => {
  assert.equal(base.maxLength, E.max_length);
  const tokens = E.pairs.map(([q, p]: [string, string]) => base.tokenizer.encode(q, p, { maxLength: base.maxLength }).inputIds);
  assert.deepEqual(tokens, E.tokens);
  const one = (await base.predict(E.pairs, { batchSize: 1 })) as number[];
  assert.ok(maxDiff(one, E.variants.base.scores) < 1e-5);
});

test('ranking: order, scores, top_k and return_documents like CrossEncoder.rank', async () => {
  const all = await base(E.query, E.documents);
  assert.deepEqual(
    all.map((r) => r.corpus_id),
    E.variants.base.rank.map((r: any) => r.corpus_id),
  );
  assert.ok(
    maxDiff(
      all.map((r) => r.score),
      E.variants.base.rank.map((r: any) => r.score),
    ) < 1e-5,
  );
  assert.ok(all.every((r) => !('text' in r)));
  const top = await base(E.query, E.documents, { top_k: 3, return_documents: true } as never);
  assert.deepEqual(
    top.map((r) => [r.corpus_id, r.text]),
    E.variants.base.rank_top3_docs.map((r: any) => [r.corpus_id, r.text]),
  );
  assert.deepEqual(await base.run(E.query, E.documents, { topK: 1 }), [all[0]]);
  assert.deepEqual(rankDocuments([0.5, 0.9, 0.5], { topK: 3 }), [
    { corpus_id: 1, score: 0.9 },
    { corpus_id: 0, score: 0.5 },
    { corpus_id: 2, score: 0.5 },
  ]);
});

test('bad inputs and options are errors naming the field', async () => {
  await assert.rejects(base(E.query, E.documents, { topk: 2 } as never), /unknown option "topk"/);
  await assert.rejects(base(E.query, E.documents, { topK: 0 }), (e: any) => e.code === 'invalid_option' && e.field === 'topK');
  await assert.rejects(base(E.query, E.documents, { returnDocuments: 'yes' } as never), (e: any) => e.field === 'returnDocuments');
  await assert.rejects(base('', E.documents), (e: any) => e.code === 'invalid_input' && e.field === 'query');
  await assert.rejects(base(E.query, ['a', ' ']), (e: any) => e.field === 'documents[1]');
  await assert.rejects(base(E.query, 'a' as never), (e: any) => e.field === 'documents');
  await assert.rejects(base.predict([['a']] as never), (e: any) => e.field === 'inputs[0]');
  const three = await pipeline('text-ranking', join(ROOT, 'labels3'), { threads: 1 });
  try {
    await assert.rejects(three(E.query, E.documents), (e: any) => e.code === 'wrong_task' && /one label/.test(e.message));
  } finally {
    await three.dispose();
  }
  await assert.rejects(pipeline('text-ranking', join(import.meta.dirname, 'fixtures', 'sentence', 'base')), (e: any) => e.code === 'wrong_task');
});

test('layouts: where the activation is read from; a CrossEncoder directory still serves feature-extraction', async () => {
  assert.deepEqual(await readCrossEncoderLayout(join(ROOT, 'base'), 1), { activation: 'sigmoid', source: 'config_sentence_transformers.json', isCrossEncoder: true });
  assert.equal((await readCrossEncoderLayout(variantDir('legacy-v4'), 1)).source, 'config.json');
  assert.equal((await readCrossEncoderLayout(variantDir('legacy-v3'), 1)).source, 'config.json (legacy)');
  assert.equal((await readCrossEncoderLayout(join(import.meta.dirname, 'fixtures', 'sentence', 'base'), 1)).source, 'default');
  assert.equal(await isCrossEncoderDirectory(join(ROOT, 'base')), true);
  assert.equal(await isCrossEncoderDirectory(join(import.meta.dirname, 'fixtures', 'sentence', 'base')), false);
  const embed = await pipeline('feature-extraction', join(ROOT, 'base'), { threads: 1 });
  try {
    assert.equal(((await embed('a dog', { pooling: 'model' })) as number[]).length, 32);
  } finally {
    await embed.dispose();
  }
});

test('a CrossEncoder tuna saves has the files sentence-transformers 6 writes, and the config.json block of 4 and 5', async () => {
  const model = await PreTrainedModel.fromPretrained(join(ROOT, 'base'), { head: 'sequence-classification', missing: 'error', threads: 1 });
  const tokenizer = await model.loadTokenizer();
  const out = join(tmp, 'saved');
  try {
    await saveCrossEncoder(out, model, tokenizer, 'identity', { tuna: '0.0.0' });
  } finally {
    await model.dispose();
  }
  const read = (dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  for (const f of ['modules.json', 'sentence_bert_config.json']) assert.deepEqual(read(out, f), read(join(ROOT, 'identity'), f), f);
  const { __version__: _a, ...st } = read(out, 'config_sentence_transformers.json');
  const { __version__: _b, ...want } = read(join(ROOT, 'identity'), 'config_sentence_transformers.json');
  assert.deepEqual(st, want);
  assert.deepEqual(read(out, 'config.json').sentence_transformers, { activation_fn: 'torch.nn.modules.linear.Identity', version: '0.0.0' });
  const again = await pipeline('text-ranking', out, { batchSize: 4, threads: 1 });
  try {
    assert.ok(maxDiff((await again.predict(E.pairs)) as number[], E.variants.identity.scores) < 1e-5);
  } finally {
    await again.dispose();
  }
});

test('binary scores: accuracy, F1 and average precision as scikit-learn computes them', () => {
  const s = binaryScores([0.9, 0.8, 0.3, 0.6, 0.1], [1, 0, 1, 1, 0]);
  assert.equal(s.accuracy, 0.6);
  assert.ok(Math.abs(s.f1 - 2 / 3) < 1e-12);
  // sklearn.metrics.average_precision_score([1,0,1,1,0], [0.9,0.8,0.3,0.6,0.1]) = 0.8055555555555556
  assert.ok(Math.abs(averagePrecision([0.9, 0.8, 0.3, 0.6, 0.1], [1, 0, 1, 1, 0]) - 0.8055555555555556) < 1e-12);
  // With ties: average_precision_score([1,0,1,0], [0.5,0.5,0.2,0.2]) = 0.5
  assert.ok(Math.abs(averagePrecision([0.5, 0.5, 0.2, 0.2], [1, 0, 1, 0]) - 0.5) < 1e-12);
});
