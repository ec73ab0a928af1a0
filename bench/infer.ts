/**
 * Inference benchmark: sequences/s of BertForSequenceClassification at batch 32 x 128 tokens and
 * batch-1 latency, for a 4-layer x 256 and a 12-layer x 768 (bert-base sized) model, in two forms:
 * parameters fed per run on the plain graph (what evaluation during training uses), and frozen
 * weights on ONNX Runtime's fused transformer kernels (what predict and serve use). Achieved
 * GFLOP/s are compared with a shape-matched ONNX Runtime MatMul peak measured in the same run, and
 * with PyTorch on the same machine when `python3 -c "import torch"` works.
 *
 *   npm run bench:infer [-- --models small,base --threads N]
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ForwardModel } from '../src/nn/forward.js';
import { ParameterStore, Rng } from '../src/nn/parameters.js';
import { defaultThreads } from '../src/runtime/session.js';
import { type BertConfig, bertConfig } from '../src/models/bert/config.js';
import { buildBert } from '../src/models/bert/modeling.js';
import { type GemmShape, flops, medianRunMs, randomBertBatch, shapeMatchedPeak } from './peak.js';

const { values: args } = parseArgs({
  options: { models: { type: 'string', default: 'small,base' }, threads: { type: 'string' } },
});
const threads = args.threads ? Number(args.threads) : defaultThreads();
const MODELS: Record<string, { layers: number; hidden: number; heads: number; intermediate: number }> = {
  small: { layers: 4, hidden: 256, heads: 4, intermediate: 1024 },
  base: { layers: 12, hidden: 768, heads: 12, intermediate: 3072 },
};

/** The matrix products of a BERT classifier forward pass. */
function bertGemms(cfg: BertConfig, B: number, S: number): GemmShape[] {
  const T = B * S;
  const H = cfg.hidden_size;
  const I = cfg.intermediate_size;
  const h = cfg.num_attention_heads;
  const dh = H / h;
  const layer: GemmShape[] = [
    { batch: 1, m: T, k: H, n: 3 * H },
    { batch: B * h, m: S, k: dh, n: S },
    { batch: B * h, m: S, k: S, n: dh },
    { batch: 1, m: T, k: H, n: H },
    { batch: 1, m: T, k: H, n: I },
    { batch: 1, m: T, k: I, n: H },
  ];
  return [...Array.from({ length: cfg.num_hidden_layers }, () => layer).flat(), { batch: 1, m: B, k: H, n: H }, { batch: 1, m: B, k: H, n: 2 }];
}

/** A python3 that can import torch (PATH's first, then Debian's system one), if any. */
const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);

function torchFigures(m: (typeof MODELS)[string]): { batch: number; samples_per_s: number; latency_ms: number }[] | undefined {
  if (!python) return undefined;
  const r = spawnSync(
    python,
    [new URL('./torch_bert.py', import.meta.url).pathname, String(m.layers), String(m.hidden), String(m.heads), String(m.intermediate), String(threads)],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) {
    console.log(`  (PyTorch run failed: ${r.stderr.trim().split('\n').at(-1)})`);
    return undefined;
  }
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

console.log(`tuna inference benchmark: BertForSequenceClassification, F32, threads ${threads}`);
for (const key of args.models.split(',')) {
  const m = MODELS[key];
  if (!m) throw new Error(`unknown model "${key}" (choose from ${Object.keys(MODELS).join(', ')})`);
  const cfg = bertConfig({ num_hidden_layers: m.layers, hidden_size: m.hidden, num_attention_heads: m.heads, intermediate_size: m.intermediate });
  const store = new ParameterStore(new Rng(1));
  const build = (opts: { frozen: boolean; fusedKernels: boolean }) =>
    ForwardModel.create(store, (ctx) => buildBert(ctx, cfg, 'sequence-classification').outputs, { session: { threads }, ...opts });
  const rng = new Rng(2);
  const big = randomBertBatch(32, 128, 30522, rng);
  const one = randomBertBatch(1, 128, 30522, rng);
  const gemms = bertGemms(cfg, 32, 128);
  const batchFlops = gemms.reduce((t, s) => t + flops(s), 0);
  const reps = m.hidden >= 768 ? 5 : 10;
  console.log(`\n${key}: ${m.layers} layers x ${m.hidden} hidden, ${m.heads} heads, FFN ${m.intermediate}; ${(store.count() || 0).toLocaleString('en')} parameters after build`);
  const rows: { name: string; batchMs: number; latencyMs: number }[] = [];
  for (const variant of [
    { name: 'fused kernels, frozen weights', frozen: true, fusedKernels: true },
    { name: 'plain graph, weights fed per run', frozen: false, fusedKernels: false },
  ]) {
    const model = await build(variant);
    const batchMs = await medianRunMs(model, big, reps);
    const latencyMs = await medianRunMs(model, one, 20);
    await model.release();
    rows.push({ name: variant.name, batchMs, latencyMs });
  }
  const peak = await shapeMatchedPeak(gemms, threads);
  console.log(`MatMul FLOPs per batch of 32 x 128: ${(batchFlops / 1e9).toFixed(1)} GFLOP; shape-matched MatMul peak:`);
  for (const r of peak.rows) console.log(r);
  console.log(`  weighted: session ${peak.session.toFixed(1)} GFLOP/s, kernel-only ${peak.kernel.toFixed(1)} GFLOP/s`);
  for (const r of rows) {
    const gf = batchFlops / r.batchMs / 1e6;
    console.log(
      `tuna ${r.name.padEnd(34)} ${(32000 / r.batchMs).toFixed(1).padStart(7)} seq/s  ${gf.toFixed(1).padStart(6)} GFLOP/s = ${((100 * gf) / peak.session).toFixed(1)}% of session peak, ${((100 * gf) / peak.kernel).toFixed(1)}% of kernel peak (target >= 90%)  | batch-1 latency ${r.latencyMs.toFixed(1)} ms`,
    );
  }
  const torch = torchFigures(m);
  if (!torch) console.log('PyTorch: not installed (python3 -c "import torch" failed), column skipped');
  else {
    const version = spawnSync(python!, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).stdout.trim();
    const b = torch.find((t) => t.batch === 32)!;
    const l = torch.find((t) => t.batch === 1)!;
    const best = 32000 / rows[0]!.batchMs;
    console.log(
      `PyTorch ${version}: ${b.samples_per_s.toFixed(1)} seq/s | batch-1 latency ${l.latency_ms.toFixed(1)} ms  -> tuna (fused) is ${(best / b.samples_per_s).toFixed(2)}x (target >= 3x Debian PyTorch 1.13)`,
    );
  }
}
