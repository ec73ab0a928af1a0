// Helpers of the ELECTRA and ALBERT tests (test/family-electra*.test.ts, test/family-albert*.test.ts) on fixtures written by transformers
// (tools/make-<family>-fixtures.py): fixture batches as feeds, the "declared equals used" check,
// and 20-step training parity through tuna's Trainer.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Feature } from '../../src/data/index.js';
import { ParameterScope, ParameterStore, Rng } from '../../src/nn/parameters.js';
import { Graph } from '../../src/onnx/graph.js';
import { PreTrainedModel } from '../../src/models/pretrained-model.js';
import { HEADS, type HeadKind, type ModelConfig, type ModelFamily } from '../../src/models/registry.js';
import { type HostTensor, hostTensor } from '../../src/runtime/tensor.js';
import { type DataCollator, Trainer } from '../../src/train/trainer.js';
import { tempDir } from './pipeline-models.js';

/** One fixture batch: inputs, transformers' outputs (eval mode), labels and loss. */
export interface FixtureBatch {
  inputs: Record<'input_ids' | 'token_type_ids' | 'attention_mask', number[]>;
  shape: [number, number];
  outputs: Record<string, number[]>;
  last_hidden_state?: number[];
  pooler_output?: number[];
  labels: number[];
  loss: number;
}

/** A PyTorch training run: examples, hyper-parameters and the loss of each step. */
export interface FixtureTraining {
  examples: { input_ids: number[]; labels: number | number[] }[];
  hyperparameters: { batch_size: number; steps: number; warmup: number; lr: number; weight_decay: number; max_grad_norm: number };
  losses: number[];
  grad_norms: number[];
}

export interface FixtureExpected {
  architecture: string;
  batches: FixtureBatch[];
  training: FixtureTraining;
}

export function readExpected(dir: string): FixtureExpected {
  return JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as FixtureExpected;
}

const i64 = (xs: readonly number[]) => BigInt64Array.from(xs, (x) => BigInt(x));

/** Largest |actual - expected| (lengths must agree). */
export function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'length');
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

/** A fixture batch's token inputs as feeds. */
export function feedsOf(batch: FixtureBatch): Record<string, HostTensor> {
  const [B, S] = batch.shape;
  return Object.fromEntries(Object.entries(batch.inputs).map(([k, v]) => [k, hostTensor('int64', i64(v), [B, S])]));
}

/** The `labels` feed of a head for a fixture batch. */
export function labelFeed(head: HeadKind, batch: FixtureBatch): HostTensor {
  const [B, S] = batch.shape;
  return head === 'sequence-classification' ? hostTensor('int64', i64(batch.labels), [B]) : hostTensor('int64', i64(batch.labels), [B, S]);
}

/** Asserts that every head of `family` (with and without its loss) uses exactly the parameters it declares. */
export function assertDeclaredEqualsUsed(family: ModelFamily, config: ModelConfig): void {
  for (const head of Object.keys(family.architectures) as HeadKind[]) {
    const declared = family.parameters(config, head);
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
        `${family.modelType} ${head} withLoss=${withLoss}`,
      );
    }
  }
}

/** Pads examples whose labels are one per token (padding gets `padLabel`). */
export function perTokenCollator(padLabel: number): DataCollator {
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

/**
 * Trains the fixture checkpoint in `dir` with tuna's Trainer (dropout off, AdamW with the fixture's
 * hyper-parameters, batches in order) and asserts that each step's loss is within 1e-3 relative of
 * the PyTorch loop's; returns the largest relative difference.
 */
export async function checkTrainingParity(dir: string, training: FixtureTraining, collator?: DataCollator): Promise<number> {
  const hp = training.hyperparameters;
  const features: Feature[] = training.examples.map((e, i) => ({
    inputIds: Int32Array.from(e.input_ids),
    tokenTypeIds: new Int32Array(e.input_ids.length),
    labels: typeof e.labels === 'number' ? e.labels : Int32Array.from(e.labels),
    line: i + 1,
  }));
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', threads: 1 });
  const out = await tempDir('family-parity');
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

/**
 * The masked-LM head's other two graphs against a fixture: logits at given flat positions only
 * (`maskPositions`, what fill-mask runs) equal the full logits' rows, and the loss over the masked
 * tokens only (`sparseMlm`, what `tuna pretrain` trains) equals transformers' loss.
 */
export async function checkMaskedLmPaths(dir: string): Promise<void> {
  const expected = readExpected(dir);
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', threads: 1 });
  const vocab = (model.config as { vocab_size: number }).vocab_size;
  const rows = await model.compileInference({ maskPositions: true, threads: 1 });
  const sparse = await model.compileTraining({ sparseMlm: true, disableDropout: true, threads: 1 });
  try {
    for (const batch of expected.batches) {
      const positions = batch.labels.flatMap((l, k) => (l >= 0 ? [k] : []));
      const at = hostTensor('int64', i64(positions), [positions.length]);
      const logits = (await rows.run({ ...feedsOf(batch), mask_positions: at })).logits!.data as Float32Array;
      const want = positions.flatMap((k) => batch.outputs.logits!.slice(k * vocab, (k + 1) * vocab));
      assert.ok(maxDiff(logits, want) <= 1e-4, 'logits at the mask positions');
      const r = await sparse.run({ ...feedsOf(batch), masked_positions: at, masked_labels: hostTensor('int64', i64(positions.map((k) => batch.labels[k]!)), [positions.length]) });
      assert.ok(Math.abs(r.loss - batch.loss) <= 1e-4 * Math.max(1, batch.loss), `sparse masked-LM loss ${r.loss} vs ${batch.loss}`);
    }
  } finally {
    await rows.release();
    await sparse.release();
    await model.dispose();
  }
}
