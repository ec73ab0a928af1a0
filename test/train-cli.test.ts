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
  if (file.endsWith('.jsonl'))
    return raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)[column] as string);
  if (file.endsWith('.conll')) return raw.split('\n').map((l) => l.split(' ')[0] ?? '');
  return raw.split('\n').slice(1);
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('intent classification (banking77 sample): learns, writes a checkpoint with reports, eval reproduces the numbers', async () => {
  const model = writeTinyModel(join(work, 'banking-model'), [...textsOf('banking77-4class-train.jsonl'), ...textsOf('banking77-4class-test.jsonl')], { hidden: 64 });
  const out = join(work, 'banking-out');
  const r = await tuna(
    'train',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('banking77-4class-train.jsonl'),
    '--validation',
    fixture('banking77-4class-test.jsonl'),
    '--output',
    out,
    '--epochs',
    '6',
    '--batch-size',
    '16',
    '--lr',
    '1e-3',
    '--max-length',
    '32',
    '--progress',
    'lines',
    '--json',
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
    'train',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('e2e/waimai-train.csv'),
    '--test',
    fixture('e2e/waimai-test.csv'),
    '--text-column',
    'review',
    '--output',
    out,
    '--epochs',
    '5',
    '--batch-size',
    '16',
    '--lr',
    '1e-3',
    '--max-length',
    '64',
    '--progress',
    'none',
    '--json',
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
    'train',
    '--task',
    'token-classification',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('e2e/conll-train.conll'),
    '--validation',
    fixture('e2e/conll-dev.conll'),
    '--output',
    out,
    '--epochs',
    '8',
    '--batch-size',
    '16',
    '--lr',
    '2e-3',
    '--max-length',
    '64',
    '--progress',
    'none',
    '--json',
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
  const missing = await tuna('train', '--model', model, '--from-scratch', '--train', fixture('e2e/waimai-train.csv'), '--output', out);
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
  const args = [
    bin,
    'train',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('banking77-4class-train.jsonl'),
    '--output',
    out,
    '--max-steps',
    '400',
    '--batch-size',
    '8',
    '--max-length',
    '32',
    '--logging-steps',
    '1',
    '--progress',
    'lines',
    '--eval-strategy',
    'no',
    '--threads',
    '1',
  ];
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
  // The weights come from the checkpoint: no report of what loading --model initialised.
  assert.ok(finished.stderr.includes(`resuming from ${join(out, saved[0]!)}`), finished.stderr);
  assert.doesNotMatch(finished.stderr, /initialised \d+ parameters/);
});

test('an output directory holding a run is refused unless --overwrite-output-dir (which clears it) or --resume', async () => {
  const model = writeTinyModel(join(work, 'reuse-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const out = join(work, 'reuse-out');
  const run = (...extra: string[]) =>
    tuna(
      'train',
      '--model',
      model,
      '--from-scratch',
      '--train',
      fixture('banking77-4class-train.jsonl'),
      '--output',
      out,
      '--max-length',
      '32',
      '--batch-size',
      '16',
      '--validation-split',
      '0',
      '--progress',
      'none',
      ...extra,
    );
  const first = await run('--max-steps', '3', '--save-strategy', 'steps', '--save-steps', '3');
  assert.equal(first.code, 0, first.stderr);
  assert.ok(existsSync(join(out, 'checkpoint-3')));
  // No validation or test data: no reports are claimed.
  assert.doesNotMatch(first.stdout, /report/);
  assert.match(first.stdout, /metrics\.jsonl.*written to/);

  const again = await run('--max-steps', '2', '--json');
  assert.equal(again.code, 1);
  assert.ok(again.stderr.includes(out), again.stderr);
  assert.match(again.stderr, /already holds a training run \(checkpoint-3/);
  assert.match(again.stderr, /--resume/);
  assert.match(again.stderr, /--overwrite-output-dir/);
  assert.equal(JSON.parse(again.stdout).error.code, 'output_exists');
  assert.ok(existsSync(join(out, 'checkpoint-3')), 'a refused run leaves the earlier one alone');

  writeFileSync(join(out, 'notes.txt'), 'mine');
  const replaced = await run('--max-steps', '2', '--save-strategy', 'steps', '--save-steps', '2', '--overwrite-output-dir');
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stderr, /removed the earlier run/);
  assert.deepEqual(
    readdirSync(out).filter((d) => d.startsWith('checkpoint-')),
    ['checkpoint-2'],
    "only the new run's checkpoint",
  );
  assert.equal(json(join(out, 'train_results.json')).global_step, 2);
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine', 'files that are no run output stay');
});

test('a --model directory without weights is refused unless --from-scratch; the learning rate follows the model size', async () => {
  const model = writeTinyModel(join(work, 'noweights-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const out = join(work, 'noweights-out');
  const refused = await tuna('train', '--model', model, '--train', fixture('banking77-4class-train.jsonl'), '--output', out, '--max-steps', '1');
  assert.equal(refused.code, 1);
  assert.ok(refused.stderr.includes(model), refused.stderr);
  assert.match(refused.stderr, /no weights/);
  assert.match(refused.stderr, /--from-scratch/);
  assert.match(refused.stderr, /trained checkpoint/);
  assert.ok(!existsSync(out), 'nothing was written');
  const noModel = await tuna('train', '--from-scratch', '--train', fixture('banking77-4class-train.jsonl'), '--output', out, '--max-steps', '1');
  assert.equal(noModel.code, 1);
  assert.match(noModel.stderr, /--from-scratch takes a --model directory with a config\.json/);

  const scratch = await tuna(
    'train',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('banking77-4class-train.jsonl'),
    '--output',
    out,
    '--max-steps',
    '1',
    '--max-length',
    '32',
    '--validation-split',
    '0',
    '--progress',
    'none',
    '--json',
  );
  assert.equal(scratch.code, 0, scratch.stderr);
  assert.match(scratch.stderr, /--from-scratch: every weight of the model starts random/);
  assert.match(scratch.stderr, /learning rate 3e-4 \(the default for hidden size 32; set it with --lr\)/);
  assert.equal(JSON.parse(scratch.stdout).learning_rate, 3e-4);
  assert.match(scratch.stderr, /vocabulary coverage: 0\.0% of the word pieces/);
});

test('Chinese text into an English vocabulary: the [UNK] rate is reported with a warning naming the bundled Chinese model', async () => {
  const model = writeTinyModel(join(work, 'en-only-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const out = join(work, 'unk-out');
  const r = await tuna(
    'train',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('e2e/waimai-train.csv'),
    '--text-column',
    'review',
    '--output',
    out,
    '--max-steps',
    '1',
    '--max-length',
    '32',
    '--validation-split',
    '0',
    '--progress',
    'none',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const rate = JSON.parse(r.stdout).unknown_rate;
  assert.ok(rate > 0.5, `[UNK] rate ${rate}`);
  assert.match(r.stderr, /warning: \d+\.\d% of the word pieces are \[UNK\]/);
  assert.match(r.stderr, /look Chinese/);
  assert.match(r.stderr, /tuna-small-zh/);
});

test('--metric-for-best-model is checked before training: typos get the closest name, runtime and throughput are refused', async () => {
  const model = writeTinyModel(join(work, 'metric-model'), textsOf('banking77-4class-train.jsonl'), { hidden: 32 });
  const base = ['train', '--model', model, '--from-scratch', '--train', fixture('banking77-4class-train.jsonl'), '--max-steps', '1', '--progress', 'none'];
  const typo = await tuna(...base, '--output', join(work, 'metric-typo'), '--metric-for-best-model', 'acuracy');
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /"acuracy" is not a metric.*did you mean "accuracy"\?.*Available: loss, accuracy, f1/);
  assert.doesNotMatch(typo.stderr, /step \d/);
  assert.ok(!existsSync(join(work, 'metric-typo', 'metrics.jsonl')), 'no training happened');
  for (const timing of ['eval_runtime', 'eval_samples_per_second']) {
    const r = await tuna(...base, '--output', join(work, 'metric-timing'), '--metric-for-best-model', timing);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`"${timing}" is a runtime or throughput figure`));
  }
  const token = await tuna(
    'train',
    '--task',
    'token-classification',
    '--model',
    model,
    '--from-scratch',
    '--train',
    fixture('e2e/conll-dev.conll'),
    '--output',
    join(work, 'metric-token'),
    '--metric-for-best-model',
    'f1_weighted',
  );
  assert.equal(token.code, 1);
  assert.match(token.stderr, /"f1_weighted" is not a metric.*Available: loss, precision, recall, f1, accuracy/);
});

test('--on-bad-row skip leaves out an empty review and says how many and where; the default stops at it', async () => {
  const model = writeTinyModel(join(work, 'badrow-model'), textsOf('e2e/waimai-train.csv'), { hidden: 32 });
  const data = join(work, 'reviews-with-holes.csv');
  const rows = readFileSync(fixture('e2e/waimai-train.csv'), 'utf8').trimEnd().split('\n').slice(0, 41);
  rows.splice(5, 0, '1,');
  rows.splice(9, 0, ',没有标签');
  writeFileSync(data, rows.join('\n') + '\n');
  const args = ['train', '--model', model, '--from-scratch', '--train', data, '--text-column', 'review', '--max-steps', '1', '--max-length', '32', '--progress', 'none'];
  const stopped = await tuna(...args, '--output', join(work, 'badrow-error'));
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /reviews-with-holes\.csv:6: empty text in "review"/);
  const skipped = await tuna(...args, '--output', join(work, 'badrow-skip'), '--on-bad-row', 'skip', '--validation-split', '0', '--json');
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /skipped 2 bad rows of .*reviews-with-holes\.csv \(lines 6, 10; first: empty text in "review"/);
  assert.match(skipped.stderr, /text-classification: 40 training examples/);
  const bad = await tuna(...args, '--output', join(work, 'badrow-bad'), '--on-bad-row', 'sometimes');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--on-bad-row must be one of error, skip/);
});

test('NER: strict IOB2 entity scores, a sentence longer than --max-length counts its cut-off entities as missed; data settings stored', async () => {
  const sentence = (words: string[], tags: string[]) => JSON.stringify({ tokens: words, ner_tags: tags });
  const names = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
  const long = Array.from({ length: 30 }, (_, i) => (i % 6 === 0 ? 'Anna' : i % 6 === 3 ? 'Paris' : 'and'));
  const longTags = long.map((w) => (w === 'Anna' ? 1 : w === 'Paris' ? 3 : 0));
  const lines = [
    sentence(['Anna', 'Smith', 'lives', 'in', 'Paris'], [1, 2, 0, 0, 3] as unknown as string[]),
    sentence(['Bob', 'visits', 'Rome'], [1, 0, 3] as unknown as string[]),
    sentence(long, longTags as unknown as string[]),
    sentence(['Paris', 'is', 'big'], [3, 0, 0] as unknown as string[]),
  ];
  const file = join(work, 'ids.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const model = writeTinyModel(join(work, 'ids-model'), ['Anna Smith lives in Paris', 'Bob visits Rome and big is'], { hidden: 32 });
  const out = join(work, 'ids-out');
  const args = [
    'train',
    '--task',
    'token-classification',
    '--model',
    model,
    '--from-scratch',
    '--train',
    file,
    '--validation',
    file,
    '--max-length',
    '16',
    '--max-steps',
    '2',
    '--progress',
    'none',
  ];
  const noNames = await tuna(...args, '--output', out);
  assert.equal(noNames.code, 1);
  assert.match(noNames.stderr, /ids\.jsonl:1: "ner_tags" holds tag ids \(1, 2, 0, 0, 3\), not names.*--label-list/);
  const badScheme = await tuna(...args, '--output', out, '--label-list', names.join(','), '--entity-mode', 'strict', '--scheme', 'IOE2');
  assert.equal(badScheme.code, 1);
  assert.match(badScheme.stderr, /tag "B-PER" does not belong to the IOE2 scheme/);
  const r = await tuna(...args, '--output', out, '--label-list', names.join(','), '--entity-mode', 'strict', '--scheme', 'iob2', '--json');
  assert.equal(r.code, 0, r.stderr);
  // Ids follow the label list; every entity of the file is in the support, also those past 16 tokens.
  assert.deepEqual(Object.values(json(join(out, 'config.json')).id2label), names);
  const entities = 2 + 2 + long.filter((w) => w !== 'and').length + 1;
  const results = json(join(out, 'validation_results.json'));
  assert.equal(results.entity['micro avg'].support, entities);
  assert.match(readFileSync(join(out, 'validation_report.txt'), 'utf8'), /entities \(strict IOB2, seqeval-style\)/);
  assert.deepEqual(json(join(out, 'tuna_data_config.json')), {
    format: 'tuna-data-config',
    version: 1,
    task: 'token-classification',
    tokens_column: 'tokens',
    label_list: names,
  });
});
