// ELECTRA end to end: `tuna train` and `tuna predict` on a tiny data file, `tuna serve`, and
// `tuna export` of a transformers-written checkpoint (tools/make-electra-fixtures.py): the F32 ONNX
// model within 1e-4 of transformers' logits, and transformers.js's text-classification pipeline on
// it giving tuna's scores.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { env, pipeline as tjsPipeline } from '@huggingface/transformers';
import { run } from '../src/cli/main.js';
import { exportModel } from '../src/export/index.js';
import { pipeline } from '../src/pipelines/index.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';
import { startServer } from '../src/index.js';
import { post } from './helpers/serve.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/electra/ElectraForSequenceClassification/', import.meta.url));
const work = join(tmpdir(), `tuna-electra-cli-${process.pid}`);
const ckpt = join(work, 'ckpt');
const LABELS = ['negative', 'neutral', 'positive'];
/** The fixture's 99 ids: BERT's special tokens, then words w5 ... w98. */
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 94 }, (_, i) => `w${i + 5}`)];
const TEXTS = ['w5 w17 w33', 'w80 w81', 'w12 w13 w14 w15 w16', 'w98 w6 w7 w40'];

before(() => {
  mkdirSync(ckpt, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURE, f), join(ckpt, f));
  writeFileSync(join(ckpt, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
  writeFileSync(
    join(ckpt, 'tokenizer_config.json'),
    JSON.stringify({
      tokenizer_class: 'ElectraTokenizer',
      do_lower_case: true,
      model_max_length: 24,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    }),
  );
});
after(() => process.env.KEEP_WORK || rmSync(work, { recursive: true, force: true }));

async function cli(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  assert.equal(code, 0, stderr);
  return stdout;
}

test('tuna train, predict and serve an ELECTRA classifier; the saved checkpoint keeps transformers names', async () => {
  const data = join(work, 'train.jsonl');
  writeFileSync(data, `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: TEXTS[i % TEXTS.length], label: LABELS[i % 3] })).join('\n')}\n`);
  const out = join(work, 'trained');
  await cli([
    'train',
    '--task',
    'text-classification',
    '--model',
    ckpt,
    '--train',
    data,
    '--output',
    out,
    '--max-steps',
    '3',
    '--batch-size',
    '4',
    '--eval-strategy',
    'no',
    '--save-strategy',
    'no',
    '--progress',
    'none',
    '--seed',
    '1',
    '--max-length',
    '24',
  ]);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'electra');
  assert.deepEqual(config.architectures, ['ElectraForSequenceClassification']);
  assert.equal(config.embedding_size, 16);

  const input = join(work, 'texts.txt');
  writeFileSync(input, `${TEXTS.join('\n')}\n`);
  const lines = (await cli(['predict', '--model', out, '--input', input, '--json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, TEXTS.length);
  const direct = await pipeline('text-classification', out, { threads: 1 });
  const want = await direct.runWithLogits(TEXTS);
  lines.forEach((l, i) => {
    assert.ok(LABELS.includes(l.label));
    assert.equal(l.label, want[i]!.result[0]!.label);
    assert.equal(l.logits.length, 3);
  });

  const server = await startServer({ models: [`electra=${out}`], port: 0, threads: 1 });
  try {
    const r = await post(server.address!, '/v1/classify', { inputs: TEXTS });
    assert.equal(r.status, 200);
    const expected = await direct.runBatch(TEXTS);
    r.body.forEach((res: { label: string; score: number }[], i: number) => {
      assert.equal(res[0]!.label, (expected[i] as { label: string }[])[0]!.label);
      assert.ok(Math.abs(res[0]!.score - (expected[i] as { score: number }[])[0]!.score) < 1e-5);
    });
  } finally {
    await server.close();
    await direct.dispose();
  }
});

test('tuna export: the F32 ONNX model of a transformers checkpoint gives its logits; transformers.js runs it', async () => {
  const onnx = join(work, 'onnx');
  const r = await exportModel({ model: ckpt, output: onnx });
  assert.equal(r.architecture, 'ElectraForSequenceClassification');
  assert.deepEqual(r.inputs, ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.deepEqual(r.outputs, ['logits']);
  const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'));
  const session = await Session.create(readFileSync(join(onnx, 'onnx', 'model.onnx')), { threads: 1 });
  let worst = 0;
  for (const batch of expected.batches) {
    const [B, S] = batch.shape;
    const feeds = Object.fromEntries(Object.entries(batch.inputs as Record<string, number[]>).map(([k, v]) => [k, hostTensor('int64', BigInt64Array.from(v, BigInt), [B, S])]));
    const logits = (await session.run(feeds)).logits!.data as Float32Array;
    (batch.outputs.logits as number[]).forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - logits[i]!));
    });
  }
  await session.release();
  console.log(`exported ElectraForSequenceClassification: max |logits - transformers| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4, `exported logits differ from transformers by ${worst}`);

  env.allowRemoteModels = false;
  env.localModelPath = work;
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js's pipeline() overloads need a literal task
  const classifier = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  const theirs: { label: string; score: number }[] = await classifier(TEXTS);
  await classifier.dispose();
  const ours = await pipeline('text-classification', ckpt, { threads: 1 });
  const mine = await ours(TEXTS);
  await ours.dispose();
  theirs.forEach((t, i) => {
    assert.equal(t.label, mine[i]!.label);
    assert.ok(Math.abs(t.score - mine[i]!.score) < 1e-4, `text ${i}: transformers.js score ${t.score}, tuna ${mine[i]!.score}`);
  });
});

test('tuna export: the discriminator is exported as its encoder (feature extraction), equal to transformers last hidden state', async () => {
  const dir = fileURLToPath(new URL('./fixtures/electra/ElectraForPreTraining/', import.meta.url));
  await assert.rejects(exportModel({ model: dir, output: join(work, 'discriminator-refused') }), /cannot be exported.*feature-extraction/);
  const out = join(work, 'discriminator-onnx');
  const r = await exportModel({ model: dir, output: out, task: 'feature-extraction' });
  assert.deepEqual(r.outputs, ['last_hidden_state']);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const session = await Session.create(readFileSync(join(out, 'onnx', 'model.onnx')), { threads: 1 });
  for (const batch of expected.batches) {
    const [B, S] = batch.shape;
    const feeds = Object.fromEntries(Object.entries(batch.inputs as Record<string, number[]>).map(([k, v]) => [k, hostTensor('int64', BigInt64Array.from(v, BigInt), [B, S])]));
    const got = (await session.run(feeds)).last_hidden_state!.data as Float32Array;
    const worst = Math.max(...(batch.last_hidden_state as number[]).map((v, i) => Math.abs(v - got[i]!)));
    assert.ok(worst <= 1e-4, `exported encoder differs from transformers by ${worst}`);
  }
  await session.release();
});

test('the generator (ElectraForMaskedLM): tuna fill-mask and transformers.js fill-mask on its export agree', async () => {
  const gen = join(work, 'generator');
  mkdirSync(gen, { recursive: true });
  const fixtureDir = fileURLToPath(new URL('./fixtures/electra/ElectraForMaskedLM/', import.meta.url));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtureDir, f), join(gen, f));
  for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(ckpt, f), join(gen, f));
  const text = 'w5 w17 [MASK] w33';
  const fill = await pipeline('fill-mask', gen, { threads: 1 });
  const ours = (await fill(text)) as { token: number; score: number }[];
  await fill.dispose();
  const out = join(work, 'generator-onnx');
  await exportModel({ model: gen, output: out });
  env.allowRemoteModels = false;
  env.localModelPath = work;
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js's pipeline() overloads need a literal task
  const unmasker = await (tjsPipeline as any)('fill-mask', basename(out), { dtype: 'fp32', local_files_only: true });
  const theirs: { token: number; score: number }[] = await unmasker(text);
  await unmasker.dispose();
  assert.deepEqual(
    theirs.map((c) => c.token),
    ours.map((c) => c.token),
  );
  theirs.forEach((c, i) => assert.ok(Math.abs(c.score - ours[i]!.score) < 1e-4));
});
