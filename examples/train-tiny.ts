// A tiny end-to-end run of tuna's engine: build a graph, differentiate it, then train a small
// classifier with TrainStep and AdamW. Run with: node --import tsx examples/train-tiny.ts
import { AdamW, ForwardModel, Graph, ParameterStore, Rng, Session, TrainStep, gradients, hostTensor, linear } from '../src/index.js';
import type { BuildContext, Value } from '../src/index.js';

// 1. A graph and its gradient: y = sum(tanh(x @ w)), dy/dw, with a symbolic batch dimension.
const g = new Graph('demo');
const x = g.input('x', 'float32', ['batch', 3]);
const w = g.input('w', 'float32', [3, 2]);
const y = g.reduceSum(g.tanh(g.matMul(x, w)));
const [dw] = gradients(g, y, [w]);
g.output(y, 'y');
g.output(dw!, 'dw');
const session = await Session.create(g);
const out = await session.run({
  x: hostTensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]),
  w: hostTensor('float32', Float32Array.from([0.1, -0.2, 0.3, 0.1, -0.1, 0.2]), [3, 2]),
});
console.log('y =', out.y!.data[0], ' dy/dw =', Array.from(out.dw!.data as Float32Array, (v) => v.toFixed(4)).join(' '));
await session.release();

// 2. Training: a two-layer network learns which quadrants of the plane are labelled 1 (XOR).
const rng = new Rng(1);
const N = 256;
const points = Float32Array.from({ length: 2 * N }, () => rng.next() * 2 - 1);
const labels = BigInt64Array.from({ length: N }, (_, i) => (points[2 * i]! * points[2 * i + 1]! > 0 ? 1n : 0n));
const batch = { points: hostTensor('float32', points, [N, 2]), labels: hostTensor('int64', labels, [N]) };

function network(ctx: BuildContext): Value {
  const g = ctx.scope.g;
  const p = g.input('points', 'float32', ['batch', 2]);
  return linear(ctx, 'out', g.relu(linear(ctx, 'hidden', p, 2, 32)), 32, 2);
}

const store = new ParameterStore(new Rng(42));
const step = await TrainStep.create(
  store,
  (ctx) => {
    const logits = network(ctx);
    const target = ctx.scope.g.input('labels', 'int64', ['batch']);
    return { loss: ctx.scope.g.softmaxCrossEntropyLoss(logits, target).loss };
  },
  { initStd: 0.5 },
);
const opt = new AdamW({ weightDecay: 0.01 });
for (let s = 0; s <= 300; s++) {
  const r = await step.run(batch);
  opt.update(step.trainable, r.grads, 0.02);
  if (s % 100 === 0) console.log(`step ${s}: loss ${r.loss.toFixed(4)}`);
}
await step.release();

const model = await ForwardModel.create(store, (ctx) => ({ logits: network(ctx) }));
const logits = (await model.run({ points: batch.points })).logits!.data as Float32Array;
let correct = 0;
for (let i = 0; i < N; i++) if (BigInt(logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === labels[i]) correct++;
console.log(`training accuracy: ${((100 * correct) / N).toFixed(1)}% (${store.count()} parameters)`);
await model.release();
