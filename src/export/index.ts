/** ONNX export: inference graphs with standard names, int8 and float16 variants, the transformers.js layout. */
export { exportModel, DEFAULT_EXPORT_OPSET, SUPPORTED_OPSETS } from './export.js';
export type { ExportOptions, ExportResult, ExportedFile } from './export.js';
export { buildExportModel, EXPORT_TASKS } from './build.js';
export type { BuildExportOptions, ExportGraph, ExportTask } from './build.js';
export { ExportError, type ExportErrorCode } from './errors.js';
export { ExportModel, type EncodeOptions, type ModelNode, type TensorInfo } from './model.js';
export { foldConstants } from './fold.js';
export { lowerContribOps } from './lower.js';
export { quantizeDynamicInt8, quantizeWeight, type QuantizeOptions, type QuantizeReport } from './quantize.js';
export { convertWeightsToFloat16 } from './float16.js';
export { ONNX_FILES, SIDE_FILES } from './layout.js';
