// `tuna train --task sentence-embedding`: pairs (MultipleNegativesRanking with prompts), scored
// pairs (CoSENT, CSV), triplets with Matryoshka dimensions, and SimCSE on raw text from a plain
// checkpoint; the output is a sentence-transformers directory the feature-extraction pipeline runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/cli/main.js';
import { featureExtractionPipeline } from '../src/pipelines/feature-extraction.js';
import { readSentenceLayout } from '../src/sentence/layout.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const BUNDLED_EN = new URL('../models/tuna-small-en/', import.meta.url).pathname;
const L = JSON.parse(await readFile(new URL('./fixtures/sentence/expected.json', import.meta.url), 'utf8')).losses as {
  anchors: string[];
  positives: string[];
  negatives: string[];
  scores: number[];
};

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

let work: string;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'tuna-st-cli-'));
});
test.after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('pairs (JSONL) with MultipleNegativesRanking and prompts: a sentence-transformers directory, loss down, validation accuracy', async () => {
  const train = join(work, 'pairs.jsonl');
  await writeFile(train, `${L.anchors.map((a, i) => JSON.stringify({ anchor: a, positive: L.positives[i] })).join('\n')}\n`);
  const out = join(work, 'mnrl');
  const r = await tuna(
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    BASE,
    '--train',
    train,
    '--validation',
    train,
    '--output',
    out,
    '--max-steps',
    '12',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
    '--query-prompt',
    'query: ',
    '--document-prompt',
    'passage: ',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.global_step, 12);
  assert.equal(summary.loss, 'mnrl');
  assert.ok(summary.train.last_loss < summary.train.first_loss, `${summary.train.first_loss} -> ${summary.train.last_loss}`);
  assert.ok(summary.validation.accuracy_at_1 >= 0.75, `accuracy@1 ${summary.validation.accuracy_at_1}: the anchors find their positives after training on them`);
  for (const f of [
    'modules.json',
    'sentence_bert_config.json',
    'config_sentence_transformers.json',
    '1_Pooling/config.json',
    '2_Normalize/config.json',
    'model.safetensors',
    'tokenizer.json',
    'metrics.jsonl',
    'train_results.json',
  ]) {
    assert.ok(existsSync(join(out, f)), f);
  }
  const layout = (await readSentenceLayout(out))!;
  assert.deepEqual(layout.prompts, { document: 'passage: ', query: 'query: ' });
  assert.equal(layout.normalize, true);
  const extractor = await featureExtractionPipeline(out, { threads: 1 });
  try {
    const [q] = (await extractor([L.anchors[0]!], { promptName: 'query' } as never)) as unknown as number[][];
    assert.equal(q!.length, 32);
    assert.ok(Math.abs(Math.hypot(...q!) - 1) < 1e-5);
  } finally {
    await extractor.dispose();
  }
  // A second run into the same directory is refused unless asked to overwrite.
  const again = await tuna('train', '--task', 'sentence-embedding', '--model', BASE, '--train', train, '--output', out, '--max-steps', '1');
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /--overwrite-output-dir/);
});

test('scored pairs (CSV) train with CoSENT by default; triplets with Matryoshka dimensions; a wrong loss for the data is an error', async () => {
  const csv = join(work, 'scored.csv');
  await writeFile(csv, `sentence1,sentence2,score\n${L.anchors.map((a, i) => `"${a}","${L.positives[i]}",${L.scores[i]}`).join('\n')}\n`);
  const r = await tuna(
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    BASE,
    '--train',
    csv,
    '--validation',
    csv,
    '--output',
    join(work, 'cosent'),
    '--max-steps',
    '4',
    '--batch-size',
    '4',
    '--lr',
    '1e-3',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.loss, 'cosent');
  assert.ok(typeof s.validation.spearman_cosine === 'number');

  const triplets = join(work, 'triplets.jsonl');
  await writeFile(triplets, `${L.anchors.map((a, i) => JSON.stringify({ anchor: a, positive: L.positives[i], negative: L.negatives[i] })).join('\n')}\n`);
  const m = await tuna(
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    BASE,
    '--train',
    triplets,
    '--output',
    join(work, 'matryoshka'),
    '--loss',
    'triplet',
    '--matryoshka-dims',
    '32,16,8',
    '--max-steps',
    '3',
    '--batch-size',
    '2',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stderr, /Matryoshka 32,16,8/);

  const wrong = await tuna('train', '--task', 'sentence-embedding', '--model', BASE, '--train', csv, '--output', join(work, 'wrong'), '--loss', 'triplet');
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /triplet loss needs columns anchor, positive, negative/);
  const tooWide = await tuna('train', '--task', 'sentence-embedding', '--model', BASE, '--train', triplets, '--output', join(work, 'wide'), '--matryoshka-dims', '64,32');
  assert.notEqual(tooWide.code, 0);
  assert.match(tooWide.stderr, /Matryoshka dimension 64/);
  const resume = await tuna('train', '--task', 'sentence-embedding', '--model', BASE, '--train', triplets, '--output', join(work, 'matryoshka'), '--resume');
  assert.notEqual(resume.code, 0);
  assert.match(resume.stderr, /holds no checkpoint-N directory to resume from/);
  const badRow = join(work, 'bad.jsonl');
  await writeFile(badRow, '{"anchor": "a", "positive": "b"}\n{"anchor": "", "positive": "c"}\n');
  const bad = await tuna('train', '--task', 'sentence-embedding', '--model', BASE, '--train', badRow, '--output', join(work, 'bad'));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /bad\.jsonl.*2.*"anchor" is empty/);
});

test('SimCSE from raw text on a plain checkpoint: cls pooling and a new Normalize module, dropout views', async () => {
  const texts = join(work, 'corpus.txt');
  await writeFile(texts, `${[...L.anchors, ...L.positives, ...L.negatives].join('\n')}\n`);
  const out = join(work, 'simcse');
  const r = await tuna(
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    BUNDLED_EN,
    '--train',
    texts,
    '--output',
    out,
    '--pooling',
    'cls',
    '--normalize',
    '--max-steps',
    '2',
    '--batch-size',
    '6',
    '--max-length',
    '32',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /SimCSE/);
  const s = JSON.parse(r.stdout);
  assert.ok(s.train.first_loss > 0 && Number.isFinite(s.train.last_loss));
  const layout = (await readSentenceLayout(out))!;
  assert.deepEqual(layout.pooling.modes, ['cls']);
  assert.equal(layout.normalize, true);
  assert.deepEqual(JSON.parse(await readFile(join(out, '1_Pooling', 'config.json'), 'utf8')), { embedding_dimension: 256, pooling_mode: 'cls', include_prompt: true });
});

test('a model with a Dense module trains the Dense weights too and writes them back to 2_Dense', async () => {
  const source = join(work, 'dense-source');
  await cp(new URL('./fixtures/sentence/dense/', import.meta.url).pathname, source, { recursive: true });
  for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']) await cp(join(BASE, f), join(source, f));
  const train = join(work, 'dense-pairs.jsonl');
  await writeFile(train, `${L.anchors.map((a, i) => JSON.stringify({ anchor: a, positive: L.positives[i] })).join('\n')}\n`);
  const out = join(work, 'dense-out');
  const r = await tuna(
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    source,
    '--train',
    train,
    '--output',
    out,
    '--max-steps',
    '2',
    '--batch-size',
    '4',
    '--lr',
    '1e-2',
    '--threads',
    '1',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const layout = (await readSentenceLayout(out))!;
  const before = (await readSentenceLayout(source))!;
  assert.equal(layout.dense.length, 1);
  assert.equal(layout.dense[0]!.outFeatures, 16);
  const moved = layout.dense[0]!.weight.some((w, i) => Math.abs(w - before.dense[0]!.weight[i]!) > 1e-6);
  assert.ok(moved, 'the Dense weights changed');
  assert.deepEqual(JSON.parse(await readFile(join(out, 'modules.json'), 'utf8')), JSON.parse(await readFile(join(source, 'modules.json'), 'utf8')));
});

test('checkpoints every --save-steps; a run resumed from one ends with the weights of the uninterrupted run', async () => {
  const train = join(work, 'resume-pairs.jsonl');
  await writeFile(train, `${L.anchors.map((a, i) => JSON.stringify({ anchor: a, positive: L.positives[i] })).join('\n')}\n`);
  const args = (out: string) => [
    'train',
    '--task',
    'sentence-embedding',
    '--model',
    BASE,
    '--train',
    train,
    '--output',
    out,
    '--max-steps',
    '9',
    '--batch-size',
    '3',
    '--lr',
    '1e-3',
    '--threads',
    '1',
  ];
  const whole = await tuna(...args(join(work, 'whole')));
  assert.equal(whole.code, 0, whole.stderr);
  const parts = join(work, 'parts');
  const first = await tuna(...args(parts), '--save-steps', '4', '--save-total-limit', '5');
  assert.equal(first.code, 0, first.stderr);
  assert.ok(existsSync(join(parts, 'checkpoint-4', 'modules.json')) && existsSync(join(parts, 'checkpoint-8', 'trainer_state.json')));
  const state = JSON.parse(await readFile(join(parts, 'checkpoint-4', 'trainer_state.json'), 'utf8'));
  assert.equal(state.globalStep, 4);
  assert.equal(state.maxSteps, 9);
  // Go on from step 4 (with dropout on: the dropout stream and data order come from the checkpoint).
  await rm(join(parts, 'model.safetensors'));
  const resumed = await tuna(...args(parts), '--resume-from-checkpoint', join(parts, 'checkpoint-4'));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*checkpoint-4/);
  const logged = (await readFile(join(parts, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).step);
  assert.deepEqual(logged, [1, 2, 3, 4, 5, 6, 7, 8, 9], 'the log keeps the steps before the checkpoint');
  const [a, b] = await Promise.all([readFile(join(work, 'whole', 'model.safetensors')), readFile(join(parts, 'model.safetensors'))]);
  const tensorsOf = (buf: Buffer) => {
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    return Object.entries(header)
      .filter(([k]) => k !== '__metadata__')
      .map(([k, v]) => [k, new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + v.data_offsets[0], buf.byteOffset + 8 + n + v.data_offsets[1]))] as const);
  };
  const want = new Map(tensorsOf(a));
  let worst = 0;
  for (const [name, t] of tensorsOf(b)) {
    const w = want.get(name)!;
    for (let i = 0; i < t.length; i++) worst = Math.max(worst, Math.abs(t[i]! - w[i]!));
  }
  assert.ok(worst < 1e-6, `largest weight difference ${worst}`);
  // And the weights did move from the base.
  const initial = new Map(tensorsOf(await readFile(join(BASE, 'model.safetensors'))));
  const [name, t] = tensorsOf(b).find(([k]) => k.includes('query.weight'))!;
  assert.ok(
    t.some((x, i) => Math.abs(x - initial.get(name)![i]!) > 1e-5),
    'training changed the weights',
  );
  // Without a checkpoint in the output, --resume says so.
  const none = await tuna(...args(join(work, 'whole')), '--resume');
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /holds no checkpoint-N directory/);
});
