// Checks of a model family against the checkpoints and outputs tools/make-family-fixtures-a.py wrote
// with transformers: logits of every head (plain and fused graphs), the encoder under the sequence
// classifier, 20 training losses, saved names and config, and the F32 ONNX export (also run by
// transformers.js).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature } from '../../src/data/index.js';
import { exportModel } from '../../src/export/index.js';
import { parseSafetensors } from '../../src/io/safetensors.js';
import { PreTrainedModel } from '../../src/models/pretrained-model.js';
import type { HeadKind } from '../../src/models/registry.js';
import { Session } from '../../src/runtime/session.js';
import { type HostTensor, hostTensor } from '../../src/runtime/tensor.js';
import { type DataCollator, Trainer } from '../../src/train/trainer.js';

/** One batch of expected.json. */
export interface FixtureBatch {
  readonly shape: [number, number];
  readonly inputs: Record<string, number[]>;
  readonly outputs: Record<string, number[]>;
  readonly encoder_outputs?: Record<string, number[]>;
}

/** expected.json of one architecture. */
export interface FixtureExpected {
  readonly architecture: string;
  readonly batches: FixtureBatch[];
}

export const readExpected = (dir: string): FixtureExpected => JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));

/** The int64 feeds of a batch: its inputs, plus zero token types (which graphs without them ignore). */
export function feedsOf(batch: FixtureBatch): Record<string, HostTensor> {
  const [B, S] = batch.shape;
  const feeds: Record<string, HostTensor> = { token_type_ids: hostTensor('int64', new BigInt64Array(B * S), [B, S]) };
  for (const [k, v] of Object.entries(batch.inputs)) feeds[k] = hostTensor('int64', BigInt64Array.from(v, BigInt), [B, S]);
  return feeds;
}

/** The largest absolute difference of two equally long arrays. */
export function maxDiff(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  return worst;
}

/** Asserts outputs within `atol` and returns the largest difference seen. */
export function assertClose(out: Record<string, HostTensor>, expected: Record<string, number[]>, atol: number, what: string): number {
  let worst = 0;
  for (const [k, v] of Object.entries(expected)) {
    assert.ok(out[k], `${what}: output ${k}`);
    const d = maxDiff(out[k].data as Float32Array, v, `${what} ${k}`);
    assert.ok(d <= atol, `${what} ${k}: max abs error ${d} > ${atol}`);
    worst = Math.max(worst, d);
  }
  return worst;
}

/**
 * Loads the checkpoint in `dir` (complete, as inference does) and compares every batch with the
 * plain and the fused inference graphs; with `encoder`, also the bare encoder's last hidden state.
 * Returns the largest difference.
 */
export async function checkLogits(dir: string, atol = 1e-4): Promise<number> {
  const expected = readExpected(dir);
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error' });
  assert.equal(model.architecture, expected.architecture);
  let worst = 0;
  for (const fusedKernels of [false, true]) {
    const f = await model.compileInference({ fusedKernels, frozen: fusedKernels, threads: 1 });
    for (const b of expected.batches) worst = Math.max(worst, assertClose(await f.run(feedsOf(b)), b.outputs, atol, `${expected.architecture} fused=${fusedKernels} [${b.shape}]`));
    await f.release();
  }
  await model.dispose();
  const withEncoder = expected.batches.filter((b) => b.encoder_outputs);
  if (withEncoder.length) {
    const encoder = await PreTrainedModel.fromPretrained(dir, { head: 'encoder', missing: 'error' });
    const f = await encoder.compileInference({ threads: 1 });
    for (const b of withEncoder) worst = Math.max(worst, assertClose(await f.run(feedsOf(b)), b.encoder_outputs!, atol, `${expected.architecture} encoder [${b.shape}]`));
    await f.release();
    await encoder.dispose();
  }
  return worst;
}

/**
 * Saves the checkpoint with tuna and checks that the saved keys are the ones transformers saved,
 * that config.json keeps every field transformers wrote, and that the saved model gives the same
 * outputs.
 */
export async function checkSave(dir: string, head?: HeadKind): Promise<void> {
  const expected = readExpected(dir);
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error', ...(head ? { head } : {}) });
  const out = mkdtempSync(join(tmpdir(), 'tuna-family-save-'));
  try {
    await model.savePretrained(out);
    const saved = parseSafetensors(readFileSync(join(out, 'model.safetensors')));
    const theirs = parseSafetensors(readFileSync(join(dir, 'model.safetensors')));
    assert.deepEqual([...saved.tensors.keys()].sort(), [...theirs.tensors.keys()].sort(), 'tuna saves the names transformers saves');
    for (const [k, t] of theirs.tensors) assert.deepEqual(saved.tensors.get(k)!.shape, t.shape, `${k} shape`);
    const original = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    for (const [k, v] of Object.entries(original)) {
      // transformers writes label ids as numbers in label2id and as string keys in id2label; both round-trip.
      assert.deepEqual(written[k], v, `config.json field ${k} round-trips`);
    }
    const again = await PreTrainedModel.fromPretrained(out, { missing: 'error' });
    const a = await model.forward(feedsOf(expected.batches[0]!));
    const b = await again.forward(feedsOf(expected.batches[0]!));
    for (const k of Object.keys(a)) assert.equal(maxDiff(a[k]!.data as Float32Array, b[k]!.data as Float32Array, k), 0, `${k} after save and load`);
    await again.dispose();
  } finally {
    await model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}

interface TrainExpected {
  kind: 'sequence' | 'token' | 'masked-lm';
  examples: { input_ids: number[]; labels: number | number[] }[];
  hyperparameters: { batch_size: number; accumulation: number; steps: number; warmup: number; lr: number; weight_decay: number; max_grad_norm: number };
  losses: number[];
  grad_norms: number[];
}

/** Pads pre-masked examples with `padId` (masked-LM labels -100 on padding), as the PyTorch loop does. */
function maskedLmCollator(padId: number): DataCollator {
  return (features, indices) => {
    const B = indices.length;
    const T = Math.max(...indices.map((i) => features[i]!.inputIds.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(padId));
    const mask = new BigInt64Array(B * T);
    const labels = new BigInt64Array(B * T).fill(-100n);
    indices.forEach((ex, b) => {
      const f = features[ex]!;
      f.inputIds.forEach((id, t) => {
        ids[b * T + t] = BigInt(id);
        mask[b * T + t] = 1n;
        labels[b * T + t] = BigInt((f.labels as Int32Array)[t]!);
      });
    });
    return {
      input_ids: { dtype: 'int64', dims: [B, T], data: ids },
      attention_mask: { dtype: 'int64', dims: [B, T], data: mask },
      token_type_ids: { dtype: 'int64', dims: [B, T], data: new BigInt64Array(B * T) },
      labels: { dtype: 'int64', dims: [B, T], data: labels },
    };
  };
}

/**
 * 20 steps of tuna's Trainer (dropout off) against transformers' losses and gradient norms, within
 * 1e-3 relative, for the head of the checkpoint in `dir` (train.json says which: sequence, token or
 * masked-LM labels). Returns the largest relative loss error.
 */
export async function checkTraining(dir: string): Promise<number> {
  const expected = JSON.parse(readFileSync(join(dir, 'train.json'), 'utf8')) as TrainExpected;
  const hp = expected.hyperparameters;
  const features: Feature[] = expected.examples.map((e, i) => ({
    inputIds: Int32Array.from(e.input_ids),
    tokenTypeIds: new Int32Array(e.input_ids.length),
    labels: typeof e.labels === 'number' ? e.labels : Int32Array.from(e.labels),
    line: i + 1,
  }));
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error' });
  const out = mkdtempSync(join(tmpdir(), 'tuna-family-train-'));
  let worst = 0;
  try {
    const trainer = new Trainer({
      model,
      args: {
        outputDir: out,
        maxSteps: hp.steps,
        perDeviceTrainBatchSize: hp.batch_size,
        gradientAccumulationSteps: hp.accumulation,
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
      ...(expected.kind === 'masked-lm' ? { dataCollator: maskedLmCollator(model.config.pad_token_id) } : {}),
    });
    await trainer.train();
    const losses = trainer.logHistory.filter((r) => 'loss' in r).map((r) => r.loss!);
    const norms = trainer.logHistory.filter((r) => 'grad_norm' in r).map((r) => r.grad_norm!);
    assert.equal(losses.length, hp.steps);
    losses.forEach((l, i) => {
      const want = expected.losses[i]!;
      worst = Math.max(worst, Math.abs(l - want) / Math.abs(want));
      assert.ok(Math.abs(l - want) <= 1e-3 * Math.abs(want), `step ${i + 1}: loss ${l}, transformers ${want}`);
    });
    norms.forEach((n, i) => {
      const want = expected.grad_norms[i]!;
      assert.ok(Math.abs(n - want) <= 1e-3 * want + 1e-5, `step ${i + 1}: gradient norm ${n}, transformers ${want}`);
    });
  } finally {
    await model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
  return worst;
}

/**
 * Exports the checkpoint to F32 ONNX, checks its input names and runs it on the fixture batches
 * with ONNX Runtime. Returns the export directory (under `work`) and the largest difference.
 */
export async function checkExport(dir: string, work: string, inputs: readonly string[], atol = 1e-4): Promise<{ out: string; worst: number }> {
  const expected = readExpected(dir);
  const out = join(work, `${expected.architecture}-onnx`);
  const r = await exportModel({ model: dir, output: out });
  assert.deepEqual([...r.inputs].sort(), [...inputs].sort(), 'export inputs');
  const session = await Session.create(readFileSync(join(out, 'onnx', 'model.onnx')), { threads: 1 });
  let worst = 0;
  try {
    for (const b of expected.batches) {
      const got = await session.run(feedsOf(b));
      // A pre-training head exports as a masked LM: its `logits` are the prediction logits.
      const want = b.outputs.prediction_logits ? { logits: b.outputs.prediction_logits } : b.outputs;
      worst = Math.max(worst, assertClose(got, want, atol, `${expected.architecture} export [${b.shape}]`));
    }
  } finally {
    await session.release();
  }
  assert.ok(existsSync(join(out, 'config.json')));
  return { out, worst };
}

/**
 * Runs an export with transformers.js (`@huggingface/transformers`, from the local directory, no
 * tokenizer needed) on the fixture batches through its `AutoModelFor*` class for the architecture,
 * and returns the largest difference from the fixture outputs.
 */
export async function checkTransformersJs(exportDir: string, dir: string, atol = 1e-4): Promise<number> {
  const tjs = await import('@huggingface/transformers');
  const expected = readExpected(dir);
  tjs.env.allowRemoteModels = false;
  tjs.env.localModelPath = join(exportDir, '..');
  const name = exportDir.split('/').at(-1)!;
  const arch = expected.architecture;
  const auto = arch.endsWith('ForSequenceClassification')
    ? tjs.AutoModelForSequenceClassification
    : arch.endsWith('ForTokenClassification')
      ? tjs.AutoModelForTokenClassification
      : arch.endsWith('ForMaskedLM')
        ? tjs.AutoModelForMaskedLM
        : tjs.AutoModel;
  // biome-ignore lint/suspicious/noExplicitAny: the Auto classes' from_pretrained is typed per class
  const model: any = await (auto as any).from_pretrained(name, { dtype: 'fp32', local_files_only: true, session_options: { intraOpNumThreads: 1 } });
  let worst = 0;
  try {
    for (const b of expected.batches) {
      const [B, S] = b.shape;
      const feeds: Record<string, InstanceType<typeof tjs.Tensor>> = {};
      for (const [k, v] of Object.entries(b.inputs)) feeds[k] = new tjs.Tensor('int64', BigInt64Array.from(v, BigInt), [B, S]);
      const got = await model(feeds);
      for (const [k, v] of Object.entries(b.outputs)) {
        const d = maxDiff(got[k].data as Float32Array, v, `transformers.js ${arch} ${k}`);
        assert.ok(d <= atol, `transformers.js ${arch} ${k}: max abs error ${d}`);
        worst = Math.max(worst, d);
      }
    }
  } finally {
    await model.dispose();
  }
  return worst;
}

/**
 * The masked-LM loss over the masked tokens only (`sparseMlm`, what `tuna pretrain` trains with)
 * equals the dense loss on the first 8 examples of train.json, and so does every gradient. Returns
 * the loss difference.
 */
export async function checkSparseMaskedLm(dir: string): Promise<number> {
  const expected = JSON.parse(readFileSync(join(dir, 'train.json'), 'utf8')) as TrainExpected;
  const model = await PreTrainedModel.fromPretrained(dir, { missing: 'error' });
  const features: Feature[] = expected.examples.slice(0, 8).map((e, i) => ({
    inputIds: Int32Array.from(e.input_ids),
    tokenTypeIds: new Int32Array(e.input_ids.length),
    labels: Int32Array.from(e.labels as number[]),
    line: i + 1,
  }));
  const dense = maskedLmCollator(model.config.pad_token_id)(
    features,
    features.map((_, i) => i),
    { epoch: 0, seed: 0 },
  );
  const labels = dense.labels!.data as BigInt64Array;
  const positions = [...labels.keys()].filter((k) => labels[k]! >= 0n);
  const { labels: _dense, ...inputs } = dense;
  const sparse = {
    ...inputs,
    masked_positions: hostTensor('int64', BigInt64Array.from(positions, BigInt), [positions.length]),
    masked_labels: hostTensor(
      'int64',
      BigInt64Array.from(positions, (k) => labels[k]!),
      [positions.length],
    ),
  };
  const denseStep = await model.compileTraining({ disableDropout: true, threads: 1 });
  const sparseStep = await model.compileTraining({ disableDropout: true, sparseMlm: true, threads: 1 });
  try {
    const a = await denseStep.run(dense);
    const b = await sparseStep.run(sparse);
    assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `sparse loss ${b.loss} vs dense ${a.loss}`);
    for (const [name, g] of a.grads) {
      const h = b.grads.get(name)!;
      const scale = Math.max(...g.map(Math.abs));
      assert.ok(maxDiff(h, g, name) <= 1e-4 * scale + 1e-7, `${name} gradient`);
    }
    return Math.abs(a.loss - b.loss);
  } finally {
    await denseStep.release();
    await sparseStep.release();
    await model.dispose();
  }
}
