// DeBERTa-v2/v3 against Hugging Face transformers (tools/make-deberta-fixtures.py): checkpoints
// written by save_pretrained covering the disentangled attention's variants (log-bucketed and
// clamped relative positions, shared and separate position projections, c2p and/or p2c, with and
// without absolute positions and token types, ConvLayers, both masked-LM heads), loaded through the registry;
// logits and losses within 1e-4, 20 AdamW steps within 1e-3 relative of a PyTorch loop, saved
// checkpoints with transformers' names and shapes, and every head declaring exactly the
// parameters it uses.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportModel } from '../src/export/index.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { debertaV2Config } from '../src/models/deberta-v2/config.js';
import { logBucketPosition } from '../src/models/deberta-v2/attention.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { architectureEntry, familyOf, familyOfConfig } from '../src/models/registry.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';
import {
  assertDeclaredEqualsUsed,
  checkMaskedLmPaths,
  checkTrainingParity,
  feedsOf,
  labelFeed,
  maxDiff,
  perTokenCollator,
  readExpected,
} from './helpers/electra-albert-fixtures.js';
import { tempDir } from './helpers/pipeline-models.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/deberta-v2/${name}/`, import.meta.url));
const CASES = ['DebertaV2ForSequenceClassification', 'DebertaV2ForTokenClassification', 'DebertaV2ForMaskedLM', 'DebertaV2ForMaskedLM-legacy'] as const;
const expectedOf = (name: string) => readExpected(fixture(name));
const architectureOf = (name: string) => name.replace(/-legacy$/, '');

test('registry: DeBERTa-v2 architectures and config round trip; ConvLayers tuna does not build refused', () => {
  assert.equal(architectureEntry('DebertaV2ForMaskedLM')?.head, 'masked-lm');
  for (const name of CASES) {
    const raw = JSON.parse(readFileSync(join(fixture(name), 'config.json'), 'utf8')) as Record<string, unknown>;
    const family = familyOfConfig(raw);
    assert.equal(family.modelType, 'deberta-v2');
    const written = family.configToJson(family.parseConfig(raw, 'config.json'), architectureOf(name));
    for (const [k, v] of Object.entries(raw)) assert.deepEqual(written[k], v, `${name}: config.json field ${k} round-trips`);
    assert.equal(written.classifier_dropout, undefined);
    assert.equal(written.position_embedding_type, undefined);
  }
  const family = familyOf('deberta-v2');
  const defaults = family.parseConfig({ model_type: 'deberta-v2' }, 'config.json') as unknown as Record<string, unknown>;
  assert.deepEqual(
    [defaults.type_vocab_size, defaults.relative_attention, defaults.position_biased_input, defaults.legacy, defaults.pos_att_type, defaults.layer_norm_eps],
    [0, false, true, true, [], 1e-7],
  );
  assert.deepEqual((family.parseConfig({ pos_att_type: 'p2c|c2p' }, 'c') as unknown as { pos_att_type: string[] }).pos_att_type, ['p2c', 'c2p']);
  assert.throws(() => family.parseConfig({ conv_kernel_size: 2 }, 'x/config.json'), /x\/config\.json: field "conv_kernel_size".*odd/);
  assert.throws(() => family.parseConfig({ conv_kernel_size: 3, conv_groups: 2 }, 'x/config.json'), /field "conv_groups"/);
  assert.throws(() => family.parseConfig({ pos_att_type: ['c2c'] }, 'x/config.json'), /field "pos_att_type"/);
});

test('log-bucketed relative positions: exact near zero, logarithmic beyond half the buckets, odd', () => {
  // DeBERTa-v3's settings: 256 buckets over 512 positions.
  assert.deepEqual(
    [0, 1, -5, 127, 128].map((r) => logBucketPosition(r, 256, 512)),
    [0, 1, -5, 127, 128],
  );
  assert.equal(logBucketPosition(511, 256, 512), 255);
  assert.equal(logBucketPosition(-300, 256, 512), -logBucketPosition(300, 256, 512));
  // Values of transformers' make_log_bucket_position (torch, float32) for DeBERTa-v3's settings.
  const distances = [129, 130, 150, 200, 300, 400, 511, 512, 600, 1000, -129, -300];
  assert.deepEqual(
    distances.map((r) => logBucketPosition(r, 256, 512)),
    [129, 130, 143, 169, 207, 233, 255, 256, 270, 317, -129, -207],
  );
});

test('every DeBERTa-v2 head declares exactly the parameters its graph uses', () => {
  const family = familyOf('deberta-v2');
  const base = { vocab_size: 40, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 37, max_position_embeddings: 24 };
  for (const extra of [
    { relative_attention: true, position_buckets: 8, share_att_key: true, pos_att_type: ['p2c', 'c2p'], norm_rel_ebd: 'layer_norm', position_biased_input: false },
    { relative_attention: true, max_relative_positions: 6, pos_att_type: 'c2p|p2c', type_vocab_size: 2, embedding_size: 16 },
    { relative_attention: true, pos_att_type: ['c2p'], legacy: false },
    { relative_attention: false, type_vocab_size: 2, conv_kernel_size: 3 },
  ]) {
    assertDeclaredEqualsUsed(family, debertaV2Config({ ...base, ...extra }));
  }
});

for (const name of CASES) {
  test(`${name}: logits and loss match transformers within 1e-4; a saved checkpoint has transformers' names and reloads`, async () => {
    const dir = fixture(name);
    const expected = expectedOf(name);
    const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', threads: 1 });
    assert.equal(model.architecture, architectureOf(name));
    assert.deepEqual(model.loadReport.unexpected, []);
    const plain = await model.compileInference({ fusedKernels: false, threads: 1 });
    const frozen = await model.compileInference({ frozen: true, threads: 1 });
    const step = await model.compileTraining({ disableDropout: true, threads: 1 });
    let worst = 0;
    let worstLoss = 0;
    for (const batch of expected.batches) {
      const feeds = feedsOf(batch);
      for (const session of [plain, frozen]) {
        const d = maxDiff((await session.run(feeds)).logits!.data as Float32Array, batch.outputs.logits!);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-4, `${name} logits [${batch.shape}]: max abs error ${d}`);
      }
      const r = await step.run({ ...feeds, labels: labelFeed(model.head, batch) });
      const dl = Math.abs(r.loss - batch.loss) / Math.max(1, Math.abs(batch.loss));
      worstLoss = Math.max(worstLoss, dl);
      assert.ok(dl <= 1e-4, `${name} loss ${r.loss} vs ${batch.loss}`);
    }
    console.log(`${name}: max |logits - transformers| ${worst.toExponential(2)}, loss ${worstLoss.toExponential(2)}`);
    await plain.release();
    await frozen.release();
    await step.release();

    const out = await tempDir('deberta-save');
    try {
      await model.savePretrained(out);
      const theirs = await readSafetensorsHeader(join(dir, 'model.safetensors'));
      const ours = await readSafetensorsHeader(join(out, 'model.safetensors'));
      const shapes = (h: typeof theirs) => Object.fromEntries(h.tensors.map((t) => [t.name, t.shape.join('x')]));
      assert.deepEqual(shapes(ours), shapes(theirs));
      const again = await PreTrainedModel.fromPretrained(out, { missing: 'error', threads: 1 });
      assert.deepEqual(again.config, model.config);
      const batch = expected.batches[0]!;
      assert.ok(maxDiff((await again.forward(feedsOf(batch))).logits!.data as Float32Array, batch.outputs.logits!) <= 1e-4);
      await again.dispose();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    await model.dispose();
  });
}

test('DebertaV2Model: the classifier checkpoint as the bare encoder gives transformers last hidden state', async () => {
  const expected = expectedOf('DebertaV2ForSequenceClassification');
  const model = await PreTrainedModel.fromPretrained(fixture('DebertaV2ForSequenceClassification'), { head: 'base', missing: 'error', threads: 1 });
  assert.equal(model.architecture, 'DebertaV2Model');
  assert.deepEqual(model.loadReport.unexpected.sort(), ['classifier.bias', 'classifier.weight', 'pooler.dense.bias', 'pooler.dense.weight']);
  let worst = 0;
  for (const batch of expected.batches) {
    const out = await model.forward(feedsOf(batch));
    worst = Math.max(worst, maxDiff(out.last_hidden_state!.data as Float32Array, batch.last_hidden_state!));
  }
  console.log(`DebertaV2Model: max |last_hidden_state - transformers| ${worst.toExponential(2)}`);
  assert.ok(worst <= 1e-4);
  await model.dispose();
});

test('DebertaV2ForSequenceClassification: a 60-token batch, beyond max_position_embeddings, gives transformers logits', async () => {
  const long = (
    expectedOf('DebertaV2ForSequenceClassification') as unknown as { beyond_max_positions: { inputs: Record<string, number[]>; shape: [number, number]; logits: number[] } }
  ).beyond_max_positions;
  const model = await PreTrainedModel.fromPretrained(fixture('DebertaV2ForSequenceClassification'), { missing: 'error', threads: 1 });
  const [B, S] = long.shape;
  const feeds = Object.fromEntries(Object.entries(long.inputs).map(([k, v]) => [k, hostTensor('int64', BigInt64Array.from(v, BigInt), [B, S])]));
  const d = maxDiff((await model.forward(feeds)).logits!.data as Float32Array, long.logits);
  console.log(`DebertaV2ForSequenceClassification [${long.shape}]: max |logits - transformers| ${d.toExponential(2)}`);
  assert.ok(d <= 1e-4);
  await model.dispose();
});

test('DebertaV2ForMaskedLM: logits at mask positions and the sparse masked-LM loss', async () => {
  await checkMaskedLmPaths(fixture('DebertaV2ForMaskedLM'));
});

for (const name of CASES) {
  test(`${name}: 20 AdamW training losses match PyTorch within 1e-3 relative`, async () => {
    const worst = await checkTrainingParity(fixture(name), expectedOf(name).training, name.startsWith('DebertaV2ForMaskedLM') ? perTokenCollator(-100) : undefined);
    console.log(`${name}: training losses within ${worst.toExponential(2)} relative of PyTorch`);
  });
}

test('tuna export: F32 ONNX models of the token classifier (with token types) and both masked-LM heads give transformers logits', async () => {
  for (const name of ['DebertaV2ForTokenClassification', 'DebertaV2ForMaskedLM', 'DebertaV2ForMaskedLM-legacy'] as const) {
    const out = await tempDir('deberta-export');
    try {
      const r = await exportModel({ model: fixture(name), output: out });
      assert.deepEqual(r.inputs, name === 'DebertaV2ForTokenClassification' ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask']);
      const session = await Session.create(readFileSync(join(out, 'onnx', 'model.onnx')), { threads: 1 });
      let worst = 0;
      for (const batch of expectedOf(name).batches) {
        const feeds = feedsOf(batch);
        const logits = (await session.run(Object.fromEntries(r.inputs.map((k) => [k, feeds[k]!])))).logits!.data as Float32Array;
        worst = Math.max(worst, maxDiff(logits, batch.outputs.logits!));
      }
      await session.release();
      console.log(`exported ${name}: max |logits - transformers| ${worst.toExponential(2)}`);
      assert.ok(worst <= 1e-4, `${name}: exported logits differ by ${worst}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
});
