import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, attr } from '../src/onnx/graph.js';
import { ShapeError } from '../src/onnx/errors.js';
import { OnnxFormatError, loadOnnx, serializeGraph } from '../src/onnx/proto.js';
import { RuntimeError, Session, defaultThreads } from '../src/runtime/session.js';
import { hostTensor } from '../src/runtime/tensor.js';

test('shape errors name the op and both shapes at build time', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(
    () => g.matMul(a, b),
    (e: unknown) => e instanceof ShapeError && /MatMul/.test(String(e)) && /\[2, 3\]/.test(String(e)) && /\[4, 5\]/.test(String(e)),
  );
  assert.throws(() => g.add(a, g.input('c', 'float32', [4])), /Add: cannot broadcast/);
  assert.throws(() => g.add(a, g.input('d', 'float64', [3])), /Add: dtype mismatch/);
  assert.throws(() => g.reshape(a, [4, 2]), /Reshape: cannot reshape 6 elements into 8/);
  assert.throws(() => g.softmax(a, 2), /Softmax: axis 2 is out of range/);
  assert.throws(() => g.transpose(a, [0, 0]), /Transpose: perm/);
  assert.throws(() => g.layerNorm(a, g.input('w', 'float32', [2]), undefined), /LayerNormalization: scale\/bias must have shape \[3\]/);
  const s = g.input('s', 'float32', ['batch', 'seq', 8]);
  assert.throws(() => g.add(s, g.input('t', 'float32', ['other', 'seq', 8])), /cannot broadcast axis 0 \(batch vs other\)/);
});

test('symbolic dims: one session serves several batch sizes and sequence lengths', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['batch', 'seq', 8]);
  const heads = g.reshape(x, ['batch', 'seq', 2, 4]);
  assert.deepEqual(heads.shape, ['batch', 'seq', 2, 4]);
  const rows = g.reshape(x, [-1, 8]);
  assert.deepEqual(rows.shape, ['batch*seq', 8]);
  g.output(g.reduceSum(g.transpose(heads, [0, 2, 1, 3]), [3]), 'y');
  g.output(rows, 'rows');
  const s = await Session.create(g, { threads: 1 });
  for (const [b, t] of [
    [1, 5],
    [3, 17],
  ] as const) {
    const data = Float32Array.from({ length: b * t * 8 }, (_, i) => i);
    const out = await s.run({ x: hostTensor('float32', data, [b, t, 8]) });
    assert.deepEqual(out.y!.dims, [b, 2, t]);
    assert.deepEqual(out.rows!.dims, [b * t, 8]);
    const y = out.y!.data as Float32Array;
    // y[0, 1, 0] = sum of x[0, 0, 4..7]
    assert.equal(y[t], 4 + 5 + 6 + 7);
  }
});

test('serialise then load keeps inputs, outputs, attributes and initializers exactly', async (t) => {
  const g = new Graph('roundtrip');
  const x = g.input('x', 'float32', ['batch', 4]);
  const w = g.constant(Float32Array.from([0.1, -2.5, 3e-8, 7, 1, 2, 3, 4]), 'float32', [4, 2], 'w');
  const d = g.constant([1.5, -0.25], 'float64', [2], 'd');
  const i = g.ints([3, -1, 9007199254740]);
  const b = g.constant([1, 0, 1], 'bool', [3], 'flags');
  void d;
  void i;
  void b;
  const y = g.fusedMatMul(x, w, { alpha: 0.5 });
  const z = g.node('LeakyRelu', [y], [{ dtype: 'float32', shape: y.shape }], { alpha: attr.float(0.25) })[0]!;
  g.output(z, 'out');
  const bytes = serializeGraph(g);
  const dir = await mkdtemp(join(tmpdir(), 'tuna-onnx-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'model.onnx');
  await writeFile(file, bytes);
  const m = loadOnnx(await readFile(file), file);
  assert.deepEqual(m.inputs, [{ name: 'x', dtype: 'float32', shape: ['batch', 4] }]);
  assert.deepEqual(m.outputs, [{ name: 'out', dtype: 'float32', shape: ['batch', 2] }]);
  assert.equal(m.opsets['com.microsoft'], 1);
  assert.equal(m.opCounts().get('com.microsoft::FusedMatMul'), 1);
  const fmm = m.nodes.find((n) => n.opType === 'FusedMatMul')!;
  assert.deepEqual(fmm.attributes.alpha, { kind: 'float', value: 0.5 });
  assert.deepEqual(fmm.attributes.transA, { kind: 'int', value: 0 });
  assert.deepEqual(Array.from(m.initializers.get('w')!.data as Float32Array), Array.from(Float32Array.from([0.1, -2.5, 3e-8, 7, 1, 2, 3, 4])));
  assert.deepEqual(Array.from(m.initializers.get('d')!.data as Float64Array), [1.5, -0.25]);
  assert.deepEqual(Array.from(m.initializers.get('flags')!.data as Uint8Array), [1, 0, 1]);
  const ints = [...m.initializers.values()].find((t) => t.dtype === 'int64')!;
  assert.deepEqual(Array.from(ints.data as BigInt64Array), [3n, -1n, 9007199254740n]);
  const plain = loadOnnx(
    serializeGraph(
      ((): Graph => {
        const h = new Graph();
        h.output(h.relu(h.input('x', 'float32', [2])), 'y');
        return h;
      })(),
    ),
  );
  assert.equal(plain.opsets['com.microsoft'], undefined, 'the contrib domain is imported only when used');
  const s = await Session.create(await readFile(file), { threads: 1 });
  const out = await s.run({ x: hostTensor('float32', Float32Array.from([1, 0, 0, 0]), [1, 4]) });
  assert.deepEqual(Array.from(out.out!.data as Float32Array), [Math.fround(0.05), -0.3125]);
  assert.throws(
    () => loadOnnx(Uint8Array.from([1, 2, 3, 250, 251]), 'junk.onnx'),
    (e: unknown) => e instanceof OnnxFormatError && /junk\.onnx/.test(String(e)),
  );
});

test('sessions write into preallocated outputs and name missing inputs', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  g.output(g.mul(x, 2), 'y');
  g.output(g.reduceSum(x), 'total');
  const s = await Session.create(g, { threads: 1 });
  const buf = new Float32Array(3);
  const out = await s.run({ x: hostTensor('float32', Float32Array.from([1, 2, 3]), [3]) }, { y: hostTensor('float32', buf, [3]), total: null });
  assert.deepEqual(Array.from(buf), [2, 4, 6]);
  assert.equal(out.total!.data[0], 6);
  await assert.rejects(s.run({}), (e: unknown) => e instanceof RuntimeError && /missing input "x"/.test(String(e)));
  const saved = process.env.TUNA_THREADS;
  process.env.TUNA_THREADS = '1';
  assert.equal(defaultThreads(), 1);
  if (saved === undefined) delete process.env.TUNA_THREADS;
  else process.env.TUNA_THREADS = saved;
});

test('a provided value answers a later input of its name, relabelled to the shape asked for', async () => {
  const g = new Graph();
  const raw = g.input('raw', 'float32', ['rows', 'width']);
  g.provide('x', g.mul(g.concat([raw, raw], 0), 2));
  g.provide('unused', raw);
  const x = g.input('x', 'float32', ['batch', 'width']);
  assert.deepEqual(x.shape, ['batch', 'width']);
  // 'batch' is read off the provided value at run time: twice the rows of raw.
  g.output(g.reshape(x, ['batch', 'width']), 'y');
  assert.deepEqual(g.unclaimed(), ['unused']);
  assert.deepEqual(
    g.inputs.map((v) => v.name),
    ['raw'],
  );
  assert.throws(() => {
    g.provide('z', raw);
    g.input('z', 'int64', ['a', 'b']);
  }, /z is provided as float32\[rows, width\], but int64\[a, b\] is asked for/);
  const s = await Session.create(g);
  const out = await s.run({ raw: hostTensor('float32', Float32Array.from([1, 2, 3]), [1, 3]) });
  assert.deepEqual(out.y!.dims, [2, 3]);
  assert.deepEqual(Array.from(out.y!.data as Float32Array), [2, 4, 6, 2, 4, 6]);
  await s.release();
});

test('a scalar times a product by a scalar is one Mul by the folded scalar', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', ['n', 3]);
  const half = g.mul(x, 0.5);
  const y = g.mul(g.scalar(3), half);
  assert.equal(y.producer!.inputs[0], x);
  const z = g.mul(x, x); // not a scale: left alone
  assert.equal(g.mul(z, 2).producer!.inputs[0], z);
  g.output(y, 'y');
  g.output(half, 'half');
  const s = await Session.create(g, { threads: 1 });
  try {
    const out = await s.run({ x: hostTensor('float32', Float32Array.from([1, -2, 3, 0.25, 5, -6]), [2, 3]) });
    assert.deepEqual(Array.from(out.y!.data as Float32Array), [1.5, -3, 4.5, 0.375, 7.5, -9]);
    assert.deepEqual(Array.from(out.half!.data as Float32Array), [0.5, -1, 1.5, 0.125, 2.5, -3]);
  } finally {
    await s.release();
  }
});
