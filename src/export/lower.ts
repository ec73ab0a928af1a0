/**
 * Lowering of ONNX Runtime contrib ops to standard ONNX: the exported model then runs in any ONNX
 * runtime (and in transformers.js) without `com.microsoft` kernels. ONNX Runtime's own optimizer
 * fuses the standard forms back (Erf-GELU into Gelu, Transpose/Mul around MatMul into FusedMatMul)
 * when it loads the model, so nothing is lost where those kernels exist.
 */
import { MS_DOMAIN, attr } from '../onnx/graph.js';
import { ExportError } from './errors.js';
import type { ExportModel, ModelNode } from './model.js';

type Lowering = (m: ExportModel, n: ModelNode, scalar: (v: number) => string) => ModelNode[];

const LOWERINGS: Record<string, Lowering> = {
  // gelu(x) = x * (1 + erf(x / sqrt 2)) / 2, in the order PyTorch exports it.
  Gelu: (m, n, scalar) => {
    const x = n.inputs[0]!;
    const div = m.makeNode('Div', [x, scalar(Math.SQRT2)], 1);
    const erf = m.makeNode('Erf', [div.outputs[0]!], 1);
    const add = m.makeNode('Add', [erf.outputs[0]!, scalar(1)], 1);
    const mul = m.makeNode('Mul', [x, add.outputs[0]!], 1);
    const half = m.makeNode('Mul', [mul.outputs[0]!, scalar(0.5)], 1);
    half.outputs = [...n.outputs];
    return [div, erf, add, mul, half];
  },
  // FusedMatMul(a, b) = alpha * op(a) @ op(b), op transposing the last two axes when asked.
  FusedMatMul: (m, n, scalar) => {
    const out: ModelNode[] = [];
    const operand = (name: string, trans: boolean) => {
      if (!trans) return name;
      const rank = m.rank(name);
      if (rank === undefined) throw new ExportError('unsupported_graph', `cannot lower ${n.name}: the rank of ${name} is unknown`);
      const perm = Array.from({ length: rank }, (_, i) => i);
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
      const t = m.makeNode('Transpose', [name], 1, { perm: attr.ints(perm) });
      out.push(t);
      return t.outputs[0]!;
    };
    const flag = (k: string) => n.attributes[k]?.kind === 'int' && n.attributes[k]!.value === 1;
    const a = operand(n.inputs[0]!, flag('transA'));
    const b = operand(n.inputs[1]!, flag('transB'));
    const alphaAttr = n.attributes.alpha;
    const alpha = alphaAttr?.kind === 'float' ? alphaAttr.value : 1;
    const mm = m.makeNode('MatMul', [a, b], 1);
    out.push(mm);
    if (alpha !== 1) out.push(m.makeNode('Mul', [mm.outputs[0]!, scalar(alpha)], 1));
    out.at(-1)!.outputs = [...n.outputs];
    return out;
  },
};

/**
 * Replaces every `com.microsoft` node by standard ops, except the op types in `keep`; throws for a
 * contrib op without a lowering.
 */
export function lowerContribOps(m: ExportModel, keep: readonly string[] = []): void {
  const scalars = new Map<number, string>();
  const scalar = (v: number) => {
    let name = scalars.get(v);
    if (!name) {
      name = m.addInitializer('const', { dtype: 'float32', dims: [], data: Float32Array.of(v) });
      scalars.set(v, name);
    }
    return name;
  };
  const nodes: ModelNode[] = [];
  for (const n of m.nodes) {
    if (n.domain !== MS_DOMAIN || keep.includes(n.opType)) {
      nodes.push(n);
      continue;
    }
    const lower = LOWERINGS[n.opType];
    if (!lower) throw new ExportError('unsupported_graph', `the graph uses ${MS_DOMAIN}::${n.opType}, which has no standard ONNX form in tuna's exporter`);
    nodes.push(...lower(m, n, scalar));
  }
  m.nodes = nodes;
}
