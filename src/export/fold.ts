/**
 * Constant folding for export: nodes whose inputs are all initializers and that only move data
 * (Concat, Transpose, Identity) are evaluated here, so that weights a graph assembles from several
 * parameters (the fused query/key/value projection) become single initializers that later passes
 * (quantisation, float16) can rewrite.
 */
import type { TensorData, TensorValues } from '../onnx/graph.js';
import type { ExportModel, ModelNode } from './model.js';

type Folder = (inputs: TensorData[], node: ModelNode) => TensorData | undefined;

const FOLDERS: Record<string, Folder> = {
  Identity: ([x]) => x,
  Concat: (xs, node) => {
    const a = node.attributes.axis;
    return a?.kind === 'int' ? concat(xs, a.value) : undefined;
  },
  Transpose: ([x], node) => {
    const p = node.attributes.perm;
    const perm = p?.kind === 'ints' ? p.value : x!.dims.map((_, i) => x!.dims.length - 1 - i);
    return transpose(x!, perm);
  },
};

/** Evaluates data-movement nodes over initializers, replacing their outputs with initializers. */
export function foldConstants(m: ExportModel): void {
  const graphOutputs = new Set(m.outputs.map((o) => o.name));
  const kept: ModelNode[] = [];
  for (const n of m.nodes) {
    const fold = n.domain === '' ? FOLDERS[n.opType] : undefined;
    const inputs = n.inputs.map((x) => m.initializers.get(x));
    if (!fold || n.outputs.length !== 1 || graphOutputs.has(n.outputs[0]!) || inputs.some((t) => t === undefined)) {
      kept.push(n);
      continue;
    }
    const out = fold(inputs as TensorData[], n);
    if (!out) {
      kept.push(n);
      continue;
    }
    m.initializers.set(n.outputs[0]!, out);
    m.describe(n.outputs[0]!, out.dtype, out.dims);
  }
  m.nodes = kept;
}

function emptyLike(data: TensorValues, n: number): TensorValues {
  return new (data.constructor as new (n: number) => TensorValues)(n);
}

/** Concatenates tensors of one dtype along `axis`. */
export function concat(xs: readonly TensorData[], axis: number): TensorData {
  const first = xs[0]!;
  const rank = first.dims.length;
  const a = axis < 0 ? axis + rank : axis;
  const outer = first.dims.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = first.dims.slice(a + 1).reduce((p, d) => p * d, 1);
  const total = xs.reduce((s, x) => s + x.dims[a]!, 0);
  const out = emptyLike(first.data, outer * total * inner);
  let offset = 0;
  for (const x of xs) {
    const block = x.dims[a]! * inner;
    for (let o = 0; o < outer; o++) {
      const src = (x.data as Float32Array).subarray(o * block, (o + 1) * block);
      (out as Float32Array).set(src, o * total * inner + offset);
    }
    offset += block;
  }
  return { dtype: first.dtype, dims: first.dims.map((d, i) => (i === a ? total : d)), data: out };
}

/** Permutes the axes of a tensor. */
export function transpose(x: TensorData, perm: readonly number[]): TensorData {
  const dims = perm.map((p) => x.dims[p]!);
  const rank = dims.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= x.dims[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const n = dims.reduce((p, d) => p * d, 1);
  const out = emptyLike(x.data, n);
  const src = x.data as Float32Array;
  const dst = out as Float32Array;
  const idx = new Array<number>(rank).fill(0);
  let from = 0;
  for (let i = 0; i < n; i++) {
    dst[i] = src[from]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      from += strides[d]!;
      if (idx[d]! < dims[d]!) break;
      from -= strides[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: x.dtype, dims, data: out };
}
