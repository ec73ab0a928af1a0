import { MS_DOMAIN, type Value } from '../../onnx/graph.js';
import type { Graph } from '../../onnx/graph.js';
import { registerGradient } from '../rule.js';
import { unbroadcast } from './util.js';

/**
 * Gradient of a (possibly transposed) matrix product with respect to one operand, picking the
 * cheapest form: a 2-D weight shared over a batch of rows becomes one flattened GEMM.
 */
function matMulGrads(g: Graph, a: Value, b: Value, dy: Value, transA: boolean, transB: boolean, alpha: number, need: [boolean, boolean]): [Value | undefined, Value | undefined] {
  let da: Value | undefined;
  let db: Value | undefined;
  if (need[0]) {
    // y = op(a) op(b): d op(a) = dy op(b)^T
    da = transA ? g.fusedMatMul(b, dy, { transA: transB, transB: true, alpha }) : g.fusedMatMul(dy, b, { transB: !transB, alpha });
    if (transA) da = unbroadcast(g, da, a);
    else da = unbroadcast(g, da, a);
  }
  if (need[1]) {
    if (b.rank === 2 && a.rank > 2 && !transA) {
      // Shared 2-D weight: fold the batch axes of a and dy into rows.
      const k = a.shape.at(-1)!;
      const n = dy.shape.at(-1)!;
      const a2 = g.reshape(a, [-1, k]);
      const dy2 = g.reshape(dy, [-1, n]);
      db = transB ? g.fusedMatMul(dy2, a2, { transA: true, alpha }) : g.fusedMatMul(a2, dy2, { transA: true, alpha });
    } else {
      db = transB ? g.fusedMatMul(dy, a, { transA: true, transB: transA, alpha }) : g.fusedMatMul(a, dy, { transA: !transA, alpha });
      db = unbroadcast(g, db, b);
    }
  }
  return [da, db];
}

registerGradient('MatMul', ({ g, inputs, dOutputs, needs }) => {
  const [a, b] = inputs as [Value, Value];
  return matMulGrads(g, a, b, dOutputs[0]!, false, false, 1, [needs(0), needs(1)]);
});

registerGradient(
  'FusedMatMul',
  ({ g, node, inputs, dOutputs, needs }) => {
    const [a, b] = inputs as [Value, Value];
    const at = node.attributes;
    const flag = (n: string) => at[n]?.kind === 'int' && at[n].value === 1;
    const alpha = at.alpha?.kind === 'float' ? at.alpha.value : 1;
    return matMulGrads(g, a, b, dOutputs[0]!, flag('transA'), flag('transB'), alpha, [needs(0), needs(1)]);
  },
  MS_DOMAIN,
);

registerGradient('Gemm', ({ g, node, inputs, dOutputs, needs }) => {
  const [a, b, c] = inputs as [Value, Value, Value | undefined];
  const at = node.attributes;
  const flag = (n: string) => at[n]?.kind === 'int' && at[n].value === 1;
  const alpha = at.alpha?.kind === 'float' ? at.alpha.value : 1;
  const beta = at.beta?.kind === 'float' ? at.beta.value : 1;
  const dy = dOutputs[0]!;
  const [da, db] = matMulGrads(g, a, b, dy, flag('transA'), flag('transB'), alpha, [needs(0), needs(1)]);
  let dc: Value | undefined;
  if (c && needs(2)) {
    dc = unbroadcast(g, beta === 1 ? dy : g.mul(dy, beta), c);
  }
  return [da, db, dc];
});
