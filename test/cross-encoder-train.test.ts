// Cross-encoder training against sentence-transformers (test/fixtures/cross-encoder/expected.json):
// BinaryCrossEntropy, MSE and CrossEntropy values on a fixed batch, five AdamW steps of BCE through
// the Trainer (dropout off), and `tuna train --task cross-encoder` end to end: data errors, the
// validation report, and a CrossEncoder directory the text-ranking pipeline loads.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/cli/main.js';
import { crossEncoderCollator, evaluateCrossEncoder, readCrossEncoderData } from '../src/cli/commands/train-cross-encoder.js';
import { textFeatures } from '../src/data/index.js';
import { AutoModelForSequenceClassification } from '../src/models/auto.js';
import { pipeline } from '../src/pipelines/pipeline.js';
import { Trainer } from '../src/train/trainer.js';

const ROOT = join(import.meta.dirname, 'fixtures', 'cross-encoder');
const E = JSON.parse(await readFile(join(ROOT, 'expected.json'), 'utf8'));
const L = E.losses as { queries: string[]; passages: string[]; labels: number[]; scores: number[]; classes: number[]; [k: string]: unknown };
const T = L.train as { lr: number; eps: number; step_losses: number[]; scores_after: number[] };

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-ce-train-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

async function batchFile(name: string, targets: readonly (number | string)[], column = 'label'): Promise<string> {
  const file = join(work, name);
  await writeFile(file, `${L.queries.map((q, i) => JSON.stringify({ query: q, passage: L.passages[i], [column]: targets[i] })).join('\n')}\n`);
  return file;
}

test('loss values equal sentence-transformers: BCE (0/1 and float targets), MSE, CrossEntropy (3 labels)', async () => {
  const cases = [
    { loss: 'bce' as const, dir: 'base', targets: L.labels, want: L.bce as number },
    { loss: 'bce' as const, dir: 'base', targets: L.scores, want: L.bce_scores as number },
    { loss: 'mse' as const, dir: 'base', targets: L.scores, want: L.mse as number },
    { loss: 'cross-entropy' as const, dir: 'labels3', targets: L.classes, want: L.cross_entropy_3 as number },
  ];
  for (const c of cases) {
    const file = await batchFile(`${c.loss}-${c.want}.jsonl`, c.targets, c.loss === 'mse' ? 'score' : 'label');
    const data = await readCrossEncoderData(file, { loss: c.loss, ...(c.loss === 'cross-entropy' ? { classes: ['0', '1', '2'] } : {}) });
    const model = await AutoModelForSequenceClassification.fromPretrained(join(ROOT, c.dir), { threads: 1 });
    try {
      const tokenizer = await model.loadTokenizer();
      const features = textFeatures(tokenizer, data.examples, undefined, { maxLength: 24 });
      const m = await evaluateCrossEncoder(model, features, data.targets, c.loss, 4);
      assert.ok(rel(m.loss!, c.want) < 1e-5, `${c.loss}: ${m.loss} vs ${c.want}`);
    } finally {
      await model.dispose();
    }
  }
});

test('five AdamW steps of BCE through the Trainer give sentence-transformers step losses (1e-4 relative) and scores', async () => {
  const file = await batchFile('bce-steps.jsonl', L.labels);
  const data = await readCrossEncoderData(file, { loss: 'bce' });
  const model = await AutoModelForSequenceClassification.fromPretrained(join(ROOT, 'base'), { problemType: 'multi_label_classification', threads: 1 });
  const out = join(work, 'steps');
  const tokenizer = await model.loadTokenizer();
  try {
    const features = textFeatures(tokenizer, data.examples, undefined, { maxLength: 24 });
    features.forEach((f, i) => {
      f.labels = Float32Array.of(data.targets[i]!);
    });
    const trainer = new Trainer({
      model,
      args: {
        outputDir: out,
        maxSteps: 5,
        perDeviceTrainBatchSize: 4,
        learningRate: T.lr,
        adamEpsilon: T.eps,
        weightDecay: 0,
        maxGradNorm: 0,
        lrSchedulerType: 'constant',
        shuffleTrain: false,
        disableDropout: true,
        saveStrategy: 'no',
        loggingSteps: 1,
        progress: 'none',
      },
      trainDataset: features,
      tokenizer,
      dataCollator: crossEncoderCollator(0, 'bce'),
    });
    await trainer.train();
    const losses = trainer.logHistory.filter((r) => 'loss' in r).map((r) => r.loss!);
    assert.equal(losses.length, 5);
    losses.forEach((l, i) => assert.ok(rel(l, T.step_losses[i]!) < 1e-4, `step ${i + 1}: ${l} vs ${T.step_losses[i]}`));
  } finally {
    await model.dispose();
  }
  const ranker = await pipeline('text-ranking', out, { threads: 1 });
  try {
    const scores = (await ranker.predict(E.pairs)) as number[];
    const worst = Math.max(...scores.map((s, i) => Math.abs(s - T.scores_after[i]!)));
    assert.ok(worst < 1e-4, `scores after training differ by ${worst}`);
  } finally {
    await ranker.dispose();
  }
});

test('tuna train --task cross-encoder: CSV with custom columns, a validation report, a CrossEncoder directory', async () => {
  const rows = [
    ['how do i reset my password', 'reset password account', 1],
    ['how do i reset my password', 'the weather is sunny', 0],
    ['where is the bank', 'the bank is open today', 1],
    ['where is the bank', 'a man plays guitar', 0],
    ['my card was lost', 'lost card', 1],
    ['my card was lost', 'rain today', 0],
  ];
  const csv = (r: typeof rows) => `q,doc,relevant\n${r.map((x) => x.join(',')).join('\n')}\n`;
  await writeFile(join(work, 'train.csv'), csv([...rows, ...rows]));
  await writeFile(join(work, 'dev.csv'), csv(rows));
  const out = join(work, 'ce-out');
  const common = ['train', '--task', 'cross-encoder', '--model', join(ROOT, 'base'), '--train', join(work, 'train.csv'), '--validation', join(work, 'dev.csv')];
  const cols = ['--query-column', 'q', '--passage-column', 'doc', '--label-column', 'relevant'];
  const r = await tuna(
    ...common,
    ...cols,
    '--output',
    out,
    '--epochs',
    '2',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
    '--max-length',
    '24',
    '--progress',
    'none',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.loss, 'bce');
  assert.equal(summary.activation, 'sigmoid');
  for (const k of ['loss', 'accuracy', 'f1', 'average_precision']) assert.equal(typeof summary.validation[k], 'number', k);
  for (const f of ['model.safetensors', 'config.json', 'modules.json', 'config_sentence_transformers.json', 'metrics.jsonl', 'train_results.json', 'validation_results.json']) {
    assert.ok(existsSync(join(out, f)), f);
  }
  assert.equal(JSON.parse(await readFile(join(out, 'config_sentence_transformers.json'), 'utf8')).activation_fn, 'torch.nn.modules.activation.Sigmoid');
  const ranker = await pipeline('text-ranking', out, { threads: 1 });
  try {
    assert.equal(ranker.maxLength, 24);
    const ranked = await ranker('where is the bank', ['a man plays guitar', 'the bank is open today']);
    assert.equal(ranked.length, 2);
  } finally {
    await ranker.dispose();
  }

  // Data errors name the file, line and field.
  const bad = join(work, 'bad.jsonl');
  await writeFile(bad, '{"query": "a", "passage": "b", "label": 1}\n{"query": "a", "passage": "b", "label": 3}\n');
  const e1 = await tuna('train', '--task', 'cross-encoder', '--model', join(ROOT, 'base'), '--train', bad, '--output', join(work, 'x1'), '--progress', 'none');
  assert.notEqual(e1.code, 0);
  assert.match(e1.stderr, /bad\.jsonl:2.*outside \[0, 1\].*--loss mse/);
  const e2 = await tuna('train', '--task', 'cross-encoder', '--model', join(ROOT, 'base'), '--train', bad, '--output', join(work, 'x2'), '--loss', 'hinge');
  assert.match(e2.stderr, /--loss/);
  const noPassage = join(work, 'nopassage.csv');
  await writeFile(noPassage, 'query,text,label\na,b,1\n');
  const e3 = await tuna('train', '--task', 'cross-encoder', '--model', join(ROOT, 'base'), '--train', noPassage, '--output', join(work, 'x3'));
  assert.match(e3.stderr, /nopassage\.csv.*passage/);
});
