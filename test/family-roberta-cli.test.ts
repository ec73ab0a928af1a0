// RoBERTa end to end with a byte-level BPE tokenizer.json: `tuna train` and `tuna predict` on a tiny
// data file, `tuna serve`, the fill-mask and token-classification pipelines, and `tuna export` run by
// transformers.js's text-classification pipeline (tokenizer included) giving tuna's scores.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { env, pipeline as tjsPipeline } from '@huggingface/transformers';
import { run } from '../src/cli/main.js';
import { exportModel } from '../src/export/index.js';
import { startServer } from '../src/index.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { pipeline } from '../src/pipelines/index.js';
import type { FillMaskCandidate } from '../src/pipelines/types.js';
import { post } from './helpers/serve.js';

const TOKENIZER = fileURLToPath(new URL('./fixtures/hf-tokenizers/roberta-bpe/', import.meta.url));
const XLMR_TOKENIZER = fileURLToPath(new URL('./fixtures/hf-tokenizers/xlmr-unigram/', import.meta.url));
const work = join(tmpdir(), `tuna-roberta-cli-${process.pid}`);
const LABELS = ['negative', 'neutral', 'positive'];
const TEXTS = ['The food was great.', 'It rained in New York today', 'A terrible, slow service!', 'Nothing special'];

/** A tiny RoBERTa over the tokenizer fixture's 902 ids (or another model type and vocabulary). */
function config(architecture: string, labels?: string[], modelType = 'roberta', vocabSize = 902): Record<string, unknown> {
  return {
    model_type: modelType,
    architectures: [architecture],
    vocab_size: vocabSize,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 32,
    max_position_embeddings: 66,
    type_vocab_size: 1,
    pad_token_id: 1,
    layer_norm_eps: 1e-5,
    ...(labels ? { id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])), label2id: Object.fromEntries(labels.map((l, i) => [l, i])) } : {}),
  };
}

async function checkpoint(name: string, architecture: string, labels?: string[]): Promise<string> {
  const dir = join(work, name);
  const model = PreTrainedModel.fromConfig(config(architecture, labels), { seed: 3 });
  await model.savePretrained(dir);
  await model.dispose();
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(TOKENIZER, f), join(dir, f));
  return dir;
}

before(() => mkdirSync(work, { recursive: true }));
after(() => process.env.KEEP_WORK || rmSync(work, { recursive: true, force: true }));

async function cli(args: string[]): Promise<string> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  assert.equal(code, 0, stderr);
  return stdout;
}

test('tuna train, predict, serve and export a RoBERTa classifier; transformers.js gives the same scores', async () => {
  const ckpt = await checkpoint('init', 'RobertaForSequenceClassification', LABELS);
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
    '32',
  ]);
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(saved.model_type, 'roberta');
  assert.deepEqual(saved.architectures, ['RobertaForSequenceClassification']);

  const input = join(work, 'texts.txt');
  writeFileSync(input, `${TEXTS.join('\n')}\n`);
  const lines = (await cli(['predict', '--model', out, '--input', input, '--json']))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, TEXTS.length);
  const direct = await pipeline('text-classification', out, { threads: 1 });
  const want = await direct.runBatch(TEXTS);
  lines.forEach((l, i) => {
    assert.equal(l.label, (want[i] as { label: string }[])[0]!.label);
    assert.equal(l.logits.length, 3);
  });

  const server = await startServer({ models: [`roberta=${out}`], port: 0, threads: 1 });
  try {
    const r = await post(server.address!, '/v1/classify', { inputs: TEXTS });
    assert.equal(r.status, 200);
    r.body.forEach((res: { label: string; score: number }[], i: number) => {
      const expected = (want[i] as { label: string; score: number }[])[0]!;
      assert.equal(res[0]!.label, expected.label);
      assert.ok(Math.abs(res[0]!.score - expected.score) < 1e-5);
    });
  } finally {
    await server.close();
  }

  // tuna export writes a WordPiece vocab.txt beside the models when the checkpoint lacks one, which a
  // byte-level BPE tokenizer cannot give: the weights are exported alone and the tokenizer files copied.
  const weightsOnly = join(work, 'weights-only');
  mkdirSync(weightsOnly);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(out, f), join(weightsOnly, f));
  const onnx = join(work, 'trained-onnx');
  const exported = await exportModel({ model: weightsOnly, output: onnx });
  assert.deepEqual([...exported.inputs].sort(), ['attention_mask', 'input_ids']);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(out, f), join(onnx, f));
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const classify: any = await (tjsPipeline as any)('text-classification', basename(onnx), { dtype: 'fp32', local_files_only: true });
  const theirs: { label: string; score: number }[] = await classify(TEXTS);
  await classify.dispose();
  theirs.forEach((t, i) => {
    const ours = (want[i] as { label: string; score: number }[])[0]!;
    assert.equal(t.label, ours.label, `text ${i}`);
    assert.ok(Math.abs(t.score - ours.score) < 1e-4, `text ${i}: transformers.js ${t.score}, tuna ${ours.score}`);
  });
  await direct.dispose();
});

test('fill-mask and token-classification pipelines run on RoBERTa checkpoints with a BPE tokenizer', async () => {
  const mlm = await checkpoint('mlm', 'RobertaForMaskedLM');
  const fill = await pipeline('fill-mask', mlm, { threads: 1 });
  const masked = 'The food was <mask>.';
  const top = (await fill(masked)) as FillMaskCandidate[];
  assert.equal(top.length, 5);
  for (const c of top) assert.ok(c.score > 0 && c.score <= 1 && typeof c.token_str === 'string');
  await fill.dispose();
  // The same candidates from transformers.js on the export, with the tokenizer beside it.
  const weightsOnly = join(work, 'mlm-weights');
  mkdirSync(weightsOnly);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(mlm, f), join(weightsOnly, f));
  const onnx = join(work, 'mlm-onnx');
  await exportModel({ model: weightsOnly, output: onnx });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(mlm, f), join(onnx, f));
  env.allowRemoteModels = false;
  env.localModelPath = dirname(onnx);
  // biome-ignore lint/suspicious/noExplicitAny: transformers.js pipelines are typed per task
  const unmasker: any = await (tjsPipeline as any)('fill-mask', basename(onnx), { dtype: 'fp32', local_files_only: true });
  const theirs: { token: number; score: number }[] = await unmasker(masked);
  await unmasker.dispose();
  assert.deepEqual(
    theirs.map((c) => c.token),
    top.map((c) => c.token),
  );
  theirs.forEach((c, i) => assert.ok(Math.abs(c.score - top[i]!.score) < 1e-4));

  const tagger = await checkpoint('tagger', 'RobertaForTokenClassification', ['O', 'B-LOC', 'I-LOC']);
  const tag = await pipeline('token-classification', tagger, { threads: 1 });
  // Positions start at the padding index + 1: 66 position embeddings hold 64 tokens.
  assert.equal(tag.maxLength, 64);
  assert.ok((await tag('word '.repeat(200))).length >= 0, 'a text longer than the positions is cut to fit them');
  const entities = (await tag('It rained in New York today', { ignoreLabels: [] })) as { word: string; start: number; end: number }[];
  assert.ok(entities.length > 0);
  for (const e of entities) assert.ok(e.start >= 0 && e.end <= 27 && e.start <= e.end);
  await tag.dispose();
});

test('XLM-RoBERTa with a Unigram tokenizer: fill-mask from tokenizer.json, and the same from the SentencePiece model alone', async () => {
  const results: FillMaskCandidate[][] = [];
  for (const files of [
    ['tokenizer.json', 'tokenizer_config.json'],
    ['sentencepiece.bpe.model', 'tokenizer_config.json'],
  ]) {
    const dir = join(work, `xlmr-${files[0]}`);
    const model = PreTrainedModel.fromConfig(config('XLMRobertaForMaskedLM', undefined, 'xlm-roberta', 335), { seed: 5 });
    await model.savePretrained(dir);
    await model.dispose();
    for (const f of files) copyFileSync(join(XLMR_TOKENIZER, f), join(dir, f));
    const fill = await pipeline('fill-mask', dir, { threads: 1 });
    results.push((await fill('Das Wetter ist heute <mask>.')) as FillMaskCandidate[]);
    await fill.dispose();
  }
  assert.equal(results[0]!.length, 5);
  assert.deepEqual(
    results[1]!.map((c) => c.token),
    results[0]!.map((c) => c.token),
  );
});
