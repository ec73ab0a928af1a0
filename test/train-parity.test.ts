// The Trainer against an independent PyTorch training loop (tools/make-train-parity.py): same initial
// weights, batches and hyper-parameters, dropout off; the loss of each of the first 20 optimizer
// steps must agree within 1e-3 relative. Covers AdamW with decoupled weight decay (none on biases and
// LayerNorm weights), linear warmup and decay, clipping, gradient accumulation and dynamic padding,
// and the masked-LM head (decoder tied to the word embeddings) with the dense and the sparse loss.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Feature } from '../src/data/index.js';
import type { HostTensor } from '../src/runtime/tensor.js';
import { AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoModelForTokenClassification } from '../src/models/auto.js';
import type { DataCollator } from '../src/train/trainer.js';
import { Trainer } from '../src/train/trainer.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/train-parity/${name}/`, import.meta.url));

interface Expected {
  examples: { input_ids: number[]; labels: number | number[] }[];
  hyperparameters: { batch_size: number; accumulation: number; steps: number; warmup: number; lr: number; weight_decay: number; max_grad_norm: number };
  losses: number[];
  grad_norms: number[];
}

/** Pads pre-masked examples; with `sparse`, only the labelled positions and their labels (as `tuna pretrain` feeds them). */
function maskedLmCollator(sparse: boolean): DataCollator {
  return (features, indices) => {
    const B = indices.length;
    const T = Math.max(...indices.map((i) => features[i]!.inputIds.length));
    const ids = new BigInt64Array(B * T);
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
    const batch: Record<string, HostTensor> = {
      input_ids: { dtype: 'int64', dims: [B, T], data: ids },
      attention_mask: { dtype: 'int64', dims: [B, T], data: mask },
      token_type_ids: { dtype: 'int64', dims: [B, T], data: new BigInt64Array(B * T) },
    };
    if (!sparse) return { ...batch, labels: { dtype: 'int64', dims: [B, T], data: labels } };
    const positions = [...labels.keys()].filter((k) => labels[k]! >= 0n);
    return {
      ...batch,
      masked_positions: { dtype: 'int64', dims: [positions.length], data: BigInt64Array.from(positions, BigInt) },
      masked_labels: { dtype: 'int64', dims: [positions.length], data: BigInt64Array.from(positions, (k) => labels[k]!) },
    };
  };
}

const cases = [
  { name: 'sequence', title: 'sequence classification' },
  { name: 'token', title: 'token classification' },
  { name: 'masked-lm', title: 'masked LM (dense loss)', sparse: false },
  { name: 'masked-lm', title: 'masked LM (sparse loss over masked tokens)', sparse: true },
] as const;

for (const { name, title, ...mlm } of cases) {
  test(`${title}: 20 training losses match PyTorch within 1e-3 relative`, async () => {
    const dir = fixture(name);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
    const hp = expected.hyperparameters;
    const features: Feature[] = expected.examples.map((e, i) => ({
      inputIds: Int32Array.from(e.input_ids),
      tokenTypeIds: new Int32Array(e.input_ids.length),
      labels: typeof e.labels === 'number' ? e.labels : Int32Array.from(e.labels),
      line: i + 1,
    }));
    const load = name === 'sequence' ? AutoModelForSequenceClassification : name === 'token' ? AutoModelForTokenClassification : AutoModelForMaskedLM;
    const sparse = 'sparse' in mlm ? mlm.sparse : undefined;
    const model = await load.fromPretrained(dir, { initMissingWeights: false });
    assert.deepEqual(model.loadReport.missing, []);
    const out = mkdtempSync(join(tmpdir(), 'tuna-parity-'));
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
        ...(sparse === undefined ? {} : { dataCollator: maskedLmCollator(sparse), sparseMlm: sparse }),
      });
      const result = await trainer.train();
      assert.equal(result.globalStep, hp.steps);
      const losses = trainer.logHistory.filter((r) => 'loss' in r).map((r) => r.loss!);
      const norms = trainer.logHistory.filter((r) => 'grad_norm' in r).map((r) => r.grad_norm!);
      assert.equal(losses.length, hp.steps);
      losses.forEach((l, i) => {
        const want = expected.losses[i]!;
        assert.ok(Math.abs(l - want) <= 1e-3 * Math.abs(want), `step ${i + 1}: loss ${l}, PyTorch ${want}`);
      });
      norms.forEach((n, i) => {
        const want = expected.grad_norms[i]!;
        assert.ok(Math.abs(n - want) <= 1e-3 * want + 1e-5, `step ${i + 1}: gradient norm ${n}, PyTorch ${want}`);
      });
    } finally {
      await model.dispose();
      rmSync(out, { recursive: true, force: true });
    }
  });
}
