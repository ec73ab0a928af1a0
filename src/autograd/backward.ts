import { isFloat } from '../onnx/dtype.js';
import type { Graph, Node, Value } from '../onnx/graph.js';
import { ShapeError } from '../onnx/errors.js';
import { sameShape } from '../onnx/shape.js';
import { type GradContext, UnsupportedGradientError, gradientRule } from './rule.js';
import './rules/index.js';

/** Options for {@link gradients}. */
export interface GradientOptions {
  /** Upstream gradient of `loss`; defaults to ones (a scalar loss gets 1). */
  readonly seed?: Value;
}

/**
 * Reverse-mode differentiation: appends to the graph the ops computing d`loss`/d`x` for every
 * `x` in `wrt`, and returns those gradients in the same order. Only nodes lying on a path from
 * some `wrt` value to `loss` are differentiated; integer tensors and values made by
 * `Graph.detach` get no gradient. A `wrt` value
 * the loss does not depend on gets a zero gradient.
 */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[], opts: GradientOptions = {}): Value[] {
  if (!isFloat(loss.dtype)) throw new ShapeError('gradients', `the loss must be a float tensor, got ${loss.dtype}`);
  const nodes = g.nodes;
  const index = new Map<Node, number>(nodes.map((n, i) => [n, i]));
  const lossEnd = loss.producer ? index.get(loss.producer)! : -1;

  // Values that depend on some wrt value (forward reachability, float only).
  const fromWrt = new Set<Value>(wrt.filter((v) => isFloat(v.dtype)));
  for (let i = 0; i <= lossEnd; i++) {
    const n = nodes[i]!;
    if (n.inputs.some((v) => v && fromWrt.has(v))) for (const o of n.outputs) if (isFloat(o.dtype) && !g.isDetached(o)) fromWrt.add(o);
  }
  // Values the loss depends on through float paths (backward reachability).
  const toLoss = new Set<Value>([loss]);
  for (let i = lossEnd; i >= 0; i--) {
    const n = nodes[i]!;
    if (n.outputs.some((o) => toLoss.has(o))) for (const v of n.inputs) if (v && isFloat(v.dtype)) toLoss.add(v);
  }
  const active = (v: Value | undefined): v is Value => v !== undefined && fromWrt.has(v) && toLoss.has(v);

  const contributions = new Map<Value, Value[]>();
  const addGrad = (v: Value, gv: Value) => {
    if (!sameShape(gv.shape, v.shape) && !(gv.shape.length === v.shape.length)) {
      throw new ShapeError('gradients', `gradient of ${v.name} has the wrong shape`, [v.shape, gv.shape]);
    }
    const list = contributions.get(v);
    if (list) list.push(gv);
    else contributions.set(v, [gv]);
  };
  const total = (v: Value): Value | undefined => {
    const list = contributions.get(v);
    if (!list || list.length === 0) return undefined;
    if (list.length > 1) {
      // A chain of Adds runs faster in ONNX Runtime than one variadic Sum.
      // Contributions all have v's shape; the node is emitted directly because their symbolic
      // dims may be spelled differently (e.g. after a reshape) though equal at run time.
      const sum = list.reduce((a, b) => g.node('Add', [a, b], [{ dtype: v.dtype, shape: v.shape }])[0]!);
      contributions.set(v, [sum]);
      return sum;
    }
    return list[0];
  };

  addGrad(loss, opts.seed ?? (loss.rank === 0 ? g.scalar(1, loss.dtype) : g.expandLike(g.scalar(1, loss.dtype), loss)));

  for (let i = lossEnd; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some(active)) continue;
    const dOutputs = node.outputs.map((o) => (active(o) ? total(o) : undefined));
    if (dOutputs.every((d) => d === undefined)) continue;
    const needed = node.inputs.map((v) => active(v));
    if (!needed.some(Boolean)) continue;
    const rule = gradientRule(node.opType, node.domain);
    if (!rule) throw new UnsupportedGradientError(node.opType, node.domain, node.name);
    const ctx: GradContext = {
      g,
      node,
      inputs: node.inputs,
      outputs: node.outputs,
      dOutputs,
      needs: (k) => needed[k] ?? false,
    };
    const grads = rule(ctx);
    node.inputs.forEach((v, k) => {
      const gv = grads[k];
      if (v && needed[k] && gv) addGrad(v, gv);
    });
  }

  return wrt.map((v) => total(v) ?? g.zerosLike(v));
}
