// SetFit's differentiable head: on frozen embeddings it follows a plain AdamW loop over the
// softmax cross-entropy written here in float64; end to end with a vanishing body rate it gives
// the same head (so the graph's embeddings are the saved body's); end to end with a real rate the
// body changes and is saved without the head's tensors; two classes are saved as one sigmoid row.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { logisticProbabilities } from '../src/fewshot/logistic.js';
import { SETFIT_HEAD_FILE, embedTexts, trainSetFit } from '../src/fewshot/setfit.js';
import { HEAD_BIAS, HEAD_WEIGHT, asLogisticHead, trainDifferentiableHead } from '../src/fewshot/setfit-head.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/index.js';
import { readSentenceLayout } from '../src/sentence/layout.js';
import { tempDir } from './helpers/pipeline-models.js';
import { SENTENCE_BASE, SETFIT_LABELS, SETFIT_TRAIN } from './helpers/setfit-fixture.js';

const BASE = SENTENCE_BASE;
const LABELS = SETFIT_LABELS;
const TRAIN = SETFIT_TRAIN;

async function openBase(seed = 5) {
  const model = await PreTrainedModel.fromPretrained(BASE, { head: 'encoder', seed });
  const tokenizer = await model.loadTokenizer();
  const layout = (await readSentenceLayout(BASE))!;
  return { model, tokenizer, layout };
}

/** Full-batch AdamW (decoupled decay on weight and bias, bias-corrected moments) on the mean cross-entropy, in float64. */
function referenceHead(X: number[][], labels: number[], W0: Float32Array, b0: Float32Array, steps: number, lr: number, wd: number) {
  const C = b0.length;
  const D = X[0]!.length;
  const w = Float64Array.from(W0);
  const b = Float64Array.from(b0);
  const m = new Float64Array(C * D + C);
  const v = new Float64Array(C * D + C);
  const losses: number[] = [];
  for (let t = 1; t <= steps; t++) {
    const grad = new Float64Array(C * D + C);
    let loss = 0;
    X.forEach((x, n) => {
      const z = Array.from({ length: C }, (_, k) => x.reduce((s, xj, j) => s + xj * w[k * D + j]!, b[k]!));
      const top = Math.max(...z);
      const e = z.map((zk) => Math.exp(zk - top));
      const sum = e.reduce((s, ek) => s + ek, 0);
      loss -= Math.log(e[labels[n]!]! / sum) / X.length;
      e.forEach((ek, k) => {
        const d = (ek / sum - (k === labels[n] ? 1 : 0)) / X.length;
        for (let j = 0; j < D; j++) grad[k * D + j]! += d * x[j]!;
        grad[C * D + k]! += d;
      });
    });
    losses.push(loss);
    for (let i = 0; i < grad.length; i++) {
      m[i] = 0.9 * m[i]! + 0.1 * grad[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * grad[i]! ** 2;
      const step = (lr * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
      if (i < C * D) w[i] = w[i]! * (1 - lr * wd) - step;
      else b[i - C * D] = b[i - C * D]! * (1 - lr * wd) - step;
    }
  }
  return { w, b, losses };
}

test('the differentiable head on frozen embeddings is AdamW on the cross-entropy', async () => {
  const { model, tokenizer, layout } = await openBase();
  const X = await embedTexts(
    BASE,
    TRAIN.map((e) => e.text),
  );
  const trained = await trainDifferentiableHead(
    { model, tokenizer, layout, examples: TRAIN, classes: 3, epochs: 12, batchSize: TRAIN.length, headLearningRate: 0.05, l2Weight: 0.1, maxLength: 32, seed: 3 },
    async (texts) => embedTexts(BASE, texts),
  );
  assert.equal(trained.steps, 12);
  await assert.rejects(
    () => trainDifferentiableHead({ model, tokenizer, layout, examples: [...TRAIN, { text: 'x', label: 3 }], classes: 3, maxLength: 32 }, async (t) => embedTexts(BASE, t)),
    /examples\[9\] has label 3; labels must be class ids from 0 to 2/,
  );
  assert.equal(model.store.has(HEAD_WEIGHT) || model.store.has(HEAD_BIAS), false);
  await model.dispose();
  const ref = referenceHead(
    X,
    TRAIN.map((e) => e.label),
    trained.initial.weight,
    trained.initial.bias,
    12,
    0.05,
    0.1,
  );
  trained.losses.forEach((l, i) => assert.ok(Math.abs(l - ref.losses[i]!) < 1e-5, `step ${i + 1}: loss ${l}, reference ${ref.losses[i]}`));
  const D = X[0]!.length;
  trained.head.coef.forEach((row, k) => row.forEach((w, j) => assert.ok(Math.abs(w - ref.w[k * D + j]!) < 1e-5, `W[${k}][${j}] ${w} vs ${ref.w[k * D + j]}`)));
  trained.head.intercept.forEach((b, k) => assert.ok(Math.abs(b - ref.b[k]!) < 1e-5, `b[${k}] ${b} vs ${ref.b[k]}`));
  assert.ok(ref.losses.at(-1)! < ref.losses[0]! - 0.05, `loss ${ref.losses[0]} -> ${ref.losses.at(-1)}`);
});

test('end to end, the body at a vanishing rate gives the frozen head: the graph embeds as the saved body does', async () => {
  const opts = { examples: TRAIN, classes: 3, epochs: 3, batchSize: 4, headLearningRate: 0.05, maxLength: 32, seed: 11, disableDropout: true };
  const frozen = await openBase();
  const a = await trainDifferentiableHead({ ...frozen, ...opts }, async (texts) => embedTexts(BASE, texts));
  await frozen.model.dispose();
  const joint = await openBase();
  const b = await trainDifferentiableHead({ ...joint, ...opts, endToEnd: true, bodyLearningRate: 1e-30 });
  assert.equal(joint.model.store.has(HEAD_WEIGHT), false);
  await joint.model.dispose();
  assert.equal(b.steps, 9);
  b.losses.forEach((l, i) => assert.ok(Math.abs(l - a.losses[i]!) < 1e-5, `step ${i + 1}: ${l} vs ${a.losses[i]}`));
  b.head.coef.forEach((row, k) => row.forEach((w, j) => assert.ok(Math.abs(w - a.head.coef[k]![j]!) < 1e-4, `W[${k}][${j}] ${w} vs ${a.head.coef[k]![j]}`)));
});

test('two classes are saved as one row whose sigmoid is the two-row softmax', () => {
  const D = 3;
  const weight = Float32Array.from([0.3, -1.2, 0.5, -0.7, 0.4, 2.0]);
  const bias = Float32Array.from([0.25, -0.5]);
  const head = asLogisticHead(weight, bias, 2, D);
  assert.equal(head.coef.length, 1);
  for (const x of [
    [1, 0, 0],
    [0.2, -0.4, 0.9],
    [-2, 1, 0.5],
  ]) {
    const z = [0, 1].map((k) => x.reduce((s, xj, j) => s + xj * weight[k * D + j]!, bias[k]!));
    const softmax1 = Math.exp(z[1]!) / (Math.exp(z[0]!) + Math.exp(z[1]!));
    const p = logisticProbabilities(head, x);
    assert.ok(Math.abs(p[1]! - softmax1) < 1e-6, `${p[1]} vs ${softmax1}`);
    assert.ok(Math.abs(p[0]! + p[1]! - 1) < 1e-12);
  }
});

test('SetFit with the head trained end to end: the body changes, is saved without the head, and predicts through the head', async () => {
  const { model, tokenizer, layout } = await openBase(13);
  const output = await tempDir('setfit-e2e');
  const before = await embedTexts(BASE, [TRAIN[0]!.text]);
  const result = await trainSetFit({
    model,
    tokenizer,
    layout,
    examples: TRAIN,
    labels: LABELS,
    output,
    iterations: 2,
    batchSize: 12,
    learningRate: 2e-3,
    maxLength: 32,
    seed: 13,
    head: 'differentiable',
    endToEnd: true,
    headEpochs: 6,
    headBatchSize: 3,
    headLearningRate: 0.05,
    bodyLearningRate: 1e-3,
  });
  await model.dispose();
  assert.equal(result.headTraining?.steps, 18);
  const losses = result.headTraining!.losses;
  assert.ok(losses.slice(-3).reduce((s, l) => s + l, 0) < losses.slice(0, 3).reduce((s, l) => s + l, 0), `head loss ${losses.slice(0, 3)} -> ${losses.slice(-3)}`);
  const file = JSON.parse(await readFile(join(output, SETFIT_HEAD_FILE), 'utf8'));
  assert.equal(file.head, 'differentiable');
  assert.equal(file.end_to_end, true);
  assert.equal(file.coef.length, 3);
  const header = await readFile(join(output, 'model.safetensors'));
  const keys = Object.keys(JSON.parse(header.subarray(8, 8 + Number(header.readBigUInt64LE(0))).toString('utf8')));
  assert.ok(!keys.some((k) => k.startsWith('setfit_head')), `model.safetensors holds ${keys.filter((k) => k.startsWith('setfit_head'))}`);
  const after = await embedTexts(output, [TRAIN[0]!.text]);
  const moved = Math.max(...after[0]!.map((x, j) => Math.abs(x - before[0]![j]!)));
  assert.ok(moved > 1e-3, `the body did not change (largest difference ${moved})`);

  const X = await embedTexts(
    output,
    TRAIN.map((e) => e.text),
  );
  const classifier = await pipeline('text-classification', output);
  const ranked = (await classifier.runBatch(
    TRAIN.map((e) => e.text),
    { topK: null },
  )) as { label: string; score: number }[][];
  await classifier.dispose();
  let correct = 0;
  ranked.forEach((r, i) => {
    const p = logisticProbabilities({ coef: file.coef, intercept: file.intercept, classes: 3 }, X[i]!);
    for (const { label, score } of r) assert.ok(Math.abs(score - p[LABELS.indexOf(label)]!) < 1e-6);
    if (r[0]!.label === LABELS[TRAIN[i]!.label]) correct++;
  });
  assert.equal(result.trainAccuracy, correct / TRAIN.length);
});
