import type { Parameter } from '../nn/parameters.js';

/** AdamW hyper-parameters (PyTorch and Hugging Face defaults unless given). */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay, applied to parameters whose `decay` flag is set. */
  readonly weightDecay?: number;
}

/** The optimizer state that must survive a restart. */
export interface AdamWState {
  readonly step: number;
  readonly m: ReadonlyMap<string, Float32Array>;
  readonly v: ReadonlyMap<string, Float32Array>;
}

/**
 * AdamW with decoupled weight decay and bias correction, updating parameters in place.
 *
 * It runs in JavaScript, one fused loop per parameter: measured on 3.4M parameters it takes about
 * 9 ns per value (30 ms), while the same update as an ONNX graph needs a dozen separate
 * elementwise passes plus copying parameters and both moments in and out of ONNX Runtime on every
 * step, which is no faster and doubles the memory traffic.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private stepCount = 0;
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();

  constructor(opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /**
   * Applies one update with learning rate `lr`. `gradScale` multiplies every gradient first
   * (a clipping coefficient, or 1/k to average k accumulated micro-batches). `lrScale` multiplies
   * the rate (and so the decay) of single parameters, as a parameter group of its own would
   * (LoRA+'s faster B).
   */
  update(params: readonly Parameter[], grads: ReadonlyMap<string, Float32Array>, lr: number, gradScale = 1, lrScale?: (p: Parameter) => number): void {
    this.stepCount++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = (1 - b1) * gradScale;
    const c2 = (1 - b2) * gradScale * gradScale;
    const stepSize = lr / (1 - b1 ** this.stepCount);
    const invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** this.stepCount);
    const eps = this.eps;
    for (const p of params) {
      const g = grads.get(p.name);
      if (!g) continue;
      if (g.length !== p.data.length) throw new Error(`gradient of ${p.name} has ${g.length} values, the parameter ${p.data.length}`);
      const m = this.moment(this.m, p);
      const v = this.moment(this.v, p);
      const w = p.data;
      const scale = lrScale?.(p) ?? 1;
      const size = stepSize * scale;
      const decay = p.decay ? 1 - lr * scale * this.weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        const mi = b1 * m[i]! + c1 * gi;
        const vi = b2 * v[i]! + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i]! * decay - (size * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    }
  }

  private moment(map: Map<string, Float32Array>, p: Parameter): Float32Array {
    let a = map.get(p.name);
    if (!a) {
      a = new Float32Array(p.data.length);
      map.set(p.name, a);
    }
    return a;
  }

  /** The state to save (live views: copy or write them out before the next update). */
  state(): AdamWState {
    return { step: this.stepCount, m: this.m, v: this.v };
  }

  /** Restores a saved state. */
  load(state: AdamWState): void {
    this.stepCount = state.step;
    this.m.clear();
    this.v.clear();
    for (const [k, a] of state.m) this.m.set(k, Float32Array.from(a));
    for (const [k, a] of state.v) this.v.set(k, Float32Array.from(a));
  }
}
