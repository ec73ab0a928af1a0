/**
 * Every model family at one size, side by side: a random-init sequence classifier (4 layers, hidden
 * 256, 4 heads, FFN 1024, vocabulary 30522 as BERT-base's unless `--vocab N`, 3 labels) fine-tuned by `tuna train` at batch 32 x 128
 * tokens (dropout on, AdamW, clipping, linear schedule) and run by the text-classification pipeline
 * at batch 32 x 128. Prints training samples/s and inference texts/s per family, each relative to
 * BERT; with `--python PY` (a python with torch and transformers), the same training step and
 * forward pass in transformers on the same config.json, and tuna's speed-up over it.
 *
 *   npm run bench:families [-- --steps 30 --python /path/to/python --families bert,roberta --vocab 30522]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pipeline } from '../src/pipelines/index.js';
import { defaultThreads } from '../src/runtime/session.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '12' },
    threads: { type: 'string' },
    python: { type: 'string' },
    families: { type: 'string' },
    vocab: { type: 'string', default: '30522' },
  },
});
const steps = Number(args.steps);
const threads = args.threads ? Number(args.threads) : defaultThreads();
const B = 32;
const S = 128;
const V = Number(args.vocab);
const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin', 'tuna.js');

const common = { vocab_size: V, initializer_range: 0.02, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, id2label: { 0: 'a', 1: 'b', 2: 'c' } };
const bertLike = {
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 1024,
  max_position_embeddings: 132,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
};
/** The config.json of each family's sequence classifier, all of one size. */
const CONFIGS: Record<string, Record<string, unknown>> = {
  bert: { model_type: 'bert', architectures: ['BertForSequenceClassification'], ...common, ...bertLike },
  roberta: {
    model_type: 'roberta',
    architectures: ['RobertaForSequenceClassification'],
    ...common,
    ...bertLike,
    type_vocab_size: 1,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
  },
  'xlm-roberta': {
    model_type: 'xlm-roberta',
    architectures: ['XLMRobertaForSequenceClassification'],
    ...common,
    ...bertLike,
    type_vocab_size: 1,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
  },
  ernie: { model_type: 'ernie', architectures: ['ErnieForSequenceClassification'], ...common, ...bertLike, use_task_id: true, task_type_vocab_size: 3 },
  distilbert: {
    model_type: 'distilbert',
    architectures: ['DistilBertForSequenceClassification'],
    ...common,
    dim: 256,
    n_layers: 4,
    n_heads: 4,
    hidden_dim: 1024,
    max_position_embeddings: 132,
    dropout: 0.1,
    attention_dropout: 0.1,
    seq_classif_dropout: 0.1,
  },
  electra: { model_type: 'electra', architectures: ['ElectraForSequenceClassification'], ...common, ...bertLike, embedding_size: 128 },
  albert: {
    model_type: 'albert',
    architectures: ['AlbertForSequenceClassification'],
    ...common,
    ...bertLike,
    embedding_size: 128,
    num_hidden_groups: 1,
    inner_group_num: 1,
    hidden_act: 'gelu',
  },
  'deberta-v2': {
    model_type: 'deberta-v2',
    architectures: ['DebertaV2ForSequenceClassification'],
    ...common,
    ...bertLike,
    type_vocab_size: 0,
    relative_attention: true,
    position_buckets: 64,
    max_relative_positions: -1,
    pos_att_type: ['p2c', 'c2p'],
    norm_rel_ebd: 'layer_norm',
    share_att_key: true,
    position_biased_input: false,
    pooler_hidden_size: 256,
    pooler_hidden_act: 'gelu',
  },
};
const families = args.families ? args.families.split(',') : Object.keys(CONFIGS);

// ------------------------------------------------------------ a vocabulary and data of full-length rows
const work = mkdtempSync(join(tmpdir(), 'tuna-bench-families-'));
const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Array.from({ length: V - 5 }, (_, i) => `w${i}`)];
const rows = ['text,label'];
for (let i = 0; i < B * (steps + 2); i++) rows.push(`${Array.from({ length: S }, (_, k) => `w${(i * 131 + k * 17) % (V - 5)}`).join(' ')},${'abc'[i % 3]}`);
writeFileSync(join(work, 'train.csv'), `${rows.join('\n')}\n`);
const texts = Array.from({ length: B * 4 }, (_, i) => Array.from({ length: S }, (_, k) => `w${(i * 71 + k * 29) % (V - 5)}`).join(' '));

interface Figures {
  train: number;
  infer: number;
  torchTrain?: number;
  torchInfer?: number;
}
const results = new Map<string, Figures>();

for (const family of families) {
  const config = CONFIGS[family];
  if (!config) throw new Error(`no config for family ${family}; choose from ${Object.keys(CONFIGS).join(', ')}`);
  const model = join(work, family);
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(model, 'vocab.txt'), `${vocab.join('\n')}\n`);
  const out = join(work, `${family}-out`);
  const r = spawnSync(
    process.execPath,
    [
      bin,
      'train',
      '--model',
      model,
      '--from-scratch',
      '--train',
      join(work, 'train.csv'),
      '--output',
      out,
      '--max-steps',
      String(steps),
      '--batch-size',
      String(B),
      '--max-length',
      String(S),
      '--eval-strategy',
      'no',
      '--save-strategy',
      'no',
      '--validation-split',
      '0',
      '--weight-decay',
      '0.01',
      '--threads',
      String(threads),
      '--progress',
      'none',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`tuna train (${family}) failed:\n${r.stderr}`);
  const trained = JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8')) as { train_samples_per_second: number };
  const classifier = await pipeline('text-classification', out, { threads, batchSize: B, maxLength: S });
  await classifier(texts.slice(0, B));
  const t0 = performance.now();
  await classifier(texts);
  const infer = texts.length / ((performance.now() - t0) / 1000);
  await classifier.dispose();
  const figures: Figures = { train: trained.train_samples_per_second, infer };
  if (args.python) {
    const py = spawnSync(args.python, [join(root, 'bench', 'torch_families.py'), join(model, 'config.json'), String(threads), String(steps)], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`transformers (${family}) failed:\n${py.stderr}`);
    const torch = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { train_samples_per_s: number; infer_samples_per_s: number };
    figures.torchTrain = torch.train_samples_per_s;
    figures.torchInfer = torch.infer_samples_per_s;
  }
  results.set(family, figures);
  console.error(`${family}: done`);
}

const bert = results.get('bert');
const ratio = (v: number, base: number | undefined) => (base === undefined ? '' : `${((v / base) * 100).toFixed(0)}%`);
console.log(`families at hidden 256, 4 layers, batch ${B} x ${S} tokens, ${threads} threads, ${steps} training steps`);
console.log('family        train/s  vs BERT  infer/s  vs BERT  torch train/s  speed-up  torch infer/s  speed-up');
for (const [family, f] of results) {
  const cells = [
    family.padEnd(12),
    f.train.toFixed(1).padStart(8),
    ratio(f.train, bert?.train).padStart(8),
    f.infer.toFixed(1).padStart(8),
    ratio(f.infer, bert?.infer).padStart(8),
    f.torchTrain === undefined ? '' : f.torchTrain.toFixed(1).padStart(14),
    f.torchTrain === undefined ? '' : `${(f.train / f.torchTrain).toFixed(2)}x`.padStart(9),
    f.torchInfer === undefined ? '' : f.torchInfer.toFixed(1).padStart(14),
    f.torchInfer === undefined ? '' : `${(f.infer / f.torchInfer).toFixed(2)}x`.padStart(9),
  ];
  console.log(cells.join(' '));
}
rmSync(work, { recursive: true, force: true });
