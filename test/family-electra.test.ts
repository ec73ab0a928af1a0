// ELECTRA against Hugging Face transformers (tools/make-electra-fixtures.py): checkpoints written by
// save_pretrained for every head, loaded through the registry; logits and losses within 1e-4, 20
// AdamW steps within 1e-3 relative of a PyTorch loop from the same weights, saved checkpoints with
// transformers' names and shapes, and every head declaring exactly the parameters its graph uses.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { electraConfig } from '../src/models/electra/config.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { architectureEntry, familyOf, familyOfConfig } from '../src/models/registry.js';
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

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/electra/${name}/`, import.meta.url));

const CASES = ['ElectraForSequenceClassification', 'ElectraForTokenClassification', 'ElectraForMaskedLM', 'ElectraForPreTraining'] as const;
const expectedOf = (name: string) => readExpected(fixture(name));

test('registry: ELECTRA architectures and config round trip', () => {
  assert.equal(architectureEntry('ElectraForPreTraining')?.head, 'replaced-token-detection');
  assert.equal(architectureEntry('ElectraForMaskedLM')?.head, 'masked-lm');
  const raw = JSON.parse(readFileSync(join(fixture('ElectraForMaskedLM'), 'config.json'), 'utf8')) as Record<string, unknown>;
  const family = familyOfConfig(raw);
  assert.equal(family.modelType, 'electra');
  const config = family.parseConfig(raw, 'config.json');
  const written = family.configToJson(config, 'ElectraForMaskedLM');
  for (const [k, v] of Object.entries(raw)) assert.deepEqual(written[k], v, `config.json field ${k} round-trips`);
  // ElectraConfig's defaults where a config.json leaves them out.
  const defaults = familyOf('electra').parseConfig({ model_type: 'electra' }, 'config.json') as unknown as Record<string, unknown>;
  assert.deepEqual([defaults.embedding_size, defaults.hidden_size, defaults.num_attention_heads, defaults.intermediate_size], [128, 256, 4, 1024]);
  assert.throws(() => familyOf('electra').parseConfig({ model_type: 'electra', embedding_size: 0 }, 'x/config.json'), /x\/config\.json: field "embedding_size"/);
});

test('a new label set re-initialises only what depends on the labels (classifier.out_proj, not classifier.dense)', async () => {
  const dir = fixture('ElectraForSequenceClassification');
  const model = await PreTrainedModel.fromPretrained(dir, { id2label: { 0: 'a', 1: 'b' }, threads: 1 });
  assert.deepEqual(model.loadReport.mismatched.map((m) => m.name).sort(), ['classifier.out_proj.bias', 'classifier.out_proj.weight']);
  assert.deepEqual(model.loadReport.missing, []);
});

test('every ELECTRA head declares exactly the parameters its graph uses', () => {
  const family = familyOf('electra');
  for (const embedding_size of [16, 32]) {
    const config = electraConfig({
      vocab_size: 40,
      embedding_size,
      hidden_size: 32,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 37,
      max_position_embeddings: 24,
    });
    assert.equal(
      family.parameters(config, 'encoder').some((s) => s.name === 'embeddings_project.weight'),
      embedding_size !== 32,
      'embeddings_project only when embedding_size != hidden_size',
    );
    assertDeclaredEqualsUsed(family, config);
  }
});

for (const name of CASES) {
  test(`${name}: logits and loss match transformers within 1e-4; a saved checkpoint has transformers' names and reloads`, async () => {
    const dir = fixture(name);
    const expected = expectedOf(name);
    const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', threads: 1 });
    assert.equal(model.architecture, name);
    assert.deepEqual(model.loadReport.unexpected, []);
    const plain = await model.compileInference({ fusedKernels: false, threads: 1 });
    const fused = await model.compileInference({ frozen: true, threads: 1 });
    const step = await model.compileTraining({ disableDropout: true, threads: 1 });
    let worst = 0;
    let worstLoss = 0;
    for (const batch of expected.batches) {
      const feeds = feedsOf(batch);
      for (const session of [plain, fused]) {
        const out = await session.run(feeds);
        const d = maxDiff(out.logits!.data as Float32Array, batch.outputs.logits!);
        worst = Math.max(worst, d);
        assert.ok(d <= 1e-4, `${name} logits [${batch.shape}]: max abs error ${d}`);
      }
      const r = await step.run({ ...feeds, labels: labelFeed(model.head, batch) });
      const dl = Math.abs(r.loss - batch.loss);
      worstLoss = Math.max(worstLoss, dl / Math.max(1, Math.abs(batch.loss)));
      assert.ok(dl <= 1e-4 * Math.max(1, Math.abs(batch.loss)), `${name} loss ${r.loss} vs ${batch.loss}`);
    }
    console.log(`${name}: max |logits - transformers| ${worst.toExponential(2)}, loss ${worstLoss.toExponential(2)}`);
    await plain.release();
    await fused.release();
    await step.release();

    // Saved: the tensors transformers saved (names and shapes; the tied decoder is stored once), and
    // a config.json that parses to the same config.
    const out = await tempDir('electra-save');
    try {
      await model.savePretrained(out);
      const theirs = await readSafetensorsHeader(join(dir, 'model.safetensors'));
      const ours = await readSafetensorsHeader(join(out, 'model.safetensors'));
      const shapes = (h: typeof theirs) => Object.fromEntries(h.tensors.map((t) => [t.name, t.shape.join('x')]));
      assert.deepEqual(shapes(ours), shapes(theirs));
      const again = await PreTrainedModel.fromPretrained(out, { missing: 'error', threads: 1 });
      assert.deepEqual(again.config, model.config);
      const batch = expected.batches[0]!;
      const logits = (await again.forward(feedsOf(batch))).logits!.data as Float32Array;
      assert.ok(maxDiff(logits, batch.outputs.logits!) <= 1e-4);
      await again.dispose();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}

test('ElectraModel: the discriminator checkpoint loaded as the bare encoder gives transformers last hidden state', async () => {
  const expected = expectedOf('ElectraForPreTraining');
  const model = await PreTrainedModel.fromPretrained(fixture('ElectraForPreTraining'), { head: 'base', missing: 'error', threads: 1 });
  assert.equal(model.architecture, 'ElectraModel');
  assert.deepEqual(model.loadReport.unexpected.sort(), [
    'discriminator_predictions.dense.bias',
    'discriminator_predictions.dense.weight',
    'discriminator_predictions.dense_prediction.bias',
    'discriminator_predictions.dense_prediction.weight',
  ]);
  for (const batch of expected.batches) {
    const out = await model.forward(feedsOf(batch));
    assert.deepEqual(Object.keys(out), ['last_hidden_state'], 'ElectraModel has no pooler');
    const d = maxDiff(out.last_hidden_state!.data as Float32Array, batch.last_hidden_state!);
    assert.ok(d <= 1e-4, `last_hidden_state: max abs error ${d}`);
  }
  await model.dispose();
});

for (const name of CASES) {
  test(`${name}: 20 AdamW training losses match PyTorch within 1e-3 relative`, async () => {
    const collator = name === 'ElectraForMaskedLM' ? perTokenCollator(-100) : name === 'ElectraForPreTraining' ? perTokenCollator(0) : undefined;
    const worst = await checkTrainingParity(fixture(name), expectedOf(name).training, collator);
    console.log(`${name}: training losses within ${worst.toExponential(2)} relative of PyTorch`);
  });
}

test('ElectraForMaskedLM: logits at the mask positions only, and the loss over masked tokens only, equal transformers', async () => {
  await checkMaskedLmPaths(fixture('ElectraForMaskedLM'));
});
