// DeBERTa-v3 end to end, with its SentencePiece tokenizer (tokenizer.json + spm.model, read by
// HfTokenizer): `tuna train` and `tuna predict` on a tiny data file, `tuna serve`, and `tuna export`
// of a transformers-written checkpoint (tools/make-deberta-fixtures.py): the F32 ONNX model (inputs
// input_ids and attention_mask: DeBERTa-v3 has no token types) within 1e-4 of transformers' logits,
// and transformers.js's text-classification pipeline on it (its own tokenizer) giving tuna's scores;
// a token classifier trained, evaluated and run on words; the masked LM through tuna's and
// transformers.js's fill-mask.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { env, pipeline as tjsPipeline } from '@huggingface/transformers';
import { run } from '../src/cli/main.js';
import { exportModel } from '../src/export/index.js';
import { startServer } from '../src/index.js';
import { pipeline } from '../src/pipelines/index.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';
import { post } from './helpers/serve.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/deberta-v2/DebertaV2ForSequenceClassification/', import.meta.url));
const work = join(tmpdir(), `tuna-deberta-cli-${process.pid}`);
const ckpt = join(work, 'ckpt');
const LABELS = ['negative', 'neutral', 'positive'];
/** The tokenizer the fixture's vocabulary (500 ids) was sized for. */
const TOKENIZER = fileURLToPath(new URL('./fixtures/hf-tokenizers/deberta-unigram/', import.meta.url));
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Hello world!', 'Attention is relative.', 'a b c'];

before(() => {
  mkdirSync(ckpt, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(FIXTURE, f), join(ckpt, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'spm.model']) copyFileSync(join(TOKENIZER, f), join(ckpt, f));
});
after(() => process.env.KEEP_WORK || rmSync(work, { recursive: true, force: true }));

async function cli(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  assert.equal(code, 0, stderr);
  return stdout;
}

test('tuna train, predict and serve a DeBERTa-v3 classifier; the saved checkpoint keeps transformers names', async () => {
  const data = join(work, 'train.jsonl');
  writeFileSync(data, `${Array.from({ length: 12 }, (_, i) => JSON.stringify({ text: TEXTS[i % TEXTS.length], label: LABELS[i % 3] })).join('\n')}\n`);
  const out = join(work, 'trained');
  // biome-ignore format: one flag per line is harder to read here
  await cli(['train', '--task', 'text-classification', '--model', ckpt, '--train', data, '--output', out, '--max-steps', '3', '--batch-size', '4',
    '--eval-strategy', 'no', '--save-strategy', 'no', '--progress', 'none', '--seed', '1', '--max-length', '24']);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'deberta-v2');
  assert.deepEqual(config.architectures, ['DebertaV2ForSequenceClassification']);
  assert.equal(config.position_buckets, 8);
  assert.equal(config.type_vocab_size, 0);
  assert.ok(existsSync(join(out, 'tokenizer.json')), 'the SentencePiece tokenizer is saved with the model');

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

  const server = await startServer({ models: [`deberta=${out}`], port: 0, threads: 1 });
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

test('tuna export: the F32 ONNX model of a DeBERTa-v3 checkpoint gives its logits; transformers.js runs it', async () => {
  const onnx = join(work, 'onnx');
  const r = await exportModel({ model: ckpt, output: onnx });
  assert.equal(r.architecture, 'DebertaV2ForSequenceClassification');
  assert.deepEqual(r.inputs, ['input_ids', 'attention_mask']);
  assert.deepEqual(r.outputs, ['logits']);
  const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'));
  const session = await Session.create(readFileSync(join(onnx, 'onnx', 'model.onnx')), { threads: 1 });
  let worst = 0;
  for (const batch of expected.batches) {
    const [B, S] = batch.shape;
    const feeds = Object.fromEntries(['input_ids', 'attention_mask'].map((k) => [k, hostTensor('int64', BigInt64Array.from(batch.inputs[k] as number[], BigInt), [B, S])]));
    const logits = (await session.run(feeds)).logits!.data as Float32Array;
    (batch.outputs.logits as number[]).forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - logits[i]!));
    });
  }
  await session.release();
  console.log(`exported DebertaV2ForSequenceClassification: max |logits - transformers| ${worst.toExponential(2)}`);
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

test('tuna train, eval and predict a DeBERTa-v3 token classifier: labels on words through the SentencePiece tokenizer', async () => {
  const data = join(work, 'ner.jsonl');
  const rows = [
    { tokens: ['John', 'Smith', 'lives', 'in', 'Paris'], tags: ['B-PER', 'I-PER', 'O', 'O', 'B-LOC'] },
    { tokens: ['Hello', 'world'], tags: ['O', 'O'] },
    { tokens: ['The', 'quick', 'brown', 'fox', 'visited', 'London'], tags: ['O', 'O', 'O', 'O', 'O', 'B-LOC'] },
  ];
  writeFileSync(data, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const out = join(work, 'tagger');
  // biome-ignore format: one flag per line is harder to read here
  await cli(['train', '--task', 'token-classification', '--model', ckpt, '--train', data, '--output', out, '--max-steps', '2', '--batch-size', '2',
    '--max-length', '24', '--eval-strategy', 'no', '--save-strategy', 'no', '--progress', 'none']);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).architectures, ['DebertaV2ForTokenClassification']);
  const report = JSON.parse(await cli(['eval', '--model', out, '--data', data, '--json']));
  assert.equal(typeof report.accuracy, 'number');
  assert.ok(report.entity?.['micro avg'], 'entity-level scores');
  const input = join(work, 'ner.txt');
  const text = 'John in Paris';
  writeFileSync(input, `${text}\n`);
  const [line] = (await cli(['predict', '--model', out, '--input', input, '--json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const tagger = await pipeline('token-classification', out, { threads: 1 });
  const ids = tagger.tokenizer.encode(text).inputIds;
  await tagger.dispose();
  assert.equal(line.logits.length, ids.length, 'one row of logits per token, special tokens included');
  for (const e of line.entities) assert.equal(text.slice(e.start, e.end), e.word);
});

test('DebertaV2ForMaskedLM (lm_predictions head): tuna fill-mask and transformers.js fill-mask on its export agree', async () => {
  const dir = join(work, 'mlm');
  mkdirSync(dir, { recursive: true });
  const fixtureDir = fileURLToPath(new URL('./fixtures/deberta-v2/DebertaV2ForMaskedLM/', import.meta.url));
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(fixtureDir, f), join(dir, f));
  // A WordPiece vocabulary of the fixture's 30 ids (BERT's special tokens first), read by BertTokenizer.
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: 25 }, (_, i) => `w${i + 5}`)];
  writeFileSync(join(dir, 'vocab.txt'), `${words.join('\n')}\n`);
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({
      do_lower_case: true,
      model_max_length: 24,
      tokenizer_class: 'BertTokenizer',
      ...{ pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]' },
    }),
  );
  const text = 'w5 w17 [MASK] w23';
  const fill = await pipeline('fill-mask', dir, { threads: 1 });
  const ours = (await fill(text)) as { token: number; score: number }[];
  await fill.dispose();
  assert.ok(ours.length > 0);
  const out = join(work, 'mlm-onnx');
  await exportModel({ model: dir, output: out });
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
