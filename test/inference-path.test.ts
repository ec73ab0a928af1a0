// One checkpoint through every way of running it: pipeline(), `tuna predict`, `tuna eval`,
// `tuna serve` and `tuna export` must agree, field for field; and a sharded checkpoint (what the
// Hub client downloads for large models) loads through all of them and through `tuna train`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { startServer } from '../src/serve/server.js';
import { tempDir } from './helpers/pipeline-models.js';
import { makeTokenClassifier, post } from './helpers/serve.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const tuna = (...args: string[]) => run(process.execPath, [bin, ...args], { maxBuffer: 1 << 26 });
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

const TEXTS = ['where is my parcel?', 'the invoice is wrong', 'thanks, all good', 'my card was charged twice', 'when will it ship?', 'hello there'];
const LABELS = { 0: 'billing', 1: 'shipping', 2: 'other' };

/** A small sequence classifier saved in shards of at most 40 kB, with a random seeded head. */
async function shardedClassifier(): Promise<string> {
  const base = writeTinyModel(await tempDir('path-base'), TEXTS, { hidden: 32, layers: 2, heads: 2, maxPositions: 32 });
  const model = await PreTrainedModel.fromPretrained(base, { head: 'sequence-classification', id2label: LABELS, initMissingWeights: true, seed: 3 });
  const dir = await tempDir('path-sharded');
  await model.savePretrained(dir, { maxShardBytes: 40_000 });
  await copyFile(join(base, 'vocab.txt'), join(dir, 'vocab.txt'));
  return dir;
}

const near = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

test('a sequence classifier gives the same labels, scores and logits through pipeline(), predict, eval and serve', async () => {
  const dir = await shardedClassifier();
  const files = await readdir(dir);
  assert.ok(files.includes('model.safetensors.index.json') && files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f)).length > 1, `sharded: ${files}`);

  const classifier = await pipeline('text-classification', dir, { threads: 1 });
  const direct = await classifier.runWithLogits(TEXTS, { topK: null });
  await classifier.dispose();

  const input = join(dir, 'texts.txt');
  await writeFile(input, `${TEXTS.join('\n')}\n\n`);
  const predicted = lines((await tuna('predict', '--model', dir, '--input', input, '--json', '--threads', '1')).stdout);
  assert.equal(predicted.length, TEXTS.length, 'one line per text; the blank line is skipped');
  predicted.forEach((row, i) => {
    const { result, logits } = direct[i]!;
    assert.deepEqual(Object.keys(row), ['text', 'label', 'score', 'logits']);
    assert.equal(row.text, TEXTS[i]);
    assert.equal(row.label, result[0]!.label);
    assert.ok(near(row.score, result[0]!.score), `score ${row.score} vs ${result[0]!.score}`);
    row.logits.forEach((v: number, k: number) => assert.ok(near(v, logits[k]!), `logit ${k}: ${v} vs ${logits[k]}`));
  });

  // eval on the pipeline's own predictions as gold labels: the same predictions give accuracy 1.
  const data = join(dir, 'gold.csv');
  await writeFile(data, `text,label\n${TEXTS.map((t, i) => `"${t}",${direct[i]!.result[0]!.label}`).join('\n')}\n`);
  const report = JSON.parse((await tuna('eval', '--model', dir, '--data', data, '--json', '--threads', '1')).stdout);
  assert.equal(report.accuracy, 1);
  assert.equal(report.examples, TEXTS.length);

  const server = await startServer({ models: [dir], port: 0, threads: 1, maxWaitMs: 1 });
  try {
    const res = await post(server.address!, '/v1/classify', { inputs: TEXTS, parameters: { top_k: null } });
    assert.equal(res.status, 200);
    const served = res.body as { label: string; score: number }[][];
    served.forEach((labels, i) => {
      assert.deepEqual(
        labels.map((l) => l.label),
        direct[i]!.result.map((l) => l.label),
      );
      labels.forEach((l, k) => assert.ok(near(l.score, direct[i]!.result[k]!.score)));
    });
  } finally {
    await server.close();
  }

  // The sharded checkpoint trains (its weights, not random ones: nothing is reported missing) and exports.
  const train = join(dir, 'train.csv');
  await writeFile(train, `text,label\n${TEXTS.map((t, i) => `"${t}",${LABELS[(i % 3) as 0 | 1 | 2]}`).join('\n')}\n`);
  const trained = await tuna(
    'train',
    '--model',
    dir,
    '--train',
    train,
    '--validation',
    train,
    '--output',
    join(dir, 'out'),
    '--max-steps',
    '1',
    '--max-length',
    '32',
    '--batch-size',
    '4',
    '--threads',
    '1',
    '--progress',
    'none',
  );
  assert.doesNotMatch(trained.stderr + trained.stdout, /initialised \d+ parameters|lacks/);
  const exported = JSON.parse((await tuna('export', '--model', dir, '--output', join(dir, 'onnx-out'), '--json')).stdout);
  assert.equal(exported.task, 'text-classification');
  assert.ok(exported.files.some((f: { path: string; maxAbsDiff?: number }) => f.path === 'onnx/model.onnx' && f.maxAbsDiff !== undefined && f.maxAbsDiff < 1e-4));
});

test('a token classifier gives the same entity groups through pipeline(), predict and serve', async () => {
  const dir = await makeTokenClassifier();
  const text = 'John Smith lives in Paris and New York.';
  const ner = await pipeline('ner', dir, { threads: 1 });
  const [first] = await ner.runWithLogits([text], { aggregation_strategy: 'simple' } as never);
  const { result, logits } = first!;
  await ner.dispose();
  assert.deepEqual(
    (result as { entity_group: string; word: string }[]).map((e) => [e.entity_group, e.word]),
    [
      ['PER', 'John Smith'],
      ['LOC', 'Paris'],
      ['LOC', 'New York'],
    ],
    'words as written in the text',
  );
  const [row] = lines((await tuna('predict', '--model', dir, '--text', text, '--json')).stdout);
  assert.deepEqual(row.entities, result);
  assert.deepEqual(row.logits.length, logits[0]!.length, 'one logits row per token, [CLS] and [SEP] included');
  // The same sentence split into words, as tuna eval reads CoNLL files: the same logits and entities.
  const ner2 = await pipeline('token-classification', dir, { threads: 1 });
  const [split] = await ner2.runWithLogits([text.replace('.', ' .').split(' ')] as never, { aggregationStrategy: 'simple', isSplitIntoWords: true });
  await ner2.dispose();
  assert.deepEqual(split!.logits, logits);
  assert.deepEqual(
    (split!.result as { entity_group: string; word: string }[]).map((e) => [e.entity_group, e.word]),
    (result as { entity_group: string; word: string }[]).map((e) => [e.entity_group, e.word]),
  );
  // tuna eval runs that path: gold tags equal to the model's give entity F1 1.
  const conll = join(await tempDir('path-conll'), 'gold.conll');
  const gold: [string, string][] = [
    ['John', 'B-PER'],
    ['Smith', 'I-PER'],
    ['lives', 'O'],
    ['in', 'O'],
    ['Paris', 'B-LOC'],
    ['and', 'O'],
    ['New', 'B-LOC'],
    ['York', 'I-LOC'],
    ['.', 'O'],
  ];
  await writeFile(conll, `${gold.map(([w, t]) => `${w} ${t}`).join('\n')}\n`);
  const report = JSON.parse((await tuna('eval', '--model', dir, '--data', conll, '--json')).stdout);
  assert.equal(report.entity['micro avg']['f1-score'], 1);
  assert.equal(report.entity['micro avg'].support, 3);
  const strict = JSON.parse((await tuna('eval', '--model', dir, '--data', conll, '--json', '--entity-mode', 'strict', '--scheme', 'IOB2')).stdout);
  assert.equal(strict.entity['micro avg']['f1-score'], 1);
  const server = await startServer({ models: [dir], port: 0, threads: 1, maxWaitMs: 1 });
  try {
    const res = await post(server.address!, '/v1/ner', { inputs: text, parameters: { aggregation_strategy: 'simple' } });
    assert.equal(res.status, 200);
    assert.deepEqual(
      (res.body as { entity_group: string; word: string; start: number; end: number }[]).map((e) => [e.entity_group, e.word, e.start, e.end]),
      (result as { entity_group: string; word: string; start: number; end: number }[]).map((e) => [e.entity_group, e.word, e.start, e.end]),
    );
  } finally {
    await server.close();
  }
});

test('a sharded masked LM fills masks through predict and continues pre-training with its own weights', async () => {
  const base = writeTinyModel(await tempDir('path-mlm-base'), TEXTS, { hidden: 32, layers: 2, heads: 2, maxPositions: 32 });
  const model = await PreTrainedModel.fromPretrained(base, { head: 'masked-lm', initMissingWeights: true, seed: 4 });
  const dir = await tempDir('path-mlm');
  await model.savePretrained(dir, { maxShardBytes: 40_000 });
  await copyFile(join(base, 'vocab.txt'), join(dir, 'vocab.txt'));
  assert.ok((await readdir(dir)).includes('model.safetensors.index.json'));
  const unmasker = await pipeline('fill-mask', dir, { threads: 1 });
  const direct = await unmasker('where is my [MASK]?', { topK: 3 });
  await unmasker.dispose();
  const [row] = lines((await tuna('predict', '--model', dir, '--text', 'where is my [MASK]?', '--top-k', '3', '--json')).stdout);
  assert.deepEqual(
    row.candidates.map((c: { token: number; token_str: string }) => [c.token, c.token_str]),
    (direct as { token: number; token_str: string }[]).map((c) => [c.token, c.token_str]),
  );
  const corpus = join(dir, 'corpus.txt');
  await writeFile(corpus, `${TEXTS.join('\n')}\n`);
  const pretrained = await tuna(
    'pretrain',
    '--model',
    dir,
    '--input',
    corpus,
    '--output',
    join(dir, 'out'),
    '--max-steps',
    '1',
    '--max-length',
    '16',
    '--batch-size',
    '2',
    '--threads',
    '1',
    '--progress',
    'none',
  );
  assert.doesNotMatch(pretrained.stderr + pretrained.stdout, /initialised \d+ parameters|lacks|random weights/);
  const exported = JSON.parse((await tuna('export', '--model', dir, '--output', join(dir, 'onnx-out'), '--task', 'feature-extraction', '--json')).stdout);
  assert.deepEqual(exported.outputs, ['last_hidden_state']);
});

test('pipeline options: transformers.js names accepted, unknown names refused', async () => {
  const dir = await makeTokenClassifier();
  const ner = await pipeline('token-classification', dir, { threads: 1 });
  try {
    const snake = await ner('John lives in Paris.', { aggregation_strategy: 'simple' } as never);
    const camel = await ner('John lives in Paris.', { aggregationStrategy: 'simple' });
    assert.deepEqual(snake, camel);
    await assert.rejects(
      ner('John', { aggregation: 'simple' } as never),
      (e: { code: string; message: string }) => e.code === 'invalid_option' && /unknown option "aggregation"/.test(e.message),
    );
  } finally {
    await ner.dispose();
  }
  await assert.rejects(pipeline('token-classification', dir, { thread: 1 } as never), (e: { code: string }) => e.code === 'invalid_option');
});
