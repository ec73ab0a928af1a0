// tuna predict and tuna eval on broken checkpoints: each refuses with exit status 1 and a message
// naming the file and the tensor, instead of printing labels from random or NaN weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../src/io/safetensors.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';
import { tempDir } from './helpers/pipeline-models.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/bert/BertForSequenceClassification/', import.meta.url));

/** The fixture sequence classifier (labels negative, neutral, positive) with its tensors edited, and a data file. */
async function classifier(edit: (tensors: Map<string, NamedTensor>) => void): Promise<{ dir: string; data: string }> {
  const parent = await tempDir('infer-cli');
  const dir = join(parent, 'model');
  await cp(fixture, dir, { recursive: true });
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  edit(tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let i = 0; vocab.length < 97; i++) vocab.push(`w${i}`);
  await new BertTokenizer(vocab).save(dir);
  const data = join(parent, 'data.csv');
  await writeFile(data, 'text,label\nw1 w2,negative\nw3,positive\n');
  return { dir, data };
}

/** Runs tuna and expects exit status 1 with `pattern` on stderr (one line, no stack trace). */
async function fails(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let stderr = '';
  await assert.rejects(run(process.execPath, [bin, ...args], { env }), (e: { code: number; stderr: string; stdout: string }) => {
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr, pattern);
    assert.doesNotMatch(e.stderr, /\n\s+at |onnxruntime/, 'no stack trace and no raw ONNX Runtime log');
    assert.ok(!e.stderr.includes('\u001b['), 'no coloured log lines');
    stderr = e.stderr;
    return true;
  });
  return stderr;
}

test('tuna predict and tuna eval refuse a checkpoint missing an encoder tensor', async () => {
  const { dir, data } = await classifier((t) => t.delete('bert.encoder.layer.0.attention.self.query.weight'));
  const message =
    /^tuna: .*model\.safetensors: the checkpoint lacks 1 parameter\(s\) the model needs: bert\.encoder\.layer\.0\.attention\.self\.query\.weight \(missing\); running it would use random weights/;
  await fails(['predict', '--model', dir, '--text', 'w1 w2'], message);
  await fails(['eval', '--model', dir, '--data', data], message);
});

test('tuna predict refuses a head stored with another shape, naming both shapes', async () => {
  const { dir } = await classifier((t) => {
    t.set('classifier.weight', { shape: [2, 32], data: new Float32Array(64) });
    t.set('classifier.bias', { shape: [2], data: new Float32Array(2) });
  });
  await fails(['predict', '--model', dir, '--text', 'w1 w2'], /classifier\.weight \(stored with shape \[2, 32\], but config\.json declares \[3, 32\]\)/);
});

test('tuna predict --json and tuna eval refuse NaN weights (code non_finite) instead of printing label -1 or an accuracy', async () => {
  const { dir, data } = await classifier((t) => (t.get('classifier.weight')!.data as Float32Array).fill(Number.NaN));
  let stdout = '';
  await assert.rejects(run(process.execPath, [bin, 'predict', '--model', dir, '--text', 'w1 w2', '--json']), (e: { code: number; stdout: string }) => {
    assert.equal(e.code, 1);
    stdout = e.stdout;
    return true;
  });
  const { error } = JSON.parse(stdout);
  assert.equal(error.code, 'non_finite');
  assert.match(error.message, /model\.safetensors: tensor "classifier\.weight" holds NaN/);
  const stderr = await fails(['eval', '--model', dir, '--data', data], /tensor "classifier\.weight" holds NaN/);
  assert.doesNotMatch(stderr, /accuracy|loss NaN/);
});

test('TUNA_THREADS=abc is an error naming the variable, not ignored', async () => {
  const { dir } = await classifier(() => {});
  await fails(['predict', '--model', dir, '--text', 'w1 w2'], /^tuna: TUNA_THREADS must be a whole number of threads, at least 1 .*got "abc"/, {
    ...process.env,
    TUNA_THREADS: 'abc',
  });
});

test('tuna predict on a tokenizer larger than vocab_size names both sizes instead of printing ONNX Runtime’s log', async () => {
  const { dir } = await classifier(() => {});
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  for (let i = 0; vocab.length < 120; i++) vocab.push(`w${i}`);
  await new BertTokenizer(vocab).save(dir);
  await fails(['predict', '--model', dir, '--text', 'w110 w111'], /tokenizer\.json: the tokenizer has 120 token ids .*config\.json has vocab_size 97/);
});
