import { gradients } from '../autograd/backward.js';
import { Graph, type Value } from '../onnx/graph.js';
import type { BuildContext } from '../nn/layers.js';
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
  /** Only these parameters get gradients (default: all the graph uses). */
  readonly trainable?: (p: Parameter) => boolean;
}

/** Result of one forward and backward pass. */
export interface StepResult {
  readonly loss: number;
  /** Gradient of every trainable parameter, by name. */
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
    readonly batchInputs: readonly string[],
    private readonly fetchNames: readonly string[],
  ) {}

  /** Builds the forward graph with `build`, differentiates it and opens the session. */
  static async create(
    store: ParameterStore,
    build: (ctx: BuildContext) => TrainingOutputs,
    opts: TrainStepOptions = {},
  ): Promise<TrainStep> {
    const g = new Graph('train');
    const scope = new ParameterScope(g, store);
    let seed = (opts.dropoutSeed ?? 0) * 1000 + 1;
    const ctx: BuildContext = { scope, training: true, nextSeed: () => seed++, initStd: opts.initStd ?? 0.02 };
    const { loss, fetch = {} } = build(ctx);
    const used = scope.used();
    const trainable = used.filter((u) => (opts.trainable ? opts.trainable(u.param) : true));
    const grads = gradients(g, loss, trainable.map((u) => u.value));
    g.output(loss, 'loss');
    for (const [name, v] of Object.entries(fetch)) g.output(v, name);
    trainable.forEach((u, i) => g.output(grads[i]!, gradName(u.param.name)));
    const paramNames = new Set(used.map((u) => u.param.name));
    const batchInputs = g.inputs.map((v) => v.name).filter((n) => !paramNames.has(n));
    const session = await Session.create(g, opts.session);
    return new TrainStep(g, session, used.map((u) => u.param), trainable.map((u) => u.param), batchInputs, Object.keys(fetch));
  }

  /** Runs forward and backward on one batch (a tensor for every non-parameter graph input). */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<StepResult> {
    const feeds: Record<string, HostTensor> = { ...batch };
    for (const p of this.params) feeds[p.name] = { dtype: 'float32', dims: p.shape, data: p.data };
    const result = await this.session.run(feeds);
    const fetched: Record<string, HostTensor> = {};
    for (const n of this.fetchNames) fetched[n] = result[n]!;
    const grads = new Map<string, Float32Array>();
    for (const p of this.trainable) grads.set(p.name, result[gradName(p.name)]!.data as Float32Array);
    return { loss: Number(result.loss!.data[0]), grads, fetched };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function gradName(param: string): string {
  return `${param}.grad`;
}
