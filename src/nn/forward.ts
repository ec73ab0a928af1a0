import { Graph, type Value } from '../onnx/graph.js';
import { Session, type SessionOptions } from '../runtime/session.js';
import type { HostTensor } from '../runtime/tensor.js';
import type { BuildContext } from './layers.js';
import { type Parameter, ParameterScope, type ParameterStore } from './parameters.js';

/**
 * A compiled inference graph (dropout off) whose parameters are fed from a store on every run,
 * so it always sees the latest trained values.
 */
export class ForwardModel {
  private constructor(
    readonly graph: Graph,
    readonly session: Session,
    private readonly params: readonly Parameter[],
  ) {}

  /** Builds the graph with `build` (which returns the named outputs) and opens its session. */
  static async create(
    store: ParameterStore,
    build: (ctx: BuildContext) => Readonly<Record<string, Value>>,
    opts: { session?: SessionOptions; initStd?: number } = {},
  ): Promise<ForwardModel> {
    const g = new Graph('forward');
    const scope = new ParameterScope(g, store);
    const ctx: BuildContext = { scope, training: false, nextSeed: () => 0, initStd: opts.initStd ?? 0.02 };
    const outputs = build(ctx);
    for (const [name, v] of Object.entries(outputs)) g.output(v, name);
    const session = await Session.create(g, opts.session);
    return new ForwardModel(g, session, scope.used().map((u) => u.param));
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
