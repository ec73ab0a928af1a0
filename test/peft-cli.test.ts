// `tuna train --peft lora` writes an adapter directory (not a full model); predict, eval and
// export take it, finding the base from adapter_config.json; a base of other sizes is refused.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { loadAdapterModel } from '../src/peft/index.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const BASE = fileURLToPath(new URL('./fixtures/peft/base/', import.meta.url));
const tmp = await mkdtemp(join(tmpdir(), 'tuna-peft-cli-'));
after(() => rm(tmp, { recursive: true, force: true }));

const TRAIN = [
  ['a very good film', 'pos'],
  ['great fun , i loved it', 'pos'],
  ['the story was great', 'pos'],
  ['a good movie', 'pos'],
  ['i loved this film', 'pos'],
  ['fun and good', 'pos'],
  ['this movie was awful', 'neg'],
  ['a boring story', 'neg'],
  ['i hated it', 'neg'],
  ['bad and boring', 'neg'],
  ['the film was not good', 'neg'],
  ['awful , very bad', 'neg'],
];
const TEXTS = ['a very good film', 'this movie was awful and boring', 'great'];

const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

test('train --peft lora, then predict, eval and export from the adapter directory', async () => {
  const data = join(tmp, 'train.jsonl');
  await writeFile(data, `${TRAIN.map(([text, label]) => JSON.stringify({ text, label })).join('\n')}\n`);
  const out = join(tmp, 'adapter');
  const args = ['train', '--model', BASE, '--train', data, '--validation', data, '--output', out, '--max-steps', '4', '--batch-size', '6', '--lr', '1e-2'];
  const peftArgs = ['--peft', 'lora', '--lora-r', '4', '--lora-alpha', '8', '--lora-target', 'query,value,dense', '--progress', 'none', '--json', '--max-length', '16'];
  const trained = await run(process.execPath, [bin, ...args, ...peftArgs]);
  assert.match(trained.stderr, /--peft lora: training \d+ of \d+ parameters/);
  for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'head_config.json', 'vocab.txt', 'tuna_data_config.json']) assert.ok(existsSync(join(out, f)), f);
  for (const f of ['model.safetensors', 'config.json']) assert.ok(!existsSync(join(out, f)), `${f} is not written for an adapter`);
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(config.base_model_name_or_path, BASE.replace(/\/$/, ''));
  assert.deepEqual([config.r, config.lora_alpha, config.task_type], [4, 8, 'SEQ_CLS']);
  assert.deepEqual([...config.target_modules].sort(), ['dense', 'query', 'value']);
  const summary = JSON.parse(trained.stdout);
  assert.equal(summary.global_step, 4);

  const texts = join(tmp, 'texts.txt');
  await writeFile(texts, `${TEXTS.join('\n')}\n`);
  const predicted = lines((await run(process.execPath, [bin, 'predict', '--model', out, '--input', texts, '--json'])).stdout);
  assert.deepEqual(
    predicted.map((r) => r.text),
    TEXTS,
  );
  assert.ok(predicted.every((r) => ['pos', 'neg'].includes(r.label)));

  // The same logits from the API, and from the exported ONNX model with LoRA merged in.
  const peft = await loadAdapterModel(out);
  const tok = await BertTokenizer.fromDirectory(out);
  const session = await peft.model.compileInference({ fusedKernels: false, threads: 1 });
  const exported = join(tmp, 'exported');
  const exportRun = await run(process.execPath, [bin, 'export', '--model', out, '--output', exported, '--quantize', 'int8']);
  assert.match(exportRun.stderr, /merged the adapter .* \(\d+ LoRA layers\)/);
  const onnx = await Session.create(readFileSync(join(exported, 'onnx', 'model.onnx')), { threads: 1 });
  const int8 = await Session.create(readFileSync(join(exported, 'onnx', 'model_quantized.onnx')), { threads: 1 });
  for (const [i, text] of TEXTS.entries()) {
    const enc = tok.encode(text);
    const ids = (xs: number[]) => hostTensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
    const feeds = { input_ids: ids(enc.inputIds), attention_mask: ids(enc.attentionMask), token_type_ids: ids(enc.tokenTypeIds) };
    const want = Array.from((await session.run(feeds)).logits!.data as Float32Array);
    predicted[i].logits.forEach((v: number, k: number) => assert.ok(Math.abs(v - want[k]!) < 1e-4, `predict ${text}`));
    const merged = Array.from((await onnx.run(feeds)).logits!.data as Float32Array);
    merged.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 1e-4, `merged export ${text}: ${v} vs ${want[k]}`));
    const q = Array.from((await int8.run(feeds)).logits!.data as Float32Array);
    q.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 0.2, `int8 export ${text}: ${v} vs ${want[k]}`));
  }
  await Promise.all([session.release(), onnx.release(), int8.release()]);
  assert.deepEqual(JSON.parse(readFileSync(join(exported, 'config.json'), 'utf8')).id2label, { 0: 'neg', 1: 'pos' });

  const evaluated = JSON.parse((await run(process.execPath, [bin, 'eval', '--model', out, '--data', data, '--json'])).stdout);
  assert.equal(evaluated.examples, TRAIN.length);
  assert.ok(typeof evaluated.accuracy === 'number');

  // A base of other sizes is refused, naming the layer and the sizes.
  const other = join(tmp, 'other-base');
  const raw = JSON.parse(readFileSync(join(BASE, 'config.json'), 'utf8'));
  const small = PreTrainedModel.fromConfig({ ...raw, hidden_size: 16, num_attention_heads: 2, intermediate_size: 24 });
  await small.savePretrained(other);
  await cp(join(BASE, 'vocab.txt'), join(other, 'vocab.txt'));
  const refused = await run(process.execPath, [bin, 'predict', '--model', out, '--base-model', other, '--text', 'great']).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  assert.ok(refused, 'a mismatching base is refused');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /trained on a base of other sizes/);
});

test('train --peft lora --use-dora (dropout on the LoRA input), then predict and export merged; --no-merge refused', async () => {
  const data = join(tmp, 'train-dora.jsonl');
  await writeFile(data, `${TRAIN.map(([text, label]) => JSON.stringify({ text, label })).join('\n')}\n`);
  const out = join(tmp, 'dora');
  const trained = await run(process.execPath, [
    bin,
    ...['train', '--model', BASE, '--train', data, '--output', out, '--max-steps', '3', '--batch-size', '6', '--lr', '1e-2', '--max-length', '16'],
    ...['--peft', 'lora', '--use-dora', '--lora-r', '4', '--lora-dropout', '0.1', '--progress', 'none', '--json'],
  ]);
  assert.equal(JSON.parse(trained.stdout).global_step, 3);
  const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
  assert.equal(config.use_dora, true);
  const peft = await loadAdapterModel(out);
  const m = peft.model.store.get('bert.encoder.layer.1.attention.self.value.lora_magnitude_vector')!;
  const w = peft.model.store.get('bert.encoder.layer.1.attention.self.value.weight')!;
  const norm0 = Math.hypot(...w.data.slice(0, w.shape[1]!));
  assert.ok(Math.abs(m.data[0]! - norm0) > 1e-6, 'the magnitudes trained');
  const tok = await BertTokenizer.fromDirectory(out);
  const session = await peft.model.compileInference({ fusedKernels: false, threads: 1 });
  const exported = join(tmp, 'dora-exported');
  await run(process.execPath, [bin, 'export', '--model', out, '--output', exported]);
  const onnx = await Session.create(readFileSync(join(exported, 'onnx', 'model.onnx')), { threads: 1 });
  const predicted = lines((await run(process.execPath, [bin, 'predict', '--model', out, '--text', TEXTS[1]!, '--json'])).stdout);
  const enc = tok.encode(TEXTS[1]!);
  const ids = (xs: number[]) => hostTensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  const feeds = { input_ids: ids(enc.inputIds), attention_mask: ids(enc.attentionMask), token_type_ids: ids(enc.tokenTypeIds) };
  const want = Array.from((await session.run(feeds)).logits!.data as Float32Array);
  const merged = Array.from((await onnx.run(feeds)).logits!.data as Float32Array);
  merged.forEach((v, k) => assert.ok(Math.abs(v - want[k]!) < 1e-4, `merged DoRA export: ${v} vs ${want[k]}`));
  predicted[0].logits.forEach((v: number, k: number) => assert.ok(Math.abs(v - want[k]!) < 1e-4, 'predict'));
  await Promise.all([session.release(), onnx.release()]);
  const refused = await run(process.execPath, [bin, 'export', '--model', out, '--output', join(tmp, 'dora-inputs'), '--no-merge']).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  assert.ok(refused, '--no-merge is refused for DoRA');
  assert.match(refused.stderr, /a DoRA adapter exports merged into the base weights, not with its weights as inputs; leave out --no-merge/);
});
