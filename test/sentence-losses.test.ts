// The bi-encoder losses against sentence-transformers 6 on the same weights and batch
// (tools/make-sentence-fixtures.py, model test/fixtures/sentence/base: mean pooling, Normalize,
// dropout off): every loss value within 1e-4, and five AdamW steps of MultipleNegativesRanking
// with the same losses and embeddings after them within 1e-3 relative.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { featureExtractionPipeline } from '../src/pipelines/feature-extraction.js';
import type { SentenceDataset } from '../src/sentence/data.js';
import { readSentenceLayout } from '../src/sentence/layout.js';
import type { SentenceLossOptions } from '../src/sentence/losses.js';
import { saveSentenceTransformer } from '../src/sentence/model.js';
import { compileSentenceTraining, sentenceBatch, trainSentenceEmbedding } from '../src/sentence/train.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const fixture = JSON.parse(await readFile(new URL('./fixtures/sentence/expected.json', import.meta.url), 'utf8'));
const L = fixture.losses as {
  anchors: string[];
  positives: string[];
  negatives: string[];
  scores: number[];
  binary_labels: number[];
  train: { lr: number; eps: number; step_losses: number[]; embeddings_after: number[][] };
} & Record<string, number>;

const pairs: SentenceDataset = { kind: 'pairs', columns: ['anchor', 'positive'], examples: L.anchors.map((a, i) => ({ texts: [a, L.positives[i]!] })) };
const triplets: SentenceDataset = {
  kind: 'triplets',
  columns: ['anchor', 'positive', 'negative'],
  examples: L.anchors.map((a, i) => ({ texts: [a, L.positives[i]!, L.negatives[i]!] })),
};
const scored = (labels: number[]): SentenceDataset => ({
  kind: 'scored',
  columns: ['sentence1', 'sentence2'],
  examples: L.anchors.map((a, i) => ({ texts: [a, L.positives[i]!], score: labels[i]! })),
});

const CASES: { name: string; dataset: SentenceDataset; loss: SentenceLossOptions }[] = [
  { name: 'mnrl_pairs', dataset: pairs, loss: { loss: 'mnrl' } },
  { name: 'mnrl_triplets', dataset: triplets, loss: { loss: 'mnrl' } },
  { name: 'mnrl_scale_10', dataset: triplets, loss: { loss: 'mnrl', scale: 10 } },
  { name: 'mnrl_symmetric', dataset: pairs, loss: { loss: 'mnrl-symmetric' } },
  { name: 'cosent', dataset: scored(L.scores), loss: { loss: 'cosent' } },
  { name: 'cosine_mse', dataset: scored(L.scores), loss: { loss: 'cosine' } },
  { name: 'contrastive', dataset: scored(L.binary_labels), loss: { loss: 'contrastive' } },
  { name: 'triplet', dataset: triplets, loss: { loss: 'triplet' } },
  { name: 'matryoshka_mnrl', dataset: triplets, loss: { loss: 'mnrl', matryoshkaDims: [32, 16, 8] } },
  { name: 'matryoshka_triplet', dataset: triplets, loss: { loss: 'triplet', matryoshkaDims: [32, 8], matryoshkaWeights: [1, 0.5] } },
];

test('every loss equals sentence-transformers on the same weights and batch (within 1e-4)', async () => {
  const layout = (await readSentenceLayout(BASE))!;
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'encoder', missing: 'error', threads: 1 });
  const tokenizer = await model.loadTokenizer();
  const diffs: string[] = [];
  for (const c of CASES) {
    const step = await compileSentenceTraining({ model, layout, dataset: c.dataset, loss: c.loss, disableDropout: true, threads: 1 });
    try {
      const { loss, gradNorm } = await step.run(sentenceBatch({ tokenizer, layout, dataset: c.dataset, maxLength: 40 }, c.dataset.examples));
      const want = L[c.name]!;
      assert.ok(Math.abs(loss - want) < 1e-4, `${c.name}: ${loss} vs sentence-transformers ${want}`);
      assert.ok(Number.isFinite(gradNorm) && gradNorm > 0, `${c.name}: gradients flow`);
      diffs.push(`${c.name} ${Math.abs(loss - want).toExponential(1)}`);
    } finally {
      await step.release();
    }
  }
  console.log(`loss |tuna - sentence-transformers|: ${diffs.join(', ')}`);
});

test('five AdamW steps of MultipleNegativesRanking follow sentence-transformers: losses and the embeddings after them', async () => {
  const layout = (await readSentenceLayout(BASE))!;
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'encoder', missing: 'error', threads: 1 });
  const tokenizer = await model.loadTokenizer();
  const result = await trainSentenceEmbedding({
    model,
    tokenizer,
    layout,
    dataset: triplets,
    loss: { loss: 'mnrl' },
    batchSize: 4,
    maxSteps: 5,
    learningRate: L.train.lr,
    adamEpsilon: L.train.eps,
    scheduler: 'constant',
    maxGradNorm: 0,
    shuffle: false,
    disableDropout: true,
    maxLength: 40,
    threads: 1,
  });
  result.losses.forEach((l, i) => assert.ok(Math.abs(l - L.train.step_losses[i]!) < 1e-4, `step ${i + 1}: ${l} vs ${L.train.step_losses[i]}`));
  assert.ok(result.losses.at(-1)! < result.losses[0]!, 'the loss goes down');
  const dir = await mkdtemp(join(tmpdir(), 'tuna-st-train-'));
  try {
    await saveSentenceTransformer(dir, model, tokenizer, layout);
    const extractor = await featureExtractionPipeline(dir, { threads: 1 });
    try {
      const got = (await extractor(fixture.texts as string[])) as unknown as number[][];
      let worst = 0;
      got.forEach((row, i) =>
        row.forEach((x, k) => {
          const want = L.train.embeddings_after[i]![k]!;
          worst = Math.max(worst, Math.abs(x - want) / Math.max(Math.abs(want), 1e-2));
        }),
      );
      console.log(`after 5 steps: step losses ${result.losses.map((l) => l.toFixed(5)).join(' ')}; worst relative embedding difference ${worst.toExponential(2)}`);
      assert.ok(worst < 1e-3, `embeddings after training differ by ${worst} (relative)`);
    } finally {
      await extractor.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
