// tuna train --prompt/--verbalizer and --task setfit end to end: the output directories open in
// pipeline('text-classification'), and bad flags are refused with what to do.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../src/cli/main.js';
import { pseudoLabelCount, selectPseudoLabels } from '../src/fewshot/ipet.js';
import { pipeline } from '../src/pipelines/index.js';
import { startServer } from '../src/serve/index.js';
import { tempDir } from './helpers/pipeline-models.js';

const SENTENCE_BASE = join(import.meta.dirname, 'fixtures', 'sentence', 'base');

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

test('tuna train --prompt writes a prompt classifier the text-classification pipeline opens', async () => {
  const dir = await tempDir('fewshot-cli');
  const train = join(dir, 'train.csv');
  await writeFile(train, 'text,label\ni love this movie,positive\na wonderful film,positive\ni hate this movie,negative\na dull film,negative\n');
  const out = join(dir, 'prompt');
  const r = await tuna(
    'train',
    '--prompt',
    '{text} It was [MASK].',
    '--prompt',
    '{text} All in all, [MASK].',
    '--verbalizer',
    'positive=great|good,negative=terrible',
    '--train',
    train,
    '--output',
    out,
    '--max-steps',
    '2',
    '--batch-size',
    '4',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).global_step, 2);
  const config = JSON.parse(await readFile(join(out, 'prompt_config.json'), 'utf8'));
  assert.deepEqual(config.labels, ['positive', 'negative']);
  assert.equal(config.templates.length, 2);
  const classifier = await pipeline('text-classification', out);
  const [top] = (await classifier('a great movie')) as { label: string; score: number }[];
  assert.ok(['positive', 'negative'].includes(top!.label));
  await classifier.dispose();
  const predicted = await tuna('predict', '--model', out, '--text', 'a great movie', '--json');
  assert.equal(predicted.code, 0, predicted.stderr);
  const line = JSON.parse(predicted.stdout) as { label: string; score: number };
  assert.equal(line.label, top!.label, 'tuna predict predicts through the prompt, not as fill-mask');
  assert.ok(Math.abs(line.score - top!.score) < 1e-6);

  const bad = await tuna('train', '--prompt', '{text} It was [MASK].', '--train', train, '--output', join(dir, 'x'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--verbalizer/);
  const wrong = await tuna('train', '--prompt', '{text} It was [MASK].', '--verbalizer', 'good=great,bad=terrible', '--train', train, '--output', join(dir, 'y'));
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /"positive", which is not one of good, bad/);
});

test('tuna train --task setfit writes a sentence-transformers model with setfit_head.json', async () => {
  const dir = await tempDir('fewshot-cli');
  const train = join(dir, 'train.jsonl');
  const rows = [
    ['how do i transfer money', 'bank'],
    ['i lost my bank card', 'bank'],
    ['the cat sat on the mat', 'pets'],
    ['a dog is sleeping on the rug', 'pets'],
  ];
  await writeFile(train, rows.map(([text, label]) => JSON.stringify({ text, label })).join('\n'));
  const out = join(dir, 'setfit');
  const r = await tuna(
    'train',
    '--task',
    'setfit',
    '--model',
    SENTENCE_BASE,
    '--train',
    train,
    '--output',
    out,
    '--num-iterations',
    '3',
    '--batch-size',
    '8',
    '--epochs',
    '2',
    '--head-c',
    '4',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.pairs, 24);
  assert.equal(summary.head.C, 4);
  const head = JSON.parse(await readFile(join(out, 'setfit_head.json'), 'utf8'));
  assert.deepEqual(head.labels, ['bank', 'pets']);
  assert.equal(head.coef.length, 1);
  const classifier = await pipeline('text-classification', out);
  const results = (await classifier(rows.map(([t]) => t!))) as { label: string; score: number }[];
  assert.equal(results.length, 4);
  await classifier.dispose();
  // predict, eval and serve take the SetFit model as the text classifier it is.
  const predicted = await tuna('predict', '--model', out, '--text', rows[0]![0]!, '--json');
  assert.equal(predicted.code, 0, predicted.stderr);
  const line = JSON.parse(predicted.stdout) as { label: string; score: number };
  assert.equal(line.label, results[0]!.label);
  assert.ok(Math.abs(line.score - results[0]!.score) < 1e-6);
  const evaluated = await tuna('eval', '--model', out, '--data', train, '--json');
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout) as { accuracy: number };
  assert.equal(report.accuracy, results.filter((x, i) => x.label === rows[i]![1]).length / rows.length);
  const server = await startServer({ models: [`setfit=${out}`], port: 0, threads: 1 });
  try {
    const info = (await (await fetch(`${server.address}/v1/models`)).json()) as { models: { tasks: string[]; labels: string[] }[] };
    assert.deepEqual(info.models[0]!.tasks, ['classify']);
    assert.deepEqual(info.models[0]!.labels, ['bank', 'pets']);
    const answer = (await (
      await fetch(`${server.address}/v1/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: rows[0]![0] }) })
    ).json()) as {
      label: string;
    }[];
    assert.equal(answer[0]!.label, results[0]!.label);
  } finally {
    await server.close();
  }
  const bad = await tuna('train', '--task', 'setfit', '--model', SENTENCE_BASE, '--train', train, '--output', join(dir, 'z'), '--num-iterations', '0');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--num-iterations must be an integer >= 1/);
  const mixed = await tuna('train', '--task', 'setfit', '--model', SENTENCE_BASE, '--train', train, '--output', join(dir, 'w'), '--num-iterations', '2', '--sampling', 'unique');
  assert.match(mixed.stderr, /--num-iterations applies to --sampling iterations/);
  const under = await tuna(
    'train',
    '--task',
    'setfit',
    '--model',
    SENTENCE_BASE,
    '--train',
    train,
    '--output',
    join(dir, 'u'),
    '--sampling',
    'undersampling',
    '--batch-size',
    '4',
    '--json',
  );
  assert.equal(under.code, 0, under.stderr);
  // 4 examples, 2 per class: 2 positive unique pairs, and as many negatives.
  assert.equal(JSON.parse(under.stdout).pairs, 4);
});

test('tuna train --task setfit --differentiable-head --end-to-end; SetFit flags refused where they do not apply', async () => {
  const dir = await tempDir('fewshot-cli');
  const train = join(dir, 'train.csv');
  await writeFile(train, 'text,label\nhow do i transfer money,bank\ni lost my bank card,bank\nthe cat sat on the mat,pets\na dog is sleeping on the rug,pets\n');
  const out = join(dir, 'setfit-e2e');
  const common = ['train', '--task', 'setfit', '--model', SENTENCE_BASE, '--train', train, '--num-iterations', '2', '--batch-size', '8'];
  const r = await tuna(...common, '--output', out, '--differentiable-head', '--end-to-end', '--head-epochs', '3', '--head-lr', '0.05', '--body-lr', '1e-4', '--json');
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  // 4 examples, batch 2 (the default), 3 epochs.
  assert.equal(summary.head.steps, 6);
  assert.equal(summary.head.kind, 'differentiable');
  assert.equal(summary.head.end_to_end, true);
  assert.equal(summary.head.body_learning_rate, 1e-4);
  assert.equal(summary.head.l2_weight, 0.01);
  assert.match(r.stderr, /head step 6\/6/);
  const head = JSON.parse(await readFile(join(out, 'setfit_head.json'), 'utf8'));
  assert.equal(head.head, 'differentiable');
  assert.equal(head.coef.length, 1);
  const classifier = await pipeline('text-classification', out);
  assert.equal(((await classifier('how do i transfer money')) as { label: string }[]).length, 1);
  await classifier.dispose();

  const refused = [
    [['--end-to-end'], /--end-to-end applies to the differentiable head; add --differentiable-head/],
    [['--differentiable-head', '--body-lr', '1e-4'], /--body-lr applies when the body trains with the head; add --end-to-end/],
    [['--differentiable-head', '--head-c', '2'], /--head-c is the logistic head's/],
  ] as const;
  for (const [flags, message] of refused) {
    const bad = await tuna(...common, '--output', join(dir, 'bad'), ...flags);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, message);
  }
  const other = await tuna('train', '--model', SENTENCE_BASE, '--train', train, '--output', join(dir, 'clf'), '--differentiable-head');
  assert.notEqual(other.code, 0);
  assert.match(other.stderr, /--differentiable-head applies to --task setfit/);
});

test('self-training: the most confident texts of each class, growing by generation; tuna train --unlabeled', async () => {
  const texts = ['a', 'b', 'c', 'd', 'e'].map((text) => ({ text }));
  const probs = [
    [0.9, 0.1],
    [0.6, 0.4],
    [0.2, 0.8],
    [0.95, 0.05],
    [0.45, 0.55],
  ];
  assert.deepEqual(selectPseudoLabels(texts, probs, 2), [
    { text: 'd', label: 0 },
    { text: 'a', label: 0 },
    { text: 'c', label: 1 },
    { text: 'e', label: 1 },
  ]);
  assert.equal(pseudoLabelCount(4, 1), 20);
  assert.equal(pseudoLabelCount(4, 2), 100);

  const dir = await tempDir('fewshot-cli');
  const train = join(dir, 'train.csv');
  await writeFile(train, 'text,label\ni love this movie,positive\ni hate this movie,negative\n');
  const unlabeled = join(dir, 'unlabeled.csv');
  await writeFile(unlabeled, 'text\na great film\na terrible film\nwhat a good story\nthe worst game\nmy new phone\n');
  const out = join(dir, 'ipet');
  const r = await tuna(
    'train',
    '--prompt',
    '{text} It was [MASK].',
    '--verbalizer',
    'positive=great,negative=terrible',
    '--train',
    train,
    '--unlabeled',
    unlabeled,
    '--ipet-generations',
    '1',
    '--output',
    out,
    '--max-steps',
    '1',
    '--batch-size',
    '4',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.self_training.length, 1);
  assert.ok(summary.self_training[0].pseudo_labelled >= 1 && summary.self_training[0].pseudo_labelled <= 5);
  assert.match(r.stderr, /self-training generation 1\/1/);
  const bad = await tuna(
    'train',
    '--prompt',
    '{text} It was [MASK].',
    '--verbalizer',
    'positive=great,negative=terrible',
    '--train',
    train,
    '--ipet-generations',
    '1',
    '--output',
    join(dir, 'q'),
  );
  assert.match(bad.stderr, /--unlabeled/);
});
