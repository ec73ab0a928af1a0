// tuna predict, eval and tokenizer train on hostile inputs: empty files, named pipes with and
// without a writer, devices, a 5 MB text, and labels named __proto__.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { predictCommand } from '../src/cli/commands/predict.js';
import { readExamples } from '../src/tasks/prepare.js';
import { tempDir, writeSequenceClassifier } from './helpers/pipeline-models.js';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const LABELS = { '0': '__proto__', '1': 'constructor', '2': 'toString' };

let work: string;
let model: string;
before(async () => {
  work = await tempDir('hardening-data-cli');
  model = await writeSequenceClassifier(join(work, 'model'), LABELS);
});

/** Runs tuna; resolves with the exit code, stdout and stderr. */
async function tuna(args: string[], opts: { nodeArgs?: string[]; timeout?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [...(opts.nodeArgs ?? []), bin, ...args], { timeout: opts.timeout ?? 60_000, maxBuffer: 64 << 20 });
    return { code: 0, ...r };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

function fifo(name: string): string {
  const path = join(work, name);
  execFileSync('mkfifo', [path]);
  return path;
}

/** A child process that writes `text` into the pipe `path` once a reader opens it. */
function writer(path: string, text: string): ChildProcess {
  return spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(text)})`], { stdio: 'ignore' });
}

test('tuna eval --json on a model whose labels are __proto__, constructor and toString reports all three', async () => {
  const data = join(work, 'eval.csv');
  writeFileSync(data, 'text,label\nhello there,__proto__\nwhat is this,constructor\nok fine,toString\nmore text,__proto__\n');
  const r = await tuna(['eval', '--model', model, '--data', data, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  for (const label of Object.values(LABELS)) assert.ok(Object.hasOwn(report, label), `${label} in ${r.stdout}`);
  assert.equal(report[LABELS['0']].support, 2);
  assert.equal(report['macro avg'].support, 4);
  assert.deepEqual(report.confusion_matrix.labels, Object.values(LABELS));
});

test('predict --input on an empty file, a file of blank lines, a device or a missing file fails naming it', async () => {
  const empty = join(work, 'empty.txt');
  writeFileSync(empty, '');
  let r = await tuna(['predict', '--model', model, '--input', empty, '--json']);
  assert.equal(r.code, 1);
  assert.deepEqual(JSON.parse(r.stdout).error, { code: 'invalid_data', message: `${empty}: is empty: there is no text to predict. Give one text per line`, file: empty });
  const blank = join(work, 'blank.txt');
  writeFileSync(blank, '\n   \n\t\n');
  r = await tuna(['predict', '--model', model, '--input', blank]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /blank\.txt: has no text to predict: its 3 lines are blank/);
  const emptyCsv = join(work, 'empty.csv');
  writeFileSync(emptyCsv, '');
  r = await tuna(['predict', '--model', model, '--input', emptyCsv]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /empty\.csv: the file is empty/);

  for (const name of ['zero.txt', 'zero.jsonl']) {
    const zero = join(work, name);
    symlinkSync('/dev/zero', zero);
    r = await tuna(['predict', '--model', model, '--input', zero, '--json'], { timeout: 20_000 });
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).error.code, 'file_unreadable');
    assert.match(r.stderr, /is a character device, not a file/);
  }
  r = await tuna(['predict', '--model', model, '--input', join(work, 'missing.txt'), '--json']);
  assert.equal(JSON.parse(r.stdout).error.code, 'file_not_found');
  assert.match(r.stderr, /missing\.txt: cannot read: no such file or directory/);
});

test('tokenizer train refuses a device and reads a named pipe once, as a stream', async () => {
  const zero = join(work, 'corpus-zero.txt');
  symlinkSync('/dev/zero', zero);
  let r = await tuna(['tokenizer', 'train', '--input', zero, '--output', join(work, 'tok-zero')], { timeout: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /corpus-zero\.txt .*is a character device/);
  const pipe = fifo('corpus.fifo');
  const w = writer(pipe, 'the cat sat on the mat\nthe dog sat on the log\n'.repeat(50));
  r = await tuna(['tokenizer', 'train', '--input', pipe, '--output', join(work, 'tok-fifo'), '--vocab-size', '60', '--json'], { timeout: 30_000 });
  w.kill();
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.words, 600);
  assert.ok(summary.unknown_rate < 0.01, 'coverage measured on the lines read once');
});

test('a named pipe with a writer is read as data (predict --input, eval --data, the training reader)', async () => {
  const pipe = fifo('texts.fifo');
  let w = writer(pipe, 'where is my card?\n\nhello there\n');
  let r = await tuna(['predict', '--model', model, '--input', pipe, '--json'], { timeout: 30_000 });
  w.kill();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).text),
    ['where is my card?', 'hello there'],
  );
  const csv = fifo('eval-pipe.csv');
  w = writer(csv, 'text,label\nhello,__proto__\nworld,toString\n');
  r = await tuna(['eval', '--model', model, '--data', csv, '--json'], { timeout: 30_000 });
  w.kill();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).examples, 2);
  // What tuna train reads its --train file with.
  const train = fifo('train.jsonl');
  w = writer(train, '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n');
  const examples = await readExamples('text-classification', train, {});
  w.kill();
  assert.equal(examples.items.length, 2);
  // A pipe whose writer writes nothing is empty, and says so.
  const nothing = fifo('nothing.csv');
  w = writer(nothing, '');
  await assert.rejects(readExamples('text-classification', nothing, {}), /nothing\.csv: the file is empty/);
  w.kill();
  // A broken quote in a pipe is placed on its line without reading the pipe again.
  const quote = fifo('quote.csv');
  w = writer(quote, 'text,label\nfine,a\n"never closed,b\nmore,c\n');
  await assert.rejects(readExamples('text-classification', quote, {}), /quote\.csv:3: a quoted field is never closed/);
  w.kill();
});

test('predict on a named pipe without a writer waits as cat does, and SIGTERM or Ctrl-C still stops it at once', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const pipe = fifo(`waiting-${signal}.txt`);
    const child = spawn(process.execPath, [bin, 'predict', '--model', model, '--input', pipe], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(child.exitCode, null, 'still waiting for a writer');
    const t0 = performance.now();
    child.kill(signal);
    const [code, sig] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    assert.ok(performance.now() - t0 < 3000, `${signal} stopped it in ${(performance.now() - t0).toFixed(0)} ms`);
    assert.ok(sig === signal || code !== 0, `exit ${code} ${sig}`);
  }
});

test('a 5 MB text through predict: truncated before tokenization in bounded memory, echoed cut to 10,000 characters', async () => {
  const big = join(work, 'big.txt');
  const text = 'where is my card? '.repeat(300_000);
  writeFileSync(big, `${text}\nhello there\n`);
  const t0 = performance.now();
  // A 160 MiB V8 heap: tokenizing the whole text (about 1.5 million tokens, five arrays of them) would not fit.
  const r = await tuna(['predict', '--model', model, '--input', big, '--json'], { nodeArgs: ['--max-old-space-size=160'], timeout: 60_000 });
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr.slice(0, 2000));
  const [row, small] = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(row.text, text.slice(0, 10_000));
  assert.equal(row.text_truncated, true);
  assert.equal(row.text_length, text.length);
  assert.equal(small.text, 'hello there');
  assert.equal(small.text_truncated, undefined);
  assert.ok(r.stdout.length < 30_000, `${r.stdout.length} bytes of output`);
  assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);

  // The logits are those of the text cut to the model's length: the same as predicting its start.
  const start = join(work, 'start.txt');
  writeFileSync(start, `${text.slice(0, 2000)}\n`);
  const s = await tuna(['predict', '--model', model, '--input', start, '--json']);
  const logits = JSON.parse(s.stdout.trim()).logits as number[];
  (row.logits as number[]).forEach((v, k) => assert.ok(Math.abs(v - logits[k]!) < 1e-4));
});

test('predict --echo-text: all, none, or a number of characters', async () => {
  const input = join(work, 'echo.txt');
  const long = 'x'.repeat(30);
  writeFileSync(input, `${long}\nshort\n`);
  const outputs = async (echoText: string | undefined, json: boolean) => {
    let stdout = '';
    await predictCommand({ model, input, json, ...(echoText === undefined ? {} : { echoText }) }, { stdout: (t) => void (stdout += t), stderr: () => {} });
    return stdout.trim().split('\n');
  };
  const rows = async (echoText?: string) => (await outputs(echoText, true)).map((l) => JSON.parse(l));
  assert.deepEqual(
    (await rows()).map((r) => r.text),
    [long, 'short'],
  );
  const cut = await rows('10');
  assert.deepEqual(
    cut.map((r) => [r.text, r.text_truncated, r.text_length]),
    [
      ['x'.repeat(10), true, 30],
      ['short', undefined, undefined],
    ],
  );
  assert.ok((await rows('none')).every((r) => !('text' in r) && typeof r.label === 'string'));
  assert.deepEqual(
    (await rows('all')).map((r) => r.text),
    [long, 'short'],
  );
  const human = await outputs('10', false);
  assert.match(human[0]!, /^\S+\t0\.\d{4}\tx{10}…$/);
  assert.match((await outputs('none', false))[1]!, /^\S+\t0\.\d{4}$/);
  await assert.rejects(
    predictCommand({ model, input, echoText: 'lots' }, { stdout: () => {}, stderr: () => {} }),
    /--echo-text must be all, none or a number of characters >= 1, got "lots"/,
  );
});
