/**
 * Dense vectors of an index: exact (brute-force) inner-product search over the stored matrix, the
 * reference, and approximate search in an HNSW graph; both run in usearch's native code.
 */
import { createRequire } from 'node:module';
import type { Index as UsearchIndex, Matches } from 'usearch';

// usearch's CommonJS build finds its native library from __dirname; its ES module build looks for
// it from the caller's stack, which fails for some entry points (node -e, bundlers).
const usearch = createRequire(import.meta.url)('usearch') as typeof import('usearch').default;
import type { AnnParameters } from './manifest.js';

/**
 * `v` as an array that starts its buffer: usearch's native calls read a typed array from the start
 * of its buffer, ignoring a view's offset, so views into a larger matrix are copied.
 */
function own(v: Float32Array): Float32Array {
  return v.byteOffset === 0 ? v : v.slice();
}

/** A vector key and its score (the inner product: the cosine for unit-length vectors). */
export interface KeyScore {
  readonly key: number;
  readonly score: number;
}

/** Default HNSW settings; see bench/ann.ts for what they give. */
export const DEFAULT_ANN: AnnParameters = { connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

/** A growable row-major float32 matrix with one key per row. */
export class VectorMatrix {
  data: Float32Array;
  keys: number[] = [];

  constructor(
    readonly dimension: number,
    capacity = 16,
  ) {
    this.data = new Float32Array(Math.max(1, capacity) * dimension);
  }

  get count(): number {
    return this.keys.length;
  }

  /** Appends rows (`vectors` holds `keys.length` rows). */
  append(keys: readonly number[], vectors: Float32Array): void {
    const D = this.dimension;
    const need = (this.count + keys.length) * D;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, this.count * D));
      this.data = grown;
    }
    this.data.set(vectors.subarray(0, keys.length * D), this.count * D);
    this.keys.push(...keys);
  }

  /** Removes the rows at the given positions, keeping the order of the others. */
  removeRows(rows: ReadonlySet<number>): void {
    if (rows.size === 0) return;
    const D = this.dimension;
    let w = 0;
    const keys: number[] = [];
    for (let r = 0; r < this.count; r++) {
      if (rows.has(r)) continue;
      if (w !== r) this.data.copyWithin(w * D, r * D, (r + 1) * D);
      keys.push(this.keys[r]!);
      w++;
    }
    this.keys = keys;
  }

  /** Row `r` (a view). */
  row(r: number): Float32Array {
    return this.data.subarray(r * this.dimension, (r + 1) * this.dimension);
  }

  /** The used rows (a view). */
  rows(): Float32Array {
    return this.data.subarray(0, this.count * this.dimension);
  }

  /**
   * The `k` rows of highest inner product with `query`, best first, as row positions and scores:
   * every row is scored (exact search).
   */
  exactSearch(query: Float32Array, k: number): { row: number; score: number }[] {
    const n = Math.min(k, this.count);
    if (n === 0) return [];
    const m = usearch.exactSearch(this.rows(), own(query), this.dimension, n, usearch.MetricKind.IP, 0) as Matches;
    return Array.from(m.keys, (key, i) => ({ row: Number(key), score: 1 - m.distances[i]! }));
  }
}

/** An HNSW graph over inner products (usearch). */
export class AnnIndex {
  private readonly index: UsearchIndex;

  constructor(
    readonly dimension: number,
    readonly parameters: AnnParameters,
  ) {
    this.index = new usearch.Index({
      dimensions: dimension,
      metric: usearch.MetricKind.IP,
      quantization: usearch.ScalarKind.F32,
      connectivity: parameters.connectivity,
      expansion_add: parameters.expansionAdd,
      expansion_search: parameters.expansionSearch,
      multi: false,
    });
  }

  /** Vectors in the graph. */
  get size(): number {
    return this.index.size();
  }

  /** Adds rows of `vectors` under `keys`. */
  add(keys: readonly number[], vectors: Float32Array): void {
    if (keys.length === 0) return;
    this.index.add(
      BigUint64Array.from(keys, (k) => BigInt(k)),
      own(vectors.subarray(0, keys.length * this.dimension)),
      0,
    );
  }

  /** Takes keys out of the graph. */
  remove(keys: readonly number[]): void {
    if (keys.length === 0) return;
    this.index.remove(BigUint64Array.from(keys, (k) => BigInt(k)));
  }

  /** The about `k` nearest keys by inner product, best first. */
  search(query: Float32Array, k: number): KeyScore[] {
    if (this.size === 0 || k < 1) return [];
    const m = this.index.search(own(query), k, 0);
    return Array.from(m.keys, (key, i) => ({ key: Number(key), score: 1 - m.distances[i]! }));
  }

  /** Writes the graph to `path` (not atomic by itself: the index saves into a new generation directory). */
  save(path: string): void {
    this.index.save(path);
  }

  /** Reads a graph that {@link save} wrote (check its digest first: usearch trusts the file). */
  static load(path: string, dimension: number, parameters: AnnParameters): AnnIndex {
    const a = new AnnIndex(dimension, parameters);
    a.index.load(path);
    return a;
  }
}
