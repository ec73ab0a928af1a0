import type { Graph, Node, Value } from '../../onnx/graph.js';
import { ShapeError } from '../../onnx/errors.js';
import { normalizeAxis } from '../../onnx/shape.js';
import { registerGradient } from '../rule.js';
import { allAxes, constantInts } from './util.js';

/** The reduced axes and keepdims flag of a Reduce* node. */
function reduction(g: Graph, node: Node): { axes: number[]; keepdims: boolean } {
  const x = node.inputs[0]!;
  const axesInput = node.inputs[1];
  const attrAxes = node.attributes.axes;
  let axes: number[];
  if (axesInput) axes = constantInts(g, axesInput, node.opType);
  else if (attrAxes?.kind === 'ints') axes = [...attrAxes.value];
  else axes = [];
  const keep = node.attributes.keepdims;
  const keepdims = keep === undefined || (keep.kind === 'int' && keep.value === 1);
  const noop = node.attributes.noop_with_empty_axes;
  if (axes.length === 0 && noop?.kind === 'int' && noop.value === 1) {
    throw new ShapeError(node.opType, 'noop_with_empty_axes is not differentiable here');
  }
  return { axes: axes.length ? axes.map((a) => normalizeAxis(node.opType, a, x.rank, x.shape)) : allAxes(x.rank), keepdims };
}

/** Brings a reduced gradient back to the rank of the input (re-inserting size-1 axes). */
function keepRank(g: Graph, dy: Value, axes: number[], keepdims: boolean): Value {
  return keepdims ? dy : g.unsqueeze(dy, axes);
}

registerGradient('ReduceSum', ({ g, node, inputs, dOutputs }) => {
  const x = inputs[0]!;
  const { axes, keepdims } = reduction(g, node);
  return [g.expandLike(keepRank(g, dOutputs[0]!, axes, keepdims), x)];
});

registerGradient('ReduceMean', ({ g, node, inputs, outputs, dOutputs }) => {
  const x = inputs[0]!;
  const { axes, keepdims } = reduction(g, node);
  const reduced = axes.map((a) => x.shape[a]!);
  let count: Value;
  if (reduced.every((d) => typeof d === 'number')) {
    count = g.scalar(
      (reduced as number[]).reduce((a, b) => a * b, 1),
      x.dtype,
    );
  } else {
    const size = (v: Value) => g.cast(g.node('Size', [v], [{ dtype: 'int64', shape: [] }])[0]!, x.dtype);
    count = g.div(size(x), size(outputs[0]!));
  }
  return [g.expandLike(keepRank(g, g.div(dOutputs[0]!, count), axes, keepdims), x)];
});

registerGradient('ReduceMax', ({ g, node, inputs, outputs, dOutputs }) => {
  const x = inputs[0]!;
  const { axes, keepdims } = reduction(g, node);
  // Ties share the gradient equally (as torch.amax does).
  const y = keepRank(g, outputs[0]!, axes, keepdims);
  const hits = g.cast(g.equal(x, y), x.dtype);
  const share = g.div(keepRank(g, dOutputs[0]!, axes, keepdims), g.reduceSum(hits, axes, true));
  return [g.mul(hits, share)];
});
