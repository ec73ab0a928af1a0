// LoRA against Hugging Face PEFT: adapters PEFT wrote give PEFT's logits in tuna (plain, rsLoRA,
// dense targets, a token classifier), merged adapters the merged model's, five AdamW steps PEFT's losses; and what tuna
// writes is PEFT's layout.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readSafetensors } from '../src/io/safetensors.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftError, PeftModel, isTargeted, loadAdapterModel, loraSettings, readAdapter } from '../src/peft/index.js';
import { PEFT_BASE, PEFT_ROOT, adamwSteps, logitsOf, maxDiff, peftBatch, peftExpected } from './helpers/peft-fixture.js';

const ROOT = PEFT_ROOT;
const BASE = PEFT_BASE;
const expected = peftExpected;
const tmp = mkdtempSync(join(tmpdir(), 'tuna-peft-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const inputs = peftBatch;

test('adapters PEFT wrote give PEFT logits in tuna, and merged the merged model logits', async () => {
  for (const name of ['lora', 'lora-rslora', 'lora-dense']) {
    const peft = await loadAdapterModel(join(ROOT, name));
    assert.equal(peft.model.head, 'sequence-classification');
    const want = expected.adapters[name]!;
    const got = await logitsOf(peft.model);
    assert.ok(maxDiff(got, want.logits) <= 1e-4, `${name}: ${maxDiff(got, want.logits)}`);
    assert.ok(maxDiff(got, expected.base_logits) > 0.05, `${name} changes the logits`);
    const merged = await peft.lora!.merge();
    assert.ok(merged.length >= 4);
    assert.equal(peft.model.layers, undefined);
    const mergedLogits = await logitsOf(peft.model);
    assert.ok(maxDiff(mergedLogits, want.merged_logits) <= 1e-4, `${name} merged: ${maxDiff(mergedLogits, want.merged_logits)}`);
  }
  // dense targets include the pooler's dense layer, as PEFT's suffix match does, not the classifier
  const dense = await readAdapter(join(ROOT, 'lora-dense'));
  assert.ok(dense.tensors.has('bert.pooler.dense.lora_A.weight'));
  assert.ok(!dense.tensors.has('classifier.lora_A.weight'));
});

test('a token-classification adapter PEFT wrote gives PEFT per-token logits in tuna, merged too', async () => {
  const peft = await loadAdapterModel(join(ROOT, 'lora-token'));
  assert.equal(peft.model.head, 'token-classification');
  const flat = async () => {
    const session = await peft.model.compileInference({ frozen: true });
    try {
      return Array.from((await session.run(inputs)).logits!.data as Float32Array);
    } finally {
      await session.release();
    }
  };
  const largest = (a: number[], b: number[][][]) => {
    const want = b.flat(2);
    assert.equal(a.length, want.length);
    return a.reduce((d, v, i) => Math.max(d, Math.abs(v - want[i]!)), 0);
  };
  const got = await flat();
  assert.ok(largest(got, expected.token_adapter.logits) <= 1e-4, `${largest(got, expected.token_adapter.logits)}`);
  await peft.lora!.merge();
  const merged = await flat();
  assert.ok(largest(merged, expected.token_adapter.merged_logits) <= 1e-4, `merged: ${largest(merged, expected.token_adapter.merged_logits)}`);
  assert.ok(largest(got, expected.token_adapter.merged_logits) <= 1e-4, 'merging keeps the logits');
});

test('five AdamW steps of LoRA and the head follow PEFT', async () => {
  const peft = await loadAdapterModel(join(ROOT, 'lora'), { use: 'training' });
  const train = expected.adapters.lora!.train!;
  const frozen = peft.model.store.get('bert.encoder.layer.0.attention.self.query.weight')!.data.slice();
  const { losses, trainable } = await adamwSteps(peft, train);
  const names = [...trainable].sort();
  assert.deepEqual(names, [
    'bert.encoder.layer.0.attention.self.query.lora_A.weight',
    'bert.encoder.layer.0.attention.self.query.lora_B.weight',
    'bert.encoder.layer.0.attention.self.value.lora_A.weight',
    'bert.encoder.layer.0.attention.self.value.lora_B.weight',
    'bert.encoder.layer.1.attention.self.query.lora_A.weight',
    'bert.encoder.layer.1.attention.self.query.lora_B.weight',
    'bert.encoder.layer.1.attention.self.value.lora_A.weight',
    'bert.encoder.layer.1.attention.self.value.lora_B.weight',
    'classifier.bias',
    'classifier.weight',
  ]);
  losses.forEach((l, i) => assert.ok(Math.abs(l - train.step_losses[i]!) < 1e-4, `step ${i}: ${l} vs ${train.step_losses[i]}`));
  assert.deepEqual(peft.model.store.get('bert.encoder.layer.0.attention.self.query.weight')!.data, frozen);
  assert.ok(maxDiff(await logitsOf(peft.model), train.logits_after) <= 1e-3);
});

test('tuna writes the adapter in PEFT layout and reads it back', async () => {
  const peft = await loadAdapterModel(join(ROOT, 'lora'));
  const dir = join(tmp, 'written');
  const files = await peft.save(dir, { baseModel: '../base' });
  assert.deepEqual(
    files.map((f) => f.slice(dir.length + 1)),
    ['adapter_config.json', 'adapter_model.safetensors', 'head_config.json'],
  );
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  const theirs = JSON.parse(readFileSync(join(ROOT, 'lora', 'adapter_config.json'), 'utf8'));
  assert.deepEqual(Object.keys(config).sort(), Object.keys(theirs).sort());
  assert.equal(config.peft_type, 'LORA');
  assert.equal(config.task_type, 'SEQ_CLS');
  assert.equal(config.r, 4);
  assert.equal(config.lora_alpha, 8);
  assert.deepEqual(config.modules_to_save, ['classifier', 'score']);
  const { tensors } = await readSafetensors(join(dir, 'adapter_model.safetensors'));
  assert.deepEqual([...tensors.keys()].sort(), expected.saved_keys);
  const head = JSON.parse(readFileSync(join(dir, 'head_config.json'), 'utf8'));
  assert.deepEqual(head.id2label, { 0: 'negative', 1: 'neutral', 2: 'positive' });
  // base_model_name_or_path relative to the adapter directory does not resolve here: the option does
  const again = await loadAdapterModel(dir, { baseModel: BASE });
  assert.ok(maxDiff(await logitsOf(again.model), expected.adapters.lora!.logits) <= 1e-4);
});

test('a fresh LoRA adapter changes nothing; targets match as PEFT matches them', async () => {
  const model = await PreTrainedModel.fromPretrained(BASE, { missing: 'error' });
  const peft = PeftModel.apply(model, { method: 'lora', lora: { r: 8, targetModules: ['query', 'value', 'dense'] } });
  assert.ok(maxDiff(await logitsOf(model), expected.base_logits) <= 1e-4);
  const names = [...peft.lora!.sites.keys()];
  assert.ok(names.includes('bert.pooler.dense') && names.includes('bert.encoder.layer.1.output.dense'));
  assert.ok(!names.some((n) => n.startsWith('classifier')));
  const a = peft.model.store.get('bert.encoder.layer.0.attention.self.query.lora_A.weight')!.data;
  const bound = 1 / Math.sqrt(32);
  assert.ok(a.every((v) => Math.abs(v) <= bound) && a.some((v) => Math.abs(v) > bound / 2));
  assert.ok(peft.model.store.get('bert.encoder.layer.0.attention.self.query.lora_B.weight')!.data.every((v) => v === 0));
  const { trainable, total } = peft.counts();
  assert.ok(trainable > 0 && trainable < total / 2);
  const s = loraSettings({ targetModules: /.*\.attention\.self\.(query|key)/ });
  assert.ok(isTargeted('bert.encoder.layer.0.attention.self.key', s, []));
  assert.ok(!isTargeted('bert.encoder.layer.0.attention.self.value', s, []));
  assert.ok(!isTargeted('bert.encoder.layer.0.attention.self.query', loraSettings({ layersToTransform: [1] }), []));
  assert.throws(
    () => PeftModel.apply(model, { method: 'lora', lora: { targetModules: ['q_lin'] } }),
    (e: unknown) => e instanceof PeftError && e.code === 'invalid_option' && /matches no linear layer.*query/.test(e.message),
  );
});
