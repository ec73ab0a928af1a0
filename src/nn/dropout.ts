import type { Graph, Value } from '../onnx/graph.js';
import type { Dim } from '../onnx/shape.js';
import type { HostTensor } from '../runtime/tensor.js';
import { Rng } from './parameters.js';

/** One place in a graph where dropout is applied. */
interface Site {
  readonly ratio: number;
  readonly shape: readonly Dim[];
}

const maskInput = (k: number) => `dropout_mask_${k}`;

/**
 * Dropout masks cut from pre-drawn pools of scaled Bernoulli values.
 *
 * ONNX Runtime's Dropout kernel draws every mask with a single-threaded Philox generator (about
 * 6 ns per element here, the largest non-GEMM cost of a BERT training step), and its generator
 * state cannot be saved, so an interrupted run cannot resume with the same masks. Instead, each
 * dropout rate gets a pool of values that are 0 with probability `ratio` and `1 / (1 - ratio)`
 * otherwise, drawn once from a seed in JavaScript; every site is fed a window of the pool (a view,
 * not a copy) at an offset drawn afresh each step. Within a mask the values are independent
 * Bernoulli draws; between steps a site sees a different window. Applying dropout is then one
 * multiplication forward and one backward. The offsets come from a seeded generator whose state
 * is saved with the training state, so masks are reproducible and resumable.
 */
export class DropoutMasks {
  private readonly sites: Site[] = [];
  private readonly ratios: number[] = [];
  private poolData: Float32Array[] = [];
  private rng: Rng;

  constructor(
    readonly g: Graph,
    private readonly seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** `x` with dropout applied (a mask multiplication). */
  apply(x: Value, ratio: number): Value {
    const g = this.g;
    if (!this.ratios.includes(ratio)) this.ratios.push(ratio);
    const k = this.sites.push({ ratio, shape: x.shape }) - 1;
    const mask = g.input(maskInput(k), x.dtype, [`dropout_mask_size_${k}`]);
    return g.mul(x, g.reshapeLike(mask, x));
  }

  /** How many dropout sites the graph has. */
  get siteCount(): number {
    return this.sites.length;
  }

  /**
   * The mask inputs for the next run. `dims` gives the runtime size of every symbolic
   * dim of the graph (e.g. batch and seq read off the batch being fed).
   */
  feeds(dims: ReadonlyMap<string, number>): Record<string, HostTensor> {
    const sizes = this.sites.map((s) => s.shape.reduce<number>((n, d) => n * resolveDim(d, dims), 1));
    const pools = this.ratios.map((ratio, ri) => {
      // A loop, not Math.max(...sizes): spreading the sizes of a very deep model overflows the stack.
      let largest = 0;
      sizes.forEach((size, k) => {
        if (this.sites[k]!.ratio === ratio && size > largest) largest = size;
      });
      // The pool holds twice the largest mask so that windows start anywhere in the first half.
      if ((this.poolData[ri]?.length ?? 0) < 2 * largest) this.poolData[ri] = drawPool(2 * largest, ratio, this.seed * 7919 + ri);
      return this.poolData[ri]!;
    });
    const out: Record<string, HostTensor> = {};
    this.sites.forEach((s, k) => {
      const pool = pools[this.ratios.indexOf(s.ratio)]!;
      // The window starts in [0, size], which every pool of at least twice the mask holds: masks
      // then depend only on the generator state, not on how large the pool has grown.
      const offset = this.rng.int(sizes[k]! + 1);
      out[maskInput(k)] = { dtype: 'float32', dims: [sizes[k]!], data: pool.subarray(offset, offset + sizes[k]!) };
    });
    return out;
  }

  /** State of the offset generator, saved with the training state. */
  rngState(): number[] {
    return this.rng.state();
  }

  setRngState(state: readonly number[]): void {
    this.rng.setState(state);
  }
}

function resolveDim(d: Dim, dims: ReadonlyMap<string, number>): number {
  if (typeof d === 'number') return d;
  // Sums of products, e.g. `4+sequence_length` (keys with a deep prompt's prefix prepended).
  return d.split('+').reduce(
    (sum, term) =>
      sum +
      term.split('*').reduce((n, part) => {
        const v = /^\d+$/.test(part) ? Number(part) : dims.get(part);
        if (v === undefined) throw new Error(`dropout: cannot size symbolic dim "${part}" from the batch`);
        return n * v;
      }, 1),
    0,
  );
}

/** `size` scaled Bernoulli values: 0 with probability `ratio`, `1/(1-ratio)` otherwise. */
export function drawPool(size: number, ratio: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const keep = 1 / (1 - ratio);
  const threshold = Math.round(ratio * 2 ** 32);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.nextUint32() < threshold ? 0 : keep;
  return out;
}
