import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradCheck, randomArray } from '../src/autograd/gradcheck.js';
import { hostTensor } from '../src/runtime/tensor.js';

test('matmul + add + tanh gradcheck float64', async () => {
  const feeds = {
    x: hostTensor('float64', randomArray('float64', 2 * 3 * 4, 1), [2, 3, 4]),
    w: hostTensor('float64', randomArray('float64', 4 * 5, 2), [4, 5]),
    b: hostTensor('float64', randomArray('float64', 5, 3), [5]),
  };
  const res = await gradCheck((g) => {
    const x = g.input('x', 'float64', [2, 3, 4]);
    const w = g.input('w', 'float64', [4, 5]);
    const b = g.input('b', 'float64', [5]);
    return { output: g.tanh(g.add(g.matMul(x, w), b)), wrt: [x, w, b] };
  }, feeds);
  assert.deepEqual(res.mismatches, []);
  assert.ok(res.checked === 24 + 20 + 5);
});

test('float32 gelu fusedmatmul gradcheck', async () => {
  const feeds = {
    x: hostTensor('float32', randomArray('float32', 2 * 3 * 4, 1), [2, 3, 4]),
    w: hostTensor('float32', randomArray('float32', 4 * 5, 2), [4, 5]),
  };
  const res = await gradCheck((g) => {
    const x = g.input('x', 'float32', [2, 3, 4]);
    const w = g.input('w', 'float32', [4, 5]);
    return { output: g.gelu(g.matMul(x, w)), wrt: [x, w] };
  }, feeds);
  assert.deepEqual(res.mismatches, [], JSON.stringify(res.mismatches.slice(0, 3)));
});
