import onnxProto from 'onnx-proto';
import { type ErrorDetails, TunaError } from '../errors.js';
import { type DType, byteSize, dtypeFromOnnxCode, onnxTypeCode } from './dtype.js';
import { type Attribute, type Graph, MS_DOMAIN, type TensorData, type TensorValues, type Value } from './graph.js';
import type { Dim } from './shape.js';

const { onnx } = onnxProto;

/** ONNX opset versions a serialised tuna graph declares. */
export const DEFAULT_OPSET = 18;
const MS_OPSET = 1;
const IR_VERSION = 8;

/** Options for {@link serializeGraph}. */
export interface SerializeOptions {
  /** Opset of the default ONNX domain (18 unless given). */
  readonly opset?: number;
  readonly producerName?: string;
  readonly docString?: string;
}

/** Encodes a graph as an ONNX ModelProto (the bytes of a `.onnx` file). */
export function serializeGraph(graph: Graph, opts: SerializeOptions = {}): Uint8Array {
  const domains = new Set(graph.nodes.map((n) => n.domain));
  const opsetImport = [{ domain: '', version: opts.opset ?? DEFAULT_OPSET }];
  if (domains.has(MS_DOMAIN)) opsetImport.push({ domain: MS_DOMAIN, version: MS_OPSET });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport,
    producerName: opts.producerName ?? 'tuna',
    docString: opts.docString ?? '',
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: [...graph.initializers].map(([v, t]) => tensorProto(v.name, t)),
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        input: n.inputs.map((v) => (v ? v.name : '')),
        output: n.outputs.map((v) => v.name),
        attribute: Object.entries(n.attributes).map(([name, a]) => attributeProto(name, a)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function valueInfo(v: Value) {
  return valueInfoProto(v.name, v.dtype, v.shape);
}

/** An ONNX ValueInfoProto (as onnx-proto's plain object) for a named tensor of `dtype` and `shape`. */
export function valueInfoProto(name: string, dtype: DType, shape: readonly Dim[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnxTypeCode(dtype),
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** An ONNX TensorProto (as onnx-proto's plain object) holding `t` as raw little-endian bytes. */
export function tensorProto(name: string, t: TensorData) {
  const bytes = t.data as ArrayBufferView;
  return {
    name,
    dataType: onnxTypeCode(t.dtype),
    dims: [...t.dims],
    rawData: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

/** An ONNX AttributeProto (as onnx-proto's plain object) for a tagged attribute. */
export function attributeProto(name: string, a: Attribute) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'tensor':
      return { name, type: T.TENSOR, t: tensorProto('', a.value) };
  }
}

// ------------------------------------------------------------------ reading

/** Type and shape of a graph input or output in a `.onnx` file. */
export interface OnnxValueInfo {
  readonly name: string;
  readonly dtype: DType | `onnx-type-${number}`;
  readonly shape: readonly Dim[];
}

/** One node of a loaded `.onnx` file. */
export interface OnnxNodeInfo {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, Attribute | { kind: 'other'; type: number }>>;
}

/** The contents of a `.onnx` file, as {@link loadOnnx} reads them. */
export interface OnnxModelInfo {
  readonly irVersion: number;
  readonly producerName: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly nodes: readonly OnnxNodeInfo[];
  /** Initializers by name, decoded into typed arrays. */
  readonly initializers: ReadonlyMap<string, TensorData>;
  /** How many nodes of each `domain::opType` (domain empty for the default ONNX domain). */
  opCounts(): Map<string, number>;
}

/** Error raised when bytes are not a readable ONNX model (code `invalid_onnx`). */
export class OnnxFormatError extends TunaError {
  override name = 'OnnxFormatError';
  constructor(message: string, details: ErrorDetails = {}) {
    super('invalid_onnx', message, details);
  }
}

/** Decodes the bytes of a `.onnx` file for inspection. */
export function loadOnnx(bytes: Uint8Array, source = 'model'): OnnxModelInfo {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxFormatError(`${source}: not a valid ONNX model (${(e as Error).message})`, { file: source, cause: e });
  }
  const g = model.graph;
  if (!g) throw new OnnxFormatError(`${source}: the ONNX model has no graph`, { file: source });
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) opsets[o.domain ?? ''] = Number(o.version);
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t, source));
  const nodes: OnnxNodeInfo[] = (g.node ?? []).map((n) => ({
    name: n.name ?? '',
    opType: n.opType ?? '',
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', decodeAttribute(a, source)])),
  }));
  return {
    irVersion: Number(model.irVersion),
    producerName: model.producerName ?? '',
    opsets,
    inputs: (g.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(decodeValueInfo),
    outputs: (g.output ?? []).map(decodeValueInfo),
    nodes,
    initializers,
    opCounts() {
      const counts = new Map<string, number>();
      for (const n of nodes) {
        const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
  };
}

function decodeValueInfo(v: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const tt = v.type?.tensorType;
  const code = tt?.elemType ?? 0;
  let dtype: OnnxValueInfo['dtype'];
  try {
    dtype = dtypeFromOnnxCode(code);
  } catch {
    dtype = `onnx-type-${code}`;
  }
  const shape = (tt?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
  return { name: v.name ?? '', dtype, shape };
}

function decodeAttribute(a: onnxProto.onnx.IAttributeProto, source: string): Attribute | { kind: 'other'; type: number } {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.INT:
      return { kind: 'int', value: Number(a.i) };
    case T.FLOAT:
      return { kind: 'float', value: a.f ?? 0 };
    case T.STRING:
      return { kind: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case T.INTS:
      return { kind: 'ints', value: (a.ints ?? []).map(Number) };
    case T.FLOATS:
      return { kind: 'floats', value: [...(a.floats ?? [])] };
    case T.TENSOR:
      return { kind: 'tensor', value: decodeTensor(a.t!, source) };
    default:
      return { kind: 'other', type: a.type ?? 0 };
  }
}

function decodeTensor(t: onnxProto.onnx.ITensorProto, source: string): TensorData {
  const dtype = dtypeFromOnnxCode(t.dataType ?? 0);
  const dims = (t.dims ?? []).map(Number);
  const size = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxFormatError(`${source}: tensor ${t.name} uses external data, which tuna does not read`, { file: source });
  }
  let data: TensorValues;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== size * byteSize(dtype)) {
      throw new OnnxFormatError(`${source}: tensor ${t.name} has ${t.rawData.length} bytes, expected ${size * byteSize(dtype)}`, { file: source });
    }
    const copy = new Uint8Array(t.rawData).buffer;
    data = typedView(dtype, copy);
  } else {
    data = fromFields(dtype, t);
  }
  return { dtype, dims, data };
}

function typedView(dtype: DType, buf: ArrayBuffer): TensorValues {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'int8':
      return new Int8Array(buf);
    case 'float16':
      return new Uint16Array(buf);
    default:
      return new Uint8Array(buf);
  }
}

function fromFields(dtype: DType, t: onnxProto.onnx.ITensorProto): TensorValues {
  switch (dtype) {
    case 'float32':
      return Float32Array.from(t.floatData ?? []);
    case 'float64':
      return Float64Array.from(t.doubleData ?? []);
    case 'int64':
      return BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v.toString())));
    case 'int32':
      return Int32Array.from(t.int32Data ?? []);
    case 'int8':
      return Int8Array.from(t.int32Data ?? []);
    case 'float16':
      return Uint16Array.from(t.int32Data ?? []);
    default:
      return Uint8Array.from(t.int32Data ?? []);
  }
}
