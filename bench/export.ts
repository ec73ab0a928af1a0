/**
 * Export benchmark: samples/s at batch 32 x 128 and batch-1 latency (128 tokens) of the ONNX files
 * `tuna export` writes (float32, float16 weights, int8 dynamic quantisation), for a
 * BertForSequenceClassification of 4 layers x 256 (the bundled models' size), run by ONNX Runtime
 * with the given threads. Also prints the file sizes and the int8/F32 throughput ratio.
 *
 *   npm run bench:export [-- --threads 2 --reps 10 --forms standard,contrib --granularity per-channel --weight-bits 7|8]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bertConfig, bertConfigToJson } from '../src/models/bert/config.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { Rng } from '../src/nn/parameters.js';
import { exportModel } from '../src/export/export.js';
import { Session } from '../src/runtime/session.js';
import { medianRunMs, randomBertBatch } from './peak.js';

const { values: args } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    reps: { type: 'string', default: '10' },
    forms: { type: 'string', default: 'standard,contrib' },
    granularity: { type: 'string', default: 'per-channel' },
    'weight-bits': { type: 'string', default: '7' },
    layers: { type: 'string', default: '4' },
    hidden: { type: 'string', default: '256' },
  },
});
const threads = Number(args.threads);
const reps = Number(args.reps);
const H = Number(args.hidden);
const config = bertConfig({
  num_hidden_layers: Number(args.layers),
  hidden_size: H,
  num_attention_heads: H / 64,
  intermediate_size: 4 * H,
  id2label: { 0: 'neg', 1: 'pos' },
  architectures: ['BertForSequenceClassification'],
});

const work = mkdtempSync(join(tmpdir(), 'tuna-bench-export-'));
const ckpt = join(work, 'checkpoint');
await PreTrainedModel.fromConfig(bertConfigToJson(config), { seed: 1 }).savePretrained(ckpt);

const rng = new Rng(2);
const big = randomBertBatch(32, 128, config.vocab_size, rng);
const one = randomBertBatch(1, 128, config.vocab_size, rng);
console.log(
  `tuna export benchmark: BertForSequenceClassification ${config.num_hidden_layers} x ${H}, vocab ${config.vocab_size}, ONNX Runtime threads ${threads}, batch 32 x 128 and 1 x 128`,
);
const rows: { name: string; file: string; bytes: number; samples: number; latency: number }[] = [];
for (const form of args.forms.split(',') as ('standard' | 'contrib')[]) {
  const out = join(work, `export-${form}`);
  const first = rows.length === 0;
  await exportModel({
    model: ckpt,
    output: out,
    quantize: 'int8',
    dtype: first ? 'f16' : 'f32',
    contribOps: form === 'contrib',
    quantizeOptions: { granularity: args.granularity as 'per-channel' | 'per-tensor', reduceRange: args['weight-bits'] !== '8' },
    verify: false,
  });
  const files = first
    ? [
        ['F32', 'model.onnx'],
        ['F16 weights', 'model_fp16.onnx'],
        [`int8 (${form} ops, ${args.granularity}, ${args['weight-bits']}-bit)`, 'model_quantized.onnx'],
      ]
    : [
        [`F32 (${form} ops)`, 'model.onnx'],
        [`int8 (${form} ops, ${args.granularity}, ${args['weight-bits']}-bit)`, 'model_quantized.onnx'],
      ];
  for (const [name, file] of files as [string, string][]) {
    const bytes = readFileSync(join(out, 'onnx', file));
    const session = await Session.create(bytes, { threads });
    const batchMs = await medianRunMs(session, big, reps);
    const latency = await medianRunMs(session, one, 3 * reps);
    await session.release();
    rows.push({ name, file, bytes: bytes.byteLength, samples: 32000 / batchMs, latency });
    console.log(
      `  ${name.padEnd(44)} ${file.padEnd(22)} ${(bytes.byteLength / 2 ** 20).toFixed(1).padStart(6)} MiB  ${(32000 / batchMs).toFixed(1).padStart(7)} samples/s  batch-1 latency ${latency.toFixed(2)} ms`,
    );
  }
}
const f32 = rows.find((r) => r.name === 'F32')!;
for (const r of rows.filter((r) => r.name.startsWith('int8'))) {
  console.log(
    `${r.name}: ${(r.samples / f32.samples).toFixed(2)}x F32 throughput (target >= 2x), ${(f32.latency / r.latency).toFixed(2)}x lower batch-1 latency, ${(f32.bytes / r.bytes).toFixed(2)}x smaller`,
  );
}
rmSync(work, { recursive: true, force: true });
