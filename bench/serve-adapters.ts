/**
 * Many LoRA adapters served on one base: throughput of mixed micro-batches (every batch holds
 * rows of every adapter, run in one forward pass of the stacked graph) against one merged model
 * at the same batch size, and the time to load a LoRA adapter into a running server's registry.
 *
 * Ten LoRA adapters (r 8, alpha 16, query and value, random B and heads, each with the pooler the
 * masked-LM base lacks) are written on the bundled models/tuna-small-en; the merged model is the
 * first adapter merged into the base (`mergeAdapter`). Both sides run through the code the server
 * runs (the stacked batch runner, the pipeline's runBatch), without HTTP. Texts: SST-2 dev
 * sentences from ../shared/datasets/sst2 when present, else generated ones.
 *
 *   npm run bench:serve-adapters [-- --adapters 10 --batch 32 --batches 40 --loads 50 --threads N]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { PeftModel, mergeAdapter } from '../src/peft/index.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { AdapterRegistry } from '../src/serve/adapters.js';
import { loadModels } from '../src/serve/models.js';

const { values: args } = parseArgs({
  options: {
    adapters: { type: 'string', default: '10' },
    batch: { type: 'string', default: '32' },
    batches: { type: 'string', default: '40' },
    loads: { type: 'string', default: '50' },
    threads: { type: 'string' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const BASE = join(root, 'models/tuna-small-en');
const N = Number(args.adapters);
const BATCH = Number(args.batch);
const BATCHES = Number(args.batches);
const LOADS = Number(args.loads);
const threads = args.threads === undefined ? undefined : Number(args.threads);

function texts(): string[] {
  const dev = join(root, '../shared/datasets/sst2/dev.tsv');
  if (existsSync(dev)) {
    return readFileSync(dev, 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0]!)
      .filter((t) => t.trim() !== '');
  }
  const words = 'the film was a quiet and oddly moving story about people who never say what they mean'.split(' ');
  return Array.from({ length: 512 }, (_, i) => Array.from({ length: 6 + (i % 20) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
}

function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

async function writeAdapters(dir: string): Promise<string[]> {
  const dirs: string[] = [];
  for (let i = 0; i < N; i++) {
    const model = await PreTrainedModel.fromPretrained(BASE, { head: 'sequence-classification', id2label: { 0: 'negative', 1: 'positive' }, missing: 'init' });
    const peft = PeftModel.apply(model, { method: 'lora', lora: { r: 8, alpha: 16, targetModules: ['query', 'value'] }, seed: 100 + i });
    const rand = noise(1 + i);
    for (const p of model.store.list()) if (p.name.endsWith('lora_B.weight')) for (let k = 0; k < p.data.length; k++) p.data[k] = 0.05 * rand();
    const out = join(dir, `adapter-${i}`);
    await peft.save(out, { baseModel: BASE });
    dirs.push(out);
  }
  return dirs;
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/**
 * Texts per second of each runner over BATCHES batches, run in alternating rounds of 5 batches
 * (after 3 warm-up batches each) so that both see the same load on a shared machine.
 */
async function rates(runs: readonly ((i: number) => Promise<unknown>)[]): Promise<number[]> {
  for (const run of runs) for (let i = 0; i < 3; i++) await run(i);
  const seconds = runs.map(() => 0);
  for (let start = 0; start < BATCHES; start += 5) {
    for (const [k, run] of runs.entries()) {
      const t0 = performance.now();
      for (let i = start; i < Math.min(BATCHES, start + 5); i++) await run(i);
      seconds[k]! += (performance.now() - t0) / 1000;
    }
  }
  return seconds.map((s) => (BATCHES * BATCH) / s);
}

const work = mkdtempSync(join(tmpdir(), 'tuna-bench-serve-adapters-'));
try {
  const all = texts();
  const batchOf = (i: number) => Array.from({ length: BATCH }, (_, j) => all[(i * BATCH + j) % all.length]!);
  const dirs = await writeAdapters(work);

  // One merged model at batch BATCH.
  const merged = join(work, 'merged');
  await mergeAdapter(dirs[0]!, merged);
  const mergedPipe = await pipeline('text-classification', merged, { threads, batchSize: BATCH });

  // The stacked graph: every batch mixes all adapters (row j runs adapter j mod N).
  const [base] = await loadModels([{ name: 'base', dir: BASE }], { threads, batchSize: BATCH });
  const registry = new AdapterRegistry([base!], { threads, batchSize: BATCH });
  const t0 = performance.now();
  await registry.register({ name: 'a0', dir: dirs[0]! });
  const firstMs = performance.now() - t0;
  for (let i = 1; i < N; i++) await registry.register({ name: `a${i}`, dir: dirs[i]! });
  const leases = await Promise.all(dirs.map((_, i) => registry.lease(`a${i}`, undefined, 'classify')));
  const options = { topK: 1, functionToApply: undefined };
  const stackedRun = async (i: number) => {
    const rows = batchOf(i).flatMap((t, j) => leases[j % N]!.job([t], options).inputs);
    return leases[0]!.job([], options).run(rows);
  };
  const [mergedRate, stackedRate] = (await rates([(i) => mergedPipe.runBatch(batchOf(i)), stackedRun])) as [number, number];
  await mergedPipe.dispose();

  for (const l of leases) l.release();

  // Load time of a LoRA adapter into the running registry (the PUT path; the stacked graph
  // compiled): under a new name (then deleted, untimed), and replacing one of the same name.
  const loads: number[] = [];
  const replaces: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    loads.push((await registry.register({ name: `new${i}`, dir: dirs[i % N]! })).loadMs);
    await registry.unregister(`new${i}`);
  }
  for (let i = 0; i < LOADS; i++) replaces.push((await registry.register({ name: `a${i % N}`, dir: dirs[(i + 1) % N]! })).loadMs);
  await registry.dispose();
  for (const p of base!.pipelines.values()) await p.dispose();

  const fmt = (x: number) => x.toFixed(1);
  console.log(`base ${BASE} (4x256), ${N} LoRA adapters r 8 query,value, batch ${BATCH}, ${BATCHES} batches, threads ${threads ?? 'default'}`);
  console.log(`merged model:               ${fmt(mergedRate)} texts/s`);
  console.log(`stacked, ${N} adapters mixed: ${fmt(stackedRate)} texts/s (${((100 * stackedRate) / mergedRate).toFixed(0)}% of merged)`);
  console.log(`first adapter (loads the base and compiles the stacked graph): ${fmt(firstMs)} ms`);
  const ms = (xs: number[]) => `p50 ${quantile(xs, 0.5).toFixed(2)} ms, p99 ${quantile(xs, 0.99).toFixed(2)} ms`;
  console.log(`adapter load beside ${N} resident (${LOADS} loads): ${ms(loads)}`);
  console.log(`adapter replacing one of ${N} (${LOADS} loads): ${ms(replaces)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
