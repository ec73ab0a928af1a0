// The PEFT fixture (tools/make-peft-fixtures.py): its directories, what PEFT computed on it, its
// padded batch as tensors, and the logits of a model on that batch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PreTrainedModel } from '../../src/models/pretrained-model.js';
import type { PeftModel } from '../../src/peft/index.js';
import { AdamW } from '../../src/train/adamw.js';
import { type HostTensor, hostTensor } from '../../src/runtime/tensor.js';

export const PEFT_ROOT = join(import.meta.dirname, '..', 'fixtures', 'peft');
export const PEFT_BASE = join(PEFT_ROOT, 'base');

/** One adapter's entry of expected.json. */
export interface ExpectedAdapter {
  readonly logits: number[][];
  readonly merged_logits: number[][];
  readonly train?: { labels: number[]; lr: number; step_losses: number[]; logits_after: number[][] };
}

/** expected.json. */
export const peftExpected = JSON.parse(readFileSync(join(PEFT_ROOT, 'expected.json'), 'utf8')) as {
  texts: string[];
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  base_logits: number[][];
  saved_keys: string[];
  saved_keys_dora: string[];
  adapters: Record<string, ExpectedAdapter>;
  token_adapter: { logits: number[][][]; merged_logits: number[][][] };
};

/** Rows of integers as an int64 tensor. */
export function ints(rows: number[][]): HostTensor {
  return hostTensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
}

/** The fixture's padded batch of texts. */
export const peftBatch = { input_ids: ints(peftExpected.input_ids), attention_mask: ints(peftExpected.attention_mask), token_type_ids: ints(peftExpected.token_type_ids) };

/** The logits [rows][labels] of a sequence classifier on `inputs` (the fixture's batch by default). */
export async function logitsOf(model: PreTrainedModel, inputs: Record<string, HostTensor> = peftBatch): Promise<number[][]> {
  const session = await model.compileInference({ frozen: true });
  try {
    const t = (await session.run(inputs)).logits!;
    const cols = t.dims[1]!;
    return Array.from({ length: t.dims[0]! }, (_, i) => Array.from(t.data.slice(i * cols, (i + 1) * cols) as Float32Array));
  } finally {
    await session.release();
  }
}

/** The largest absolute difference of two matrices of the same shape. */
export function maxDiff(a: number[][], b: number[][]): number {
  let d = 0;
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - b[i]![j]!)))));
  return d;
}

/**
 * The fixture's training run: `steps` AdamW steps (betas 0.9, 0.999, eps 1e-8, no weight decay, no
 * clipping, dropout off) of an adapter's trainable parameters on the batch; the loss of each step.
 */
export async function adamwSteps(peft: PeftModel, train: NonNullable<ExpectedAdapter['train']>, steps = 5): Promise<{ losses: number[]; trainable: string[] }> {
  const step = await peft.model.compileTraining({ disableDropout: true, trainable: peft.isTrainable });
  const opt = new AdamW({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  const labels = hostTensor('int64', BigInt64Array.from(train.labels.map(BigInt)), [train.labels.length]);
  const losses: number[] = [];
  try {
    for (let i = 0; i < steps; i++) {
      const r = await step.run({ ...peftBatch, labels });
      losses.push(r.loss);
      opt.update(step.trainable, r.grads, train.lr, 1);
    }
  } finally {
    await step.release();
  }
  return { losses, trainable: step.trainable.map((p) => p.name) };
}
