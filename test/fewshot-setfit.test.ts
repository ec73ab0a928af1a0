// SetFit-style training on the tiny sentence-transformers body: contrastive pairs from a few
// examples, the cosine loss falls, the head fitted on the trained embeddings separates the
// classes, and pipeline('text-classification') on the saved directory gives the head's
// probabilities of the body's embeddings; its ONNX export is one classifier transformers.js runs.
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { env, pipeline as tjsPipeline } from '@huggingface/transformers';
import { exportModel } from '../src/export/index.js';
import { fitLogistic, logisticProbabilities } from '../src/fewshot/logistic.js';
import { SETFIT_HEAD_FILE, setfitPairs, setfitUniquePairs, trainSetFit } from '../src/fewshot/setfit.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/index.js';
import { featureExtractionPipeline } from '../src/pipelines/feature-extraction.js';
import { readSentenceLayout } from '../src/sentence/layout.js';
import { tempDir } from './helpers/pipeline-models.js';
import { SENTENCE_BASE, SETFIT_LABELS, SETFIT_TRAIN } from './helpers/setfit-fixture.js';

const BASE = SENTENCE_BASE;
const LABELS = SETFIT_LABELS;
const TRAIN = SETFIT_TRAIN;

test('pairs: each example gets one positive and one negative per iteration', () => {
  const pairs = setfitPairs(TRAIN, 3, 7);
  assert.equal(pairs.examples.length, TRAIN.length * 3 * 2);
  const classOf = new Map(TRAIN.map((e) => [e.text, e.label]));
  for (const p of pairs.examples) assert.equal(classOf.get(p.texts[0]!) === classOf.get(p.texts[1]!), p.score === 1);
  assert.deepEqual(setfitPairs(TRAIN, 3, 7), pairs);
  assert.throws(() => setfitPairs([{ text: 'a', label: 0 }], 1), /two classes/);
});

test('unique-pair sampling: all pairs, or balanced by over- or undersampling', () => {
  // 9 examples, 3 per class: 9 positive and 27 negative unique pairs.
  const unique = setfitUniquePairs(TRAIN, 'unique', 3).examples;
  assert.equal(unique.length, 36);
  assert.equal(unique.filter((p) => p.score === 1).length, 9);
  const over = setfitUniquePairs(TRAIN, 'oversampling', 3).examples;
  assert.equal(over.filter((p) => p.score === 1).length, 27);
  assert.equal(over.filter((p) => p.score === 0).length, 27);
  const under = setfitUniquePairs(TRAIN, 'undersampling', 3).examples;
  assert.equal(under.filter((p) => p.score === 1).length, 9);
  assert.equal(under.filter((p) => p.score === 0).length, 9);
  const classOf = new Map(TRAIN.map((e) => [e.text, e.label]));
  for (const p of [...unique, ...over, ...under]) assert.equal(classOf.get(p.texts[0]!) === classOf.get(p.texts[1]!), p.score === 1);
  assert.deepEqual(setfitUniquePairs(TRAIN, 'oversampling', 3), setfitUniquePairs(TRAIN, 'oversampling', 3));
});

test('SetFit training lowers the cosine loss; the saved model predicts through the head', async (t) => {
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'encoder', seed: 13 });
  const tokenizer = await model.loadTokenizer();
  const layout = (await readSentenceLayout(BASE))!;
  const output = await tempDir('setfit');
  const result = await trainSetFit({
    model,
    tokenizer,
    layout,
    examples: TRAIN,
    labels: LABELS,
    output,
    iterations: 4,
    batchSize: 12,
    epochs: 3,
    learningRate: 2e-3,
    maxLength: 32,
    seed: 13,
    disableDropout: true,
  });
  await model.dispose();
  assert.equal(result.pairs, TRAIN.length * 4 * 2);
  const losses = result.body.losses;
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `loss ${mean(losses.slice(0, 3))} -> ${mean(losses.slice(-3))}`);
  assert.equal(result.trainAccuracy, 1);
  t.diagnostic(`cosine loss ${mean(losses.slice(0, 3)).toFixed(4)} -> ${mean(losses.slice(-3)).toFixed(4)} over ${losses.length} steps`);
  const file = JSON.parse(await readFile(join(output, SETFIT_HEAD_FILE), 'utf8'));
  assert.deepEqual(file.labels, LABELS);
  assert.equal(file.coef.length, 3);

  // The pipeline: the body's embeddings (as the feature-extraction pipeline gives them), then the head.
  const extractor = await featureExtractionPipeline(output);
  const X = await extractor.runBatch(
    TRAIN.map((e) => e.text),
    { pooling: 'model' },
  );
  await extractor.dispose();
  const refit = await fitLogistic(
    X,
    TRAIN.map((e) => e.label),
    3,
  );
  const classifier = await pipeline('text-classification', output);
  const ranked = (await classifier.runBatch(
    TRAIN.map((e) => e.text),
    { topK: null },
  )) as { label: string; score: number }[][];
  ranked.forEach((r, i) => {
    const p = logisticProbabilities(refit, X[i]!);
    for (const { label, score } of r) assert.ok(Math.abs(score - p[LABELS.indexOf(label)]!) < 1e-6, `${TRAIN[i]!.text} ${label}: ${score} vs ${p[LABELS.indexOf(label)]}`);
    assert.equal(r[0]!.label, LABELS[TRAIN[i]!.label]);
  });
  assert.equal(((await classifier('send money to the bank')) as { label: string }[])[0]!.label, 'bank');
  await classifier.dispose();

  // tuna export writes one classifier (body, pooling, head) that transformers.js runs as such.
  const onnx = join(await tempDir('setfit-onnx'), 'exported');
  const exported = await exportModel({ model: output, output: onnx });
  assert.equal(exported.task, 'text-classification');
  assert.deepEqual(exported.outputs, ['logits', 'sentence_embedding']);
  const config = JSON.parse(await readFile(join(onnx, 'config.json'), 'utf8'));
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.deepEqual(config.id2label, { 0: 'bank', 1: 'pets', 2: 'weather' });
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const theirs: any = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  for (const [i, e] of TRAIN.entries()) {
    const got: { label: string; score: number }[] = await theirs(e.text, { top_k: 3 });
    for (const { label, score } of got) {
      const want = ranked[i]!.find((r) => r.label === label)!.score;
      assert.ok(Math.abs(score - want) < 1e-5, `${e.text} ${label}: transformers.js ${score}, tuna ${want}`);
    }
  }
  await theirs.dispose();
});

test('a two-class SetFit model exports logits [0, z] whose softmax is the sigmoid head', async () => {
  const dir = await tempDir('setfit-binary');
  await cp(BASE, dir, { recursive: true });
  const extractor = await featureExtractionPipeline(dir);
  const texts = TRAIN.map((e) => e.text);
  const X = await extractor.runBatch(texts, { pooling: 'model' });
  await extractor.dispose();
  const head = await fitLogistic(
    X,
    TRAIN.map((e) => (e.label === 0 ? 0 : 1)),
    2,
  );
  await writeFile(join(dir, SETFIT_HEAD_FILE), JSON.stringify({ labels: ['other', 'bank'], C: 1, coef: head.coef, intercept: head.intercept }));
  const onnx = join(await tempDir('setfit-binary-onnx'), 'exported');
  await exportModel({ model: dir, output: onnx });
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const theirs: any = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  for (const [i, text] of texts.entries()) {
    const p = logisticProbabilities(head, X[i]!);
    const got: { label: string; score: number }[] = await theirs(text, { top_k: 2 });
    for (const { label, score } of got) assert.ok(Math.abs(score - p[label === 'other' ? 0 : 1]!) < 1e-5, `${text} ${label}: ${score} vs ${p}`);
  }
  await theirs.dispose();
});

test('a SetFit directory without a valid head is refused', async () => {
  const dir = await tempDir('setfit-bad');
  await cp(BASE, dir, { recursive: true });
  await writeFile(join(dir, SETFIT_HEAD_FILE), '{"labels":["a","b"],"coef":[],"intercept":[]}');
  await assert.rejects(() => pipeline('text-classification', dir), /setfit_head\.json/);
  await assert.rejects(() => exportModel({ model: dir, output: join(dir, 'onnx') }), /setfit_head\.json/);
  await writeFile(join(dir, SETFIT_HEAD_FILE), '{"labels":["a","b"],"coef":[[1,2,3]],"intercept":[0]}');
  await assert.rejects(() => exportModel({ model: dir, output: join(dir, 'onnx') }), /setfit_head\.json: the head takes 3-dimensional embeddings, but the model gives 32/);
});
