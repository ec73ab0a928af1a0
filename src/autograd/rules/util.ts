import type { Graph, Node, Value } from '../../onnx/graph.js';
import { ShapeError } from '../../onnx/errors.js';
import { broadcastAxes, sameShape } from '../../onnx/shape.js';

/**
 * Sums a gradient that has the broadcast output's shape back down to the shape of `input`
 * (the adjoint of numpy broadcasting).
 */
export function unbroadcast(g: Graph, grad: Value, input: Value): Value {
  if (sameShape(grad.shape, input.shape)) return grad;
  if (grad.rank < input.rank) {
    throw new ShapeError('unbroadcast', `gradient of rank ${grad.rank} cannot reduce to rank ${input.rank}`, [grad.shape, input.shape]);
  }
  const { axes, prepended } = broadcastAxes(input.shape, grad.shape);
  if (axes.length === 0) return grad;
  let r = g.reduceSum(grad, axes, true);
  if (prepended > 0)
    r = g.squeeze(
      r,
      Array.from({ length: prepended }, (_, i) => i),
    );
  return r;
}

/** The list of all axes of a rank. */
export function allAxes(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/** Reads an int64/int32 constant (an initializer) as numbers; rules need axes and sizes at build time. */
export function constantInts(g: Graph, v: Value, op: string): number[] {
  const t = g.initializers.get(v);
  if (!t || (t.dtype !== 'int64' && t.dtype !== 'int32')) {
    throw new ShapeError(op, `its ${v.name} input must be a constant integer tensor to be differentiated`);
  }
  return Array.from(t.data as BigInt64Array | Int32Array, Number);
}

/** An int attribute of a node, or `fallback` when absent. */
export function intAttribute(node: Node, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a?.kind === 'int' ? a.value : fallback;
}
