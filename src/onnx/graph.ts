import { type DType, isFloat, onnxTypeCode } from './dtype.js';
import { ShapeError, formatShape } from './errors.js';
import { type Dim, type Shape, broadcastShapes, isStatic, mulDim, normalizeAxis, staticSize } from './shape.js';

/** Raw tensor contents: a typed array (or plain numbers) laid out row-major. */
export type TensorValues = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Uint16Array;

/** A constant tensor stored in a graph (an ONNX initializer or a tensor attribute). */
export interface TensorData {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorValues;
}

/** A node attribute, tagged with its ONNX attribute type. */
export type Attribute =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'tensor'; readonly value: TensorData };

/** Builders for tagged attributes. */
export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  floats: (value: readonly number[]): Attribute => ({ kind: 'floats', value }),
  tensor: (value: TensorData): Attribute => ({ kind: 'tensor', value }),
};

/** The Microsoft contrib-op domain of ONNX Runtime (FusedMatMul, Gelu, ...). */
export const MS_DOMAIN = 'com.microsoft';

/** A tensor in a graph: a graph input, a constant, or a node output. */
export class Value {
  /** @internal */
  constructor(
    readonly graph: Graph,
    public name: string,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    readonly producer?: Node,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}: ${this.dtype}${formatShape(this.shape)}`;
  }
}

/** One operation of a graph. */
export interface Node {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  /** Inputs in ONNX order; `undefined` marks an omitted optional input. */
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  readonly attributes: Readonly<Record<string, Attribute>>;
}

/** Output type description passed when emitting a node. */
export interface OutputSpec {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** Options for {@link Graph.dropout}. */
export interface DropoutOptions {
  /** Seed of ONNX Runtime's dropout generator; masks differ on every run and repeat for a fresh session with the same seed. */
  readonly seed?: number;
}

/** Options for {@link Graph.softmaxCrossEntropyLoss}. */
export interface CrossEntropyOptions {
  /** Target value whose rows contribute nothing to the loss (Hugging Face uses -100). */
  readonly ignoreIndex?: number;
  readonly reduction?: 'mean' | 'sum' | 'none';
}

type Operand = Value | number;

let graphCounter = 0;

/**
 * An ONNX graph under construction. Every op helper checks dtypes and shapes at build time and
 * throws a {@link ShapeError} naming the op and the offending shapes. Symbolic dims (strings) let
 * one graph serve any batch size or sequence length.
 */
export class Graph {
  readonly id = ++graphCounter;
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly nodes: Node[] = [];
  readonly initializers = new Map<Value, TensorData>();
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly scalarCache = new Map<string, Value>();
  private readonly shapeCache = new Map<Value, Value>();
  private readonly inputShapeCache = new Map<string, Value>();
  private readonly symbolSources = new Map<string, { value: Value; axis: number }>();
  private readonly provided = new Map<string, Value>();
  /** Symbols a provided input reuses for sizes that may differ from their first source's. */
  private readonly relabelled = new Set<string>();
  private readonly detached = new Set<Value>();

  constructor(readonly name = 'tuna') {}

  // ---------------------------------------------------------------- structure

  /**
   * Declares a graph input. String dims are symbolic (bound at run time). A name given to
   * {@link provide} is answered with that value instead, relabelled to `shape`.
   */
  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    const given = this.provided.get(name);
    if (given) {
      if (given.dtype !== dtype || given.rank !== shape.length) {
        throw new ShapeError('input', `${name} is provided as ${given.dtype}${formatShape(given.shape)}, but ${dtype}${formatShape(shape)} is asked for`, [given.shape, shape]);
      }
      this.provided.delete(name);
      const v = this.node('Identity', [given], [{ dtype, shape }])[0]!;
      shape.forEach((d, axis) => {
        if (typeof d !== 'string') return;
        if (this.symbolSources.has(d)) this.relabelled.add(d);
        else this.symbolSources.set(d, { value: v, axis });
      });
      return v;
    }
    const v = new Value(this, this.claimName(name), dtype, [...shape]);
    this.inputs.push(v);
    shape.forEach((d, axis) => {
      if (typeof d === 'string' && !this.symbolSources.has(d)) this.symbolSources.set(d, { value: v, axis });
    });
    return v;
  }

  /**
   * Makes a later `input(name, ...)` return `value` (a tensor computed in front of a model) instead
   * of declaring a graph input: how a graph prepares a model's inputs from its own.
   */
  provide(name: string, value: Value): void {
    this.own(value, 'provide');
    this.provided.set(name, value);
  }

  /**
   * `x` as a value no gradient flows back through (PyTorch's `detach`): an Identity whose output
   * the backward pass treats as a constant.
   */
  detach(x: Value): Value {
    const v = this.identity(x);
    this.detached.add(v);
    return v;
  }

  /** Whether a value was made by {@link detach}. */
  isDetached(v: Value): boolean {
    return this.detached.has(v);
  }

  /** Names given to {@link provide} that no `input` call has asked for yet. */
  unclaimed(): string[] {
    return [...this.provided.keys()];
  }

  /** Marks a value as a graph output under `name` (an Identity is inserted when the value cannot be renamed). */
  output(value: Value, name?: string): Value {
    this.own(value, 'output');
    let out = value;
    if (name !== undefined && name !== value.name) {
      const renamable = value.producer !== undefined && !this.outputs.includes(value) && /^_/.test(value.name) && !this.names.has(name);
      if (renamable) {
        this.names.delete(value.name);
        value.name = this.claimName(name);
      } else {
        out = this.node('Identity', [value], [{ dtype: value.dtype, shape: value.shape }], {}, '', name)[0]!;
      }
    } else if (this.outputs.includes(value) || this.inputs.includes(value)) {
      out = this.node('Identity', [value], [{ dtype: value.dtype, shape: value.shape }])[0]!;
    }
    this.outputs.push(out);
    return out;
  }

  /** Adds a constant tensor (an ONNX initializer). */
  constant(data: TensorValues | readonly number[], dtype: DType, dims: readonly number[], name?: string): Value {
    const size = dims.reduce((a, b) => a * b, 1);
    const values = toTypedArray(data, dtype);
    if (values.length !== size) {
      throw new ShapeError('Constant', `has ${values.length} values but shape ${formatShape(dims)} needs ${size}`);
    }
    const v = new Value(this, this.claimName(name ?? this.fresh('const')), dtype, [...dims]);
    this.initializers.set(v, { dtype, dims: [...dims], data: values });
    return v;
  }

  /** A scalar constant (shape `[]`), shared between uses. */
  scalar(value: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let v = this.scalarCache.get(key);
    if (!v) {
      v = this.constant([value], dtype, []);
      this.scalarCache.set(key, v);
    }
    return v;
  }

  /** A 1-D int64 constant, as used for axes, shapes and slice bounds. */
  ints(values: readonly number[]): Value {
    return this.constant(values, 'int64', [values.length]);
  }

  /**
   * Emits a node. This is the low-level door used by the op helpers and by imported graphs;
   * callers are responsible for the output specs being right.
   */
  node(
    opType: string,
    inputs: readonly (Value | undefined)[],
    outputs: readonly OutputSpec[],
    attributes: Record<string, Attribute> = {},
    domain = '',
    outputName?: string,
  ): Value[] {
    for (const v of inputs) if (v) this.own(v, opType);
    const name = this.fresh(opType);
    const outs: Value[] = [];
    const node: Node = { name, opType, domain, inputs: [...inputs], outputs: outs, attributes };
    outputs.forEach((spec, i) => {
      const outName = i === 0 && outputName !== undefined ? outputName : `_${name}_${i}`;
      outs.push(new Value(this, this.claimName(outName), spec.dtype, [...spec.shape], node));
    });
    this.nodes.push(node);
    return outs;
  }

  /** A unique name with the given stem. */
  fresh(stem: string): string {
    let n = this.counters.get(stem) ?? 0;
    let candidate: string;
    do {
      candidate = `${stem}_${n++}`;
    } while (this.names.has(candidate) || this.names.has(`_${candidate}_0`));
    this.counters.set(stem, n);
    return candidate;
  }

  private claimName(name: string): string {
    if (this.names.has(name)) throw new Error(`Graph ${this.name}: the name "${name}" is already used`);
    this.names.add(name);
    return name;
  }

  private own(v: Value, op: string): void {
    if (v.graph !== this) throw new Error(`${op}: value ${v.name} belongs to another graph`);
  }

  private lift(x: Operand, like: Value): Value {
    return typeof x === 'number' ? this.scalar(x, like.dtype) : x;
  }

  // ---------------------------------------------------------------- shapes at run time

  /** The runtime shape of `x` as a 1-D int64 tensor (one Shape node per value). */
  shapeOf(x: Value): Value {
    let s = this.shapeCache.get(x);
    if (!s) {
      s = this.node('Shape', [x], [{ dtype: 'int64', shape: [x.rank] }])[0]!;
      this.shapeCache.set(x, s);
    }
    return s;
  }

  /**
   * A 1-D int64 tensor holding `dims`, where fixed dims become constants and symbolic ones are read
   * from the graph input that introduced them (or from `like`, whose axes are searched first).
   */
  shapeTensor(dims: readonly Dim[], like?: Value): Value {
    if (isStatic(dims)) return this.ints(dims);
    const pieces: Value[] = [];
    let pending: number[] = [];
    const flush = () => {
      if (pending.length) pieces.push(this.ints(pending));
      pending = [];
    };
    for (const d of dims) {
      if (typeof d === 'number') {
        pending.push(d);
        continue;
      }
      flush();
      pieces.push(this.symbolicDim(d, like));
    }
    flush();
    return pieces.length === 1 ? pieces[0]! : this.concat(pieces, 0);
  }

  /**
   * The runtime shape of `like` as a 1-D int64 tensor, built from constants and the graph inputs
   * its symbolic dims come from when it can be, so that reading the shape of a large activation
   * (e.g. in a gradient) does not keep that activation alive; otherwise a Shape of `like`.
   */
  shapeLike(like: Value): Value {
    if (isStatic(like.shape)) return this.ints(like.shape as number[]);
    if (like.shape.every((d) => typeof d === 'number' || this.fromInputs(d))) {
      const key = like.shape.join(',');
      let s = this.inputShapeCache.get(key);
      if (!s) {
        s = this.shapeTensor(like.shape);
        this.inputShapeCache.set(key, s);
      }
      return s;
    }
    return this.shapeOf(like);
  }

  /** Whether a symbolic dim (or a product of them) is read from a graph input's shape. */
  private fromInputs(d: string): boolean {
    const known = (p: string) => this.symbolSources.has(p) && !this.relabelled.has(p);
    return known(d) || (d.includes('*') && d.split('*').every((p) => /^\d+$/.test(p) || known(p)));
  }

  /** The runtime size of `x` along `axis` as a 1-element int64 tensor (see {@link shapeLike}). */
  dimLike(x: Value, axis: number): Value {
    const d = x.shape[axis]!;
    if (typeof d === 'number') return this.ints([d]);
    return this.fromInputs(d) ? this.symbolicDim(d) : this.gather(this.shapeOf(x), this.ints([axis]), 0);
  }

  private symbolicDim(d: string, like?: Value): Value {
    const fromLike = like ? like.shape.indexOf(d) : -1;
    const src = fromLike >= 0 ? { value: like!, axis: fromLike } : this.symbolSources.get(d);
    if (src) return this.gather(this.shapeOf(src.value), this.ints([src.axis]), 0);
    const parts = d.split('*');
    if (parts.length > 1) {
      return parts.map((p) => (/^\d+$/.test(p) ? this.ints([Number(p)]) : this.symbolicDim(p, like))).reduce((a, b) => this.mul(a, b));
    }
    throw new ShapeError('shape', `symbolic dim "${d}" does not come from any graph input`);
  }

  // ---------------------------------------------------------------- elementwise

  private binary(op: string, a: Operand, b: Operand, outDtype?: DType): Value {
    const av = typeof a === 'number' ? this.lift(a, b as Value) : a;
    const bv = this.lift(b, av);
    if (av.dtype !== bv.dtype) {
      throw new ShapeError(op, `dtype mismatch ${av.dtype} vs ${bv.dtype}`, [av.shape, bv.shape]);
    }
    const shape = broadcastShapes(op, [av.shape, bv.shape]);
    return this.node(op, [av, bv], [{ dtype: outDtype ?? av.dtype, shape }])[0]!;
  }

  private unary(op: string, x: Value, domain = '', floatOnly = true): Value {
    if (floatOnly && !isFloat(x.dtype)) throw new ShapeError(op, `needs a float tensor, got ${x.dtype}`, [x.shape]);
    return this.node(op, [x], [{ dtype: x.dtype, shape: x.shape }], {}, domain)[0]!;
  }

  add(a: Operand, b: Operand): Value {
    return this.binary('Add', a, b);
  }
  sub(a: Operand, b: Operand): Value {
    return this.binary('Sub', a, b);
  }
  /**
   * Multiplies. A scalar times a product by a scalar folds the two scalars into one
   * (`(x * c1) * c2` becomes `x * (c1 * c2)`): ONNX Runtime's MatMulScaleFusion can leave a
   * dangling input when chained scales both feed matrix products.
   */
  mul(a: Operand, b: Operand): Value {
    const [scale, other] = this.scalarValue(b) !== undefined ? [b, a] : [a, b];
    const c2 = this.scalarValue(scale);
    if (c2 !== undefined && typeof other !== 'number') {
      const inner = other.producer;
      if (inner?.opType === 'Mul' && inner.domain === '' && inner.inputs.length === 2) {
        const [p, q] = inner.inputs as [Value, Value];
        const c1 = this.scalarValue(q) ?? this.scalarValue(p);
        const x = this.scalarValue(q) !== undefined ? p : q;
        if (c1 !== undefined && x.rank >= other.rank && this.scalarValue(x) === undefined) return this.binary('Mul', x, this.scalar(c1 * c2, other.dtype));
      }
    }
    return this.binary('Mul', a, b);
  }

  /** The value of a number or of a rank-0 floating-point constant; undefined for anything else. */
  private scalarValue(v: Operand): number | undefined {
    if (typeof v === 'number') return v;
    if (v.rank !== 0 || (v.dtype !== 'float32' && v.dtype !== 'float64')) return undefined;
    const t = this.initializers.get(v);
    return t && t.data.length === 1 ? Number(t.data[0]) : undefined;
  }
  div(a: Operand, b: Operand): Value {
    return this.binary('Div', a, b);
  }
  pow(a: Operand, b: Operand): Value {
    return this.binary('Pow', a, b);
  }
  equal(a: Operand, b: Operand): Value {
    return this.binary('Equal', a, b, 'bool');
  }
  greater(a: Operand, b: Operand): Value {
    return this.binary('Greater', a, b, 'bool');
  }
  less(a: Operand, b: Operand): Value {
    return this.binary('Less', a, b, 'bool');
  }
  neg(x: Value): Value {
    return this.unary('Neg', x, '', false);
  }
  sqrt(x: Value): Value {
    return this.unary('Sqrt', x);
  }
  exp(x: Value): Value {
    return this.unary('Exp', x);
  }
  log(x: Value): Value {
    return this.unary('Log', x);
  }
  tanh(x: Value): Value {
    return this.unary('Tanh', x);
  }
  erf(x: Value): Value {
    return this.unary('Erf', x);
  }
  relu(x: Value): Value {
    return this.unary('Relu', x);
  }
  sigmoid(x: Value): Value {
    return this.unary('Sigmoid', x);
  }
  abs(x: Value): Value {
    return this.unary('Abs', x, '', false);
  }
  not(x: Value): Value {
    if (x.dtype !== 'bool') throw new ShapeError('Not', `needs a bool tensor, got ${x.dtype}`, [x.shape]);
    return this.node('Not', [x], [{ dtype: 'bool', shape: x.shape }])[0]!;
  }
  identity(x: Value): Value {
    return this.node('Identity', [x], [{ dtype: x.dtype, shape: x.shape }])[0]!;
  }

  /** Exact (erf-based) GELU, as ONNX Runtime's fused `com.microsoft` Gelu kernel (float32). */
  gelu(x: Value): Value {
    if (x.dtype !== 'float32') throw new ShapeError('Gelu', `the fused Gelu kernel runs on float32, got ${x.dtype}`, [x.shape]);
    return this.unary('Gelu', x, MS_DOMAIN);
  }

  /** Elementwise select: `cond ? a : b`, broadcasting all three. */
  where(cond: Value, a: Operand, b: Operand): Value {
    if (cond.dtype !== 'bool') throw new ShapeError('Where', `condition must be bool, got ${cond.dtype}`, [cond.shape]);
    const av = typeof a === 'number' ? this.lift(a, b as Value) : a;
    const bv = this.lift(b, av);
    if (av.dtype !== bv.dtype) throw new ShapeError('Where', `dtype mismatch ${av.dtype} vs ${bv.dtype}`, [av.shape, bv.shape]);
    const shape = broadcastShapes('Where', [cond.shape, av.shape, bv.shape]);
    return this.node('Where', [cond, av, bv], [{ dtype: av.dtype, shape }])[0]!;
  }

  cast(x: Value, to: DType): Value {
    if (x.dtype === to) return x;
    return this.node('Cast', [x], [{ dtype: to, shape: x.shape }], { to: attr.int(onnxTypeCode(to)) })[0]!;
  }

  // ---------------------------------------------------------------- linear algebra

  /** numpy-style matrix product with batch broadcasting. */
  matMul(a: Value, b: Value): Value {
    return this.node('MatMul', [a, b], [{ dtype: a.dtype, shape: matMulShape('MatMul', a, b, false, false) }])[0]!;
  }

  /**
   * ONNX Runtime's `com.microsoft` FusedMatMul: `alpha * op(a) @ op(b)` where op transposes the last
   * two axes when asked. Used by the backward pass to avoid explicit transposes.
   */
  fusedMatMul(a: Value, b: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Value {
    if (a.dtype !== 'float32') return this.fallbackMatMul(a, b, opts);
    const shape = matMulShape('FusedMatMul', a, b, !!opts.transA, !!opts.transB);
    return this.node(
      'FusedMatMul',
      [a, b],
      [{ dtype: a.dtype, shape }],
      {
        transA: attr.int(opts.transA ? 1 : 0),
        transB: attr.int(opts.transB ? 1 : 0),
        alpha: attr.float(opts.alpha ?? 1),
      },
      MS_DOMAIN,
    )[0]!;
  }

  private fallbackMatMul(a: Value, b: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number }): Value {
    const t = (x: Value) => this.transpose(x, swapLast(x.rank));
    let y = this.matMul(opts.transA ? t(a) : a, opts.transB ? t(b) : b);
    if (opts.alpha !== undefined && opts.alpha !== 1) y = this.mul(y, opts.alpha);
    return y;
  }

  /** `alpha * op(a) @ op(b) + beta * c` on 2-D operands; `c` broadcasts to the result. */
  gemm(a: Value, b: Value, c?: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    if (a.rank !== 2 || b.rank !== 2) throw new ShapeError('Gemm', 'operands must be 2-D', [a.shape, b.shape]);
    const shape = matMulShape('Gemm', a, b, !!opts.transA, !!opts.transB);
    if (c) broadcastShapes('Gemm', [c.shape, shape]);
    const attributes: Record<string, Attribute> = {};
    if (opts.transA) attributes.transA = attr.int(1);
    if (opts.transB) attributes.transB = attr.int(1);
    if (opts.alpha !== undefined) attributes.alpha = attr.float(opts.alpha);
    if (opts.beta !== undefined) attributes.beta = attr.float(opts.beta);
    return this.node('Gemm', c ? [a, b, c] : [a, b], [{ dtype: a.dtype, shape }], attributes)[0]!;
  }

  // ---------------------------------------------------------------- normalisation and activations

  softmax(x: Value, axis = -1): Value {
    const a = normalizeAxis('Softmax', axis, x.rank, x.shape);
    return this.node('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: attr.int(a) })[0]!;
  }

  logSoftmax(x: Value, axis = -1): Value {
    const a = normalizeAxis('LogSoftmax', axis, x.rank, x.shape);
    return this.node('LogSoftmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: attr.int(a) })[0]!;
  }

  /**
   * Layer normalisation over the axes from `axis` to the end (opset 17). Returns the normalised
   * tensor plus the per-row mean and inverse standard deviation that the backward pass reuses.
   */
  layerNorm(x: Value, weight: Value, bias: Value | undefined, opts: { axis?: number; epsilon?: number } = {}) {
    const axis = normalizeAxis('LayerNormalization', opts.axis ?? -1, x.rank, x.shape);
    const normShape = x.shape.slice(axis);
    for (const p of bias ? [weight, bias] : [weight]) {
      if (p.rank !== normShape.length || p.shape.some((d, i) => d !== normShape[i])) {
        throw new ShapeError('LayerNormalization', `scale/bias must have shape ${formatShape(normShape)}`, [x.shape, p.shape]);
      }
    }
    const statShape = [...x.shape.slice(0, axis), ...normShape.map(() => 1)];
    // ONNX Runtime computes (and returns) the statistics in float32 for every input type.
    const stat: DType = 'float32';
    const [y, mean, invStdDev] = this.node(
      'LayerNormalization',
      bias ? [x, weight, bias] : [x, weight],
      [
        { dtype: x.dtype, shape: x.shape },
        { dtype: stat, shape: statShape },
        { dtype: stat, shape: statShape },
      ],
      { axis: attr.int(axis), epsilon: attr.float(opts.epsilon ?? 1e-5) },
    );
    return { y: y!, mean: mean!, invStdDev: invStdDev! };
  }

  /** Training-mode dropout: returns the output and the boolean keep-mask. A ratio of 0 is the identity. */
  dropout(x: Value, ratio: number, opts: DropoutOptions = {}): { y: Value; mask: Value } {
    if (!(ratio >= 0 && ratio < 1)) throw new ShapeError('Dropout', `ratio must be in [0, 1), got ${ratio}`);
    const attributes: Record<string, Attribute> = {};
    if (opts.seed !== undefined) attributes.seed = attr.int(opts.seed);
    const [y, mask] = this.node(
      'Dropout',
      [x, this.scalar(ratio, x.dtype), this.constant([1], 'bool', [])],
      [
        { dtype: x.dtype, shape: x.shape },
        { dtype: 'bool', shape: x.shape },
      ],
      attributes,
    );
    return { y: y!, mask: mask! };
  }

  /**
   * Softmax cross-entropy between `logits` [N, C] (or [N, C, d...]) and integer `labels` [N] (or
   * [N, d...]); labels equal to `ignoreIndex` contribute nothing and are left out of the mean.
   */
  softmaxCrossEntropyLoss(logits: Value, labels: Value, opts: CrossEntropyOptions = {}): { loss: Value; logProb: Value } {
    if (labels.dtype !== 'int64' && labels.dtype !== 'int32') {
      throw new ShapeError('SoftmaxCrossEntropyLoss', `labels must be int64 or int32, got ${labels.dtype}`, [labels.shape]);
    }
    const expected = [logits.shape[0]!, ...logits.shape.slice(2)];
    if (labels.rank !== expected.length || labels.shape.some((d, i) => d !== expected[i] && d !== 1 && expected[i] !== 1)) {
      throw new ShapeError('SoftmaxCrossEntropyLoss', `labels must have shape ${formatShape(expected)}`, [logits.shape, labels.shape]);
    }
    const reduction = opts.reduction ?? 'mean';
    const attributes: Record<string, Attribute> = { reduction: attr.string(reduction) };
    if (opts.ignoreIndex !== undefined) attributes.ignore_index = attr.int(opts.ignoreIndex);
    const [loss, logProb] = this.node(
      'SoftmaxCrossEntropyLoss',
      [logits, labels],
      [
        { dtype: logits.dtype, shape: reduction === 'none' ? labels.shape : [] },
        { dtype: logits.dtype, shape: logits.shape },
      ],
      attributes,
    );
    return { loss: loss!, logProb: logProb! };
  }

  // ---------------------------------------------------------------- reductions

  private reduce(op: string, x: Value, axes: readonly number[] | undefined, keepdims: boolean): Value {
    const all = axes === undefined || axes.length === 0;
    const norm = all ? x.shape.map((_, i) => i) : axes.map((a) => normalizeAxis(op, a, x.rank, x.shape));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keepdims) shape.push(1);
    });
    const inputs = all ? [x] : [x, this.ints(norm)];
    return this.node(op, inputs, [{ dtype: x.dtype, shape }], { keepdims: attr.int(keepdims ? 1 : 0) })[0]!;
  }

  /** Sum over `axes` (all axes when omitted). */
  reduceSum(x: Value, axes?: readonly number[], keepdims = false): Value {
    return this.reduce('ReduceSum', x, axes, keepdims);
  }
  reduceMean(x: Value, axes?: readonly number[], keepdims = false): Value {
    return this.reduce('ReduceMean', x, axes, keepdims);
  }
  reduceMax(x: Value, axes?: readonly number[], keepdims = false): Value {
    return this.reduce('ReduceMax', x, axes, keepdims);
  }

  // ---------------------------------------------------------------- shape manipulation

  /**
   * Reshapes to `dims`. Each dim is a fixed size, a symbol known to the graph, `0` (keep the
   * input's dim at that position) or `-1` (inferred, at most once).
   */
  reshape(x: Value, dims: readonly Dim[]): Value {
    const out = reshapeShape(x.shape, dims);
    const target = dims.every((d) => typeof d === 'number') ? this.ints(dims as number[]) : this.shapeTensor(dims, x);
    return this.node('Reshape', [x, target], [{ dtype: x.dtype, shape: out }])[0]!;
  }

  /** Reshapes `x` to the runtime shape of `like` (same element count). */
  reshapeLike(x: Value, like: Value): Value {
    const sx = staticSize(x.shape);
    const sl = staticSize(like.shape);
    if (sx !== undefined && sl !== undefined && sx !== sl) {
      throw new ShapeError('Reshape', `cannot reshape ${sx} elements into ${sl}`, [x.shape, like.shape]);
    }
    const target = this.shapeLike(like);
    return this.node('Reshape', [x, target], [{ dtype: x.dtype, shape: like.shape }])[0]!;
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new ShapeError('Transpose', `perm [${perm.join(', ')}] is not a permutation of rank ${x.rank}`, [x.shape]);
    }
    return this.node('Transpose', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }], {
      perm: attr.ints(perm),
    })[0]!;
  }

  unsqueeze(x: Value, axes: readonly number[]): Value {
    const rank = x.rank + axes.length;
    const norm = axes.map((a) => normalizeAxis('Unsqueeze', a, rank, x.shape)).sort((a, b) => a - b);
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[j++]!);
    return this.node('Unsqueeze', [x, this.ints(norm)], [{ dtype: x.dtype, shape }])[0]!;
  }

  squeeze(x: Value, axes: readonly number[]): Value {
    const norm = axes.map((a) => normalizeAxis('Squeeze', a, x.rank, x.shape));
    for (const a of norm) {
      if (x.shape[a] !== 1) throw new ShapeError('Squeeze', `axis ${a} has size ${x.shape[a]}, not 1`, [x.shape]);
    }
    const shape = x.shape.filter((_, i) => !norm.includes(i));
    return this.node('Squeeze', [x, this.ints(norm)], [{ dtype: x.dtype, shape }])[0]!;
  }

  concat(xs: readonly Value[], axis: number): Value {
    if (xs.length === 0) throw new ShapeError('Concat', 'needs at least one input');
    const first = xs[0]!;
    const a = normalizeAxis('Concat', axis, first.rank, first.shape);
    let total: Dim = 0;
    for (const x of xs) {
      if (x.rank !== first.rank || x.dtype !== first.dtype || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
        throw new ShapeError(
          'Concat',
          `inputs must agree on every axis but ${a} and on dtype`,
          xs.map((v) => v.shape),
        );
      }
      const d = x.shape[a]!;
      total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total === 0 ? '' : `${total}+`}${d}`;
    }
    const shape = first.shape.map((d, i) => (i === a ? total : d));
    return this.node('Concat', [...xs], [{ dtype: first.dtype, shape }], { axis: attr.int(a) })[0]!;
  }

  /**
   * Slices `x` along `axes` from `starts` to `ends` (exclusive, clamped like numpy; negative values
   * count from the end) with optional `steps`.
   */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normalizeAxis('Slice', a, x.rank, x.shape));
    if (starts.length !== ax.length || ends.length !== ax.length || (steps && steps.length !== ax.length)) {
      throw new ShapeError('Slice', 'starts, ends, axes and steps must have the same length', [x.shape]);
    }
    const shape = [...x.shape];
    ax.forEach((a, i) => {
      shape[a] = sliceDim(x.shape[a]!, starts[i]!, ends[i]!, steps?.[i] ?? 1);
    });
    const inputs = [x, this.ints(starts), this.ints(ends), this.ints(ax)];
    if (steps) inputs.push(this.ints(steps));
    return this.node('Slice', inputs, [{ dtype: x.dtype, shape }])[0]!;
  }

  /** Splits `x` along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis: number): Value[] {
    const a = normalizeAxis('Split', axis, x.rank, x.shape);
    const d = x.shape[a]!;
    const total = sizes.reduce((s, n) => s + n, 0);
    if (typeof d === 'number' && d !== total) {
      throw new ShapeError('Split', `sizes [${sizes.join(', ')}] add up to ${total}, axis ${a} has ${d}`, [x.shape]);
    }
    const specs = sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((dd, i) => (i === a ? n : dd)) }));
    return this.node('Split', [x, this.ints(sizes)], specs, { axis: attr.int(a) });
  }

  /** Takes entries of `data` along `axis` at integer `indices` (numpy `take`). */
  gather(data: Value, indices: Value, axis = 0): Value {
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32') {
      throw new ShapeError('Gather', `indices must be int64 or int32, got ${indices.dtype}`, [data.shape, indices.shape]);
    }
    const a = normalizeAxis('Gather', axis, data.rank, data.shape);
    const shape = [...data.shape.slice(0, a), ...indices.shape, ...data.shape.slice(a + 1)];
    return this.node('Gather', [data, indices], [{ dtype: data.dtype, shape }], { axis: attr.int(a) })[0]!;
  }

  /** Broadcasts `x` to `dims` (numpy broadcasting rules). */
  expand(x: Value, dims: readonly Dim[], like?: Value): Value {
    const shape = broadcastShapes('Expand', [x.shape, dims]);
    return this.node('Expand', [x, this.shapeTensor(dims, like)], [{ dtype: x.dtype, shape }])[0]!;
  }

  /** Broadcasts `x` to the runtime shape of `like`. */
  expandLike(x: Value, like: Value): Value {
    const shape = broadcastShapes('Expand', [x.shape, like.shape]);
    const target = this.shapeLike(like);
    return this.node('Expand', [x, target], [{ dtype: x.dtype, shape }])[0]!;
  }

  /** A tensor of zeros with the runtime shape and dtype of `like`. */
  zerosLike(like: Value): Value {
    const target = this.shapeLike(like);
    const value: TensorData = { dtype: like.dtype, dims: [1], data: toTypedArray([0], like.dtype) };
    return this.node('ConstantOfShape', [target], [{ dtype: like.dtype, shape: like.shape }], {
      value: attr.tensor(value),
    })[0]!;
  }

  /** Adds `updates` into a copy of `data` at `indices` (ScatterND with reduction "add"). */
  scatterNDAdd(data: Value, indices: Value, updates: Value): Value {
    return this.node('ScatterND', [data, indices, updates], [{ dtype: data.dtype, shape: data.shape }], {
      reduction: attr.string('add'),
    })[0]!;
  }

  /** Pads with zeros; `pads` lists the begin counts of every axis, then the end counts. */
  pad(x: Value, pads: Value, shape: readonly Dim[]): Value {
    return this.node('Pad', [x, pads], [{ dtype: x.dtype, shape }])[0]!;
  }
}

// ------------------------------------------------------------------ helpers

/** Converts plain numbers (or a typed array) into the typed array ONNX stores for `dtype`. */
export function toTypedArray(data: TensorValues | readonly number[], dtype: DType): TensorValues {
  if (!Array.isArray(data)) return data as TensorValues;
  const nums = data as readonly number[];
  switch (dtype) {
    case 'float32':
      return Float32Array.from(nums);
    case 'float64':
      return Float64Array.from(nums);
    case 'int64':
      return BigInt64Array.from(nums.map((n) => BigInt(Math.trunc(n))));
    case 'int32':
      return Int32Array.from(nums);
    case 'int8':
      return Int8Array.from(nums);
    case 'uint8':
    case 'bool':
      return Uint8Array.from(nums.map((n) => (dtype === 'bool' ? (n ? 1 : 0) : n)));
    case 'float16':
      throw new Error('float16 constants must be given as a Uint16Array of raw half-precision bits');
  }
}

function swapLast(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return perm;
}

function matMulShape(op: string, a: Value, b: Value, transA: boolean, transB: boolean): Dim[] {
  if (a.dtype !== b.dtype) throw new ShapeError(op, `dtype mismatch ${a.dtype} vs ${b.dtype}`, [a.shape, b.shape]);
  if (!isFloat(a.dtype)) throw new ShapeError(op, `needs float tensors, got ${a.dtype}`, [a.shape, b.shape]);
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(op, 'operands must have rank 2 or more', [a.shape, b.shape]);
  const [m, k1] = transA ? [a.shape.at(-1)!, a.shape.at(-2)!] : [a.shape.at(-2)!, a.shape.at(-1)!];
  const [k2, n] = transB ? [b.shape.at(-1)!, b.shape.at(-2)!] : [b.shape.at(-2)!, b.shape.at(-1)!];
  if (k1 !== k2) throw new ShapeError(op, `inner dimensions differ (${k1} vs ${k2})`, [a.shape, b.shape]);
  const batch = broadcastShapes(op, [a.shape.slice(0, -2), b.shape.slice(0, -2)]);
  return [...batch, m, n];
}

function reshapeShape(input: Shape, dims: readonly Dim[]): Dim[] {
  const out: Dim[] = dims.map((d, i) => {
    if (d !== 0) return d;
    if (i >= input.length) throw new ShapeError('Reshape', `0 at position ${i} has no input dim to copy`, [input, dims]);
    return input[i]!;
  });
  const inferred = out.indexOf(-1);
  if (out.lastIndexOf(-1) !== inferred) throw new ShapeError('Reshape', 'at most one dim may be -1', [input, dims]);
  const known = out.filter((d) => d !== -1);
  const inSize = staticSize(input);
  const outSize = staticSize(known);
  if (inferred < 0) {
    if (inSize !== undefined && outSize !== undefined && inSize !== outSize) {
      throw new ShapeError('Reshape', `cannot reshape ${inSize} elements into ${outSize}`, [input, dims]);
    }
    return out;
  }
  if (inSize !== undefined && outSize !== undefined) {
    if (outSize === 0 || inSize % outSize !== 0) {
      throw new ShapeError('Reshape', `cannot infer -1: ${inSize} elements are not divisible by ${outSize}`, [input, dims]);
    }
    out[inferred] = inSize / outSize;
    return out;
  }
  // Symbolic: cancel symbols that appear on both sides, divide the fixed parts.
  const remaining = [...input];
  let numer = 1;
  const symbols: string[] = [];
  for (const d of remaining) {
    if (typeof d === 'number') numer *= d;
    else symbols.push(...d.split('*'));
  }
  let denom = 1;
  for (const d of known) {
    if (typeof d === 'number') denom *= d;
    else {
      for (const s of d.split('*')) {
        const j = symbols.indexOf(s);
        if (j < 0) throw new ShapeError('Reshape', `cannot infer -1: symbol ${s} is not in the input shape`, [input, dims]);
        symbols.splice(j, 1);
      }
    }
  }
  if (numer % denom !== 0) throw new ShapeError('Reshape', `cannot infer -1: ${numer} is not divisible by ${denom}`, [input, dims]);
  let dim: Dim = numer / denom;
  for (const s of symbols) dim = mulDim(dim, s);
  out[inferred] = dim;
  return out;
}

function sliceDim(d: Dim, start: number, end: number, step: number): Dim {
  if (step === 0) throw new ShapeError('Slice', 'step must not be 0');
  if (typeof d !== 'number') {
    if (step === 1 && start >= 0 && end >= 0 && end < 2 ** 31 - 1 && start <= end) return end - start;
    if (step === 1 && start === 0 && end >= 2 ** 31 - 1) return d;
    return `${d}[${start}:${end}${step === 1 ? '' : `:${step}`}]`;
  }
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    const s = clamp(start < 0 ? start + d : start, 0, d);
    const e = clamp(end < 0 ? end + d : end, 0, d);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  const s = clamp(start < 0 ? start + d : start, -1, d - 1);
  const e = clamp(end < 0 ? end + d : end, -1, d - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}
