// ALBERT against Hugging Face transformers (tools/make-albert-fixtures.py): checkpoints written by
// save_pretrained with layer weights shared three ways (one layer used twice, two groups used twice
// each, one group of two inner layers), loaded through the registry; logits and losses within 1e-4,
// 20 AdamW steps within 1e-3 relative of a PyTorch loop, saved checkpoints with transformers' names
// and shapes, every head declaring exactly the parameters it uses, and a finite-difference check
// that the gradient of a shared weight is the sum over its uses.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gradCheck } from '../src/autograd/gradcheck.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { ParameterScope, ParameterStore, Rng } from '../src/nn/parameters.js';
import { albertConfig } from '../src/models/albert/config.js';
import { buildAlbert } from '../src/models/albert/modeling.js';
import { albertParameters } from '../src/models/albert/parameters.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { architectureEntry, familyOf, familyOfConfig } from '../src/models/registry.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';
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

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/albert/${name}/`, import.meta.url));
const CASES = ['AlbertForSequenceClassification', 'AlbertForTokenClassification', 'AlbertForMaskedLM'] as const;
const expectedOf = (name: string) => readExpected(fixture(name));

test('registry: ALBERT architectures and config round trip', () => {
  assert.equal(architectureEntry('AlbertForMaskedLM')?.head, 'masked-lm');
  for (const name of CASES) {
    const raw = JSON.parse(readFileSync(join(fixture(name), 'config.json'), 'utf8')) as Record<string, unknown>;
    const family = familyOfConfig(raw);
    assert.equal(family.modelType, 'albert');
    const written = family.configToJson(family.parseConfig(raw, 'config.json'), name);
    for (const [k, v] of Object.entries(raw)) assert.deepEqual(written[k], v, `${name}: config.json field ${k} round-trips`);
    assert.equal(written.classifier_dropout, undefined, 'ALBERT has classifier_dropout_prob, not classifier_dropout');
  }
  const defaults = familyOf('albert').parseConfig({ model_type: 'albert' }, 'config.json') as unknown as Record<string, unknown>;
  assert.deepEqual(
    [defaults.embedding_size, defaults.hidden_size, defaults.num_hidden_groups, defaults.inner_group_num, defaults.hidden_act, defaults.classifier_dropout_prob],
    [128, 4096, 1, 1, 'gelu_new', 0.1],
  );
  assert.throws(
    () => familyOf('albert').parseConfig({ model_type: 'albert', num_hidden_layers: 2, num_hidden_groups: 3 }, 'x/config.json'),
    /x\/config\.json: field "num_hidden_groups"/,
  );
});

test('every ALBERT head declares exactly the parameters its graph uses, each shared layer once', () => {
  const family = familyOf('albert');
  for (const [layers, groups, inner] of [
    [2, 1, 1],
    [4, 2, 1],
    [3, 2, 2],
    [2, 1, 2],
  ] as const) {
    const config = albertConfig({
      vocab_size: 40,
      embedding_size: 16,
      hidden_size: 32,
      num_hidden_layers: layers,
      num_hidden_groups: groups,
      inner_group_num: inner,
      num_attention_heads: 4,
      intermediate_size: 37,
      max_position_embeddings: 24,
    });
    const ffn = family.parameters(config, 'encoder').filter((s) => s.name.endsWith('.ffn.weight'));
    assert.equal(ffn.length, groups * inner, `${layers} layers, ${groups} groups of ${inner}`);
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
    await fused.release();
    await step.release();

    const out = await tempDir('albert-save');
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
  });
}

test('AlbertModel: the classifier checkpoint as the bare encoder gives transformers last hidden state and pooler output', async () => {
  const expected = expectedOf('AlbertForSequenceClassification');
  const model = await PreTrainedModel.fromPretrained(fixture('AlbertForSequenceClassification'), { head: 'base', missing: 'error', threads: 1 });
  assert.equal(model.architecture, 'AlbertModel');
  assert.deepEqual(model.loadReport.unexpected.sort(), ['classifier.bias', 'classifier.weight']);
  for (const batch of expected.batches) {
    const out = await model.forward(feedsOf(batch));
    assert.ok(maxDiff(out.last_hidden_state!.data as Float32Array, batch.last_hidden_state!) <= 1e-4);
    assert.ok(maxDiff(out.pooler_output!.data as Float32Array, batch.pooler_output!) <= 1e-4);
  }
  await model.dispose();
});

for (const name of CASES) {
  test(`${name}: 20 AdamW training losses match PyTorch within 1e-3 relative`, async () => {
    const worst = await checkTrainingParity(fixture(name), expectedOf(name).training, name === 'AlbertForMaskedLM' ? perTokenCollator(-100) : undefined);
    console.log(`${name}: training losses within ${worst.toExponential(2)} relative of PyTorch`);
  });
}

test('shared layer weights: the gradient of the loss is the sum over every use (finite differences)', async () => {
  // 3 layers over one group of 2 inner layers: each shared weight is used 3 times. tanh GELU (no Erf).
  const config = albertConfig({
    vocab_size: 20,
    embedding_size: 6,
    hidden_size: 8,
    num_hidden_layers: 3,
    num_hidden_groups: 1,
    inner_group_num: 2,
    num_attention_heads: 2,
    intermediate_size: 12,
    max_position_embeddings: 8,
    hidden_act: 'gelu_new',
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    classifier_dropout_prob: 0,
    num_labels: 3,
    initializer_range: 0.5,
  });
  const store = new ParameterStore(new Rng(5));
  for (const s of albertParameters(config, 'token-classification')) {
    const p = store.create(s.name, s.shape, s.init.kind === 'normal' ? s.init : { kind: 'normal', std: 0.3 }, s.decay);
    if (s.init.kind === 'ones') for (let i = 0; i < p.data.length; i++) p.data[i]! += 1;
  }
  const shared = [
    'albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight',
    'albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight',
    'albert.encoder.albert_layer_groups.0.albert_layers.1.attention.value.bias',
    'albert.encoder.albert_layer_groups.0.albert_layers.1.full_layer_layer_norm.weight',
    'albert.encoder.albert_layer_groups.0.albert_layers.1.ffn_output.weight',
  ];
  const [B, S] = [2, 5];
  const ids = [2, 7, 9, 11, 3, 2, 14, 5, 3, 0];
  const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
  const labels = [-100, 0, 2, 1, -100, -100, 1, 1, -100, -100];
  const i64 = (xs: number[]) => hostTensor('int64', BigInt64Array.from(xs, BigInt), [B, S]);
  const feeds: Record<string, HostTensor> = { input_ids: i64(ids), attention_mask: i64(mask), token_type_ids: i64(new Array(B * S).fill(0)), labels: i64(labels) };
  for (const p of store.list()) feeds[p.name] = hostTensor('float32', p.data, p.shape);
  let uses = 0;
  const result = await gradCheck(
    (g) => {
      const scope = new ParameterScope(g, store);
      const { loss } = buildAlbert({ scope, training: true, nextSeed: () => 0, initStd: 0.02 }, config, 'token-classification', { withLoss: true });
      const wrt = scope
        .used()
        .filter((u) => shared.includes(u.param.name))
        .map((u) => u.value);
      assert.equal(wrt.length, shared.length);
      // Every shared weight feeds one consumer per layer application (3).
      const consumers = (v: (typeof wrt)[number]) => g.nodes.filter((n) => n.inputs.includes(v)).length;
      uses = Math.min(...wrt.map((v) => consumers(v)));
      return { output: loss!, wrt };
    },
    feeds,
    { eps: 1e-2, atol: 2e-4, rtol: 1e-2, maxElements: 12 },
  );
  assert.ok(uses >= 3, `each shared weight is used by ${uses} nodes`);
  assert.deepEqual(result.mismatches, [], `finite differences disagree: ${JSON.stringify(result.mismatches.slice(0, 3))}`);
  assert.ok(result.checked >= 40);
  // Large enough that one use's share alone (a third of the sum) would be out of tolerance.
  for (const name of shared) {
    const largest = Math.max(...Array.from(result.analytic[name]!.data as Float32Array, Math.abs));
    assert.ok(largest > 1e-2, `${name}: largest gradient ${largest}`);
  }
  console.log(`shared ALBERT weights: ${result.checked} gradient elements within ${result.maxAbsError.toExponential(2)} of finite differences`);
});

test('AlbertForMaskedLM: logits at the mask positions only, and the loss over masked tokens only, equal transformers', async () => {
  await checkMaskedLmPaths(fixture('AlbertForMaskedLM'));
});
