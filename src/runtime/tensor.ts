import * as ort from 'onnxruntime-node';
import type { DType } from '../onnx/dtype.js';
import type { TensorValues } from '../onnx/graph.js';

/** A tensor in JavaScript memory: a typed array plus its dims, row-major. */
export interface HostTensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

/** Builds a host tensor, checking the element count. */
export function hostTensor(dtype: DType, data: TensorValues, dims: readonly number[]): HostTensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`tensor data has ${data.length} elements, dims [${dims.join(', ')}] need ${size}`);
  return { dtype, dims: [...dims], data };
}

/** Wraps a host tensor for ONNX Runtime without copying its data. */
export function toOrt(t: HostTensor): ort.Tensor {
  const type = t.dtype === 'float16' ? 'float16' : t.dtype;
  return new ort.Tensor(type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}

/** Views an ONNX Runtime tensor as a host tensor (no copy). */
export function fromOrt(t: ort.Tensor): HostTensor {
  return { dtype: t.type as DType, dims: [...t.dims], data: t.data as TensorValues };
}
