// Training runs under faults: checkpoint rotation beside an older run's checkpoint-100, the figures of
// a resumed run, a full disk during a checkpoint write, and `tuna train` from a sharded checkpoint.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { LabelMap, loadTextExamples, textFeatures } from '../src/data/index.js';
import { isTunaError } from '../src/errors.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { AutoModelForSequenceClassification, AutoTokenizer } from '../src/models/auto.js';
import type { TrainingArguments } from '../src/train/arguments.js';
import { LOCK_FILE } from '../src/train/output-dir.js';
import { Trainer } from '../src/train/trainer.js';
import { tempDir } from './helpers/pipeline-models.js';
import { writeTinyModel } from './helpers/tiny-model.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const trainFile = fixture('banking77-4class-train.jsonl');
const work = await tempDir('hardening-train-run');
const examples = await loadTextExamples(trainFile);
const modelDir = writeTinyModel(
  join(work, 'model'),
  examples.map((e) => e.text),
  { hidden: 32, maxPositions: 64 },
);
const labels = LabelMap.fromExamples(examples.map((e) => e.label as string));
const tokenizer = await AutoTokenizer.fromPretrained(modelDir);
// 96 examples in batches of 16: 6 steps an epoch.
const train = textFeatures(tokenizer, examples.slice(0, 96), labels, { maxLength: 16 });

async function trainer(outputDir: string, args: Partial<TrainingArguments>, tok = tokenizer): Promise<Trainer> {
  const model = await AutoModelForSequenceClassification.fromPretrained(modelDir, { id2label: labels.toConfig().id2label, seed: 3, initMissingWeights: true });
  return new Trainer({
    model,
    args: { outputDir, perDeviceTrainBatchSize: 16, learningRate: 2e-3, progress: 'none', seed: 5, evalStrategy: 'no', threads: 1, loggingSteps: 1, ...args },
    trainDataset: train,
    tokenizer: tok,
  });
}

/** A run of `args` stopped after step `stopAt` (a checkpoint is saved), then resumed to its end. */
async function stoppedAndResumed(out: string, args: Partial<TrainingArguments>, stopAt: number, resumeFrom: string | true = true): Promise<Trainer> {
  const first = await trainer(out, args);
  first.addCallback({ onStep: (p) => p.globalStep === stopAt && first.stop() });
  const r = await first.train();
  assert.equal(r.interrupted, true);
  const second = await trainer(out, args);
  const end = await second.train({ resumeFromCheckpoint: typeof resumeFrom === 'string' ? join(out, resumeFrom) : true });
  assert.equal(end.interrupted, false);
  return second;
}

const checkpointsIn = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.includes('checkpoint-'))
    .sort();
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('rotation (saveTotalLimit) only removes checkpoints of the current run: an older run’s checkpoint-100 stays, the new ones rotate', async () => {
  const older = join(work, 'older-run');
  await (await trainer(older, { maxSteps: 2, saveStrategy: 'steps', saveSteps: 2 })).train();
  const out = join(work, 'rotation');
  mkdirSync(out);
  renameSync(join(older, 'checkpoint-2'), join(out, 'checkpoint-100'));
  const stale = readFileSync(join(out, 'checkpoint-100', 'trainer_state.json'), 'utf8');

  const args = { maxSteps: 6, saveStrategy: 'steps', saveSteps: 2, saveTotalLimit: 1 } as const;
  const first = await trainer(out, args);
  first.addCallback({ onStep: (p) => p.globalStep === 4 && first.stop() });
  await first.train();
  assert.deepEqual(checkpointsIn(out), ['checkpoint-100', 'checkpoint-4'], 'checkpoint-2 rotated out, checkpoint-100 of the other run kept');
  const resumed = await trainer(out, args);
  await resumed.train({ resumeFromCheckpoint: join(out, 'checkpoint-4') });
  assert.deepEqual(checkpointsIn(out), ['checkpoint-100', 'checkpoint-6'], 'the resumed run rotates its own checkpoint-4');
  assert.equal(readFileSync(join(out, 'checkpoint-100', 'trainer_state.json'), 'utf8'), stale);
  const runId = json(join(out, 'checkpoint-6', 'trainer_state.json')).runId;
  assert.match(runId, /^[0-9a-f-]{36}$/);
  assert.notEqual(json(join(out, 'checkpoint-100', 'trainer_state.json')).runId, runId);
});

test('train_results.json after a resume reports the whole run: steps, epochs, runtime and throughput summed, loss over every step', async () => {
  const args = { maxSteps: 6, saveStrategy: 'steps', saveSteps: 2 } as const;
  const straightDir = join(work, 'straight');
  const straight = await trainer(straightDir, args);
  const whole = await straight.train();
  const out = join(work, 'resumed');
  const resumed = await stoppedAndResumed(out, args, 4);
  const results = json(join(out, 'train_results.json'));
  const expected = json(join(straightDir, 'train_results.json'));
  assert.equal(results.global_step, 6);
  assert.equal(results.epoch, expected.epoch);
  // The resumed run computes the same losses as the straight one, so the whole-run mean is the same.
  assert.ok(Math.abs(results.train_loss - whole.trainingLoss) < 1e-9, `train_loss ${results.train_loss}, uninterrupted ${whole.trainingLoss}`);
  const steps = resumed.logHistory.filter((r) => 'loss' in r).map((r) => r.loss!);
  assert.equal(steps.length, 6);
  assert.ok(Math.abs(results.train_loss - steps.reduce((a, b) => a + b) / 6) < 1e-5);
  // Runtime covers both segments; throughput is the whole run's 96 examples and 6 steps over it.
  const firstSegment = json(join(out, 'checkpoint-4', 'trainer_state.json')).totals;
  assert.equal(firstSegment.steps, 4);
  assert.equal(firstSegment.samples, 64);
  assert.ok(results.train_runtime > firstSegment.seconds, `runtime ${results.train_runtime} s, first segment ${firstSegment.seconds} s`);
  const tolerance = (n: number) => n * 0.01 + 0.01;
  assert.ok(Math.abs(results.train_samples_per_second * results.train_runtime - 96) < tolerance(96), JSON.stringify(results));
  assert.ok(Math.abs(results.train_steps_per_second * results.train_runtime - 6) < tolerance(6), JSON.stringify(results));
});

/** The tokenizer, except that from its `failAt`-th save on the disk is full (a file of the checkpoint on /dev/full). */
function diskFullFrom(failAt: number): typeof tokenizer {
  let saves = 0;
  const t = Object.create(tokenizer) as typeof tokenizer;
  t.save = async (dir: string) => {
    await tokenizer.save(dir);
    if (++saves < failAt) return;
    symlinkSync('/dev/full', join(dir, 'added_tokens.json'));
    await writeFile(join(dir, 'added_tokens.json'), '{}\n');
  };
  return t;
}

test('a full disk during a checkpoint write names the error, the file and the last complete checkpoint, which resumes', async () => {
  const out = join(work, 'disk-full');
  const args = { maxSteps: 4, saveStrategy: 'steps', saveSteps: 2 } as const;
  const failing = await trainer(out, args, diskFullFrom(2));
  await assert.rejects(failing.train(), (e: unknown) => {
    assert.ok(isTunaError(e), String(e));
    assert.equal(e.code, 'file_system');
    assert.ok(e.message.includes(join(out, 'checkpoint-4')), e.message);
    assert.match(e.message, /cannot write.*: no space left on the device; free some space or write elsewhere \(ENOSPC\)\./);
    assert.ok(e.message.endsWith(` The last complete checkpoint, ${join(out, 'checkpoint-2')}, is intact: fix the problem and resume from it.`), e.message);
    return true;
  });
  assert.deepEqual(checkpointsIn(out), ['checkpoint-2'], 'no partial checkpoint-4 is left');
  assert.ok(!existsSync(join(out, LOCK_FILE)), 'the lock is released on the error');
  const resumed = await trainer(out, args);
  const end = await resumed.train({ resumeFromCheckpoint: join(out, 'checkpoint-2') });
  assert.equal(end.globalStep, 4);

  const first = join(work, 'disk-full-first');
  await assert.rejects((await trainer(first, args, diskFullFrom(1))).train(), (e: unknown) => {
    assert.ok(isTunaError(e) && e.code === 'file_system', String(e));
    assert.match(e.message, /\(ENOSPC\)\. No checkpoint of this run is complete yet: fix the problem and start the run again\.$/);
    return true;
  });

  // The disk fills up while the final model is written, after the last checkpoint.
  const final = join(work, 'disk-full-final');
  const once = { maxSteps: 2, saveStrategy: 'steps', saveSteps: 2 } as const;
  await assert.rejects((await trainer(final, once, diskFullFrom(2))).train(), (e: unknown) => {
    assert.ok(isTunaError(e) && e.code === 'file_system', String(e));
    assert.ok(e.message.startsWith(`${final}: cannot write the model into ${final}: no space left on the device`), e.message);
    assert.ok(e.message.endsWith(`(ENOSPC). The last complete checkpoint, ${join(final, 'checkpoint-2')}, is intact: fix the problem and resume from it.`), e.message);
    return true;
  });
  unlinkSync(join(final, 'added_tokens.json'));
  const done = await (await trainer(final, once)).train({ resumeFromCheckpoint: true });
  assert.equal(done.globalStep, 2);
  assert.equal(json(join(final, 'train_results.json')).global_step, 2);
});

test('tuna train from a sharded checkpoint loads its weights: the same model as from the unsharded one, byte for byte', async () => {
  const source = await AutoModelForSequenceClassification.fromPretrained(modelDir, { id2label: labels.toConfig().id2label, seed: 11, initMissingWeights: true });
  const plain = join(work, 'plain');
  const sharded = join(work, 'sharded');
  await source.savePretrained(plain);
  await source.savePretrained(sharded, { maxShardBytes: 24 * 1024 });
  await source.dispose();
  for (const dir of [plain, sharded]) for (const f of ['vocab.txt', 'tokenizer_config.json']) copyFileSync(join(modelDir, f), join(dir, f));
  const shards = readdirSync(sharded).filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
  assert.ok(shards.length >= 2 && existsSync(join(sharded, 'model.safetensors.index.json')) && !existsSync(join(sharded, 'model.safetensors')), `${shards}`);

  const outputs: string[] = [];
  for (const from of [plain, sharded]) {
    const output = join(work, `from-${from.endsWith('sharded') ? 'sharded' : 'plain'}`);
    let stderr = '';
    const argv = ['train', '--model', from, '--train', trainFile, '--output', output, '--max-steps', '1', '--lr', '1e-30', '--batch-size', '8', '--max-length', '16'];
    const code = await run([...argv, '--validation-split', '0', '--threads', '1', '--progress', 'none'], { stdout: () => {}, stderr: (s) => void (stderr += s) });
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /initialised \d+ parameters|re-initialised/, 'every weight comes from the checkpoint');
    outputs.push(output);
  }
  assert.ok(readFileSync(join(outputs[0]!, 'model.safetensors')).equals(readFileSync(join(outputs[1]!, 'model.safetensors'))));
  // And those weights are the checkpoint's (a learning rate of 1e-30 leaves them as they were).
  const before = (await readSafetensors(join(plain, 'model.safetensors'))).tensors;
  const after = (await readSafetensors(join(outputs[1]!, 'model.safetensors'))).tensors;
  for (const [name, t] of before) {
    const a = t.data as Float32Array;
    const b = after.get(name)!.data as Float32Array;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    assert.ok(diff < 1e-6, `${name} moved by ${diff}`);
  }
});
