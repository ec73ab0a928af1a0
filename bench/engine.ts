/**
 * Engine benchmark: one training step (forward, backward, gradient clipping, AdamW update) of a
 * 4-layer transformer encoder (hidden 256, 4 heads, FFN 1024) with a classification head, on a
 * batch of 32 sequences of 128 tokens. Prints the achieved GFLOP/s (MatMul/Gemm FLOPs of the
 * executed graph) next to a shape-matched ONNX Runtime MatMul peak measured in the same run, and
 * the share of step time spent outside ONNX Runtime.
 *
 *   npm run bench:engine [-- --steps 20 --dropout pooled|onnx|off --threads N]
 */
import { parseArgs } from 'node:util';
import { flops, graphGemms, median, shapeMatchedPeak } from './peak.js';
import { defaultThreads } from '../src/runtime/session.js';
import { type HostTensor, hostTensor } from '../src/runtime/tensor.js';
import { linear } from '../src/nn/layers.js';
import { ParameterStore, Rng } from '../src/nn/parameters.js';
import { AttentionMask, encoderLayer } from '../src/nn/transformer.js';
import { BERT_LAYER_NAMES } from '../src/models/bert/names.js';
import { TrainStep } from '../src/train/step.js';
import { AdamW } from '../src/train/adamw.js';
import { clipCoefficient } from '../src/train/clip.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    dropout: { type: 'string', default: 'pooled' },
    threads: { type: 'string' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '128' },
  },
});
const B = Number(args.batch);
const S = Number(args.seq);
const H = 256;
const LAYERS = 4;
const threads = args.threads ? Number(args.threads) : defaultThreads();
const dropRatio = args.dropout === 'off' ? 0 : 0.1;
const cfg = { hidden: H, heads: 4, intermediate: 1024, layerNormEps: 1e-12, hiddenDropout: dropRatio, attentionDropout: dropRatio };

// ---------------------------------------------------------------- the training step
const store = new ParameterStore(new Rng(1));
const step = await TrainStep.create(
  store,
  (ctx) => {
    const g = ctx.scope.g;
    const x0 = g.input('inputs_embeds', 'float32', ['batch', 'seq', H]);
    const am = g.input('attention_mask', 'int64', ['batch', 'seq']);
    const labels = g.input('labels', 'int64', ['batch']);
    const mask = new AttentionMask(ctx, am);
    let x = x0;
    for (let l = 0; l < LAYERS; l++) x = encoderLayer(ctx, `encoder.layer.${l}`, x, mask, cfg, BERT_LAYER_NAMES);
    const cls = g.squeeze(g.slice(x, [0], [1], [1]), [1]);
    const logits = linear(ctx, 'classifier', cls, H, 2);
    return { loss: g.softmaxCrossEntropyLoss(logits, labels).loss };
  },
  { session: { threads }, dropout: args.dropout === 'onnx' ? 'onnx' : 'pooled', dropoutSeed: 1 },
);

const rng = new Rng(2);
const embeds = new Float32Array(B * S * H).map(() => rng.normal());
const batch: Record<string, HostTensor> = {
  inputs_embeds: hostTensor('float32', embeds, [B, S, H]),
  attention_mask: hostTensor('int64', new BigInt64Array(B * S).fill(1n), [B, S]),
  labels: hostTensor(
    'int64',
    BigInt64Array.from({ length: B }, (_, i) => BigInt(i % 2)),
    [B],
  ),
};

// ---------------------------------------------------------------- FLOPs of the executed graph
const gemms = graphGemms(
  step.graph,
  new Map([
    ['batch', B],
    ['seq', S],
  ]),
);
const stepFlops = gemms.reduce((t, s) => t + flops(s), 0);

// ---------------------------------------------------------------- timed steps
const opt = new AdamW({ weightDecay: 0.01 });
const stepMs: number[] = [];
const ortMs: number[] = [];
const optMs: number[] = [];
const total = Number(args.warmup) + Number(args.steps);
for (let i = 0; i < total; i++) {
  const t0 = performance.now();
  const ort0 = step.session.runMillis;
  const r = await step.run(batch);
  const ortTime = step.session.runMillis - ort0;
  const t1 = performance.now();
  opt.update(step.trainable, r.grads, 1e-4, clipCoefficient(r.gradNorm, 1));
  const t2 = performance.now();
  if (i >= Number(args.warmup)) {
    stepMs.push(t2 - t0);
    ortMs.push(ortTime);
    optMs.push(t2 - t1);
  }
}
await step.release();

// ---------------------------------------------------------------- shape-matched MatMul peak
const { session: peak, kernel: kernelPeak, rows: peakRows } = await shapeMatchedPeak(gemms, threads);

// ---------------------------------------------------------------- report
const stepTime = median(stepMs);
const achieved = stepFlops / stepTime / 1e6;
const outside = stepMs.map((t, i) => (t - ortMs[i]!) / t);
console.log(`tuna engine benchmark: ${LAYERS}-layer encoder, hidden ${H}, 4 heads, FFN 1024, batch ${B} x ${S}`);
console.log(`threads ${threads}, dropout ${args.dropout}, ${store.count().toLocaleString('en')} parameters, ${stepMs.length} timed steps`);
console.log(`MatMul/Gemm FLOPs per step: ${(stepFlops / 1e9).toFixed(1)} GFLOP in ${gemms.length} products`);
console.log('shape-matched ONNX Runtime MatMul peak (batch x M x K x N; medians of standalone plain MatMul sessions):');
for (const r of peakRows) console.log(r);
console.log(`step time (median): ${stepTime.toFixed(1)} ms  [ORT run ${median(ortMs).toFixed(1)} ms, AdamW+clip ${median(optMs).toFixed(1)} ms]`);
console.log(`samples/s: ${((B * 1000) / stepTime).toFixed(1)}`);
console.log(`achieved: ${achieved.toFixed(1)} GFLOP/s`);
console.log(`shape-matched peak, session.run timing: ${peak.toFixed(1)} GFLOP/s -> ratio ${((100 * achieved) / peak).toFixed(1)}% (target >= 65%)`);
console.log(`shape-matched peak, kernel-only timing:  ${kernelPeak.toFixed(1)} GFLOP/s -> ratio ${((100 * achieved) / kernelPeak).toFixed(1)}%`);
console.log(`time outside ONNX Runtime: ${(100 * median(outside)).toFixed(1)}% of the step (target <= 10%)`);
