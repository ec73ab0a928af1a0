// text-classification with clsVector: the first token's final-layer vector from the classifier's own
// run, checked against the feature-extraction pipeline's `cls` pooling of the same checkpoint (the
// encoder graph, built without the head), for BERT, DistilBERT and ELECTRA; the logits unchanged.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { PreTrainedModel, pipeline } from '../src/index.js';
import { BUNDLED_EN, copyTokenizer, tempDir, writeSequenceClassifier } from './helpers/pipeline-models.js';

const TEXTS = ['the store is open today', 'how do i reset my password', 'a'];
const LABELS = { id2label: { 0: 'a', 1: 'b', 2: 'c' }, label2id: { a: 0, b: 1, c: 2 } };

async function randomClassifier(dir: string, config: Record<string, unknown>): Promise<string> {
  const model = PreTrainedModel.fromConfig({ vocab_size: 8000, max_position_embeddings: 128, pad_token_id: 0, ...LABELS, ...config }, { seed: 3 });
  await model.savePretrained(dir);
  await model.dispose();
  await copyTokenizer(BUNDLED_EN, dir);
  return dir;
}

const close = (a: readonly number[], b: readonly number[], tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
  assert.ok(worst <= tol, `${what}: largest difference ${worst}`);
};

test('clsVector equals the cls pooling of feature extraction, from one run with the same logits', async () => {
  const work = await tempDir('cls-vector');
  const models = {
    bert: await writeSequenceClassifier(join(work, 'bert'), { 0: 'a', 1: 'b', 2: 'c' }),
    distilbert: await randomClassifier(join(work, 'distilbert'), {
      model_type: 'distilbert',
      architectures: ['DistilBertForSequenceClassification'],
      dim: 32,
      n_layers: 2,
      n_heads: 4,
      hidden_dim: 64,
    }),
    electra: await randomClassifier(join(work, 'electra'), {
      model_type: 'electra',
      architectures: ['ElectraForSequenceClassification'],
      embedding_size: 16,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 64,
      type_vocab_size: 2,
    }),
  };
  for (const [family, dir] of Object.entries(models)) {
    const withVector = await pipeline('text-classification', dir, { threads: 1, clsVector: true });
    const plain = await pipeline('text-classification', dir, { threads: 1 });
    const features = await pipeline('feature-extraction', dir, { threads: 1 });
    try {
      const got = await withVector.runWithLogits(TEXTS);
      const want = await plain.runWithLogits(TEXTS);
      const cls = await features(TEXTS, { pooling: 'cls' });
      assert.equal(want[0]!.clsVector, undefined, `${family}: no vector unless asked`);
      got.forEach((r, i) => {
        close(r.logits, want[i]!.logits, 1e-6, `${family} logits of text ${i}`);
        close(r.clsVector!, cls[i]!, 1e-5, `${family} vector of text ${i}`);
      });
      assert.ok(Math.abs(got[0]!.clsVector![0]! - got[1]!.clsVector![0]!) > 0, `${family}: different texts, different vectors`);
    } finally {
      await Promise.all([withVector.dispose(), plain.dispose(), features.dispose()]);
    }
  }
});
