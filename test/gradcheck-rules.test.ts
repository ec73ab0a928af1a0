import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Graph, MS_DOMAIN, type Value } from '../src/onnx/graph.js';
import type { DType } from '../src/onnx/dtype.js';
import { gradCheck, randomArray } from '../src/autograd/gradcheck.js';
import { gradients } from '../src/autograd/backward.js';
import { UnsupportedGradientError, differentiableOps } from '../src/autograd/rule.js';
import { Graph as G } from '../src/onnx/graph.js';
import { hostTensor } from '../src/runtime/tensor.js';
import { Session } from '../src/runtime/session.js';

// Finite-difference checks of every gradient rule. float64 wherever ONNX Runtime has float64
// kernels; Erf, com.microsoft Gelu, FusedMatMul and LayerNormalization (whose statistics ONNX
// Runtime keeps in float32 even for float64 inputs) run in float32 with eps 1e-2, atol 2e-3,
// rtol 2e-2 (the gradCheck float32 defaults).

interface Case {
  name: string;
  dtype?: DType;
  inputs: Record<string, number[]>;
  /** Inputs that get no gradient (integer tensors), with their values. */
  ints?: Record<string, { shape: number[]; values: number[] }>;
  positive?: string[];
  /** Finite-difference settings when the default ones do not fit (e.g. a float32 round trip). */
  opts?: { eps: number; atol: number; rtol: number };
  build: (g: Graph, x: Record<string, Value>) => Value;
}

const covered = new Set<string>();
const cases: Case[] = [];
const add = (ops: string[], c: Case) => {
  ops.forEach((o) => covered.add(o));
  cases.push(c);
};

// elementwise, with broadcasting and fan-out
add(['Add'], { name: 'Add bias [H] to [B,S,H]', inputs: { a: [2, 3, 4], b: [4] }, build: (g, x) => g.add(x.a!, x.b!) });
add(['Add'], { name: 'Add mask [B,1,1,S] to [B,h,S,S]', inputs: { a: [2, 2, 3, 3], b: [2, 1, 1, 3] }, build: (g, x) => g.add(x.a!, x.b!) });
add(['Sub'], { name: 'Sub both broadcasting', inputs: { a: [3, 1], b: [1, 4] }, build: (g, x) => g.sub(x.a!, x.b!) });
add(['Mul'], { name: 'Mul fan-out x*x + x', inputs: { a: [3, 4] }, build: (g, x) => g.add(g.mul(x.a!, x.a!), x.a!) });
add(['Mul'], { name: 'Mul scalar operand', inputs: { a: [3, 4], s: [] }, build: (g, x) => g.mul(x.a!, x.s!) });
add(['Div'], { name: 'Div', inputs: { a: [3, 4], b: [4] }, positive: ['b'], build: (g, x) => g.div(x.a!, x.b!) });
add(['Pow'], { name: 'Pow both inputs', inputs: { a: [3, 4], b: [4] }, positive: ['a'], build: (g, x) => g.pow(x.a!, x.b!) });
add(['Neg', 'Identity'], { name: 'Neg and Identity', inputs: { a: [5] }, build: (g, x) => g.identity(g.neg(x.a!)) });
add(['Abs'], { name: 'Abs', inputs: { a: [6] }, build: (g, x) => g.abs(x.a!) });
add(['Sqrt'], { name: 'Sqrt', inputs: { a: [6] }, positive: ['a'], build: (g, x) => g.sqrt(x.a!) });
add(['Exp'], { name: 'Exp', inputs: { a: [6] }, build: (g, x) => g.exp(x.a!) });
add(['Log'], { name: 'Log', inputs: { a: [6] }, positive: ['a'], build: (g, x) => g.log(x.a!) });
add(['Tanh'], { name: 'Tanh', inputs: { a: [6] }, build: (g, x) => g.tanh(x.a!) });
add(['Sigmoid'], { name: 'Sigmoid', inputs: { a: [6] }, build: (g, x) => g.sigmoid(x.a!) });
add(['Relu'], { name: 'Relu', inputs: { a: [8] }, build: (g, x) => g.relu(x.a!) });
add(['Erf'], { name: 'Erf (float32)', dtype: 'float32', inputs: { a: [8] }, build: (g, x) => g.erf(x.a!) });
add([`${MS_DOMAIN}::Gelu`], { name: 'Gelu (float32)', dtype: 'float32', inputs: { a: [2, 8] }, build: (g, x) => g.gelu(g.mul(x.a!, 2)) });
add(['Where'], { name: 'Where with broadcast', inputs: { a: [3, 4], b: [4] }, build: (g, x) => g.where(g.greater(x.a!, 0), x.a!, x.b!) });
add(['Cast'], {
  name: 'Cast float64 -> float32 -> float64',
  inputs: { a: [5] },
  opts: { eps: 1e-2, atol: 1e-4, rtol: 1e-3 },
  build: (g, x) => g.cast(g.mul(g.cast(x.a!, 'float32'), g.scalar(3, 'float32')), 'float64'),
});
add(['Sum'], { name: 'Sum (variadic)', inputs: { a: [3, 4], b: [4] }, build: (g, x) => g.node('Sum', [x.a!, x.b!, x.a!], [{ dtype: 'float64', shape: [3, 4] }])[0]! });
// linear algebra
add(['MatMul'], { name: 'MatMul 2-D', inputs: { a: [3, 4], b: [4, 5] }, build: (g, x) => g.matMul(x.a!, x.b!) });
add(['MatMul'], { name: 'MatMul 3-D x 2-D weight', inputs: { a: [2, 3, 4], b: [4, 5] }, build: (g, x) => g.matMul(x.a!, x.b!) });
add(['MatMul'], { name: 'MatMul batched 4-D with broadcast batch', inputs: { a: [2, 2, 3, 4], b: [1, 2, 4, 3] }, build: (g, x) => g.matMul(x.a!, x.b!) });
for (const [ta, tb] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  add([`${MS_DOMAIN}::FusedMatMul`], {
    name: `FusedMatMul transA=${ta} transB=${tb} alpha=0.5 (float32)`,
    dtype: 'float32',
    inputs: { a: ta ? [2, 4, 3] : [2, 3, 4], b: tb ? [5, 4] : [4, 5] },
    build: (g, x) => g.fusedMatMul(x.a!, x.b!, { transA: ta, transB: tb, alpha: 0.5 }),
  });
}
add(['Gemm'], {
  name: 'Gemm transB alpha beta, bias [N]',
  inputs: { a: [3, 4], b: [5, 4], c: [5] },
  build: (g, x) => g.gemm(x.a!, x.b!, x.c!, { transB: true, alpha: 0.7, beta: 1.3 }),
});
add(['Gemm'], { name: 'Gemm transA, no C', inputs: { a: [4, 3], b: [4, 5] }, build: (g, x) => g.gemm(x.a!, x.b!, undefined, { transA: true }) });
// normalisation and losses
add(['Softmax'], { name: 'Softmax axis -1', inputs: { a: [2, 3, 4] }, build: (g, x) => g.softmax(x.a!, -1) });
add(['Softmax'], { name: 'Softmax axis 1', inputs: { a: [2, 3, 4] }, build: (g, x) => g.softmax(x.a!, 1) });
add(['LogSoftmax'], { name: 'LogSoftmax', inputs: { a: [3, 5] }, build: (g, x) => g.logSoftmax(x.a!, -1) });
add(['LayerNormalization'], {
  name: 'LayerNormalization last axis (float32)',
  dtype: 'float32',
  inputs: { a: [2, 3, 5], w: [5], b: [5] },
  build: (g, x) => g.layerNorm(x.a!, x.w!, x.b!, { epsilon: 1e-5 }).y,
});
add(['LayerNormalization'], {
  name: 'LayerNormalization over two axes, no bias (float32)',
  dtype: 'float32',
  inputs: { a: [2, 3, 4], w: [3, 4] },
  build: (g, x) => g.layerNorm(x.a!, x.w!, undefined, { axis: 1 }).y,
});
for (const reduction of ['mean', 'sum', 'none'] as const) {
  add(['SoftmaxCrossEntropyLoss'], {
    name: `SoftmaxCrossEntropyLoss ${reduction} with ignored rows`,
    inputs: { a: [5, 4] },
    ints: { labels: { shape: [5], values: [1, -100, 3, 0, -100] } },
    build: (g, x) => g.softmaxCrossEntropyLoss(x.a!, x.labels!, { ignoreIndex: -100, reduction }).loss,
  });
}
add(['SoftmaxCrossEntropyLoss'], {
  name: 'SoftmaxCrossEntropyLoss [N,C,d] logits and the log-prob output',
  inputs: { a: [2, 3, 4] },
  ints: { labels: { shape: [2, 4], values: [0, 1, 2, 1, 2, 0, 1, 0] } },
  build: (g, x) => {
    const r = g.softmaxCrossEntropyLoss(x.a!, x.labels!);
    return g.add(r.loss, g.reduceSum(g.mul(r.logProb, 0.1)));
  },
});
// reductions
add(['ReduceSum'], { name: 'ReduceSum axes [0,2] keepdims 0', inputs: { a: [2, 3, 4] }, build: (g, x) => g.reduceSum(x.a!, [0, 2], false) });
add(['ReduceMean'], { name: 'ReduceMean axis 1 keepdims 1', inputs: { a: [2, 3, 4] }, build: (g, x) => g.reduceMean(x.a!, [1], true) });
add(['ReduceMean'], { name: 'ReduceMean all axes', inputs: { a: [2, 3] }, build: (g, x) => g.reduceMean(x.a!) });
add(['ReduceMax'], { name: 'ReduceMax axis -1', inputs: { a: [3, 4] }, build: (g, x) => g.reduceMax(x.a!, [-1], false) });
// shape ops
add(['Reshape'], {
  name: 'Reshape with -1 and 0',
  inputs: { a: [2, 3, 4] },
  build: (g, x) => g.mul(g.reshape(x.a!, [0, -1]), g.constant(randomArray('float64', 24, 3), 'float64', [2, 12])),
});
add(['Transpose'], { name: 'Transpose', inputs: { a: [2, 3, 4] }, build: (g, x) => g.transpose(x.a!, [2, 0, 1]) });
add(['Unsqueeze', 'Squeeze'], { name: 'Unsqueeze then Squeeze', inputs: { a: [3, 4] }, build: (g, x) => g.squeeze(g.mul(g.unsqueeze(x.a!, [0, 2]), 2), [0]) });
add(['Concat'], { name: 'Concat', inputs: { a: [2, 3], b: [2, 2] }, build: (g, x) => g.concat([x.a!, x.b!, x.a!], 1) });
add(['Split'], {
  name: 'Split with an unused piece',
  inputs: { a: [5, 2] },
  build: (g, x) => {
    const [p, , r] = g.split(x.a!, [2, 1, 2], 0);
    return g.mul(p!, r!);
  },
});
add(['Slice'], { name: 'Slice negative start, multiple axes', inputs: { a: [4, 5] }, build: (g, x) => g.slice(x.a!, [1, -3], [3, 5], [0, 1]) });
add(['Slice'], { name: 'Slice to INT64 max', inputs: { a: [4, 5] }, build: (g, x) => g.slice(x.a!, [2], [2 ** 62], [1]) });
add(['Gather'], {
  name: 'Gather axis 0 with repeated indices (embedding)',
  inputs: { a: [5, 3] },
  ints: { idx: { shape: [2, 3], values: [0, 4, 4, 1, 0, 0] } },
  build: (g, x) => g.gather(x.a!, x.idx!, 0),
});
add(['Gather'], {
  name: 'Gather axis 1 with a negative index',
  inputs: { a: [2, 5, 3] },
  ints: { idx: { shape: [3], values: [-1, 2, 2] } },
  build: (g, x) => g.gather(x.a!, x.idx!, 1),
});
add(['Expand'], { name: 'Expand', inputs: { a: [3, 1] }, build: (g, x) => g.expand(x.a!, [2, 3, 4]) });

for (const c of cases) {
  test(`gradient of ${c.name}`, async () => {
    const dtype = c.dtype ?? 'float64';
    const feeds: Record<string, ReturnType<typeof hostTensor>> = {};
    let seed = 11;
    for (const [name, shape] of Object.entries(c.inputs)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = randomArray(dtype, n, seed++);
      if (c.positive?.includes(name)) for (let i = 0; i < n; i++) data[i] = 0.5 + Math.abs(data[i]!);
      // Keep Relu/Abs/Where/Max inputs away from their kinks.
      for (let i = 0; i < n; i++) if (Math.abs(data[i]!) < 0.05) data[i] = 0.3;
      feeds[name] = hostTensor(dtype, data, shape);
    }
    for (const [name, t] of Object.entries(c.ints ?? {})) feeds[name] = hostTensor('int64', BigInt64Array.from(t.values.map(BigInt)), t.shape);
    const res = await gradCheck(
      (g) => {
        const x: Record<string, Value> = {};
        for (const [name, shape] of Object.entries(c.inputs)) x[name] = g.input(name, dtype, shape);
        for (const [name, t] of Object.entries(c.ints ?? {})) x[name] = g.input(name, 'int64', t.shape);
        return { output: c.build(g, x), wrt: Object.keys(c.inputs).map((k) => x[k]!) };
      },
      feeds,
      c.opts,
    );
    assert.deepEqual(res.mismatches, [], `max abs error ${res.maxAbsError}`);
    assert.ok(res.checked > 0);
  });
}

// Rules chained in one graph: each gradient flows through the next rule's.
test('gradient of MatMul, Add and Tanh chained (float64), every element checked', async () => {
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

test('gradient of MatMul then Gelu chained (float32)', async () => {
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

test('every registered gradient rule has a finite-difference case', () => {
  const missing = differentiableOps().filter((op) => !covered.has(op) && op !== 'Dropout' && op !== 'Flatten');
  assert.deepEqual(missing, []);
});

test('an op without a rule fails with a message naming it', () => {
  const g = new G();
  const x = g.input('x', 'float32', [3]);
  const y = g.node('Softsign', [x], [{ dtype: 'float32', shape: [3] }])[0]!;
  assert.throws(
    () => gradients(g, g.reduceSum(y), [x]),
    (e: unknown) => e instanceof UnsupportedGradientError && /Softsign/.test((e as Error).message),
  );
});

test('only the needed gradients are built and unrelated inputs get zeros', async () => {
  const g = new G();
  const a = g.input('a', 'float32', [3, 4]);
  const b = g.input('b', 'float32', [4, 5]);
  const c = g.input('c', 'float32', [2]);
  const before = g.nodes.length;
  const [da, dc] = gradients(g, g.reduceSum(g.matMul(a, b)), [a, c]);
  const products = g.nodes.slice(before).filter((n) => /MatMul/.test(n.opType));
  assert.equal(products.length, 2, 'the forward MatMul plus one for d/da, none for d/db');
  g.output(da!, 'da');
  g.output(dc!, 'dc');
  const s = await Session.create(g, { threads: 1 });
  const out = await s.run({
    a: hostTensor('float32', new Float32Array(12).fill(1), [3, 4]),
    b: hostTensor('float32', new Float32Array(20).fill(2), [4, 5]),
    c: hostTensor('float32', new Float32Array(2).fill(3), [2]),
  });
  assert.deepEqual(Array.from(out.dc!.data as Float32Array), [0, 0]);
  assert.deepEqual(Array.from(out.da!.data as Float32Array), new Array(12).fill(10));
});

test('a gradient graph with a symbolic batch serves several batch sizes', async () => {
  const g = new G();
  const x = g.input('x', 'float64', ['batch', 3]);
  const w = g.input('w', 'float64', [3, 2]);
  const [dw] = gradients(g, g.reduceMean(g.tanh(g.matMul(x, w))), [w]);
  g.output(dw!, 'dw');
  const s = await Session.create(g, { threads: 1 });
  const wv = randomArray('float64', 6, 2);
  for (const batch of [1, 4]) {
    const xv = randomArray('float64', batch * 3, 5 + batch);
    const out = (await s.run({ x: hostTensor('float64', xv, [batch, 3]), w: hostTensor('float64', wv, [3, 2]) })).dw!.data as Float64Array;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        let expected = 0;
        for (let r = 0; r < batch; r++) {
          let z = 0;
          for (let k = 0; k < 3; k++) z += xv[r * 3 + k]! * wv[k * 2 + j]!;
          expected += (xv[r * 3 + i]! * (1 - Math.tanh(z) ** 2)) / (batch * 2);
        }
        assert.ok(Math.abs(out[i * 2 + j]! - expected) < 1e-12, `batch ${batch} dw[${i},${j}]`);
      }
    }
  }
});

test('ONNX Dropout: gradient is dy * mask / (1 - ratio); masks differ per run and repeat per seed', async () => {
  const make = async () => {
    const g = new G();
    const x = g.input('x', 'float32', [400]);
    const { y, mask } = g.dropout(x, 0.25, { seed: 9 });
    const [dx] = gradients(g, g.reduceSum(g.mul(y, g.constant(randomArray('float32', 400, 4), 'float32', [400]))), [x]);
    g.output(mask, 'mask');
    g.output(dx!, 'dx');
    return Session.create(g, { threads: 1 });
  };
  const proj = randomArray('float32', 400, 4);
  const feeds = { x: hostTensor('float32', new Float32Array(400).fill(1), [400]) };
  const s1 = await make();
  const r1 = await s1.run(feeds);
  const r2 = await s1.run(feeds);
  const s2 = await make();
  const r3 = await s2.run(feeds);
  const mask = r1.mask!.data as Uint8Array;
  const dx = r1.dx!.data as Float32Array;
  for (let i = 0; i < 400; i++) assert.ok(Math.abs(dx[i]! - (mask[i] ? proj[i]! / 0.75 : 0)) < 1e-5);
  assert.notDeepEqual(r1.mask!.data, r2.mask!.data);
  assert.deepEqual(r1.mask!.data, r3.mask!.data);
});
