// The Trainer's loop mechanics on a tiny model and real banking77 texts: resuming after a stop gives
// the same weights as an uninterrupted run, checkpoints are whole and rotated, early stopping and
// best-model selection work, and the logs and learning curve are written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LabelMap, loadTextExamples, textFeatures } from '../src/data/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { AutoModelForSequenceClassification, AutoTokenizer } from '../src/models/auto.js';
import { metricsFor } from '../src/tasks/reports.js';
import { TrainingArgumentsError } from '../src/train/arguments.js';
import type { TrainingArguments } from '../src/train/arguments.js';
import { Trainer } from '../src/train/trainer.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-trainer-'));
after(() => rmSync(work, { recursive: true, force: true }));

const trainExamples = await loadTextExamples(fixture('banking77-4class-train.jsonl'));
const testExamples = await loadTextExamples(fixture('banking77-4class-test.jsonl'));
const modelDir = writeTinyModel(
  join(work, 'model'),
  [...trainExamples, ...testExamples].map((e) => e.text),
  { hidden: 32, maxPositions: 64 },
);
const labels = LabelMap.fromExamples(trainExamples.map((e) => e.label as string));
const tokenizer = await AutoTokenizer.fromPretrained(modelDir);
const train = textFeatures(tokenizer, trainExamples.slice(0, 96), labels, { maxLength: 32 });
const evalSet = textFeatures(tokenizer, testExamples.slice(0, 40), labels, { maxLength: 32 });

async function trainer(outputDir: string, args: Partial<TrainingArguments> = {}, evalDataset = evalSet): Promise<Trainer> {
  const model = await AutoModelForSequenceClassification.fromPretrained(modelDir, { id2label: labels.toConfig().id2label, seed: 3, initMissingWeights: true });
  return new Trainer({
    model,
    args: { outputDir, perDeviceTrainBatchSize: 16, learningRate: 2e-3, numTrainEpochs: 2, progress: 'none', seed: 5, ...args },
    trainDataset: train,
    evalDataset,
    tokenizer,
    computeMetrics: metricsFor('single_label', labels),
  });
}

async function weights(dir: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  return new Map([...tensors].map(([k, t]) => [k, t.data as Float32Array]));
}

test('a run stopped mid-way and resumed ends with the same weights as an uninterrupted run', async () => {
  const args = { gradientAccumulationSteps: 2, evalStrategy: 'no', saveStrategy: 'no', loggingSteps: 1 } as const;
  const straight = await trainer(join(work, 'straight'), args);
  const full = await straight.train();
  assert.equal(full.globalStep, 6); // 96 examples / 16 = 6 batches, 2 per step, 2 epochs

  const stopped = await trainer(join(work, 'resumed'), args);
  stopped.addCallback({ onStep: (p) => p.globalStep === 4 && stopped.stop() });
  const first = await stopped.train();
  assert.equal(first.interrupted, true);
  assert.equal(first.globalStep, 4);
  assert.ok(existsSync(join(work, 'resumed', 'checkpoint-4', 'optimizer.safetensors')));
  assert.ok(!existsSync(join(work, 'resumed', 'model.safetensors')), 'an interrupted run does not write the final model');

  const resumed = await trainer(join(work, 'resumed'), args);
  const second = await resumed.train({ resumeFromCheckpoint: true });
  assert.equal(second.interrupted, false);
  assert.equal(second.globalStep, 6);
  const a = await weights(join(work, 'straight'));
  const b = await weights(join(work, 'resumed'));
  for (const [name, w] of a) {
    const v = b.get(name)!;
    let diff = 0;
    for (let i = 0; i < w.length; i++) diff = Math.max(diff, Math.abs(w[i]! - v[i]!));
    assert.ok(diff < 1e-6, `${name} differs by ${diff}`);
  }
  const straightLosses = straight.logHistory.map((r) => r.loss);
  const resumedLosses = resumed.logHistory.map((r) => r.loss);
  assert.deepEqual(resumedLosses, straightLosses, 'the resumed run continues the same log');
});

test('evaluation every epoch, best checkpoint kept through rotation, logs and learning curve written', async () => {
  const out = join(work, 'best');
  const t = await trainer(out, { numTrainEpochs: 4, saveTotalLimit: 1, metricForBestModel: 'accuracy' });
  const result = await t.train();
  const evals = t.logHistory.filter((r) => 'eval_accuracy' in r);
  assert.equal(evals.length, 4);
  const best = Math.max(...evals.map((r) => r.eval_accuracy!));
  const bestStep = evals.find((r) => r.eval_accuracy === best)!.step;
  assert.equal(result.bestModelCheckpoint, join(out, `checkpoint-${bestStep}`));
  const dirs = readdirSync(out).filter((d) => d.startsWith('checkpoint-') || d.includes('partial'));
  assert.ok(dirs.includes(`checkpoint-${bestStep}`), `the best checkpoint survives rotation (have ${dirs})`);
  assert.ok(dirs.length <= 2, `at most the limit plus the best checkpoint (have ${dirs})`);
  assert.ok(!dirs.some((d) => d.includes('partial')));
  // The final model is the best one.
  const final = await weights(out);
  const bestWeights = await weights(join(out, `checkpoint-${bestStep}`));
  for (const [name, w] of bestWeights) assert.deepEqual(final.get(name), w, name);
  const again = await t.evaluate();
  assert.equal(again.eval_accuracy, best);
  // metrics.jsonl holds the same records as the history, and the curve is an SVG with both panels.
  const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines, t.logHistory);
  const svg = readFileSync(join(out, 'learning_curve.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.match(svg, /train loss/);
  assert.match(svg, /eval_accuracy/);
  assert.ok(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).id2label['0']);
  assert.ok(existsSync(join(out, 'vocab.txt')));
});

test('early stopping ends training when the metric stops improving', async () => {
  const t = await trainer(join(work, 'early'), {
    numTrainEpochs: 10,
    learningRate: 1e-9,
    earlyStoppingPatience: 2,
    earlyStoppingThreshold: 0.01,
    saveStrategy: 'epoch',
  });
  const result = await t.train();
  assert.equal(result.earlyStopped, true);
  // First evaluation sets the best; two more without a 0.01 improvement stop the run.
  assert.equal(t.logHistory.filter((r) => 'eval_loss' in r).length, 3);
  assert.equal(result.globalStep, 3 * 6);
});

test('learning happens: held-out accuracy well above chance after a few epochs', async () => {
  const t = await trainer(join(work, 'learn'), { numTrainEpochs: 6, saveStrategy: 'no', loadBestModelAtEnd: false, evalStrategy: 'no' }, undefined);
  await t.train();
  const m = await t.evaluate(evalSet);
  assert.ok(m.eval_accuracy! > 0.5, `accuracy ${m.eval_accuracy} (chance 0.25)`);
});

test('bad arguments are refused with the field named', async () => {
  await assert.rejects(trainer(join(work, 'bad'), { perDeviceTrainBatchSize: 0 }), (e: unknown) => e instanceof TrainingArgumentsError && e.field === 'perDeviceTrainBatchSize');
  await assert.rejects(trainer(join(work, 'bad'), { earlyStoppingPatience: 2, evalStrategy: 'no' }), /early stopping needs evaluation/);
  await assert.rejects(trainer(join(work, 'bad'), { evalStrategy: 'steps', evalSteps: 4, saveStrategy: 'epoch' }), /loadBestModelAtEnd needs checkpoints/);
  const t = await trainer(join(work, 'bad'), { metricForBestModel: 'nonsense', numTrainEpochs: 1 });
  await assert.rejects(t.train(), /no metric "nonsense" after evaluation; available: loss, accuracy/);
});

test('multi-label texts (sigmoid and binary cross-entropy) and text pairs train and report', async () => {
  // Two labels a text may have both of, or neither: it asks a question, it mentions a card.
  const multi = trainExamples.map((e) => ({
    ...e,
    label: [...(e.text.trim().endsWith('?') ? ['question'] : []), ...(/\bcard\b/i.test(e.text) ? ['card'] : [])],
  }));
  const multiLabels = LabelMap.fromExamples(multi.map((e) => e.label));
  const model = await AutoModelForSequenceClassification.fromPretrained(modelDir, {
    id2label: multiLabels.toConfig().id2label,
    problemType: 'multi_label_classification',
    seed: 3,
    initMissingWeights: true,
  });
  const features = textFeatures(tokenizer, multi, multiLabels, { maxLength: 32, multiLabel: true });
  assert.ok(features.some((f) => (f.labels as Float32Array).every((v) => v === 1)) && features.some((f) => (f.labels as Float32Array).every((v) => v === 0)));
  const t = new Trainer({
    model,
    args: { outputDir: join(work, 'multi'), numTrainEpochs: 20, perDeviceTrainBatchSize: 16, learningRate: 5e-3, progress: 'none', saveStrategy: 'no', loadBestModelAtEnd: false },
    trainDataset: features.slice(0, 256),
    evalDataset: features.slice(256),
    computeMetrics: metricsFor('multi_label', multiLabels),
  });
  await t.train();
  const m = await t.evaluate();
  assert.ok(m.eval_f1! > 0.8, `micro F1 ${m.eval_f1}`);
  assert.equal(JSON.parse(readFileSync(join(work, 'multi', 'config.json'), 'utf8')).problem_type, 'multi_label_classification');

  // Pairs: [CLS] a [SEP] b [SEP] with token type ids 1 on the second text. The intent is in the
  // second text only (the first is the same for every example), so learning shows that the pair is
  // encoded and read.
  const pairsOf = (items: typeof trainExamples) => items.map((e) => ({ ...e, text: 'the customer wrote', textPair: e.text }));
  const pairFeatures = textFeatures(tokenizer, pairsOf(trainExamples), labels, { maxLength: 48 });
  const heldOutPairs = textFeatures(tokenizer, pairsOf(testExamples), labels, { maxLength: 48 });
  assert.ok(pairFeatures.every((f) => f.tokenTypeIds.includes(1)));
  const pairModel = await AutoModelForSequenceClassification.fromPretrained(modelDir, { id2label: labels.toConfig().id2label, seed: 3, initMissingWeights: true });
  const pt = new Trainer({
    model: pairModel,
    args: {
      outputDir: join(work, 'pairs'),
      numTrainEpochs: 8,
      perDeviceTrainBatchSize: 16,
      learningRate: 2e-3,
      progress: 'none',
      saveStrategy: 'no',
      loadBestModelAtEnd: false,
      seed: 5,
    },
    trainDataset: pairFeatures,
    evalDataset: heldOutPairs,
    computeMetrics: metricsFor('single_label', labels),
  });
  const before = await pt.evaluate();
  const r = await pt.train();
  assert.ok(Number.isFinite(r.trainingLoss));
  const after = await pt.evaluate();
  assert.ok(
    after.eval_accuracy! > 0.6 && after.eval_accuracy! > before.eval_accuracy! + 0.25,
    `held-out pair accuracy ${before.eval_accuracy} -> ${after.eval_accuracy}, training loss ${r.trainingLoss}`,
  );
});

test('TrainingArguments: an unknown key is refused with the closest known one; runtime and throughput cannot pick the best model', async () => {
  const { checkMetricForBestModel, resolveArguments } = await import('../src/train/arguments.js');
  const { isTunaError } = await import('../src/errors.js');
  assert.throws(
    () => resolveArguments({ outputDir: 'out', learningrate: 1e-3 } as unknown as TrainingArguments, false),
    (e: unknown) =>
      e instanceof TrainingArgumentsError &&
      isTunaError(e) &&
      e.code === 'invalid_arguments' &&
      e.field === 'learningrate' &&
      /"learningrate" is not a training argument; did you mean "learningRate"\?/.test(e.message),
  );
  assert.throws(() => resolveArguments({ outputDir: 'out', numEpochs: 2 } as unknown as TrainingArguments, false), /did you mean "numTrainEpochs"/);
  assert.throws(
    () => resolveArguments({ outputDir: 'out', zzzzzzzzzzzzzz: 1 } as unknown as TrainingArguments, false),
    (e: unknown) => e instanceof Error && !/did you mean/.test(e.message),
  );
  assert.equal(resolveArguments({ outputDir: 'out', overwriteOutputDir: true }, false).overwriteOutputDir, true);
  for (const metric of ['eval_runtime', 'eval_samples_per_second', 'steps_per_second']) {
    assert.throws(
      () => resolveArguments({ outputDir: 'out', metricForBestModel: metric }, true),
      (e: unknown) => e instanceof TrainingArgumentsError && e.field === 'metricForBestModel' && /runtime or throughput/.test(e.message),
    );
  }
  const available = ['loss', 'accuracy', 'f1', 'precision', 'recall', 'f1_weighted'];
  assert.equal(checkMetricForBestModel('eval_f1', available), 'f1');
  assert.equal(checkMetricForBestModel('accuracy', available), 'accuracy');
  assert.throws(
    () => checkMetricForBestModel('f1_score', available),
    /"f1_score" is not a metric this task's evaluation produces; did you mean "f1"\? Available: loss, accuracy, f1/,
  );
  assert.throws(() => checkMetricForBestModel('eval_samples_per_second', available), /runtime or throughput figure, not a metric of the model; choose one of: loss, accuracy/);
});
