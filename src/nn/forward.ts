import { Graph, type Value } from '../onnx/graph.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { BuildContext, LayerFactory } from './layers.js';
import { type Parameter, ParameterScope, type ParameterStore } from './parameters.js';

/** Options for {@link ForwardModel.create}. */
export interface ForwardOptions {
  readonly session?: SessionOptions;
  readonly initStd?: number;
  /**
   * Bake the parameters' current values into the graph as constants (faster: ONNX Runtime
   * pre-packs the weights) instead of feeding them on every run. Later updates to the store are
   * then not seen.
   */
  readonly frozen?: boolean;
  /** Use ONNX Runtime's fused transformer kernels where a layer has them. */
  readonly fusedKernels?: boolean;
  /** The layer factory the graph is built with (LoRA, adapters, prompts). */
  readonly layers?: LayerFactory;
}

/**
 * A compiled inference graph (dropout off). Unless frozen, its parameters are fed from the store
 * on every run, so it always sees the latest trained values.
 */
export class ForwardModel {
  private constructor(
    readonly graph: Graph,
    readonly session: Session,
    private readonly params: readonly Parameter[],
  ) {}

  /** Builds the graph with `build` (which returns the named outputs) and opens its session. */
  static async create(store: ParameterStore, build: (ctx: BuildContext) => Readonly<Record<string, Value>>, opts: ForwardOptions = {}): Promise<ForwardModel> {
    const g = new Graph('forward');
    const scope = new ParameterScope(g, store, opts.frozen ?? false);
    const ctx: BuildContext = { scope, training: false, nextSeed: () => 0, initStd: opts.initStd ?? 0.02, fusedKernels: opts.fusedKernels ?? false, layers: opts.layers };
    const outputs = build(ctx);
    for (const [name, v] of Object.entries(outputs)) g.output(v, name);
    const session = await Session.create(g, opts.session);
    return new ForwardModel(g, session, opts.frozen ? [] : scope.used().map((u) => u.param));
  }

  /** Runs the graph on one batch. */
  async run(batch: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const feeds: Record<string, HostTensor> = { ...batch };
    for (const p of this.params) feeds[p.name] = { dtype: 'float32', dims: p.shape, data: p.data };
    return this.session.run(feeds);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
