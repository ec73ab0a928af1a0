// The output directory of `tuna train` / `tuna pretrain` under faults: an --output that is the
// --model checkpoint, two runs into one directory (an exclusive lock, stale locks of dead runs
// taken over), temporaries left by a kill -9, and an --output that cannot be a directory.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { isTunaError } from '../src/errors.js';
import { LOCK_FILE, lockOutputDir } from '../src/train/output-dir.js';
import { tempDir } from './helpers/pipeline-models.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
const trainFile = fixture('banking77-4class-train.jsonl');
const work = await tempDir('hardening-train-output');
const texts = readFileSync(trainFile, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l).text as string);
const model = writeTinyModel(join(work, 'model'), texts, { hidden: 32 });
const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

async function tuna(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

/** `tuna train` of the tiny model for `steps` steps into `output`. */
const trainArgs = (output: string, steps = 1, modelDir = model) => [
  'train',
  '--model',
  modelDir,
  '--from-scratch',
  '--train',
  trainFile,
  '--output',
  output,
  '--max-steps',
  String(steps),
  '--batch-size',
  '8',
  '--max-length',
  '16',
  '--validation-split',
  '0',
  '--progress',
  'lines',
  '--logging-steps',
  '1',
  '--threads',
  '1',
];

const errorOf = (r: { stdout: string }) => JSON.parse(r.stdout).error as { code: string; message: string; file?: string };

function digest(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) h.update(f).update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

/** A process that sleeps until killed (a live pid to hold a lock). */
function sleeper(): ChildProcess {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

const exited = (c: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    c.exitCode !== null || c.signalCode !== null ? resolve({ code: c.exitCode, signal: c.signalCode }) : c.on('exit', (code, signal) => resolve({ code, signal })),
  );

test('--output equal to --model (also through a link) is refused naming both; the checkpoint is untouched', async () => {
  const before = digest(model);
  for (const output of [model, `${model}/`, join(work, 'link-to-model')]) {
    if (output.endsWith('link-to-model')) symlinkSync(model, output);
    const r = await tuna(...trainArgs(output), '--json');
    assert.equal(r.code, 1, r.stderr);
    const e = errorOf(r);
    assert.equal(e.code, 'usage');
    assert.ok(e.message.includes(`--output ${output}`) && e.message.includes(`--model directory ${model}`), e.message);
    assert.match(e.message, /overwrite the checkpoint it starts from; choose another --output/);
  }
  const pretrain = await tuna('pretrain', '--model', model, '--input', trainFile, '--output', model, '--max-steps', '1', '--json');
  assert.equal(pretrain.code, 1);
  assert.equal(errorOf(pretrain).code, 'usage');
  assert.match(errorOf(pretrain).message, /is the --model directory/);
  // A starting checkpoint inside the output directory would be removed by --overwrite-output-dir.
  const outer = join(work, 'outer');
  const inner = writeTinyModel(join(outer, 'checkpoint-3'), texts, { hidden: 32 });
  writeFileSync(join(inner, 'trainer_state.json'), '{}');
  const r = await tuna(...trainArgs(outer, 1, inner), '--overwrite-output-dir', '--json');
  assert.equal(r.code, 1);
  assert.match(errorOf(r).message, /--overwrite-output-dir would remove the starting checkpoint: --model .*checkpoint-3 lies inside --output .*outer/);
  assert.ok(existsSync(join(inner, 'config.json')));
  assert.equal(digest(model), before);
  assert.ok(!existsSync(join(model, LOCK_FILE)));
});

test('an --output that is a file, or lies under one, is refused naming the path and the fix; nothing is created', async () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  const onFile = await tuna(...trainArgs(file), '--json');
  assert.equal(onFile.code, 1);
  assert.equal(errorOf(onFile).code, 'file_system');
  assert.equal(errorOf(onFile).message, `${file}: is a file, not a directory; give a directory for the checkpoints and the model, or move the file away`);
  const under = join(file, 'run', 'out');
  const below = await tuna(...trainArgs(under), '--json');
  assert.equal(below.code, 1);
  assert.equal(errorOf(below).code, 'file_system');
  assert.equal(
    errorOf(below).message,
    `${under}: cannot create the output directory: ${file} is a file, not a directory; choose an output directory elsewhere, or move that file away`,
  );
  assert.doesNotMatch(below.stderr, /ENOTDIR|EEXIST|\n\s+at /);
  assert.equal(readFileSync(file, 'utf8'), 'x');
  // A refused run leaves no directory it created behind.
  const fresh = join(work, 'made', 'here');
  const refused = await tuna(...trainArgs(fresh), '--metric-for-best-model', 'acuracy');
  assert.equal(refused.code, 1);
  assert.ok(!existsSync(join(work, 'made')), 'the directories created for the lock are removed again');
});

test('a lock held by a live process is refused with output_locked naming the directory and pid; a dead run’s lock and temporaries are cleared', async () => {
  const out = join(work, 'locked');
  mkdirSync(out);
  const live = sleeper();
  writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: live.pid, hostname: hostname(), started: '2024-01-01T00:00:00.000Z' }));
  const refused = await tuna(...trainArgs(out), '--json');
  assert.equal(refused.code, 1);
  const e = errorOf(refused);
  assert.equal(e.code, 'output_locked');
  assert.equal(e.file, out);
  assert.ok(e.message.startsWith(`${out}: another run (pid ${live.pid} on ${hostname()}`), e.message);
  assert.ok(e.message.includes(`remove ${join(out, LOCK_FILE)}`), e.message);
  assert.ok(existsSync(join(out, LOCK_FILE)), "the other run's lock stays");
  await assert.rejects(lockOutputDir(out), (err: unknown) => isTunaError(err) && err.code === 'output_locked');

  // The holder dies (kill -9 during a write): its lock and temporaries are left behind.
  live.kill('SIGKILL');
  await exited(live);
  writeFileSync(join(out, '.model.safetensors.0a1b2c3d4e5f.tmp'), 'half a file');
  mkdirSync(join(out, '.checkpoint-7.partial'));
  writeFileSync(join(out, '.checkpoint-7.partial', 'model.safetensors'), 'half');
  writeFileSync(join(out, '.my-notes.tmp'), 'not tuna’s');
  const r = await tuna(...trainArgs(out), '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: .*locked: took over the lock of a run that is no longer running \\(pid ${live.pid}, started 2024-01-01`));
  assert.match(r.stderr, /removed 2 unfinished temporary files of an interrupted run from .*locked \(\.checkpoint-7\.partial, \.model\.safetensors\.0a1b2c3d4e5f\.tmp\)/);
  const left = readdirSync(out).filter((n) => n.startsWith('.'));
  assert.deepEqual(left, ['.my-notes.tmp'], 'only files of another naming stay; the lock is released');
  assert.equal(JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8')).global_step, 1);
});

test('tuna pretrain takes the same lock: refused while a live process holds it, and runs (releasing it) once it is free', async () => {
  const out = join(work, 'pretrain-locked');
  mkdirSync(out);
  const live = sleeper();
  writeFileSync(join(out, LOCK_FILE), JSON.stringify({ pid: live.pid, hostname: hostname(), started: new Date().toISOString() }));
  const argv = ['pretrain', '--tokenizer', model, '--input', trainFile, '--output', out, '--max-steps', '1', '--hidden-size', '16', '--layers', '1', '--heads', '2'];
  const pretrainArgs = [...argv, '--max-length', '16', '--threads', '1', '--progress', 'none', '--json'];
  const refused = await tuna(...pretrainArgs);
  assert.equal(refused.code, 1);
  assert.equal(errorOf(refused).code, 'output_locked');
  assert.ok(errorOf(refused).message.includes(`(pid ${live.pid} `));
  live.kill('SIGKILL');
  await exited(live);
  const r = await tuna(...pretrainArgs);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).global_step, 1);
  assert.ok(!existsSync(join(out, LOCK_FILE)));
});

test('locks nest within one process and are released by the last holder', async () => {
  const out = join(work, 'nested');
  const outer = await lockOutputDir(out);
  const inner = await lockOutputDir(out);
  const holder = JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8'));
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.hostname, hostname());
  await inner.release();
  assert.ok(existsSync(join(out, LOCK_FILE)));
  await outer.release();
  await outer.release();
  assert.ok(!existsSync(out), 'the directory the lock created, empty again, is removed');
});

test('two concurrent runs into one --output: the second fails with output_locked; SIGTERM releases the first one’s lock', async () => {
  const out = join(work, 'concurrent');
  const child = spawn(process.execPath, [bin, ...trainArgs(out, 100000)], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/step \d+\/100000/.test(stderr)) resolve();
    });
    child.on('exit', () => reject(new Error(`the first run ended early: ${stderr}`)));
  });
  assert.equal(JSON.parse(readFileSync(join(out, LOCK_FILE), 'utf8')).pid, child.pid);
  const second = await tuna(...trainArgs(out), '--json');
  assert.equal(second.code, 1);
  assert.equal(errorOf(second).code, 'output_locked');
  assert.ok(errorOf(second).message.includes(`${out}: another run (pid ${child.pid} `), errorOf(second).message);
  assert.match(second.stderr, /tuna: .*wait for it to finish or choose another output directory/);
  child.kill('SIGTERM');
  const end = await exited(child);
  assert.equal(end.signal, 'SIGTERM', 'the run still ends as SIGTERM ends it');
  assert.ok(!existsSync(join(out, LOCK_FILE)), 'the lock is released on SIGTERM');
});
