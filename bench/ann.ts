/**
 * Approximate nearest-neighbour search benchmark: the HNSW graph of tuna's search indexes
 * (usearch, inner product on unit-length vectors) against exact search over the same vectors.
 *
 * Data: `--n` vectors (default 100,000) of `--dim` dimensions (default 256) in `--clusters`
 * clusters (default 1,000): each cluster centre is drawn from N(0, I), each vector is its centre
 * plus N(0, `--spread`² I) noise (default spread 1, so a vector is about as far from its centre
 * as the centre is from the origin), normalised to unit length. `--queries` (default 1,000) new
 * points are drawn the same way (from random clusters, not in the index). Seeded (`--seed`), so
 * every run sees the same data.
 *
 * Reported: build time (one batch add on all cores), the graph's size on disk beside the raw
 * vectors, and for each `expansion_search` (ef) the single-query latency p50/p99 (one query at a
 * time, one result list of k = 10) and recall@10 against exact search (the share of the exact
 * top 10 found).
 *
 *   node --import tsx bench/ann.ts [--n 100000] [--dim 256] [--connectivity 16,32] [--ef 32,64,128,256] [--json]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AnnIndex, VectorMatrix } from '../src/retrieval/dense.js';
import { seededRandom } from '../src/data/split.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '256' },
    clusters: { type: 'string', default: '1000' },
    spread: { type: 'string', default: '1' },
    queries: { type: 'string', default: '1000' },
    k: { type: 'string', default: '10' },
    connectivity: { type: 'string', default: '16,32' },
    'expansion-add': { type: 'string', default: '128' },
    ef: { type: 'string', default: '32,64,128,256' },
    seed: { type: 'string', default: '14' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const D = Number(args.dim);
const C = Number(args.clusters);
const Q = Number(args.queries);
const K = Number(args.k);
const spread = Number(args.spread);

/** Standard normal numbers (Box-Muller). */
function normal(u: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

const u = seededRandom(Number(args.seed));
const g = normal(u);
const centres = new Float32Array(C * D);
for (let i = 0; i < centres.length; i++) centres[i] = g();

/** `count` clustered unit vectors, row-major. */
function clustered(count: number): Float32Array {
  const out = new Float32Array(count * D);
  for (let r = 0; r < count; r++) {
    const c = Math.floor(u() * C);
    let norm = 0;
    for (let k = 0; k < D; k++) {
      const v = centres[c * D + k]! + spread * g();
      out[r * D + k] = v;
      norm += v * v;
    }
    const s = 1 / Math.sqrt(norm);
    for (let k = 0; k < D; k++) out[r * D + k]! *= s;
  }
  return out;
}

const percentile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

const say = (s: string) => process.stderr.write(`${s}\n`);
const t0 = performance.now();
const data = clustered(N);
const queries = clustered(Q);
say(`data: ${N} x ${D} in ${C} clusters (spread ${spread}), ${Q} queries, generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Exact search: the reference top k, and its latency.
const matrix = new VectorMatrix(D, N);
matrix.append(
  Array.from({ length: N }, (_, i) => i),
  data,
);
const truth: Set<number>[] = [];
const exactMs: number[] = [];
for (let q = 0; q < Q; q++) {
  const s = performance.now();
  const hits = matrix.exactSearch(queries.subarray(q * D, (q + 1) * D), K);
  exactMs.push(performance.now() - s);
  truth.push(new Set(hits.map((h) => h.row)));
}
say(`exact search: p50 ${percentile(exactMs, 50).toFixed(2)} ms, p99 ${percentile(exactMs, 99).toFixed(2)} ms`);

const dir = await mkdtemp(join(tmpdir(), 'tuna-ann-bench-'));
const results: Record<string, unknown>[] = [];
try {
  for (const connectivity of args.connectivity.split(',').map(Number)) {
    const expansionAdd = Number(args['expansion-add']);
    const built = new AnnIndex(D, { connectivity, expansionAdd, expansionSearch: 64 });
    const b0 = performance.now();
    built.add(
      Array.from({ length: N }, (_, i) => i),
      data,
    );
    const buildSeconds = (performance.now() - b0) / 1000;
    const file = join(dir, `m${connectivity}.usearch`);
    built.save(file);
    const bytes = (await stat(file)).size;
    say(`HNSW connectivity ${connectivity}, expansion_add ${expansionAdd}: built in ${buildSeconds.toFixed(1)} s, ${(bytes / 2 ** 20).toFixed(1)} MiB on disk`);
    for (const ef of args.ef.split(',').map(Number)) {
      // The same graph, searched with another expansion.
      const ann = AnnIndex.load(file, D, { connectivity, expansionAdd, expansionSearch: ef });
      for (let q = 0; q < 50; q++) ann.search(queries.subarray(q * D, (q + 1) * D), K);
      const ms: number[] = [];
      let found = 0;
      for (let q = 0; q < Q; q++) {
        const s = performance.now();
        const hits = ann.search(queries.subarray(q * D, (q + 1) * D), K);
        ms.push(performance.now() - s);
        for (const h of hits) if (truth[q]!.has(h.key)) found++;
      }
      const r = {
        connectivity,
        expansion_add: expansionAdd,
        expansion_search: ef,
        build_seconds: Math.round(buildSeconds * 100) / 100,
        index_bytes: bytes,
        p50_ms: Math.round(percentile(ms, 50) * 1000) / 1000,
        p99_ms: Math.round(percentile(ms, 99) * 1000) / 1000,
        [`recall@${K}`]: Math.round((found / (Q * K)) * 10000) / 10000,
      };
      results.push(r);
      say(`  ef ${String(ef).padStart(4)}: p50 ${r.p50_ms.toFixed(3)} ms, p99 ${r.p99_ms.toFixed(3)} ms, recall@${K} ${(r[`recall@${K}`] as number).toFixed(4)}`);
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const summary = {
  n: N,
  dim: D,
  clusters: C,
  spread,
  queries: Q,
  k: K,
  vector_bytes: N * D * 4,
  exact: { p50_ms: Math.round(percentile(exactMs, 50) * 1000) / 1000, p99_ms: Math.round(percentile(exactMs, 99) * 1000) / 1000 },
  hnsw: results,
};
if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
