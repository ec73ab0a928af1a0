import { gradients } from '../autograd/backward.js';
import { Graph, type Value, attr } from '../onnx/graph.js';
import type { BuildContext, LayerFactory } from '../nn/layers.js';
import { DropoutMasks } from '../nn/dropout.js';
import { type Parameter, ParameterScope, type ParameterStore } from '../nn/parameters.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensor.js';

/** What a model's training-graph builder returns. */
export interface TrainingOutputs {
  /** The scalar loss to minimise. */
  readonly loss: Value;
  /** Extra tensors to fetch every step (e.g. logits for metrics). */
  readonly fetch?: Readonly<Record<string, Value>>;
}

/** Options for {@link TrainStep.create}. */
export interface TrainStepOptions {
  readonly session?: SessionOptions;
  /** Seed of the dropout streams (each dropout site gets its own seed derived from it). */
  readonly dropoutSeed?: number;
  /** Standard deviation of freshly initialised weights. */
  readonly initStd?: number;
  /**
   * `pooled` (default) cuts masks from seeded pools fed to the graph (fast, resumable; see
   * DropoutMasks); `onnx` uses ONNX Runtime's Dropout op.
   */
  readonly dropout?: 'pooled' | 'onnx';
  /** Only these parameters get gradients (default: all the graph uses). */
  readonly trainable?: (p: Parameter) => boolean;
  /** The layer factory the graph is built with (LoRA, adapters, prompts). */
  readonly layers?: LayerFactory;
}

/** Result of one forward and backward pass. */
export interface StepResult {
  readonly loss: number;
  /** L2 norm of all gradients together (computed inside the graph), for clipping. */
  readonly gradNorm: number;
  /** Gradient of every trainable parameter, by name (buffers reused by the next run). */
  readonly grads: ReadonlyMap<string, Float32Array>;
  readonly fetched: Readonly<Record<string, HostTensor>>;
}

/**
 * A compiled training graph: forward pass, loss and the gradients of every trainable parameter,
 * in one ONNX Runtime session created once and reused for every batch shape.
 */
export class TrainStep {
  private constructor(
    readonly graph: Graph,
    readonly session: Session,
    readonly params: readonly Parameter[],
    readonly trainable: readonly Parameter[],
    /** Graph inputs the caller feeds on every run (everything but parameters and dropout pools). */
    readonly batchInputs: readonly Value[],
    /** The dropout mask source, when dropout is pooled. */
    readonly masks: DropoutMasks | undefined,
    private readonly fetchNames: readonly string[],
  ) {
    this.grads = new Map(trainable.map((p) => [p.name, new Float32Array(p.data.length)]));
    const outputs: Record<string, HostTensor | null> = { loss: null };
    for (const n of fetchNames) outputs[n] = null;
    for (const p of trainable) outputs[gradName(p.name)] = { dtype: 'float32', dims: p.shape, data: this.grads.get(p.name)! };
    if (trainable.length > 0) outputs[GRAD_NORM] = null;
    this.outputs = outputs;
  }

  private readonly grads: Map<string, Float32Array>;
  /** Outputs to fetch: gradients land in preallocated buffers, the rest is allocated per run. */
  private readonly outputs: Readonly<Record<string, HostTensor | null>>;

  /** Builds the forward graph with `build`, differentiates it and opens the session. */
  static async create(store: ParameterStore, build: (ctx: BuildContext) => TrainingOutputs, opts: TrainStepOptions = {}): Promise<TrainStep> {
    const g = new Graph('train');
    const scope = new ParameterScope(g, store);
    let seed = (opts.dropoutSeed ?? 0) * 1000 + 1;
    const masks = opts.dropout === 'onnx' ? undefined : new DropoutMasks(g, opts.dropoutSeed ?? 0);
    const ctx: BuildContext = { scope, training: true, nextSeed: () => seed++, initStd: opts.initStd ?? 0.02, masks, layers: opts.layers };
    const { loss, fetch = {} } = build(ctx);
    const used = scope.used();
    const trainable = used.filter((u) => (opts.trainable ? opts.trainable(u.param) : true));
    const grads = gradients(
      g,
      loss,
      trainable.map((u) => u.value),
    );
    g.output(loss, 'loss');
    for (const [name, v] of Object.entries(fetch)) g.output(v, name);
    trainable.forEach((u, i) => g.output(grads[i]!, gradName(u.param.name)));
    if (grads.length > 0) g.output(globalNormOf(g, grads), GRAD_NORM);
    const paramNames = new Set(used.map((u) => u.param.name));
    const batchInputs = g.inputs.filter((v) => !paramNames.has(v.name) && !v.name.startsWith('dropout_'));
    const session = await Session.create(g, { memoryPattern: false, ...opts.session });
    return new TrainStep(
      g,
      session,
      used.map((u) => u.param),
      trainable.map((u) => u.param),
      batchInputs,
      masks,
      Object.keys(fetch),
    );
  }

  /** Runs forward and backward on one batch (a tensor for every non-parameter graph input). */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<StepResult> {
    const feeds: Record<string, HostTensor> = { ...batch };
    if (this.masks) Object.assign(feeds, this.masks.feeds(this.symbolSizes(batch)));
    for (const p of this.params) feeds[p.name] = { dtype: 'float32', dims: p.shape, data: p.data };
    const result = await this.session.run(feeds, this.outputs);
    const fetched: Record<string, HostTensor> = {};
    for (const n of this.fetchNames) fetched[n] = result[n]!;
    const gradNorm = result[GRAD_NORM] ? Number(result[GRAD_NORM].data[0]) : 0;
    return { loss: Number(result.loss!.data[0]), gradNorm, grads: this.grads, fetched };
  }

  /** Binds every symbolic dim of the batch inputs to its size in this batch. */
  private symbolSizes(batch: Readonly<Record<string, HostTensor>>): Map<string, number> {
    const sizes = new Map<string, number>();
    for (const v of this.batchInputs) {
      const t = batch[v.name];
      if (!t) throw new Error(`the batch has no "${v.name}" (the training graph takes ${this.batchInputs.map((b) => b.name).join(', ')})`);
      v.shape.forEach((d, axis) => {
        if (typeof d === 'string') sizes.set(d, t.dims[axis]!);
      });
    }
    return sizes;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

const GRAD_NORM = 'grad_norm';

/** sqrt(sum of squares of every gradient), one ReduceSumSquare pass per gradient. */
function globalNormOf(g: Graph, grads: readonly Value[]): Value {
  const squares = grads.map((v) => g.node('ReduceSumSquare', [v], [{ dtype: v.dtype, shape: [] }], { keepdims: attr.int(0) })[0]!);
  const total = squares.length === 1 ? squares[0]! : g.node('Sum', squares, [{ dtype: squares[0]!.dtype, shape: [] }])[0]!;
  return g.sqrt(total);
}

function gradName(param: string): string {
  return `${param}.grad`;
}
