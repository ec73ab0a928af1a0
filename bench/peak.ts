/**
 * Shared benchmark helpers: MatMul FLOP counting over a graph and the shape-matched ONNX Runtime
 * MatMul peak those FLOPs are compared with.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../src/onnx/graph.js';
import type { Dim } from '../src/onnx/shape.js';
import { serializeGraph } from '../src/onnx/proto.js';
import type { Rng } from '../src/nn/parameters.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';

/** A (batched) matrix product: batch x [m, k] @ [k, n]. */
export interface GemmShape {
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

export const flops = (s: GemmShape) => 2 * s.batch * s.m * s.k * s.n;
export const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** BERT inputs of `B` sequences of `S` random token ids below `vocabSize`, no padding. */
export function randomBertBatch(B: number, S: number, vocabSize: number, rng: Rng): Record<string, HostTensor> {
  return {
    input_ids: hostTensor(
      'int64',
      BigInt64Array.from({ length: B * S }, () => BigInt(rng.int(vocabSize))),
      [B, S],
    ),
    attention_mask: hostTensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
    token_type_ids: hostTensor('int64', new BigInt64Array(B * S), [B, S]),
  };
}

/** Median milliseconds of `reps` runs of `model` on `feeds`, after two warm-up runs. */
export async function medianRunMs(model: { run(feeds: Record<string, HostTensor>): Promise<unknown> }, feeds: Record<string, HostTensor>, reps: number): Promise<number> {
  await model.run(feeds);
  await model.run(feeds);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await model.run(feeds);
    ts.push(performance.now() - t);
  }
  return median(ts);
}

/** The MatMul, Gemm and FusedMatMul products of a graph, with symbolic dims bound to sizes. */
export function graphGemms(graph: Graph, bind: ReadonlyMap<string, number>): GemmShape[] {
  const size = (d: Dim): number => (typeof d === 'number' ? d : d.split('*').reduce((p, s) => p * (bind.get(s) ?? Number.NaN), 1));
  const out: GemmShape[] = [];
  for (const node of graph.nodes) {
    if (!['MatMul', 'Gemm', 'FusedMatMul'].includes(node.opType)) continue;
    const [a, b] = node.inputs as [Value, Value];
    const flag = (n: string) => node.attributes[n]?.kind === 'int' && (node.attributes[n] as { value: number }).value === 1;
    const am = a.shape.map(size);
    const bm = b.shape.map(size);
    const m = flag('transA') ? am.at(-1)! : am.at(-2)!;
    const k = flag('transA') ? am.at(-2)! : am.at(-1)!;
    const n = flag('transB') ? bm.at(-2)! : bm.at(-1)!;
    const batch = Math.max(
      am.slice(0, -2).reduce((p, v) => p * v, 1),
      bm.slice(0, -2).reduce((p, v) => p * v, 1),
    );
    out.push({ batch, m, k, n });
  }
  return out;
}

/**
 * Rates of a plain MatMul session on one shape: as `session.run` sees it (output hand-over to
 * JavaScript included) and as ONNX Runtime's profiler times the kernel alone. Medians of 15 runs.
 */
async function matMulRates(s: GemmShape, threads: number, dir: string): Promise<{ session: number; kernel: number }> {
  const g = new Graph('peak');
  const lead = s.batch > 1 ? [s.batch] : [];
  const a = g.input('a', 'float32', [...lead, s.m, s.k]);
  const b = g.input('b', 'float32', [...lead, s.k, s.n]);
  g.output(g.matMul(a, b), 'y');
  const prefix = join(dir, `mm_${s.batch}x${s.m}x${s.k}x${s.n}_`);
  const session = await ort.InferenceSession.create(serializeGraph(g), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const feeds = {
    a: new ort.Tensor('float32', new Float32Array(s.batch * s.m * s.k).fill(0.5), [...lead, s.m, s.k]),
    b: new ort.Tensor('float32', new Float32Array(s.batch * s.k * s.n).fill(0.25), [...lead, s.k, s.n]),
  };
  const out = { y: new ort.Tensor('float32', new Float32Array(s.batch * s.m * s.n), [...lead, s.m, s.n]) };
  const times: number[] = [];
  for (let i = 0; i < 18; i++) {
    const t = performance.now();
    await session.run(feeds, out);
    times.push(performance.now() - t);
  }
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).find((f) => join(dir, f).startsWith(prefix))!;
  const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat: string; name: string; dur: number }[];
  const kernel = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.dur / 1000);
  return { session: flops(s) / median(times.slice(3)) / 1e6, kernel: flops(s) / median(kernel.slice(3)) / 1e6 };
}

/** The FLOP-share-weighted MatMul peak over a list of products, with a printable breakdown. */
export async function shapeMatchedPeak(gemms: readonly GemmShape[], threads: number): Promise<{ session: number; kernel: number; rows: string[] }> {
  const total = gemms.reduce((t, s) => t + flops(s), 0);
  const distinct = new Map<string, { shape: GemmShape; flops: number }>();
  for (const s of gemms) {
    const key = `${s.batch}x${s.m}x${s.k}x${s.n}`;
    const e = distinct.get(key) ?? { shape: s, flops: 0 };
    e.flops += flops(s);
    distinct.set(key, e);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tuna-bench-'));
  let session = 0;
  let kernel = 0;
  let covered = 0;
  const rows: string[] = [];
  try {
    for (const [key, e] of distinct) {
      if (e.flops / total < 0.001) continue;
      const rate = await matMulRates(e.shape, threads, dir);
      covered += e.flops;
      session += e.flops * rate.session;
      kernel += e.flops * rate.kernel;
      rows.push(
        `  ${key.padEnd(18)} ${((100 * e.flops) / total).toFixed(1).padStart(5)}% of FLOPs   session ${rate.session.toFixed(0).padStart(4)}   kernel ${rate.kernel.toFixed(0).padStart(4)} GFLOP/s`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { session: session / covered, kernel: kernel / covered, rows };
}
