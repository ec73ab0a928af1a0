// ELECTRA pre-training: the joint pass is the generator's masked-LM loss plus λ times the
// discriminator's loss on the generator's samples (values and gradients equal to the two heads
// trained apart, the shared embeddings getting the sum), the replacements are inverse-transform
// samples of the generator's softmax, the saved checkpoints have transformers' names and shapes
// and reload to the same logits, and `tuna pretrain --objective electra` resumes exactly.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { readSafetensors, readSafetensorsHeader } from '../src/io/safetensors.js';
import { electraFamily } from '../src/models/electra/family.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { electraBatch } from '../src/pretrain/electra-data.js';
import { type ElectraPretrainingModel, newElectraPretraining } from '../src/pretrain/electra-model.js';
import type { PretrainFeature } from '../src/pretrain/instances.js';
import type { MaskingOptions } from '../src/pretrain/masking.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { Trainer } from '../src/train/trainer.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-electra-pretrain-'));
after(() => rmSync(work, { recursive: true, force: true }));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/electra/${name}`, import.meta.url));

/** The sizes of the transformers-made fixtures (test/fixtures/electra). */
const SIZES = { vocabSize: 99, hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 37, embeddingSize: 16, maxPositions: 24, padTokenId: 0 };
const masking: MaskingOptions = { maskId: 4, padId: 0, vocabSize: 99, specialIds: new Set([0, 2, 3]), probability: 0.3 };

function features(count: number, seed: number): PretrainFeature[] {
  let x = seed;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  return Array.from({ length: count }, (_, i) => {
    const n = 10 + Math.floor(next() * 10);
    const inputIds = Int32Array.from({ length: n }, (_, t) => (t === 0 ? 2 : t === n - 1 ? 3 : 5 + Math.floor(next() * 94)));
    return { inputIds, tokenTypeIds: new Int32Array(n), line: i + 1 };
  });
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** The discriminator alone, on the joint model's weights. */
function discriminatorOf(model: ElectraPretrainingModel): PreTrainedModel {
  return new PreTrainedModel(electraFamily, model.config, 'replaced-token-detection', model.store, model.loadReport, '');
}

test('the joint pass: generator MLM loss + 50 x discriminator loss on its samples, with the gradients of both (shared embeddings summed)', async () => {
  const model = newElectraPretraining(SIZES, { ratio: 0.25 }, { seed: 3 });
  assert.equal(model.generatorConfig.hidden_size, 8);
  assert.equal(model.generatorConfig.num_attention_heads, 1);
  assert.equal(model.generatorConfig.embedding_size, 16);
  assert.ok(!model.generatorStore.list().some((p) => p.name.includes('embeddings.')), 'the generator keeps no embeddings of its own');
  const data = features(4, 11);
  const batch = electraBatch(data, [0, 1, 2, 3], { epoch: 0, seed: 7 }, masking);

  const joint = await model.compileTraining({ disableDropout: true });
  const r = await joint.run(batch);
  const jointLoss = r.loss;
  const jointGrads = new Map([...r.grads].map(([k, v]) => [k, Float32Array.from(v)]));
  await joint.release();

  // The samples: the first token whose cumulative probability passes u x total.
  const inference = await model.compileJointInference();
  const out = await inference.run(batch);
  await inference.release();
  const V = SIZES.vocabSize;
  const logits = out.generator_logits!.data as Float32Array;
  const positions = batch.masked_positions!.data as BigInt64Array;
  const uniform = batch.sample_uniform!.data as Float32Array;
  const corrupted = out.corrupted_ids!.data as BigInt64Array;
  const original = batch.original_input_ids!.data as BigInt64Array;
  let replacedCount = 0;
  positions.forEach((p, k) => {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[k * V + v]!);
    const probs = Array.from({ length: V }, (_, v) => Math.exp(logits[k * V + v]! - max));
    const total = probs.reduce((a, b) => a + b, 0);
    let c = 0;
    let pick = V - 1;
    for (let v = 0; v < V; v++) {
      c += probs[v]! / total;
      if (c > uniform[k]!) {
        pick = v;
        break;
      }
    }
    assert.equal(Number(corrupted[Number(p)]), pick, `masked position ${k}`);
    if (BigInt(pick) !== original[Number(p)]) replacedCount++;
  });
  const replaced = out.replaced!.data as Float32Array;
  corrupted.forEach((id, i) => assert.equal(replaced[i], id === original[i] ? 0 : 1));
  assert.equal(
    replaced.reduce((a, b) => a + b, 0),
    replacedCount,
    'only masked positions change',
  );

  // The same losses and gradients from the two heads trained apart.
  const { original_input_ids, sample_uniform, ...genBatch } = batch;
  const gen = await model.generator.compileTraining({ sparseMlm: true, disableDropout: true });
  const g = await gen.run(genBatch);
  const genLoss = g.loss;
  const genGrads = new Map([...g.grads].map(([k, v]) => [k, Float32Array.from(v)]));
  await gen.release();
  const disc = await discriminatorOf(model).compileTraining({ disableDropout: true });
  const labels: HostTensor = { dtype: 'int64', dims: batch.input_ids!.dims, data: BigInt64Array.from(replaced, (v) => BigInt(v)) };
  const d = await disc.run({ input_ids: out.corrupted_ids!, attention_mask: batch.attention_mask!, token_type_ids: batch.token_type_ids!, labels });
  await disc.release();
  assert.ok(Math.abs(jointLoss - (genLoss + 50 * d.loss)) < 1e-5 * jointLoss, `${jointLoss} vs ${genLoss} + 50 x ${d.loss}`);

  const close = (name: string, actual: Float32Array, expected: Float32Array) => {
    const diff = maxDiff(actual, expected);
    assert.ok(diff <= 1e-5 * maxAbs(expected) + 1e-7, `${name}: max difference ${diff} (max ${maxAbs(expected)})`);
  };
  const scaled = (name: string) => d.grads.get(name)!.map((v) => 50 * v);
  close('discriminator_predictions.dense.weight', jointGrads.get('discriminator_predictions.dense.weight')!, scaled('discriminator_predictions.dense.weight'));
  close('electra.encoder.layer.1.output.dense.weight', jointGrads.get('electra.encoder.layer.1.output.dense.weight')!, scaled('electra.encoder.layer.1.output.dense.weight'));
  close('generator.generator_predictions.dense.weight', jointGrads.get('generator.generator_predictions.dense.weight')!, genGrads.get('generator_predictions.dense.weight')!);
  close(
    'generator.electra.encoder.layer.0.attention.self.query.weight',
    jointGrads.get('generator.electra.encoder.layer.0.attention.self.query.weight')!,
    genGrads.get('electra.encoder.layer.0.attention.self.query.weight')!,
  );
  for (const shared of ['electra.embeddings.word_embeddings.weight', 'electra.embeddings.position_embeddings.weight', 'electra.embeddings.LayerNorm.weight']) {
    const sum = genGrads.get(shared)!.map((v, i) => v + 50 * d.grads.get(shared)![i]!);
    close(shared, jointGrads.get(shared)!, sum);
  }
  await model.dispose();
});

test('two training steps, then saved as ElectraForPreTraining and ElectraForMaskedLM with transformers names and shapes, reloading to the same logits', async () => {
  // Generator ratio 1: the same sizes as the fixtures, so shapes compare one to one.
  const model = newElectraPretraining(SIZES, { ratio: 1 }, { seed: 5 });
  const data = features(16, 3);
  const before = Float32Array.from(model.store.get('electra.embeddings.word_embeddings.weight')!.data);
  const out = join(work, 'api');
  const trainer = new Trainer({
    model,
    args: { outputDir: out, maxSteps: 2, perDeviceTrainBatchSize: 8, learningRate: 1e-3, seed: 1, evalStrategy: 'no', saveStrategy: 'no', progress: 'none' },
    trainDataset: data,
    dataCollator: (f, i, at) => electraBatch(f as PretrainFeature[], i, at, masking),
    evaluate: async () => ({}),
  });
  const result = await trainer.train();
  assert.equal(result.globalStep, 2);
  assert.ok(Number.isFinite(result.trainingLoss));
  assert.ok(maxDiff(before, model.store.get('electra.embeddings.word_embeddings.weight')!.data) > 0, 'the shared embeddings trained');

  for (const [dir, name] of [
    [out, 'ElectraForPreTraining'],
    [join(out, 'generator'), 'ElectraForMaskedLM'],
  ] as const) {
    const ours = (await readSafetensorsHeader(join(dir, 'model.safetensors'))).tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).sort();
    const theirs = (await readSafetensorsHeader(join(fixture(name), 'model.safetensors'))).tensors.map((t) => `${t.name} [${t.shape.join(', ')}]`).sort();
    assert.deepEqual(ours, theirs, `${name}: names and shapes`);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(config.architectures, [name]);
    assert.equal(config.model_type, 'electra');
    assert.equal(config.embedding_size, 16);
  }
  // The generator's saved embeddings are the discriminator's.
  const discTensors = (await readSafetensors(join(out, 'model.safetensors'))).tensors;
  const genTensors = (await readSafetensors(join(out, 'generator', 'model.safetensors'))).tensors;
  assert.equal(
    maxDiff(discTensors.get('electra.embeddings.word_embeddings.weight')!.data as Float32Array, genTensors.get('electra.embeddings.word_embeddings.weight')!.data as Float32Array),
    0,
  );

  const ids = [2, 10, 11, 12, 13, 14, 3, 2, 20, 21, 4, 23, 3, 0];
  const t = (f: (v: number) => number): HostTensor => ({ dtype: 'int64', dims: [2, 7], data: BigInt64Array.from(ids, (v) => BigInt(f(v))) });
  const feeds = { input_ids: t((v) => v), attention_mask: t((v) => (v === 0 ? 0 : 1)), token_type_ids: t(() => 0) };
  const liveDisc = (await model.forward(feeds)).logits!.data as Float32Array;
  const liveGen = (await model.generator.forward(feeds)).logits!.data as Float32Array;
  const disc = await PreTrainedModel.fromPretrained(out, { missing: 'error' });
  const gen = await PreTrainedModel.fromPretrained(join(out, 'generator'), { missing: 'error' });
  assert.equal(disc.architecture, 'ElectraForPreTraining');
  assert.equal(gen.architecture, 'ElectraForMaskedLM');
  assert.ok(maxDiff((await disc.forward(feeds)).logits!.data as Float32Array, liveDisc) < 1e-5);
  assert.ok(maxDiff((await gen.forward(feeds)).logits!.data as Float32Array, liveGen) < 1e-5);
  await Promise.all([disc.dispose(), gen.dispose(), model.dispose()]);
});

test('tuna pretrain --objective electra: held-out figures, both checkpoints, and a resumed run ends where an uninterrupted one does', async () => {
  const texts = readFileSync(fileURLToPath(new URL('./fixtures/banking77-4class-train.jsonl', import.meta.url)), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l).text as string).replace(/\s+/g, ' ').trim());
  const tok = writeTinyModel(join(work, 'tok'), texts, { hidden: 32 });
  const corpus = join(work, 'corpus.txt');
  writeFileSync(corpus, texts.map((s, i) => (i % 5 === 4 ? `${s}\n` : s)).join('\n'));
  const quiet = { stdout: () => {}, stderr: () => {} };
  const args = (output: string) => [
    'pretrain',
    '--objective',
    'electra',
    '--tokenizer',
    tok,
    '--input',
    corpus,
    '--output',
    output,
    '--hidden-size',
    '32',
    '--layers',
    '1',
    '--heads',
    '4',
    '--embedding-size',
    '16',
    '--max-length',
    '32',
    '--max-steps',
    '4',
    '--save-strategy',
    'steps',
    '--save-steps',
    '2',
    '--save-total-limit',
    '3',
    '--eval-strategy',
    'no',
    '--batch-size',
    '8',
    '--lr',
    '1e-3',
    '--progress',
    'none',
  ];
  const full = join(work, 'cli-full');
  let stdout = '';
  let stderr = '';
  assert.equal(await run([...args(full), '--json'], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) }), 0, stderr);
  const summary = JSON.parse(stdout);
  assert.equal(summary.architecture, 'ElectraForPreTraining');
  assert.equal(summary.generator.architecture, 'ElectraForMaskedLM');
  assert.equal(summary.generator.hidden_size, 8);
  assert.equal(summary.global_step, 4);
  for (const k of ['mlm_loss', 'mlm_accuracy', 'rtd_loss', 'rtd_accuracy', 'rtd_replaced_recall']) assert.ok(Number.isFinite(summary.held_out[k]), k);
  assert.match(stderr, /ElectraForMaskedLM generator of hidden size 8, 1 heads/);

  // Resume from the step-2 checkpoint in a fresh directory.
  const resumed = join(work, 'cli-resumed');
  cpSync(join(full, 'checkpoint-2'), join(resumed, 'checkpoint-2'), { recursive: true });
  stderr = '';
  assert.equal(await run([...args(resumed), '--resume'], { ...quiet, stderr: (s) => void (stderr += s) }), 0, stderr);
  for (const file of ['model.safetensors', join('generator', 'model.safetensors')]) {
    const a = (await readSafetensors(join(full, file))).tensors;
    const b = (await readSafetensors(join(resumed, file))).tensors;
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [name, t] of a) assert.equal(maxDiff(t.data as Float32Array, b.get(name)!.data as Float32Array), 0, `${file}: ${name}`);
  }
  // Continuing from the saved run takes its generator too.
  stderr = '';
  const more = ['--input', corpus, '--max-length', '32', '--max-steps', '1', '--batch-size', '8', '--progress', 'none', '--validation-split', '0'];
  assert.equal(
    await run(['pretrain', '--objective', 'electra', '--model', full, '--output', join(work, 'more'), ...more], { ...quiet, stderr: (s) => void (stderr += s) }),
    0,
    stderr,
  );
  assert.match(stderr, /generator: .*cli-full\/generator/);
  assert.equal(JSON.parse(readFileSync(join(work, 'more', 'generator', 'config.json'), 'utf8')).hidden_size, 8);
  stderr = '';
  assert.equal(
    await run(['pretrain', '--objective', 'electra', '--nsp', '--tokenizer', tok, '--input', corpus, '--output', join(work, 'nsp')], {
      ...quiet,
      stderr: (s) => void (stderr += s),
    }),
    1,
  );
  assert.match(stderr, /--nsp is a masked-LM objective/);
});
