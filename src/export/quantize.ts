/**
 * int8 dynamic quantisation as a graph pass. Every MatMul or Gemm whose right operand is a constant
 * float32 matrix becomes
 *
 *     DynamicQuantizeLinear(x) -> MatMulInteger(x_u8, W_s8, x_zero) -> Cast(float)
 *                              -> Mul(·, x_scale * W_scale) -> Add(bias)
 *
 * with uint8 activations (per tensor, asymmetric, computed at run time) and int8 weights
 * (symmetric, per output channel by default). This is the form ONNX Runtime's optimizer fuses into
 * its MatMulIntegerToFloat / DynamicQuantizeMatMul int8 kernels; MatMuls that read the same
 * activation share one DynamicQuantizeLinear. The `contrib` form emits ONNX Runtime's
 * `com.microsoft` DynamicQuantizeMatMul directly and turns its fused Attention nodes into QAttention
 * (int8 query/key/value projection inside the attention kernel); ONNX Runtime only.
 */
import { attr } from '../onnx/graph.js';
import { transpose } from './fold.js';
import type { ExportModel, ModelNode } from './model.js';

/** Options for {@link quantizeDynamicInt8}. */
export interface QuantizeOptions {
  /** One weight scale per output column (default) or one per matrix. */
  readonly granularity?: 'per-channel' | 'per-tensor';
  /** `standard` ONNX ops (default), or ONNX Runtime's `com.microsoft` DynamicQuantizeMatMul. */
  readonly form?: 'standard' | 'contrib';
  /** Leave the product with this weight initializer in float32 when it returns true. */
  readonly skip?: (weightName: string) => boolean;
  /**
   * Quantise weights to 7 bits, [-63, 63] (default true; ONNX Runtime's `reduce_range`). CPUs
   * without AVX-512 VNNI multiply uint8 activations by int8 weights with `vpmaddubsw`, whose 16-bit
   * pair sums saturate for full-range weights (255 * 127 * 2 > 32767) and give wrong results; with
   * 7-bit weights they cannot. `false` keeps [-127, 127] for models that only run on VNNI or AMX.
   */
  readonly reduceRange?: boolean;
}

/** What {@link quantizeDynamicInt8} changed. */
export interface QuantizeReport {
  /** Matrix products now computed in int8. */
  readonly matmuls: number;
  /** Activation quantisers inserted (fewer than matmuls where activations are shared). */
  readonly activationQuantizers: number;
}

/** A product `x @ W (+ bias)` with a constant float32 weight, as [K, N]. */
interface ConstantProduct {
  readonly activation: string;
  readonly weightName: string;
  readonly weight: Float32Array;
  readonly k: number;
  readonly n: number;
  readonly bias?: string;
}

function intAttr(n: ModelNode, key: string, fallback: number): number {
  const a = n.attributes[key];
  return a?.kind === 'int' ? a.value : fallback;
}

function floatAttr(n: ModelNode, key: string, fallback: number): number {
  const a = n.attributes[key];
  return a?.kind === 'float' ? a.value : fallback;
}

function constantProduct(m: ExportModel, n: ModelNode): ConstantProduct | undefined {
  if (n.domain !== '' || (n.opType !== 'MatMul' && n.opType !== 'Gemm')) return undefined;
  const w = m.initializers.get(n.inputs[1]!);
  if (!w || w.dtype !== 'float32' || w.dims.length !== 2) return undefined;
  if (n.opType === 'MatMul') {
    return { activation: n.inputs[0]!, weightName: n.inputs[1]!, weight: w.data as Float32Array, k: w.dims[0]!, n: w.dims[1]! };
  }
  if (intAttr(n, 'transA', 0) !== 0 || floatAttr(n, 'alpha', 1) !== 1 || floatAttr(n, 'beta', 1) !== 1) return undefined;
  const kn = intAttr(n, 'transB', 0) === 1 ? transpose(w, [1, 0]) : w;
  const bias = n.inputs[2] ? n.inputs[2] : undefined;
  return { activation: n.inputs[0]!, weightName: n.inputs[1]!, weight: kn.data as Float32Array, k: kn.dims[0]!, n: kn.dims[1]!, bias };
}

/**
 * Symmetric int8 quantisation of a [K, N] matrix: values in [-limit, limit] (127 by default, 63
 * for 7-bit weights) and one scale per column (or one in all).
 */
export function quantizeWeight(w: Float32Array, k: number, n: number, perChannel: boolean, limit = 127): { q: Int8Array; scales: Float32Array } {
  const maxAbs = new Float32Array(perChannel ? n : 1);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const v = Math.abs(w[r * n + c]!);
      const i = perChannel ? c : 0;
      if (v > maxAbs[i]!) maxAbs[i] = v;
    }
  }
  const scales = maxAbs.map((a) => (a > 0 ? a / limit : 1));
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < n; c++) {
      const s = scales[perChannel ? c : 0]!;
      q[r * n + c] = Math.max(-limit, Math.min(limit, Math.round(w[r * n + c]! / s)));
    }
  }
  return { q, scales };
}

/** Rewrites the constant-weight products of `m` to int8 (see the module comment). */
export function quantizeDynamicInt8(m: ExportModel, opts: QuantizeOptions = {}): QuantizeReport {
  const perChannel = (opts.granularity ?? 'per-channel') === 'per-channel';
  const limit = (opts.reduceRange ?? true) ? 63 : 127;
  const contrib = opts.form === 'contrib';
  const quantizers = new Map<string, ModelNode>();
  const weights = new Map<string, { q: string; scale: string }>();
  const nodes: ModelNode[] = [];
  let matmuls = 0;
  for (const node of m.nodes) {
    if (contrib && node.domain === 'com.microsoft' && node.opType === 'Attention') {
      const done = quantizeAttention(m, node, perChannel, limit, quantizers, nodes);
      if (done) {
        matmuls++;
        continue;
      }
    }
    const p = constantProduct(m, node);
    if (!p || opts.skip?.(p.weightName)) {
      nodes.push(node);
      continue;
    }
    matmuls++;
    const key = `${p.weightName}:${node.opType}:${intAttr(node, 'transB', 0)}`;
    let w = weights.get(key);
    if (!w) {
      const { q, scales } = quantizeWeight(p.weight, p.k, p.n, perChannel, limit);
      const stem = p.weightName.replace(/^_+/, '');
      w = {
        q: m.addInitializer(`${stem}_quantized`, { dtype: 'int8', dims: [p.k, p.n], data: q }),
        scale: m.addInitializer(`${stem}_scale`, { dtype: 'float32', dims: perChannel ? [p.n] : [], data: scales }),
      };
      weights.set(key, w);
    }
    if (contrib) {
      const fused = m.makeNode('DynamicQuantizeMatMul', [p.activation, w.q, w.scale, '', p.bias ?? ''].slice(0, p.bias ? 5 : 3), 1, {}, 'com.microsoft');
      fused.outputs = [...node.outputs];
      nodes.push(fused);
      continue;
    }
    const dq = quantizerOf(m, p.activation, quantizers, nodes);
    const [xq, xScale, xZero] = dq.outputs as [string, string, string];
    const product = m.makeNode('MatMulInteger', [xq, w.q, xZero], 1);
    const cast = m.makeNode('Cast', [product.outputs[0]!], 1, { to: attr.int(1) });
    const scale = m.makeNode('Mul', [xScale, w.scale], 1);
    const scaled = m.makeNode('Mul', [cast.outputs[0]!, scale.outputs[0]!], 1);
    nodes.push(product, cast, scale, scaled);
    let last = scaled;
    if (p.bias) {
      last = m.makeNode('Add', [scaled.outputs[0]!, p.bias], 1);
      nodes.push(last);
    }
    last.outputs = [...node.outputs];
  }
  m.nodes = nodes;
  m.prune();
  return { matmuls, activationQuantizers: contrib ? 0 : quantizers.size };
}

/** Activation quantiser of `x`, shared between products that read it. */
function quantizerOf(m: ExportModel, x: string, quantizers: Map<string, ModelNode>, nodes: ModelNode[]): ModelNode {
  let dq = quantizers.get(x);
  if (!dq) {
    dq = m.makeNode('DynamicQuantizeLinear', [x], 3);
    quantizers.set(x, dq);
    nodes.push(dq);
  }
  return dq;
}

/** `Attention(x, W, b, mask)` with a constant W [hidden, 3 hidden] becomes DynamicQuantizeLinear + QAttention. */
function quantizeAttention(m: ExportModel, node: ModelNode, perChannel: boolean, limit: number, quantizers: Map<string, ModelNode>, nodes: ModelNode[]): boolean {
  const [x, wName, bias, mask] = node.inputs;
  const w = m.initializers.get(wName ?? '');
  if (!x || !w || w.dtype !== 'float32' || w.dims.length !== 2 || !bias || node.inputs.length > 4) return false;
  const { q, scales } = quantizeWeight(w.data as Float32Array, w.dims[0]!, w.dims[1]!, perChannel, limit);
  const stem = wName!.replace(/^_+/, '');
  const wq = m.addInitializer(`${stem}_quantized`, { dtype: 'int8', dims: [...w.dims], data: q });
  const ws = m.addInitializer(`${stem}_scale`, { dtype: 'float32', dims: perChannel ? [w.dims[1]!] : [], data: scales });
  const dq = quantizerOf(m, x, quantizers, nodes);
  const [xq, xScale, xZero] = dq.outputs as [string, string, string];
  const qa = m.makeNode('QAttention', [xq, wq, bias, xScale, ws, mask ?? '', xZero], 1, { ...node.attributes }, 'com.microsoft');
  qa.outputs = [...node.outputs];
  nodes.push(qa);
  return true;
}
