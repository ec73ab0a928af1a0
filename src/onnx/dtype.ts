/** Element types a tuna graph can carry, named as ONNX Runtime's JavaScript API names them. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** ONNX `TensorProto.DataType` codes. */
const ONNX_CODES: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

const FROM_CODE = new Map<number, DType>(Object.entries(ONNX_CODES).map(([k, v]) => [v, k as DType]));

/** The ONNX `TensorProto.DataType` code of a dtype. */
export function onnxTypeCode(dtype: DType): number {
  return ONNX_CODES[dtype];
}

/** The dtype of an ONNX `TensorProto.DataType` code; throws for types tuna does not handle. */
export function dtypeFromOnnxCode(code: number): DType {
  const d = FROM_CODE.get(code);
  if (d === undefined) throw new Error(`ONNX data type code ${code} is not supported by tuna`);
  return d;
}

/** Whether gradients can flow through values of this dtype. */
export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** Bytes per element. */
export function byteSize(dtype: DType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
      return 2;
    default:
      return 1;
  }
}
