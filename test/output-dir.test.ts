// The output-directory guard of training runs: an earlier run is refused, resumed or overwritten,
// never mixed with a new one.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isTunaError } from '../src/errors.js';
import { OutputDirError, earlierRunFiles, prepareOutputDir } from '../src/train/output-dir.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-output-dir-'));
after(() => rmSync(work, { recursive: true, force: true }));

function earlierRun(dir: string): void {
  for (const step of [30, 60]) {
    mkdirSync(join(dir, `checkpoint-${step}`), { recursive: true });
    writeFileSync(join(dir, `checkpoint-${step}`, 'trainer_state.json'), '{}');
  }
  for (const f of ['config.json', 'model.safetensors', 'metrics.jsonl', 'learning_curve.svg', 'train_results.json', 'vocab.txt']) writeFileSync(join(dir, f), 'x');
  writeFileSync(join(dir, 'my-notes.md'), 'keep');
}

test('a missing, empty or unrelated directory is fine', async () => {
  assert.deepEqual(await prepareOutputDir(join(work, 'missing')), []);
  mkdirSync(join(work, 'empty'));
  assert.deepEqual(await prepareOutputDir(join(work, 'empty')), []);
  mkdirSync(join(work, 'other'));
  writeFileSync(join(work, 'other', 'data.csv'), 'text,label\n');
  assert.deepEqual(await earlierRunFiles(join(work, 'other')), []);
  assert.deepEqual(await prepareOutputDir(join(work, 'other')), []);
});

test('a directory holding a run is refused with both remedies named, resumed as it is, or cleared of the run', async () => {
  const dir = join(work, 'run');
  earlierRun(dir);
  assert.deepEqual(await earlierRunFiles(dir), ['checkpoint-30', 'checkpoint-60', 'metrics.jsonl', 'model.safetensors', 'train_results.json']);
  await assert.rejects(prepareOutputDir(dir), (e: unknown) => {
    assert.ok(e instanceof OutputDirError && isTunaError(e));
    assert.equal(e.code, 'output_exists');
    assert.equal(e.file, dir);
    assert.match(
      e.message,
      new RegExp(
        `^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the output directory already holds a training run \\(checkpoint-30, checkpoint-60, metrics\\.jsonl, model\\.safetensors, \\.\\.\\.\\)`,
      ),
    );
    assert.match(e.message, /overwriteOutputDir: true/);
    assert.match(e.message, /resumeFromCheckpoint/);
    return true;
  });
  await assert.rejects(prepareOutputDir(dir, { remedies: { overwrite: '--overwrite-output-dir', resume: '--resume' } }), /--resume.*--overwrite-output-dir/);
  assert.deepEqual(await prepareOutputDir(dir, { resume: true }), []);
  assert.equal(readdirSync(dir).length, 9, 'resuming removes nothing');

  const removed = await prepareOutputDir(dir, { overwrite: true });
  assert.deepEqual(removed.sort(), [
    'checkpoint-30',
    'checkpoint-60',
    'config.json',
    'learning_curve.svg',
    'metrics.jsonl',
    'model.safetensors',
    'train_results.json',
    'vocab.txt',
  ]);
  assert.deepEqual(readdirSync(dir), ['my-notes.md']);
  assert.deepEqual(await prepareOutputDir(dir), [], 'the directory takes a new run now');
});

test('overwriting removes what an adapter or sentence-transformers run wrote, so a new run of another kind does not mix with it', async () => {
  const dir = join(work, 'adapter-run');
  mkdirSync(join(dir, '1_Pooling'), { recursive: true });
  mkdirSync(join(dir, 'data'));
  for (const f of [
    'adapter_config.json',
    'adapter_model.safetensors',
    'head_config.json',
    'modules.json',
    'sentence_bert_config.json',
    'setfit_head.json',
    '1_Pooling/config.json',
    'data/train.csv',
  ])
    writeFileSync(join(dir, f), '{}');
  await assert.rejects(prepareOutputDir(dir), /adapter_model\.safetensors/);
  const removed = await prepareOutputDir(dir, { overwrite: true });
  assert.deepEqual(removed.sort(), [
    '1_Pooling',
    'adapter_config.json',
    'adapter_model.safetensors',
    'head_config.json',
    'modules.json',
    'sentence_bert_config.json',
    'setfit_head.json',
  ]);
  assert.deepEqual(readdirSync(dir), ['data']);
});

test('a file where the output directory should be is refused', async () => {
  const file = join(work, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(prepareOutputDir(file, { overwrite: true }), (e: unknown) => e instanceof OutputDirError && /a-file: is a file, not a directory/.test(e.message));
  assert.ok(existsSync(file));
});
