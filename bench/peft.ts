/**
 * Parameter-efficient fine-tuning against full fine-tuning, from a bundled model: trainable share of
 * the parameters, seconds per epoch, peak resident memory of the training process, the size of what
 * is saved, and held-out accuracy after the same budget (epochs, batch, schedule) for each method,
 * each at its own learning rate. Every method runs in its own process, so peak memory is its own.
 *
 * Data (--dataset): sst2 (train_full.tsv rows in file order; dev.tsv, 872 rows), clinc150 (the
 * in-scope train utterances after a shuffle with seed 0; the first 1,000 in-scope test utterances after
 * a shuffle with seed 0) or waimai10k (waimai_10k.csv shuffled with seed 7: the first 1,000 rows test,
 * the rest train), from models/tuna-small-en or models/tuna-small-zh (or --model). `--size 12x768`
 * replaces the model by a randomly initialised one of that many layers and that hidden size (heads of
 * 64 dimensions, FFN 4x hidden) with the same vocabulary: for speed and memory, not accuracy.
 *
 *   npm run bench:peft [-- --dataset sst2 --train-rows 3000 --epochs 2 --methods full,lora,dora,bitfit,adapter,prompt --full-lr 3e-4 --lora-lr 2e-3 --lora-target query,value]
 *
 * `dora` is LoRA with DoRA's magnitudes (`useDora`), at --dora-lr, with LoRA's rank and targets.
 * `--loraplus-lr-ratio R` trains LoRA's (and DoRA's) B at R times the rate (LoRA+).
 *   npm run bench:peft -- --size 12x768 --train-rows 640 --epochs 1 --methods full,lora
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Feature } from '../src/data/index.js';
import { LabelMap, loadTextExamples, shuffle } from '../src/data/index.js';
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
    'dora-lr': { type: 'string', default: '2e-3' },
    'bitfit-lr': { type: 'string', default: '3e-3' },
    'adapter-lr': { type: 'string', default: '2e-3' },
    'prompt-lr': { type: 'string', default: '1e-2' },
    'lora-r': { type: 'string', default: '8' },
    'lora-target': { type: 'string', default: 'query,value' },
    'loraplus-lr-ratio': { type: 'string' },
    dataset: { type: 'string', default: 'sst2' },
    model: { type: 'string' },
    size: { type: 'string' },
    threads: { type: 'string' },
    run: { type: 'string' },
  },
});
const root = new URL('..', import.meta.url).pathname;
const DATA = join(root, '../shared/datasets');

interface Split {
  readonly model: string;
  readonly train: readonly { text: string; label: string }[];
  readonly test: readonly { text: string; label: string }[];
}

async function loadSplit(name: string): Promise<Split> {
  const read = async (file: string, text: string) =>
    (await loadTextExamples(join(DATA, file), { columns: { text, label: 'label' } })).map((e) => ({ text: e.text, label: String(e.label) }));
  if (name === 'sst2') return { model: 'models/tuna-small-en', train: await read('sst2/train_full.tsv', 'sentence'), test: await read('sst2/dev.tsv', 'sentence') };
  if (name === 'waimai10k') {
    const all = shuffle(await read('waimai10k/waimai_10k.csv', 'review'), 7);
    return { model: 'models/tuna-small-zh', train: all.slice(1000), test: all.slice(0, 1000) };
  }
  if (name === 'clinc150') {
    const raw = JSON.parse(readFileSync(join(DATA, 'clinc150/data_full.json'), 'utf8')) as Record<string, [string, string][]>;
    const split = (key: string) =>
      shuffle(
        raw[key]!.map(([text, label]) => ({ text, label })),
        0,
      );
    return { model: 'models/tuna-small-en', train: split('train'), test: split('test').slice(0, 1000) };
  }
  throw new Error(`--dataset: unknown dataset "${name}"; choose from sst2, clinc150, waimai10k`);
}

/** A directory with the vocabulary of `dir` and a config of `size` ("12x768"), without weights. */
function scratchModel(dir: string, size: string): string {
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) throw new Error(`--size: "${size}" is not LAYERSxHIDDEN, e.g. 12x768`);
  const [layers, hidden] = [Number(m[1]), Number(m[2])];
  const out = mkdtempSync(join(tmpdir(), `tuna-bench-peft-${size}-`));
  for (const name of readdirSync(dir)) if (name !== 'model.safetensors' && !name.endsWith('.json')) copyFileSync(join(dir, name), join(out, name));
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) copyFileSync(join(dir, name), join(out, name));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  Object.assign(config, { num_hidden_layers: layers, hidden_size: hidden, num_attention_heads: hidden / 64, intermediate_size: 4 * hidden });
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2));
  return out;
}

function features(tokenizer: Tokenizer, examples: readonly { text: string; label: string }[], labels: LabelMap, maxLength: number): Feature[] {
  return examples.map((e, i) => {
    const enc = tokenizer.encode(e.text, undefined, { maxLength });
    return { inputIds: Int32Array.from(enc.inputIds), tokenTypeIds: Int32Array.from(enc.tokenTypeIds), labels: labels.id(e.label), line: i + 2 };
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
  const split = await loadSplit(args.dataset!);
  const trainExamples = split.train.slice(0, Number(args['train-rows']));
  const labels = LabelMap.fromExamples(trainExamples.map((e) => e.label));
  const base = args.model ?? join(root, split.model);
  const dir = args.size ? scratchModel(base, args.size) : base;
  const model = await PreTrainedModel.fromPretrained(dir, {
    head: 'sequence-classification',
    id2label: labels.toConfig().id2label,
    seed: 42,
    initMissingWeights: Boolean(args.size),
  });
  const tokenizer = await model.loadTokenizer();
  const train = features(tokenizer, trainExamples, labels, maxLength);
  const dev = features(
    tokenizer,
    split.test.filter((e) => labels.has(e.label)),
    labels,
    maxLength,
  );
  const out = mkdtempSync(join(tmpdir(), `tuna-bench-peft-${method}-`));
  const lr = Number(args[`${method}-lr` as 'full-lr']);
  const peft =
    method === 'full'
      ? undefined
      : method === 'lora' || method === 'dora'
        ? {
            method: 'lora' as const,
            loraR: Number(args['lora-r']),
            loraAlpha: 2 * Number(args['lora-r']),
            loraTarget: args['lora-target'] === 'all-linear' ? ('all-linear' as const) : args['lora-target']!.split(','),
            ...(method === 'dora' ? { useDora: true } : {}),
            ...(args['loraplus-lr-ratio'] ? { loraPlusLrRatio: Number(args['loraplus-lr-ratio']) } : {}),
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
    if (l.indexOf(Math.max(...l)) === prediction.labels[i]) correct++;
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
  if (dir !== base) rmSync(dir, { recursive: true, force: true });
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
    `${args.dataset}, ${args.size ? `random init ${args.size}` : (args.model ?? 'bundled model')}, ${args['train-rows']} training rows, ${args.epochs} epochs, batch ${args['batch-size']}, max length ${args['max-length']}; held-out accuracy`,
  );
  console.log('method  lr      trainable           s/epoch  vs full  peak RSS MB  vs full  weights file  accuracy');
  for (const r of rows) {
    const speed = full ? `${((full.seconds_per_epoch as number) / (r.seconds_per_epoch as number)).toFixed(2)}x` : '';
    const mem = full ? `${((100 * (r.peak_rss_mb as number)) / (full.peak_rss_mb as number)).toFixed(0)}%` : '';
    console.log(
      `${String(r.method).padEnd(7)} ${String(r.lr).padEnd(7)} ${`${r.trainable} (${(100 * (r.trainable_share as number)).toFixed(2)}%)`.padEnd(19)} ${(r.seconds_per_epoch as number).toFixed(1).padStart(7)}  ${speed.padStart(7)}  ${String(r.peak_rss_mb).padStart(11)}  ${mem.padStart(7)}  ${`${((r.weights_bytes as number) / 1024).toFixed(0)} KiB`.padStart(12)}  ${(100 * (r.dev_accuracy as number)).toFixed(2)}`,
    );
  }
}
