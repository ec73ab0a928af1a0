import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { linear, embedding } from '../src/nn/layers.js';
import { type Parameter, ParameterStore } from '../src/nn/parameters.js';
import { AttentionMask, encoderLayer } from '../src/nn/transformer.js';
import { BERT_LAYER_NAMES } from '../src/models/bert/names.js';
import { TrainStep } from '../src/train/step.js';
import { AdamW } from '../src/train/adamw.js';
import { linearSchedule } from '../src/train/schedule.js';
import { clipCoefficient, globalNorm } from '../src/train/clip.js';
import { hostTensor } from '../src/runtime/tensor.js';

// Fixtures written by tools/make-engine-fixtures.py with PyTorch.
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!);
    assert.ok(err <= atol + rtol * Math.abs(expected[i]!), `${what}[${i}]: ${actual[i]} vs ${expected[i]} (error ${err})`);
  }
}

test('AdamW, gradient clipping and the linear schedule match torch.optim.AdamW step for step', () => {
  const ref = fixture('adamw-reference.json');
  const params: Parameter[] = Object.entries(ref.shapes as Record<string, number[]>).map(([name, shape]) => ({
    name,
    shape,
    data: Float32Array.from(ref.initial[name] as number[]),
    decay: ref.decay[name] as boolean,
  }));
  const opt = new AdamW({ weightDecay: ref.weight_decay });
  const schedule = linearSchedule(ref.lr, ref.warmup, ref.total);
  ref.steps.forEach((s: { grads: Record<string, number[]>; norm: number; lr: number; params: Record<string, number[]> }, i: number) => {
    const grads = new Map(Object.entries(s.grads).map(([k, v]) => [k, Float32Array.from(v)]));
    const norm = globalNorm(grads.values());
    assert.ok(Math.abs(norm - s.norm) <= 1e-5 * s.norm, `step ${i} norm ${norm} vs ${s.norm}`);
    assert.ok(Math.abs(schedule(i) - s.lr) <= 1e-12, `step ${i} lr ${schedule(i)} vs ${s.lr}`);
    opt.update(params, grads, schedule(i), clipCoefficient(norm, ref.max_norm));
    for (const p of params) close(p.data, s.params[p.name]!, 1e-6, 1e-5, `step ${i} ${p.name}`);
  });
});

test('a transformer encoder classifier: loss and every gradient match PyTorch autograd', async () => {
  const ref = fixture('encoder-reference.json');
  const c = ref.config;
  const store = new ParameterStore();
  for (const [name, p] of Object.entries(ref.params as Record<string, { shape: number[]; values: number[] }>)) {
    store.create(name, p.shape, { kind: 'zeros' }).data.set(p.values);
  }
  const cfg = { hidden: c.hidden, heads: c.heads, intermediate: c.intermediate, layerNormEps: 1e-12, hiddenDropout: 0, attentionDropout: 0 };
  const step = await TrainStep.create(
    store,
    (ctx) => {
      const g = ctx.scope.g;
      const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
      const am = g.input('attention_mask', 'int64', ['batch', 'seq']);
      const labels = g.input('labels', 'int64', ['batch']);
      let x = embedding(ctx, 'emb', ids, c.vocab, c.hidden);
      const mask = new AttentionMask(ctx, am);
      for (let l = 0; l < 2; l++) x = encoderLayer(ctx, `encoder.layer.${l}`, x, mask, cfg, BERT_LAYER_NAMES);
      const logits = linear(ctx, 'classifier', g.squeeze(g.slice(x, [0], [1], [1]), [1]), c.hidden, c.classes);
      return { loss: g.softmaxCrossEntropyLoss(logits, labels).loss, fetch: { logits } };
    },
    { session: { threads: 1 } },
  );
  const i64 = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));
  const r = await step.run({
    input_ids: hostTensor('int64', i64(ref.input_ids), [c.batch, c.seq]),
    attention_mask: hostTensor('int64', i64(ref.attention_mask), [c.batch, c.seq]),
    labels: hostTensor('int64', i64(ref.labels), [c.batch]),
  });
  close(r.fetched.logits!.data as Float32Array, ref.logits, 1e-5, 1e-4, 'logits');
  assert.ok(Math.abs(r.loss - ref.loss) <= 1e-5, `loss ${r.loss} vs ${ref.loss}`);
  assert.equal(r.grads.size, Object.keys(ref.grads).length);
  for (const [name, expected] of Object.entries(ref.grads as Record<string, number[]>)) {
    close(r.grads.get(name)!, expected, 1e-5, 1e-3, `grad ${name}`);
  }
  await step.release();
});
