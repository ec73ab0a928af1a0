// ELECTRA against Hugging Face transformers (tools/make-electra-fixtures.py): checkpoints written by
// save_pretrained for every head, loaded through the registry; logits and losses within 1e-4, 20
// AdamW steps within 1e-3 relative of a PyTorch loop from the same weights, saved checkpoints with
// transformers' names and shapes, and every head declaring exactly the parameters its graph uses.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Feature } from '../src/data/index.js';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { ParameterScope, ParameterStore, Rng } from '../src/nn/parameters.js';
import { Graph } from '../src/onnx/graph.js';
import { electraConfig } from '../src/models/electra/config.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { HEADS, type HeadKind, architectureEntry, familyOf, familyOfConfig } from '../src/models/registry.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';
import { type DataCollator, Trainer } from '../src/train/trainer.js';
import { tempDir } from './helpers/pipeline-models.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/electra/${name}/`, import.meta.url));

interface Batch {
  inputs: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[]>;
  shape: [number, number];
  outputs: Record<string, number[]>;
  last_hidden_state?: number[];
  labels: number[];
  loss: number;
}
interface Training {
  examples: { input_ids: number[]; labels: number | number[] }[];
  hyperparameters: { batch_size: number; steps: number; warmup: number; lr: number; weight_decay: number; max_grad_norm: number };
  losses: number[];
  grad_norms: number[];
}
interface Expected {
  architecture: string;
  batches: Batch[];
  training: Training;
}

const CASES = ['ElectraForSequenceClassification', 'ElectraForTokenClassification', 'ElectraForMaskedLM', 'ElectraForPreTraining'] as const;
const expectedOf = (name: string): Expected => JSON.parse(readFileSync(join(fixture(name), 'expected.json'), 'utf8')) as Expected;
const i64 = (xs: readonly number[]) => BigInt64Array.from(xs, (x) => BigInt(x));

function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length');
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

function feedsOf(batch: Batch): Record<string, HostTensor> {
  const [B, S] = batch.shape;
  return Object.fromEntries(Object.entries(batch.inputs).map(([k, v]) => [k, hostTensor('int64', i64(v), [B, S])]));
}

/** The label feed of a head for a fixture batch. */
function labelFeed(head: HeadKind, batch: Batch): HostTensor {
  const [B, S] = batch.shape;
  return head === 'sequence-classification' ? hostTensor('int64', i64(batch.labels), [B]) : hostTensor('int64', i64(batch.labels), [B, S]);
}

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
    for (const head of Object.keys(family.architectures) as HeadKind[]) {
      const declared = family.parameters(config, head);
      assert.equal(
        declared.some((s) => s.name.endsWith('embeddings_project.weight')),
        embedding_size !== 32,
        `${head}: embeddings_project only when embedding_size != hidden_size`,
      );
      for (const withLoss of [false, true]) {
        if (withLoss && HEADS[head].labelInputs.length === 0) continue;
        const store = new ParameterStore(new Rng(0), { allocate: false });
        for (const s of declared) store.create(s.name, s.shape, s.init, s.decay);
        store.seal(head);
        const scope = new ParameterScope(new Graph('g'), store);
        family.build({ scope, training: withLoss, nextSeed: () => 0, initStd: 0.02 }, config, head, { withLoss });
        assert.deepEqual(
          scope
            .used()
            .map((u) => u.param.name)
            .sort(),
          declared.map((s) => s.name).sort(),
          `${head} withLoss=${withLoss}`,
        );
      }
    }
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

/** Pads examples whose labels are one per token (padding: -100, or 0 for replaced-token labels, which the mask leaves out). */
function perTokenCollator(padLabel: number): DataCollator {
  return (features, indices) => {
    const B = indices.length;
    const T = Math.max(...indices.map((i) => features[i]!.inputIds.length));
    const ids = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * T);
    const labels = new BigInt64Array(B * T).fill(BigInt(padLabel));
    indices.forEach((ex, b) => {
      const f = features[ex]!;
      f.inputIds.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        mask[b * T + t] = 1n;
        labels[b * T + t] = BigInt((f.labels as Int32Array)[t]!);
      });
    });
    return {
      input_ids: hostTensor('int64', ids, [B, T]),
      attention_mask: hostTensor('int64', mask, [B, T]),
      token_type_ids: hostTensor('int64', new BigInt64Array(B * T), [B, T]),
      labels: hostTensor('int64', labels, [B, T]),
    };
  };
}

/** 20 AdamW steps of tuna's Trainer from a fixture's weights against the PyTorch loop's losses. */
async function checkTrainingParity(dir: string, training: Training, collator?: DataCollator): Promise<number> {
  const hp = training.hyperparameters;
  const features: Feature[] = training.examples.map((e, i) => ({
    inputIds: Int32Array.from(e.input_ids),
    tokenTypeIds: new Int32Array(e.input_ids.length),
    labels: typeof e.labels === 'number' ? e.labels : Int32Array.from(e.labels),
    line: i + 1,
  }));
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', threads: 1 });
  const out = await tempDir('electra-parity');
  try {
    const trainer = new Trainer({
      model,
      args: {
        outputDir: out,
        maxSteps: hp.steps,
        perDeviceTrainBatchSize: hp.batch_size,
        learningRate: hp.lr,
        warmupSteps: hp.warmup,
        weightDecay: hp.weight_decay,
        maxGradNorm: hp.max_grad_norm,
        shuffleTrain: false,
        disableDropout: true,
        saveStrategy: 'no',
        loggingSteps: 1,
        progress: 'none',
      },
      trainDataset: features,
      ...(collator ? { dataCollator: collator } : {}),
    });
    await trainer.train();
    const losses = trainer.logHistory.filter((r) => 'loss' in r).map((r) => r.loss!);
    assert.equal(losses.length, hp.steps);
    let worst = 0;
    losses.forEach((l, i) => {
      const want = training.losses[i]!;
      const rel = Math.abs(l - want) / Math.abs(want);
      worst = Math.max(worst, rel);
      assert.ok(rel <= 1e-3, `step ${i + 1}: loss ${l}, PyTorch ${want}`);
    });
    return worst;
  } finally {
    await model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}

for (const name of CASES) {
  test(`${name}: 20 AdamW training losses match PyTorch within 1e-3 relative`, async () => {
    const collator = name === 'ElectraForMaskedLM' ? perTokenCollator(-100) : name === 'ElectraForPreTraining' ? perTokenCollator(0) : undefined;
    const worst = await checkTrainingParity(fixture(name), expectedOf(name).training, collator);
    console.log(`${name}: training losses within ${worst.toExponential(2)} relative of PyTorch`);
  });
}
