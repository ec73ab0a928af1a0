import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph } from '../src/onnx/graph.js';
import { gradients } from '../src/autograd/backward.js';
import { DropoutMasks, drawPool } from '../src/nn/dropout.js';
import { Session } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';

test('a dropout pool holds scaled Bernoulli values at the requested rate', () => {
  const pool = drawPool(200_000, 0.1, 5);
  const zeros = pool.filter((v) => v === 0).length / pool.length;
  assert.ok(Math.abs(zeros - 0.1) < 0.005, `dropped fraction ${zeros}`);
  assert.ok(pool.every((v) => v === 0 || Math.abs(v - 1 / 0.9) < 1e-6));
  assert.deepEqual(drawPool(1000, 0.3, 9), drawPool(1000, 0.3, 9));
  assert.notDeepEqual(drawPool(1000, 0.3, 9), drawPool(1000, 0.3, 10));
});

async function maskedGraph(seed: number) {
  const g = new Graph();
  const masks = new DropoutMasks(g, seed);
  const x = g.input('x', 'float32', ['batch', 64]);
  const y = masks.apply(x, 0.25);
  const z = masks.apply(g.mul(y, 2), 0.5);
  const [dx] = gradients(g, g.reduceSum(z), [x]);
  g.output(y, 'y');
  g.output(z, 'z');
  g.output(dx!, 'dx');
  return { masks, session: await Session.create(g, { threads: 1 }) };
}

test('pooled dropout: rates, scaling, gradient, fresh masks per run, any batch size', async () => {
  const { masks, session } = await maskedGraph(3);
  assert.equal(masks.siteCount, 2);
  const seen: string[] = [];
  for (const batch of [50, 50, 7]) {
    const x = hostTensor('float32', new Float32Array(batch * 64).fill(1), [batch, 64]);
    const out = await session.run({ x, ...masks.feeds(new Map([['batch', batch]])) });
    const y = out.y!.data as Float32Array;
    const z = out.z!.data as Float32Array;
    const dx = out.dx!.data as Float32Array;
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6));
    if (batch === 50) {
      const dropped = y.filter((v) => v === 0).length / y.length;
      assert.ok(Math.abs(dropped - 0.25) < 0.04, `dropped ${dropped}`);
    }
    // d sum(z)/dx = mask1 * 2 * mask2, and z = x * that product.
    for (let i = 0; i < dx.length; i++) assert.ok(Math.abs(dx[i]! - z[i]!) < 1e-5);
    seen.push(Array.from(y.subarray(0, 64)).join());
  }
  assert.notEqual(seen[0], seen[1], 'masks differ between runs');
  await session.release();
});

test('pooled dropout offsets repeat from the seed and resume from a saved generator state', async () => {
  const dims = new Map([['batch', 10]]);
  const a = new DropoutMasks(new Graph(), 11);
  const b = new DropoutMasks(new Graph(), 11);
  for (const m of [a, b]) {
    const x = m.g.input('x', 'float32', ['batch', 8]);
    m.apply(x, 0.1);
  }
  const first = a.feeds(dims);
  assert.deepEqual(first, b.feeds(dims));
  const saved = a.rngState();
  const next = a.feeds(dims);
  b.setRngState(saved);
  assert.deepEqual(b.feeds(dims), next);
  assert.notDeepEqual(first.dropout_mask_0!.data.byteOffset, next.dropout_mask_0!.data.byteOffset);
});
