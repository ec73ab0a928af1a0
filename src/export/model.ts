/**
 * A mutable ONNX model for export passes: nodes refer to tensors by name (as in the protobuf), so
 * passes can rewire, insert and drop nodes freely before the model is encoded.
 */
import onnxProto from 'onnx-proto';
import type { DType } from '../onnx/dtype.js';
import type { Attribute, Graph, TensorData } from '../onnx/graph.js';
import { MS_DOMAIN } from '../onnx/graph.js';
import { attributeProto, tensorProto, valueInfoProto } from '../onnx/proto.js';
import type { Dim } from '../onnx/shape.js';

const { onnx } = onnxProto;

/** Name, element type and shape of a tensor (graph inputs and outputs, and intermediates where known). */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** One node; `''` in `inputs` marks an omitted optional input. */
export interface ModelNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

/** Options for {@link ExportModel.encode}. */
export interface EncodeOptions {
  /** Opset of the default ONNX domain. */
  readonly opset: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly docString?: string;
}

/** An ONNX model under transformation: nodes in topological order, initializers by name. */
export class ExportModel {
  readonly inputs: TensorInfo[] = [];
  readonly outputs: TensorInfo[] = [];
  nodes: ModelNode[] = [];
  readonly initializers = new Map<string, TensorData>();
  /** Types and shapes of intermediate tensors, where known (passes use the ranks). */
  readonly info = new Map<string, TensorInfo>();
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name = 'tuna') {}

  /** Copies a tuna graph: its inputs, outputs, nodes and initializers, with every value's type and shape. */
  static fromGraph(g: Graph): ExportModel {
    const m = new ExportModel(g.name);
    const note = (v: { name: string; dtype: DType; shape: readonly Dim[] }) => {
      m.used.add(v.name);
      m.info.set(v.name, { name: v.name, dtype: v.dtype, shape: [...v.shape] });
    };
    for (const v of g.inputs) {
      note(v);
      m.inputs.push({ name: v.name, dtype: v.dtype, shape: [...v.shape] });
    }
    for (const [v, t] of g.initializers) {
      note(v);
      m.initializers.set(v.name, t);
    }
    for (const n of g.nodes) {
      n.outputs.forEach(note);
      m.used.add(n.name);
      m.nodes.push({
        name: n.name,
        opType: n.opType,
        domain: n.domain,
        inputs: n.inputs.map((v) => v?.name ?? ''),
        outputs: n.outputs.map((v) => v.name),
        attributes: { ...n.attributes },
      });
    }
    for (const v of g.outputs) m.outputs.push({ name: v.name, dtype: v.dtype, shape: [...v.shape] });
    return m;
  }

  /** A tensor or node name not used yet, starting with `stem`. */
  fresh(stem: string): string {
    let name: string;
    do name = `${stem}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Adds an initializer under a fresh name built from `stem` and returns the name. */
  addInitializer(stem: string, t: TensorData): string {
    const name = this.fresh(stem);
    this.initializers.set(name, t);
    this.info.set(name, { name, dtype: t.dtype, shape: [...t.dims] });
    return name;
  }

  /** Builds a node (not yet placed in {@link nodes}) with fresh output names. */
  makeNode(opType: string, inputs: readonly string[], outputCount: number, attributes: Record<string, Attribute> = {}, domain = ''): ModelNode {
    const name = this.fresh(opType);
    const outputs = Array.from({ length: outputCount }, (_, i) => this.fresh(`${name}_out${i}`));
    return { name, opType, domain, inputs: [...inputs], outputs, attributes };
  }

  /** Records the type and shape of a tensor a pass creates. */
  describe(name: string, dtype: DType, shape: readonly Dim[]): void {
    this.info.set(name, { name, dtype, shape: [...shape] });
  }

  /** Nodes that read tensor `name`. */
  consumers(name: string): ModelNode[] {
    return this.nodes.filter((n) => n.inputs.includes(name));
  }

  /** The node that writes tensor `name`, if any. */
  producer(name: string): ModelNode | undefined {
    return this.nodes.find((n) => n.outputs.includes(name));
  }

  /** Rank of a tensor where known. */
  rank(name: string): number | undefined {
    const t = this.initializers.get(name);
    if (t) return t.dims.length;
    return this.info.get(name)?.shape.length;
  }

  /** Drops nodes whose outputs nobody reads and initializers no node reads. */
  prune(): void {
    const needed = new Set(this.outputs.map((o) => o.name));
    const kept: ModelNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const x of n.inputs) if (x) needed.add(x);
    }
    this.nodes = kept.reverse();
    for (const name of [...this.initializers.keys()]) if (!needed.has(name)) this.initializers.delete(name);
  }

  /** Counts of nodes per `domain::opType` (the default domain without prefix). */
  opCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const n of this.nodes) {
      const key = n.domain ? `${n.domain}::${n.opType}` : n.opType;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  }

  /** Encodes the model as the bytes of a `.onnx` file. */
  encode(opts: EncodeOptions): Uint8Array {
    const opsetImport = [{ domain: '', version: opts.opset }];
    if (this.nodes.some((n) => n.domain === MS_DOMAIN)) opsetImport.push({ domain: MS_DOMAIN, version: 1 });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport,
      producerName: opts.producerName ?? 'tuna',
      producerVersion: opts.producerVersion ?? '',
      docString: opts.docString ?? '',
      graph: {
        name: this.name,
        input: this.inputs.map((v) => valueInfoProto(v.name, v.dtype, v.shape)),
        output: this.outputs.map((v) => valueInfoProto(v.name, v.dtype, v.shape)),
        initializer: [...this.initializers].map(([name, t]) => tensorProto(name, t)),
        node: this.nodes.map((n) => ({
          name: n.name,
          opType: n.opType,
          domain: n.domain,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attributes).map(([name, a]) => attributeProto(name, a)),
        })),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  /** A deep-enough copy for running a variant pass (initializer data shared, never mutated in place). */
  clone(): ExportModel {
    const m = new ExportModel(this.name);
    m.inputs.push(...this.inputs);
    m.outputs.push(...this.outputs);
    m.nodes = this.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attributes: { ...n.attributes } }));
    for (const [k, v] of this.initializers) m.initializers.set(k, v);
    for (const [k, v] of this.info) m.info.set(k, v);
    for (const k of this.used) m.used.add(k);
    m.counter = this.counter;
    return m;
  }
}
