/**
 * Parameter-efficient fine-tuning against full fine-tuning on SST-2, from the bundled 4x256 model
 * (models/tuna-small-en): trainable share of the parameters, seconds per epoch, peak resident memory
 * of the training process, the size of what is saved, and held-out accuracy on SST-2's dev set
 * after the same budget (epochs, batch, schedule) for each method, each at its own learning rate.
 * Every method runs in its own process, so peak memory is its own.
 *
 *   npm run bench:peft [-- --train-rows 3000 --epochs 2 --methods full,lora,bitfit,adapter,prompt --full-lr 3e-4 --lora-lr 2e-3 --lora-target query,value]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Feature } from '../src/data/index.js';
import { loadTextExamples } from '../src/data/index.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { predictDataset } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';
import type { Tokenizer } from '../src/models/registry.js';

const { values: args } = parseArgs({
  options: {
    'train-rows': { type: 'string', default: '3000' },
    epochs: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '32' },
    'max-length': { type: 'string', default: '64' },
    methods: { type: 'string', default: 'full,lora,bitfit' },
    'full-lr': { type: 'string', default: '3e-4' },
    'lora-lr': { type: 'string', default: '2e-3' },
    'bitfit-lr': { type: 'string', default: '3e-3' },
    'adapter-lr': { type: 'string', default: '2e-3' },
    'prompt-lr': { type: 'string', default: '1e-2' },
    'lora-r': { type: 'string', default: '8' },
    'lora-target': { type: 'string', default: 'query,value' },
    threads: { type: 'string' },
    run: { type: 'string' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const MODEL = join(root, 'models/tuna-small-en');
const SST2 = join(root, '../shared/datasets/sst2');

async function features(tokenizer: Tokenizer, file: string, rows: number, maxLength: number): Promise<Feature[]> {
  const examples = (await loadTextExamples(file, { columns: { text: 'sentence', label: 'label' } })).slice(0, rows);
  return examples.map((e, i) => {
    const enc = tokenizer.encode(e.text, undefined, { maxLength });
    return { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), labels: Number(e.label), line: i + 2 };
  });
}

function dirBytes(dir: string, skip: (name: string) => boolean): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    if (skip(name)) continue;
    const s = statSync(join(dir, name));
    n += s.isDirectory() ? dirBytes(join(dir, name), skip) : s.size;
  }
  return n;
}

/** One method, in this process: prints one JSON line. */
async function runOne(method: string): Promise<void> {
  const maxLength = Number(args['max-length']);
  const epochs = Number(args.epochs);
  const model = await PreTrainedModel.fromPretrained(MODEL, { head: 'sequence-classification', id2label: { 0: 'negative', 1: 'positive' }, seed: 42 });
  const tokenizer = await model.loadTokenizer();
  const train = await features(tokenizer, join(SST2, 'train_full.tsv'), Number(args['train-rows']), maxLength);
  const dev = await features(tokenizer, join(SST2, 'dev.tsv'), 100_000, maxLength);
  const out = mkdtempSync(join(tmpdir(), `tuna-bench-peft-${method}-`));
  const lr = Number(args[`${method}-lr` as 'full-lr']);
  const peft =
    method === 'full'
      ? undefined
      : method === 'lora'
        ? {
            method: 'lora' as const,
            loraR: Number(args['lora-r']),
            loraAlpha: 2 * Number(args['lora-r']),
            loraTarget: args['lora-target'] === 'all-linear' ? ('all-linear' as const) : args['lora-target']!.split(','),
          }
        : { method: method as 'bitfit' | 'adapter' | 'prompt' };
  const trainer = new Trainer({
    model,
    args: {
      outputDir: out,
      numTrainEpochs: epochs,
      perDeviceTrainBatchSize: Number(args['batch-size']),
      learningRate: lr,
      warmupRatio: 0.06,
      weightDecay: 0.01,
      saveStrategy: 'no',
      evalStrategy: 'no',
      progress: 'none',
      seed: 42,
      ...(args.threads ? { threads: Number(args.threads) } : {}),
    },
    trainDataset: train,
    tokenizer,
    peft,
  });
  const counts = trainer.peft?.counts() ?? { trainable: model.store.count(), total: model.store.count() };
  const result = await trainer.train();
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const { prediction } = await predictDataset(model, dev, { batchSize: 64 });
  let correct = 0;
  prediction.logits.forEach((l, i) => {
    if ((l[1]! > l[0]! ? 1 : 0) === prediction.labels[i]) correct++;
  });
  const saved = dirBytes(out, (n) => /^(metrics\.jsonl|learning_curve\.svg|train_results\.json|vocab\.txt|tokenizer.*|special_tokens_map\.json)$/.test(n));
  const weightsFile = method === 'full' ? 'model.safetensors' : 'adapter_model.safetensors';
  console.log(
    JSON.stringify({
      method,
      lr,
      trainable: counts.trainable,
      total: counts.total,
      trainable_share: counts.trainable / counts.total,
      seconds_per_epoch: result.metrics.train_runtime! / epochs,
      peak_rss_mb: Math.round(peakRssMb),
      weights_bytes: statSync(join(out, weightsFile)).size,
      saved_bytes: saved,
      dev_accuracy: correct / dev.length,
      train_loss: result.trainingLoss,
      steps: result.globalStep,
    }),
  );
  rmSync(out, { recursive: true, force: true });
}

if (args.run) {
  await runOne(args.run);
} else {
  const methods = args.methods!.split(',');
  const rows: Record<string, number | string>[] = [];
  for (const m of methods) {
    const forward = Object.entries(args).flatMap(([k, v]) => (k === 'run' || k === 'methods' || v === undefined ? [] : [`--${k}`, String(v)]));
    const line = execFileSync(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--run', m, ...forward], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
    rows.push(JSON.parse(line));
    console.error(line);
  }
  const full = rows.find((r) => r.method === 'full');
  console.log(
    `SST-2, models/tuna-small-en (4x256), ${args['train-rows']} training rows, ${args.epochs} epochs, batch ${args['batch-size']}, max length ${args['max-length']}; dev ${'accuracy'} on 872 rows`,
  );
  console.log('method  lr      trainable           s/epoch  vs full  peak RSS MB  vs full  weights file  dev acc');
  for (const r of rows) {
    const speed = full ? `${((full.seconds_per_epoch as number) / (r.seconds_per_epoch as number)).toFixed(2)}x` : '';
    const mem = full ? `${((100 * (r.peak_rss_mb as number)) / (full.peak_rss_mb as number)).toFixed(0)}%` : '';
    console.log(
      `${String(r.method).padEnd(7)} ${String(r.lr).padEnd(7)} ${`${r.trainable} (${(100 * (r.trainable_share as number)).toFixed(2)}%)`.padEnd(19)} ${(r.seconds_per_epoch as number).toFixed(1).padStart(7)}  ${speed.padStart(7)}  ${String(r.peak_rss_mb).padStart(11)}  ${mem.padStart(7)}  ${`${((r.weights_bytes as number) / 1024).toFixed(0)} KiB`.padStart(12)}  ${(100 * (r.dev_accuracy as number)).toFixed(2)}`,
    );
  }
}
