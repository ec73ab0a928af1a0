/**
 * float16 weights as a graph pass: float32 initializers with more than one element are stored as
 * float16 (half the bytes) and widened back by a Cast, so inputs, outputs and arithmetic stay
 * float32. CPU kernels for float16 arithmetic are few and slow; ONNX Runtime folds the Casts of
 * constant weights when it loads the model, so the model then runs at float32 speed.
 */
import { attr } from '../onnx/graph.js';
import { floatToHalf } from '../io/safetensors.js';
import type { ExportModel, ModelNode } from './model.js';

/** Converts float32 bits to float16 bits for a whole array (round to nearest even). */
export function toHalfBits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = floatToHalf(x[i]!);
  return out;
}

/** Stores the float32 weights of `m` as float16; returns how many initializers were converted. */
export function convertWeightsToFloat16(m: ExportModel): number {
  const casts: ModelNode[] = [];
  const renamed = new Map<string, string>();
  for (const [name, t] of [...m.initializers]) {
    if (t.dtype !== 'float32' || t.data.length < 2) continue;
    const half = m.fresh(`${name}_fp16`);
    m.initializers.delete(name);
    m.initializers.set(half, { dtype: 'float16', dims: t.dims, data: toHalfBits(t.data as Float32Array) });
    const cast = m.makeNode('Cast', [half], 1, { to: attr.int(1) });
    cast.outputs = [name];
    casts.push(cast);
    renamed.set(name, half);
  }
  m.nodes = [...casts, ...m.nodes];
  return renamed.size;
}
