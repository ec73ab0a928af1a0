import type { Value } from '../../onnx/graph.js';
import { ShapeError } from '../../onnx/errors.js';
import { normalizeAxis } from '../../onnx/shape.js';
import { registerGradient } from '../rule.js';
import { constantInts, intAttribute, invertPerm, unbroadcast } from './util.js';

registerGradient('Reshape', ({ g, inputs, dOutputs }) => [g.reshapeLike(dOutputs[0]!, inputs[0]!), undefined]);
registerGradient('Unsqueeze', ({ g, inputs, dOutputs }) => [g.reshapeLike(dOutputs[0]!, inputs[0]!), undefined]);
registerGradient('Squeeze', ({ g, inputs, dOutputs }) => [g.reshapeLike(dOutputs[0]!, inputs[0]!), undefined]);
registerGradient('Flatten', ({ g, inputs, dOutputs }) => [g.reshapeLike(dOutputs[0]!, inputs[0]!)]);

registerGradient('Transpose', ({ g, node, dOutputs }) => {
  const perm = node.attributes.perm;
  const p = perm?.kind === 'ints' ? perm.value : [...Array(dOutputs[0]!.rank).keys()].reverse();
  return [g.transpose(dOutputs[0]!, invertPerm(p))];
});

registerGradient('Expand', ({ g, inputs, dOutputs }) => [unbroadcast(g, dOutputs[0]!, inputs[0]!), undefined]);

registerGradient('Concat', ({ g, node, inputs, dOutputs, needs }) => {
  const dy = dOutputs[0]!;
  const axis = normalizeAxis('Concat', intAttribute(node, 'axis', 0), dy.rank, dy.shape);
  const xs = inputs as Value[];
  const sizes = xs.every((x) => typeof x.shape[axis] === 'number')
    ? g.ints(xs.map((x) => x.shape[axis] as number))
    : g.concat(
        xs.map((x) => g.dimLike(x, axis)),
        0,
      );
  const parts = g.node(
    'Split',
    [dy, sizes],
    xs.map((x) => ({ dtype: dy.dtype, shape: x.shape })),
    {
      axis: { kind: 'int', value: axis },
    },
  );
  return parts.map((p, i) => (needs(i) ? p : undefined));
});

registerGradient('Split', ({ g, node, inputs, outputs, dOutputs }) => {
  const x = inputs[0]!;
  const axis = normalizeAxis('Split', intAttribute(node, 'axis', 0), x.rank, x.shape);
  const pieces = outputs.map((o, i) => dOutputs[i] ?? g.zerosLike(o));
  return [g.concat(pieces, axis), undefined];
});

registerGradient('Slice', ({ g, node, inputs, outputs, dOutputs }) => {
  const [x, startsV, , axesV, stepsV] = inputs as [Value, Value, Value, Value | undefined, Value | undefined];
  const y = outputs[0]!;
  const starts = constantInts(g, startsV, 'Slice');
  const axes = axesV ? constantInts(g, axesV, 'Slice').map((a) => normalizeAxis('Slice', a, x.rank, x.shape)) : starts.map((_, i) => i);
  const steps = stepsV ? constantInts(g, stepsV, 'Slice') : starts.map(() => 1);
  if (steps.some((s) => s !== 1)) throw new ShapeError('Slice', `gradient supports step 1 only, got steps [${steps.join(', ')}] in ${node.name}`);
  // pads = [begin_0..begin_r-1, end_0..end_r-1], where end = dim(x) - dim(y) - begin.
  const begins: Value[] = [];
  const ends: Value[] = [];
  for (let a = 0; a < x.rank; a++) {
    const k = axes.indexOf(a);
    if (k < 0) {
      begins.push(g.ints([0]));
      ends.push(g.ints([0]));
      continue;
    }
    const dx = x.shape[a]!;
    const dyDim = y.shape[a]!;
    const start = starts[k]!;
    let begin: Value;
    if (typeof dx === 'number') {
      const b = Math.min(Math.max(start < 0 ? start + dx : start, 0), dx);
      begin = g.ints([b]);
      if (typeof dyDim === 'number') {
        begins.push(begin);
        ends.push(g.ints([dx - dyDim - b]));
        continue;
      }
    } else if (start >= 0) {
      begin = g.ints([start]);
    } else {
      begin = g.add(g.dimLike(x, a), g.ints([start]));
    }
    begins.push(begin);
    ends.push(g.sub(g.sub(g.dimLike(x, a), g.dimLike(y, a)), begin));
  }
  const pads = g.concat([...begins, ...ends], 0);
  return [g.pad(dOutputs[0]!, pads, x.shape), undefined, undefined, undefined, undefined];
});

registerGradient('Gather', ({ g, node, inputs, dOutputs }) => {
  const [data, indices] = inputs as [Value, Value];
  const dy = dOutputs[0]!;
  const axis = normalizeAxis('Gather', intAttribute(node, 'axis', 0), data.rank, data.shape);
  let idx = g.cast(indices, 'int64');
  // Negative indices count from the end, as in the forward op.
  idx = g.where(g.less(idx, g.scalar(0, 'int64')), g.add(idx, g.squeeze(g.dimLike(data, axis), [0])), idx);
  const ir = indices.rank;
  if (axis === 0) {
    return [g.scatterNDAdd(g.zerosLike(data), g.unsqueeze(idx, [-1]), dy), undefined];
  }
  // Move the gathered axis to the front, scatter there, and move it back.
  const permData = [axis, ...[...Array(data.rank).keys()].filter((a) => a !== axis)];
  const dataT = g.transpose(data, permData);
  // dy axes: data[:axis], indices dims, data[axis+1:] -> indices dims, data[:axis], data[axis+1:]
  const lead = [...Array(axis).keys()];
  const idxAxes = [...Array(ir).keys()].map((i) => axis + i);
  const trail = [...Array(data.rank - axis - 1).keys()].map((i) => axis + ir + i);
  const dyT = g.transpose(dy, [...idxAxes, ...lead, ...trail]);
  const scattered = g.scatterNDAdd(g.zerosLike(dataT), g.unsqueeze(idx, [-1]), dyT);
  return [g.transpose(scattered, invertPerm(permData)), undefined];
});
