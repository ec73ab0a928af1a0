// `tuna train` and `tuna eval` end to end on samples of real datasets (banking77 intents, waimai_10k
// Chinese reviews, CoNLL-2003 NER), from small randomly initialised models: each run must learn
// (scores well above chance), write a Hugging Face checkpoint with the reports, and `tuna eval`
// must reproduce the reported numbers. Bad input stops with the file, line and problem named.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-train-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

function textsOf(file: string, column = 'text'): string[] {
  const raw = readFileSync(fixture(file), 'utf8');
  if (file.endsWith('.jsonl')) return raw.trim().split('\n').map((l) => JSON.parse(l)[column] as string);
  if (file.endsWith('.conll')) return raw.split('\n').map((l) => l.split(' ')[0] ?? '');
  return raw.split('\n').slice(1);
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('intent classification (banking77 sample): learns, writes a checkpoint with reports, eval reproduces the numbers', async () => {
  const model = writeTinyModel(join(work, 'banking-model'), [...textsOf('banking77-4class-train.jsonl'), ...textsOf('banking77-4class-test.jsonl')], { hidden: 64 });
  const out = join(work, 'banking-out');
  const r = await tuna(
    'train', '--model', model, '--train', fixture('banking77-4class-train.jsonl'), '--validation', fixture('banking77-4class-test.jsonl'),
    '--output', out, '--epochs', '6', '--batch-size', '16', '--lr', '1e-3', '--max-length', '32', '--progress', 'lines', '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.ok(summary.validation.accuracy > 0.7, `validation accuracy ${summary.validation.accuracy} (chance 0.25)`);
  assert.match(r.stderr, /step \d+\/\d+ epoch [\d.]+: loss [\d.]+, learning_rate/);
  // A Hugging Face checkpoint with the learned label set and the training length.
  const config = json(join(out, 'config.json'));
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  const intents = [...new Set(textsOf('banking77-4class-train.jsonl', 'label'))].sort();
  assert.equal(intents.length, 4);
  assert.deepEqual(Object.values(config.id2label), intents);
  assert.equal(json(join(out, 'tokenizer_config.json')).model_max_length, 32);
  for (const f of ['model.safetensors', 'vocab.txt', 'metrics.jsonl', 'learning_curve.svg', 'validation_report.txt', 'validation_results.json', 'train_results.json']) {
    assert.ok(existsSync(join(out, f)), `${f} in the output directory`);
  }
  const report = readFileSync(join(out, 'validation_report.txt'), 'utf8');
  assert.match(report, /precision\s+recall\s+f1-score\s+support/);
  assert.match(report, /macro avg/);
  assert.match(report, /confusion matrix/);

  const e = await tuna('eval', '--model', out, '--data', fixture('banking77-4class-test.jsonl'), '--json');
  assert.equal(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.accuracy, summary.validation.accuracy);
  assert.equal(ev['macro avg']['f1-score'], summary.validation.f1);
  assert.ok(ev.card_arrival.support > 0);

  const text = await tuna('eval', '--model', out, '--data', fixture('banking77-4class-test.jsonl'));
  assert.match(text.stdout, /accuracy/);
  assert.match(text.stdout, /weighted avg/);

  const p = await tuna('predict', '--model', out, '--text', 'my card still has not arrived', '--json');
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).label, 'card_arrival');
});

test('Chinese sentiment (waimai_10k sample): column override, held-out split, accuracy above chance on the test file', async () => {
  const model = writeTinyModel(join(work, 'waimai-model'), [...textsOf('e2e/waimai-train.csv'), ...textsOf('e2e/waimai-test.csv')], { hidden: 64 });
  const out = join(work, 'waimai-out');
  const r = await tuna(
    'train', '--model', model, '--train', fixture('e2e/waimai-train.csv'), '--test', fixture('e2e/waimai-test.csv'), '--text-column', 'review',
    '--output', out, '--epochs', '5', '--batch-size', '16', '--lr', '1e-3', '--max-length', '64', '--progress', 'none', '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.ok(summary.test.accuracy > 0.7, `test accuracy ${summary.test.accuracy} (chance 0.5)`);
  assert.ok(existsSync(join(out, 'test_report.txt')));
  assert.deepEqual(Object.values(json(join(out, 'config.json')).id2label), ['0', '1']);
});

test('NER (CoNLL-2003 sample): word-level tags, seqeval entity scores, eval --json with an entity section', async () => {
  const model = writeTinyModel(join(work, 'ner-model'), [...textsOf('e2e/conll-train.conll'), ...textsOf('e2e/conll-dev.conll')], { hidden: 64 });
  const out = join(work, 'ner-out');
  const r = await tuna(
    'train', '--task', 'token-classification', '--model', model, '--train', fixture('e2e/conll-train.conll'), '--validation', fixture('e2e/conll-dev.conll'),
    '--output', out, '--epochs', '8', '--batch-size', '16', '--lr', '2e-3', '--max-length', '64', '--progress', 'none', '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.ok(summary.validation.f1 > 0.15, `entity F1 ${summary.validation.f1}`);
  const report = readFileSync(join(out, 'validation_report.txt'), 'utf8');
  for (const type of ['LOC', 'MISC', 'ORG', 'PER']) assert.match(report, new RegExp(`\\b${type}\\b`));
  const e = await tuna('eval', '--model', out, '--data', fixture('e2e/conll-dev.conll'), '--json');
  assert.equal(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout);
  assert.equal(ev.entity['micro avg']['f1-score'], summary.validation.f1);
  assert.ok(ev.entity['macro avg'] && ev.entity['weighted avg']);
  const p = await tuna('predict', '--model', out, '--text', 'Germany beat England in London .', '--json');
  assert.equal(p.code, 0, p.stderr);
  assert.ok(Array.isArray(JSON.parse(p.stdout).entities));
});

test('bad input stops with the file, line and problem named, and no stack trace', async () => {
  const model = writeTinyModel(join(work, 'bad-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const out = join(work, 'bad-out');
  const missing = await tuna('train', '--model', model, '--train', fixture('e2e/waimai-train.csv'), '--output', out);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /waimai-train\.csv.*text/);
  assert.match(missing.stderr, /--text-column/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);

  const unknown = join(work, 'unknown.jsonl');
  writeFileSync(unknown, '{"text": "where is my card", "label": "card_arrival"}\n{"text": "hello", "label": "greeting"}\n');
  const trained = join(work, 'banking-out');
  if (existsSync(join(trained, 'model.safetensors'))) {
    const ev = await tuna('eval', '--model', trained, '--data', unknown, '--json');
    assert.equal(ev.code, 1);
    assert.match(ev.stderr, /unknown\.jsonl:2.*greeting/);
    assert.equal(JSON.parse(ev.stdout).error.code, 'invalid_data');
  }
  const usage = await tuna('train', '--model', model, '--train', fixture('banking77-4class-train.jsonl'), '--output', out, '--lr', 'fast');
  assert.equal(usage.code, 1);
  assert.match(usage.stderr, /--lr must be a number/);
});

test('Ctrl-C saves a checkpoint and exits 130; --resume finishes the run', async () => {
  const model = writeTinyModel(join(work, 'sigint-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const out = join(work, 'sigint-out');
  const args = [bin, 'train', '--model', model, '--train', fixture('banking77-4class-train.jsonl'), '--output', out,
    '--max-steps', '400', '--batch-size', '8', '--max-length', '32', '--logging-steps', '1', '--progress', 'lines', '--eval-strategy', 'no', '--threads', '1'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/step \d+\/400/.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at step \d+.*--resume/);
  const saved = readdirSync(out).filter((d) => /^checkpoint-\d+$/.test(d));
  assert.equal(saved.length, 1);
  const step = Number(saved[0]!.slice('checkpoint-'.length));
  assert.ok(step >= 1 && step < 400);

  const resumed = await tuna('train', ...args.slice(2).map((a) => (a === '400' ? '' + (step + 5) : a)), '--resume-from-checkpoint', join(out, saved[0]!), '--progress', 'none');
  // A different --max-steps than the checkpoint's run is refused, naming both.
  assert.equal(resumed.code, 1);
  assert.match(resumed.stderr, /saved for a run of 400 steps/);
  const finished = await tuna('train', ...args.slice(2), '--resume', '--max-steps', '400', '--progress', 'none', '--json');
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal(JSON.parse(finished.stdout).global_step, 400);
});
