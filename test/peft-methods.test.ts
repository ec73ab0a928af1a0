// BitFit, bottleneck adapters (Houlsby, Pfeiffer) and deep prompts through the Trainer: what trains,
// what the adapter directory holds, that it loads back to the same logits; prompts keep padding
// masked; a LoRA run resumed from a checkpoint ends where an uninterrupted one does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Feature } from '../src/data/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { type BottleneckAdapters, PeftError, PeftModel, type PeftTrainingOptions, loadAdapterModel, mergeAdapter } from '../src/peft/index.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { Trainer } from '../src/train/trainer.js';
import { PEFT_BASE, ints, logitsOf, maxDiff, peftExpected } from './helpers/peft-fixture.js';

const BASE = PEFT_BASE;
const expected = peftExpected;
const tmp = mkdtempSync(join(tmpdir(), 'tuna-peft-methods-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const tokenizer = await BertTokenizer.fromDirectory(BASE);
const LABELED: [string, number][] = [
  ['a very good film', 2],
  ['this movie was awful and boring', 0],
  ['great', 2],
  ['the cat sat on the mat', 1],
  ['i loved the story , it was fun', 2],
  ['a bad , boring story', 0],
];
const features: Feature[] = LABELED.map(([text, label], i) => {
  const enc = tokenizer.encode(text);
  return { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), labels: label, line: i + 1 };
});

async function train(peft: ConstructorParameters<typeof Trainer>[0]['peft'], name: string, extra: Record<string, unknown> = {}) {
  const model = await PreTrainedModel.fromPretrained(BASE);
  const before = new Map(model.parameters().map((p) => [p.name, p.data.slice()]));
  const trainer = new Trainer({
    model,
    args: { outputDir: join(tmp, name), maxSteps: 3, perDeviceTrainBatchSize: 3, learningRate: 5e-2, progress: 'none', ...extra },
    trainDataset: features,
    tokenizer,
    peft,
  });
  await trainer.train();
  return { model, trainer, before, dir: join(tmp, name) };
}

test('BitFit trains biases and the head only, and saves them as an adapter directory', async () => {
  const { model, trainer, before, dir } = await train('bitfit', 'bitfit');
  for (const p of model.parameters()) {
    const changed = p.data.some((v, i) => v !== before.get(p.name)![i]);
    const trainable = p.name.endsWith('.bias') || p.name.startsWith('classifier.');
    if (!trainable) assert.ok(!changed, `${p.name} is frozen`);
  }
  assert.ok(model.store.get('bert.encoder.layer.0.attention.self.query.bias')!.data.some((v, i) => v !== before.get('bert.encoder.layer.0.attention.self.query.bias')![i]));
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  assert.equal(config.peft_type, 'BITFIT');
  const { tensors } = await readSafetensors(join(dir, 'adapter_model.safetensors'));
  assert.ok([...tensors.keys()].every((k) => k.startsWith('base_model.model.') && (k.endsWith('.bias') || k.startsWith('base_model.model.classifier.'))));
  assert.ok(tensors.has('base_model.model.classifier.weight') && tensors.has('base_model.model.bert.embeddings.LayerNorm.bias'));
  const { trainable, total } = trainer.peft!.counts();
  assert.ok(trainable < total / 10, `${trainable} of ${total}`);
  const loaded = await loadAdapterModel(dir);
  assert.ok(maxDiff(await logitsOf(loaded.model), await logitsOf(model)) <= 1e-5);
});

test('bottleneck adapters start as the identity, train, and load back (Houlsby and Pfeiffer)', async () => {
  for (const placement of ['houlsby', 'pfeiffer'] as const) {
    const fresh = PeftModel.apply(await PreTrainedModel.fromPretrained(BASE), { method: 'adapter', adapter: { size: 8, placement } });
    assert.ok(maxDiff(await logitsOf(fresh.model), expected.base_logits) <= 1e-4, 'a fresh adapter changes nothing');
    const sites = [...(fresh.added as BottleneckAdapters).sites.keys()];
    assert.deepEqual(
      sites,
      placement === 'houlsby'
        ? ['bert.encoder.layer.0.attention.output.dense', 'bert.encoder.layer.0.output.dense', 'bert.encoder.layer.1.attention.output.dense', 'bert.encoder.layer.1.output.dense']
        : ['bert.encoder.layer.0.output.dense', 'bert.encoder.layer.1.output.dense'],
    );
    const { model, dir } = await train({ method: 'adapter', adapterSize: 8, adapterPlacement: placement }, `adapter-${placement}`);
    const trained = await logitsOf(model);
    assert.ok(maxDiff(trained, expected.base_logits) > 1e-3);
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.deepEqual([config.peft_type, config.adapter_size, config.placement], ['BOTTLENECK', 8, placement]);
    const loaded = await loadAdapterModel(dir);
    assert.ok(maxDiff(await logitsOf(loaded.model), trained) <= 1e-5);
  }
});

test('deep prompts: prefixes on every layer, padding stays masked, trained prompts load back', async () => {
  const { model, trainer, dir } = await train({ method: 'prompt', numVirtualTokens: 4 }, 'prompt');
  const names = trainer.peft!.added!.parameterNames();
  assert.deepEqual(names, [
    'bert.encoder.layer.0.attention.self.query.prefix.key',
    'bert.encoder.layer.0.attention.self.query.prefix.value',
    'bert.encoder.layer.1.attention.self.query.prefix.key',
    'bert.encoder.layer.1.attention.self.query.prefix.value',
  ]);
  const padded = await logitsOf(model);
  assert.ok(maxDiff(padded, expected.base_logits) > 1e-3);
  // Each text alone, without padding, gives the row it has in the padded batch.
  for (const [i, ids] of expected.input_ids.entries()) {
    const n = expected.attention_mask[i]!.reduce((a, b) => a + b, 0);
    const one = {
      input_ids: ints([ids.slice(0, n)]),
      attention_mask: ints([expected.attention_mask[i]!.slice(0, n)]),
      token_type_ids: ints([expected.token_type_ids[i]!.slice(0, n)]),
    };
    assert.ok(maxDiff(await logitsOf(model, one), [padded[i]!]) <= 1e-4, `text ${i}`);
  }
  const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
  assert.deepEqual([config.peft_type, config.num_virtual_tokens], ['P_TUNING_V2', 4]);
  const loaded = await loadAdapterModel(dir);
  assert.ok(maxDiff(await logitsOf(loaded.model), padded) <= 1e-5);
  // Prompts are extra attention inputs, not weight updates: they cannot be merged into a plain model.
  await assert.rejects(
    () => mergeAdapter(dir, join(tmp, 'merged-prompt')),
    (e: unknown) => e instanceof PeftError && e.code === 'invalid_option' && /cannot be merged/.test(e.message),
  );
});

test('a LoRA run resumed from its checkpoint ends with the weights of an uninterrupted run', async () => {
  const args = { saveStrategy: 'steps', saveSteps: 2, maxSteps: 4 } as const;
  const whole = await train({ method: 'lora', loraR: 4, loraDropout: 0.1 }, 'lora-whole', args);
  const model = await PreTrainedModel.fromPretrained(BASE);
  const outputDir = join(tmp, 'lora-resumed');
  const first = new Trainer({
    model,
    args: { outputDir, maxSteps: 4, perDeviceTrainBatchSize: 3, learningRate: 5e-2, progress: 'none', saveStrategy: 'steps', saveSteps: 2 },
    trainDataset: features,
    tokenizer,
    peft: { method: 'lora', loraR: 4, loraDropout: 0.1 },
  });
  first.addCallback({ onStep: (p) => p.globalStep === 2 && first.stop() });
  assert.equal((await first.train()).interrupted, true);
  const again = await PreTrainedModel.fromPretrained(BASE);
  const second = new Trainer({
    model: again,
    args: { outputDir, maxSteps: 4, perDeviceTrainBatchSize: 3, learningRate: 5e-2, progress: 'none', saveStrategy: 'steps', saveSteps: 2 },
    trainDataset: features,
    tokenizer,
    peft: { method: 'lora', loraR: 4, loraDropout: 0.1 },
  });
  const out = await second.train({ resumeFromCheckpoint: true });
  assert.equal(out.globalStep, 4);
  for (const name of second.peft!.added!.parameterNames()) {
    const a = whole.model.store.get(name)!.data;
    const b = again.store.get(name)!.data;
    assert.ok(
      a.every((v, i) => Math.abs(v - b[i]!) < 1e-6),
      name,
    );
  }
  assert.throws(
    () => new Trainer({ model: again, args: { outputDir: join(tmp, 'x') }, trainDataset: features, peft: { method: 'bitfit', loraR: 4 } }),
    (e: unknown) => e instanceof PeftError && /loraR applies to peft "lora"/.test(e.message),
  );
});

test('LoRA+: B trains at loraPlusLrRatio times the rate (its first Adam step is ratio x lr per value), A and the head at the rate', async () => {
  const moved = async (ratio: number | undefined) => {
    const args = { maxSteps: 1, learningRate: 1e-3, weightDecay: 0, disableDropout: true, warmupSteps: 0 };
    const { model, before } = await train({ method: 'lora', loraR: 4, ...(ratio === undefined ? {} : { loraPlusLrRatio: ratio }) }, `loraplus-${ratio ?? 1}`, args);
    const largest = (name: string) => {
      const p = model.store.get(name)!;
      const was = before.get(name) ?? new Float32Array(p.data.length);
      return p.data.reduce((d, v, i) => Math.max(d, Math.abs(v - was[i]!)), 0);
    };
    return { b: largest('bert.encoder.layer.1.attention.self.value.lora_B.weight'), head: largest('classifier.weight') };
  };
  const plain = await moved(undefined);
  const plus = await moved(16);
  // Adam's first step moves each value by lr (m / sqrt(v) = ±1), here times 16 for B.
  assert.ok(Math.abs(plain.b - 1e-3) < 1e-5, `B moved ${plain.b}`);
  assert.ok(Math.abs(plus.b - 16e-3) < 1e-4, `B moved ${plus.b} with ratio 16`);
  assert.ok(Math.abs(plus.head - plain.head) < 1e-7, `the head moves as without LoRA+ (${plus.head} vs ${plain.head})`);
  const trainerWith = (peft: PeftTrainingOptions) =>
    new Trainer({
      model: PreTrainedModel.fromConfig(JSON.parse(readFileSync(join(BASE, 'config.json'), 'utf8'))),
      args: { outputDir: join(tmp, 'refused') },
      trainDataset: features,
      peft,
    });
  assert.throws(() => trainerWith({ method: 'lora', loraPlusLrRatio: 0 }), /loraPlusLrRatio must be a positive number/);
  assert.throws(() => trainerWith({ method: 'bitfit', loraPlusLrRatio: 4 }), /loraPlusLrRatio applies to peft "lora"/);
});
