// DoRA against Hugging Face PEFT 0.21 (`use_dora`): the adapter PEFT wrote gives PEFT's logits in
// tuna, merged too; five AdamW steps of its LoRA weights, magnitudes and head give PEFT's losses
// (the row norms detached from the backward pass, as PEFT does); what tuna writes PEFT's keys; a
// fresh DoRA adapter changes nothing; a DoRA adapter is refused where it cannot run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSafetensors } from '../src/io/safetensors.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftModel, loadAdapterModel, readAdapter } from '../src/peft/index.js';
import { StackBase } from '../src/peft/stacked-lora.js';
import { pipeline } from '../src/pipelines/index.js';
import { startServer } from '../src/serve/index.js';
import { PEFT_BASE, PEFT_ROOT, adamwSteps, logitsOf, maxDiff, peftExpected } from './helpers/peft-fixture.js';
import { tempDir } from './helpers/pipeline-models.js';
import { post } from './helpers/serve.js';

const ROOT = PEFT_ROOT;
const BASE = PEFT_BASE;
const DORA = join(ROOT, 'lora-dora');
const expected = peftExpected;

test('the DoRA adapter PEFT wrote gives PEFT logits in tuna, and merged the merged model logits', async () => {
  const peft = await loadAdapterModel(DORA);
  assert.equal(peft.lora!.settings.useDora, true);
  const want = expected.adapters['lora-dora']!;
  const got = await logitsOf(peft.model);
  assert.ok(maxDiff(got, want.logits) <= 1e-4, `DoRA: ${maxDiff(got, want.logits)}`);
  assert.ok(maxDiff(got, expected.adapters.lora!.logits) > 0.01, 'the magnitudes change the logits');
  await peft.lora!.merge();
  const merged = await logitsOf(peft.model);
  assert.ok(maxDiff(merged, want.merged_logits) <= 1e-4, `DoRA merged: ${maxDiff(merged, want.merged_logits)}`);
});

test('five AdamW steps of DoRA (LoRA weights, magnitudes) and the head follow PEFT', async () => {
  const peft = await loadAdapterModel(DORA, { use: 'training' });
  const train = expected.adapters['lora-dora']!.train!;
  const { losses, trainable } = await adamwSteps(peft, train);
  const names = trainable.filter((n) => n.includes('magnitude'));
  assert.deepEqual(names.sort(), [
    'bert.encoder.layer.0.attention.self.query.lora_magnitude_vector',
    'bert.encoder.layer.0.attention.self.value.lora_magnitude_vector',
    'bert.encoder.layer.1.attention.self.query.lora_magnitude_vector',
    'bert.encoder.layer.1.attention.self.value.lora_magnitude_vector',
  ]);
  losses.forEach((l, i) => assert.ok(Math.abs(l - train.step_losses[i]!) < 1e-4, `step ${i}: ${l} vs ${train.step_losses[i]}`));
  assert.ok(maxDiff(await logitsOf(peft.model), train.logits_after) <= 1e-3);
});

test('tuna writes a DoRA adapter with PEFT keys and use_dora, and a fresh one changes nothing', async () => {
  const peft = await loadAdapterModel(DORA);
  const dir = join(await tempDir('dora'), 'written');
  await peft.save(dir, { baseModel: '../base' });
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  assert.equal(config.use_dora, true);
  const { tensors } = await readSafetensors(join(dir, 'adapter_model.safetensors'));
  assert.deepEqual([...tensors.keys()].sort(), expected.saved_keys_dora);
  const again = await loadAdapterModel(dir, { baseModel: BASE });
  assert.ok(maxDiff(await logitsOf(again.model), expected.adapters['lora-dora']!.logits) <= 1e-4);

  // A fresh adapter: B zero, magnitudes the base rows' norms, so the model is unchanged.
  const model = await PreTrainedModel.fromPretrained(BASE, { missing: 'error' });
  const fresh = PeftModel.apply(model, { method: 'lora', lora: { r: 4, useDora: true } });
  const m = model.store.get('bert.encoder.layer.0.attention.self.query.lora_magnitude_vector')!;
  const w = model.store.get('bert.encoder.layer.0.attention.self.query.weight')!;
  const inFeatures = w.shape[1]!;
  const norm0 = Math.hypot(...w.data.slice(0, inFeatures));
  assert.ok(Math.abs(m.data[0]! - norm0) < 1e-5, `${m.data[0]} vs ${norm0}`);
  assert.ok(maxDiff(await logitsOf(model), expected.base_logits) <= 1e-4);
  assert.ok(fresh.isTrainable(m.name));
});

test('DoRA adapters are refused where they cannot run: stacked serving, incomplete files', async () => {
  const files = await readAdapter(DORA);
  const base = await PreTrainedModel.fromPretrained(BASE, { head: 'sequence-classification', missing: 'init' });
  assert.throws(
    () => new StackBase(base).prepare(files),
    (e: Error & { code?: string }) => e.code === 'invalid_option' && /a DoRA adapter cannot be stacked .*runs on its own graph/.test(e.message),
  );
  const { tensors } = files;
  const withoutMagnitude = { ...files, tensors: new Map([...tensors].filter(([k]) => !k.endsWith('lora_magnitude_vector'))) };
  const { LoraModel } = await import('../src/peft/lora.js');
  const model = await PreTrainedModel.fromPretrained(BASE, { missing: 'error' });
  assert.throws(
    () => LoraModel.fromTensors(model, files.config!.lora, withoutMagnitude.tensors, files.weightsFile),
    /has no bert\.encoder\.layer\.0\.attention\.self\.query\.lora_magnitude_vector, but its adapter_config\.json sets use_dora/,
  );
});

test('tuna serve runs a DoRA adapter on its own graph beside stacked LoRA adapters, answering as its pipeline', async () => {
  const server = await startServer({ models: [`base=${BASE}`], adapters: [`dora=${DORA}`, `plain=${join(ROOT, 'lora')}`], port: 0, threads: 1 });
  const own = await pipeline('text-classification', DORA, { threads: 1 });
  try {
    assert.deepEqual(
      server.adapters.map((a) => [a.name, a.stacked]),
      [
        ['dora', false],
        ['plain', true],
      ],
    );
    for (const text of ['a very good film', 'this movie was awful and boring']) {
      const r = await post(server.address!, '/v1/classify', { adapter: 'dora', inputs: text, parameters: { top_k: null } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const want = (await own(text, { topK: null })) as { label: string; score: number }[];
      for (const { label, score } of r.body as { label: string; score: number }[]) {
        assert.ok(Math.abs(score - want.find((w) => w.label === label)!.score) < 1e-5, `${text} ${label}`);
      }
    }
  } finally {
    await own.dispose();
    await server.close();
  }
});
