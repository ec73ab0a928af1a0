import onnxProto from 'onnx-proto';
import { type ErrorCode, type ErrorDetails, TunaError } from '../errors.js';
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

/**
 * Error raised when bytes are not a readable ONNX model (code `invalid_onnx`), or hold more than
 * tuna reads (code `too_large`).
 */
export class OnnxFormatError extends TunaError {
  override name = 'OnnxFormatError';
  constructor(message: string, details: ErrorDetails & { readonly code?: Extract<ErrorCode, 'invalid_onnx' | 'too_large'> } = {}) {
    super(details.code ?? 'invalid_onnx', message, details);
  }
}

/** The most nodes {@link loadOnnx} reads from one model, those of subgraphs and functions included. */
export const MAX_ONNX_NODES = 500_000;
/** The most attributes, initializers and value infos together {@link loadOnnx} reads from one model. */
export const MAX_ONNX_RECORDS = 4 * MAX_ONNX_NODES;
/** How deep subgraphs (the bodies of If, Loop, Scan) may nest in a model {@link loadOnnx} reads. */
export const MAX_ONNX_SUBGRAPH_DEPTH = 64;
/** How deep protobuf messages of any kind (nested types, groups) may nest in a model {@link loadOnnx} reads. */
export const MAX_ONNX_NESTING = 256;

/** Options of {@link loadOnnx}: lower limits than the defaults (for a service, or tests). */
export interface LoadOnnxOptions {
  /** The most nodes read ({@link MAX_ONNX_NODES} unless given). */
  readonly maxNodes?: number;
  /** How deep subgraphs may nest ({@link MAX_ONNX_SUBGRAPH_DEPTH} unless given). */
  readonly maxSubgraphDepth?: number;
}

/**
 * Decodes the bytes of a `.onnx` file for inspection. The bytes are first measured without building
 * anything (nodes, subgraph nesting), so a model with millions of nodes or subgraphs nested
 * thousands deep is refused with an error naming `source` before it takes memory or stack.
 */
export function loadOnnx(bytes: Uint8Array, source = 'model', opts: LoadOnnxOptions = {}): OnnxModelInfo {
  checkOnnxSize(bytes, source, opts);
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = e instanceof RangeError && /call stack/i.test(e.message) ? 'its messages nest too deeply' : (e as Error).message;
    throw new OnnxFormatError(`${source}: not a valid ONNX model (${why})`, { file: source, cause: e });
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

// ------------------------------------------------------------------ measuring before decoding

/** The messages on the paths that nest (graphs in attributes, types in types) or hold nodes. */
type MessageKind = 'model' | 'training' | 'graph' | 'function' | 'node' | 'attribute' | 'valueInfo' | 'type' | 'sequence' | 'map' | 'optional';

/**
 * How the decoder reads a field: a varint, 4 bytes, a length-delimited run it does not look into,
 * a packed-or-single repeated scalar, or a message of a kind above. Fields not listed are skipped by
 * their wire type. As in the generated decoder, a listed field is read by its schema type whatever
 * its wire type says, so the measure walks the bytes exactly as the decoder will.
 */
type FieldRead = 'varint' | 'fixed32' | 'bytes' | 'packedVarint' | 'packedFixed32' | MessageKind;

/** The fields of onnx.proto (as onnx-proto decodes them) that the measure follows. */
const SCHEMA: Readonly<Record<MessageKind, Readonly<Record<number, FieldRead>>>> = {
  model: { 1: 'varint', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'varint', 6: 'bytes', 7: 'graph', 8: 'bytes', 14: 'bytes', 20: 'training', 25: 'function' },
  training: { 1: 'graph', 2: 'graph', 3: 'bytes', 4: 'bytes' },
  graph: { 1: 'node', 2: 'bytes', 5: 'bytes', 10: 'bytes', 11: 'valueInfo', 12: 'valueInfo', 13: 'valueInfo', 14: 'bytes', 15: 'bytes' },
  function: { 1: 'bytes', 4: 'bytes', 5: 'bytes', 6: 'bytes', 7: 'node', 8: 'bytes', 9: 'bytes', 10: 'bytes' },
  node: { 1: 'bytes', 2: 'bytes', 3: 'bytes', 4: 'bytes', 5: 'attribute', 6: 'bytes', 7: 'bytes' },
  attribute: {
    1: 'bytes',
    2: 'fixed32',
    3: 'varint',
    4: 'bytes',
    5: 'bytes',
    6: 'graph',
    7: 'packedFixed32',
    8: 'packedVarint',
    9: 'bytes',
    10: 'bytes',
    11: 'graph',
    13: 'bytes',
    14: 'type',
    15: 'type',
    20: 'varint',
    21: 'bytes',
    22: 'bytes',
    23: 'bytes',
  },
  valueInfo: { 1: 'bytes', 2: 'type', 3: 'bytes' },
  type: { 1: 'bytes', 4: 'sequence', 5: 'map', 6: 'bytes', 8: 'bytes', 9: 'optional' },
  sequence: { 1: 'type' },
  map: { 1: 'varint', 2: 'type' },
  optional: { 1: 'type' },
};

/** A message being walked (up to `end`), or a protobuf group (ended by its end tag, within `end`). */
interface Frame {
  readonly kind: MessageKind | 'group';
  readonly end: number;
}

/**
 * Walks the protobuf of a model without decoding it, with an explicit stack (no recursion), and
 * refuses one with more nodes, records or nesting than tuna reads, or whose bytes do not parse.
 */
function checkOnnxSize(bytes: Uint8Array, source: string, opts: LoadOnnxOptions): void {
  const maxNodes = opts.maxNodes ?? MAX_ONNX_NODES;
  const maxDepth = opts.maxSubgraphDepth ?? MAX_ONNX_SUBGRAPH_DEPTH;
  let pos = 0;
  const corrupt = () => new OnnxFormatError(`${source}: not a valid ONNX model (the protobuf is truncated or corrupt at byte ${pos})`, { file: source });
  const varint = (): number => {
    let value = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) throw corrupt();
      const b = bytes[pos++]!;
      if (i < 5) value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return value;
    }
    throw corrupt();
  };
  const skip = (n: number) => {
    pos += n;
    if (pos > bytes.length) throw corrupt();
  };
  const stack: Frame[] = [{ kind: 'model', end: bytes.length }];
  let nodes = 0;
  let records = 0;
  let graphDepth = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.kind !== 'group' && pos === top.end) {
      stack.pop();
      if (top.kind === 'graph') graphDepth--;
      continue;
    }
    if (pos >= top.end) throw corrupt();
    const tag = varint();
    const wire = tag & 7;
    const read = top.kind === 'group' ? undefined : SCHEMA[top.kind][Math.floor(tag / 8)];
    if (read === undefined) {
      if (wire === 4 && top.kind === 'group') stack.pop();
      else if (wire === 3) stack.push({ kind: 'group', end: top.end });
      else if (wire === 0) varint();
      else if (wire === 1) skip(8);
      else if (wire === 2) skip(varint());
      else if (wire === 5) skip(4);
      else throw corrupt();
    } else if (read === 'varint' || (read === 'packedVarint' && wire !== 2)) varint();
    else if (read === 'fixed32' || (read === 'packedFixed32' && wire !== 2)) skip(4);
    else if (read === 'bytes' || read === 'packedVarint' || read === 'packedFixed32') skip(varint());
    else {
      const end = varint() + pos;
      if (end > top.end) throw corrupt();
      stack.push({ kind: read, end });
      if (read === 'node' && ++nodes > maxNodes) {
        throw new OnnxFormatError(`${source}: the model has more than ${maxNodes} nodes, more than tuna reads from one model; check that it is the right file`, {
          file: source,
          code: 'too_large',
        });
      }
      if ((read === 'attribute' || read === 'valueInfo') && ++records > MAX_ONNX_RECORDS) {
        throw new OnnxFormatError(`${source}: the model has more than ${MAX_ONNX_RECORDS} attributes and value infos, more than tuna reads from one model`, {
          file: source,
          code: 'too_large',
        });
      }
      if (read === 'graph' && ++graphDepth > maxDepth) {
        throw new OnnxFormatError(`${source}: subgraphs nest more than ${maxDepth} deep, more than tuna reads; the file is corrupt or was built to be`, { file: source });
      }
    }
    if (stack.length > MAX_ONNX_NESTING) {
      throw new OnnxFormatError(`${source}: protobuf messages nest more than ${MAX_ONNX_NESTING} deep, more than tuna reads; the file is corrupt or was built to be`, {
        file: source,
      });
    }
  }
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
