// The backward pass must not keep forward activations alive just to read their shapes: a gradient
// rule that needs a runtime shape builds it from the graph inputs' shapes, so no Shape node is the
// last reader of an activation (which would hold it in memory until the backward reaches it).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { gradients } from '../src/autograd/backward.js';
import { Graph, type Value } from '../src/onnx/graph.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftModel } from '../src/peft/index.js';
import { Session } from '../src/runtime/session.js';
import type { TrainStep } from '../src/train/step.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/** Shape nodes that read an activation after every other reader of it, as "op <- producer". */
function lateShapeReads(g: Graph): string[] {
  const inputs = new Set<Value>(g.inputs);
  const lastReader = new Map<Value, number>();
  g.nodes.forEach((n, i) => {
    for (const v of n.inputs) if (v) lastReader.set(v, i);
  });
  const late: string[] = [];
  g.nodes.forEach((n, i) => {
    const v = n.inputs[0];
    if (n.opType !== 'Shape' || !v || inputs.has(v)) return;
    if (lastReader.get(v) === i) late.push(`${n.name} <- ${v.producer?.opType ?? '?'} ${v}`);
  });
  return late;
}

test('reshape, expand and broadcast gradients read shapes from the graph inputs, and stay correct', async () => {
  const g = new Graph('train');
  const x = g.input('x', 'float32', ['batch', 'seq', 4]);
  const w = g.input('w', 'float32', [4, 3]);
  const flat = g.reshape(x, ['batch*seq', 4]);
  const y = g.reshape(g.gemm(flat, w), ['batch', 'seq', 3]);
  const scaled = g.mul(y, g.expandLike(g.scalar(2), y));
  const loss = g.reduceMean(g.mul(scaled, scaled), undefined, false);
  const [dw] = gradients(g, loss, [w]);
  g.output(loss, 'loss');
  g.output(dw!, 'dw');
  assert.deepEqual(lateShapeReads(g), []);

  // d/dw mean((2 x w)^2) = 8 xᵀ (x w) / n, checked by hand on a 2 x 3 x 4 batch
  const xs = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i + 1));
  const ws = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i) / 2);
  const session = await Session.create(g, { threads: 1 });
  try {
    const out = await session.run({ x: { dtype: 'float32', dims: [2, 3, 4], data: xs }, w: { dtype: 'float32', dims: [4, 3], data: ws } });
    const want = new Float64Array(12);
    for (let r = 0; r < 6; r++) {
      for (let j = 0; j < 3; j++) {
        let yrj = 0;
        for (let k = 0; k < 4; k++) yrj += xs[r * 4 + k]! * ws[k * 3 + j]!;
        for (let k = 0; k < 4; k++) want[k * 3 + j]! += (8 * xs[r * 4 + k]! * yrj) / 18;
      }
    }
    const got = out.dw!.data as Float32Array;
    for (let i = 0; i < 12; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `dw[${i}] ${got[i]} vs ${want[i]}`);
  } finally {
    await session.release();
  }
});

for (const [family, dir, targets] of [
  ['bert', 'bert/BertForSequenceClassification', ['query', 'value']],
  ['roberta', 'roberta/RobertaForSequenceClassification', ['query', 'value']],
  ['distilbert', 'distilbert/DistilBertForSequenceClassification', ['q_lin', 'v_lin']],
  ['electra', 'electra/ElectraForSequenceClassification', ['query', 'value']],
  ['albert', 'albert/AlbertForSequenceClassification', ['query', 'value']],
  ['ernie', 'ernie/ErnieForSequenceClassification', ['query', 'value']],
  ['deberta-v2', 'deberta-v2/DebertaV2ForSequenceClassification', ['query_proj', 'value_proj']],
] as const) {
  test(`${family}: no activation is kept for a shape in full fine-tuning or LoRA training, and the graphs load`, async () => {
    // all-linear LoRA also checks that the graph loads: chained scales feeding matrix products
    // (LoRA's scaling after GELU's backward in DeBERTa's pooler) once made ONNX Runtime refuse it
    for (const peft of [undefined, [...targets], 'all-linear' as const]) {
      const model = await PreTrainedModel.fromPretrained(join(FIXTURES, dir));
      const trainable = peft ? PeftModel.apply(model, { method: 'lora', lora: { r: 4, targetModules: peft } }).isTrainable : undefined;
      const step: TrainStep = await model.compileTraining({ threads: 1, trainable });
      try {
        assert.deepEqual(lateShapeReads(step.graph), [], `${family} LoRA ${peft ?? 'none'}`);
      } finally {
        await step.release();
      }
    }
  });
}
