import type { Graph, Value } from '../onnx/graph.js';

/** How a parameter is initialised when it is created fresh. */
export type Init = { readonly kind: 'normal'; readonly std: number } | { readonly kind: 'zeros' } | { readonly kind: 'ones' };

/** One trainable tensor: float32 values in JavaScript memory, fed to ONNX Runtime by name. */
export interface Parameter {
  readonly name: string;
  readonly shape: readonly number[];
  data: Float32Array;
  /** Whether AdamW applies weight decay to it (biases and LayerNorm weights usually not). */
  readonly decay: boolean;
}

/** Deterministic random numbers (xoshiro128**), so runs repeat exactly from a seed. */
export class Rng {
  private s: Uint32Array;
  constructor(seed: number) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0 || 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      // splitmix32 to spread the seed
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }
  /** A uniform 32-bit integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }
  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }
  /** A standard normal sample (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** The generator state, to save and restore. */
  state(): number[] {
    return [...this.s];
  }
  setState(state: readonly number[]): void {
    this.s = Uint32Array.from(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Creates a tensor's initial values. */
export function initValues(shape: readonly number[], init: Init, rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (init.kind === 'ones') out.fill(1);
  else if (init.kind === 'normal') for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
  return out;
}

/**
 * The named parameters of a model, in creation order. Graph builders ask it for a parameter
 * and get a graph input of the same name; the values live here and are fed on every run.
 */
export class ParameterStore {
  private readonly byName = new Map<string, Parameter>();
  private sealedBy: string | undefined;

  /**
   * With `allocate: false` the store only records names and shapes (parameter data stays empty),
   * for finding out what a graph needs without paying for its values.
   */
  constructor(
    private readonly rng: Rng = new Rng(0),
    private readonly opts: { allocate?: boolean } = {},
  ) {}

  /** Registers a parameter, creating its values from `init` unless it exists already. */
  create(name: string, shape: readonly number[], init: Init, decay = true): Parameter {
    const existing = this.byName.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join()) {
        throw new Error(`parameter ${name} has shape [${existing.shape}] but [${shape}] was requested`);
      }
      return existing;
    }
    if (this.sealedBy !== undefined) throw new Error(`parameter ${name} is not among the parameters ${this.sealedBy} declares`);
    const data = this.opts.allocate === false ? new Float32Array(0) : initValues(shape, init, this.rng);
    const p: Parameter = { name, shape: [...shape], data, decay };
    this.byName.set(name, p);
    return p;
  }

  /** Registers a parameter with given values (e.g. read from a checkpoint), without initialising it. */
  adopt(name: string, shape: readonly number[], data: Float32Array, decay = true): Parameter {
    if (this.byName.has(name)) throw new Error(`parameter ${name} exists already`);
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`parameter ${name}: ${data.length} values for shape [${shape}]`);
    const p: Parameter = { name, shape: [...shape], data, decay };
    this.byName.set(name, p);
    return p;
  }

  /**
   * Refuses parameters not created so far: a model whose parameters are declared up front
   * (`owner` names the declaration in the error) must not grow new ones while a graph is built.
   * Parameters may still be added with {@link adopt} or after {@link unseal}.
   */
  seal(owner: string): void {
    this.sealedBy = owner;
  }

  /** Allows new parameters again (e.g. a layer factory adding LoRA weights). */
  unseal(): void {
    this.sealedBy = undefined;
  }

  get(name: string): Parameter | undefined {
    return this.byName.get(name);
  }

  /** Forgets a parameter (e.g. a head trained beside a model and saved apart from it). */
  delete(name: string): boolean {
    return this.byName.delete(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** All parameters in creation order. */
  list(): Parameter[] {
    return [...this.byName.values()];
  }

  /** Total number of scalar values. */
  count(): number {
    let n = 0;
    for (const p of this.byName.values()) n += p.data.length;
    return n;
  }
}

/**
 * Ties a graph to a parameter store: every parameter a layer asks for becomes a graph input
 * (declared once per graph) whose name is the parameter's name.
 */
export class ParameterScope {
  private readonly values = new Map<string, Value>();

  /**
   * With `frozen`, parameters become constants of the graph (their current values), which lets
   * ONNX Runtime pre-pack weights for inference; otherwise they are inputs fed on every run.
   */
  constructor(
    readonly g: Graph,
    readonly store: ParameterStore,
    readonly frozen = false,
  ) {}

  /** The graph value of a parameter, creating the parameter on first use. */
  param(name: string, shape: readonly number[], init: Init, decay = true): Value {
    let v = this.values.get(name);
    if (!v) {
      const p = this.store.create(name, shape, init, decay);
      v = this.frozen ? this.g.constant(p.data, 'float32', p.shape, p.name) : this.g.input(p.name, 'float32', p.shape);
      this.values.set(name, v);
    }
    return v;
  }

  /** Parameters used by this graph, in the order they were first asked for. */
  used(): { param: Parameter; value: Value }[] {
    return [...this.values].map(([name, value]) => ({ param: this.store.get(name)!, value }));
  }
}
