// Hostile checkpoint directories: config, weights and tokenizer files that are links to /dev/zero,
// named pipes without a writer, link loops or paths under a file; config sizes far beyond any model.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TunaError, isTunaError } from '../src/errors.js';
import { readCheckpoint, readConfig } from '../src/io/checkpoint.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { BERT_SIZE_LIMITS, MAX_NUM_LABELS, parseBertConfig } from '../src/models/bert/config.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { readDataConfig } from '../src/tasks/data-config.js';
import { BertTokenizer } from '../src/tokenizers/bert-tokenizer.js';

const work = await mkdtemp(join(tmpdir(), 'tuna-hardening-ckpt-'));
after(() => rm(work, { recursive: true, force: true }));

const CONFIG = { model_type: 'bert', vocab_size: 8, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 1, intermediate_size: 8, max_position_embeddings: 16 };
const VOCAB = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n';

let count = 0;
/** A fresh checkpoint directory with a good config.json, vocab.txt and weights, and `name` replaced by what `make` puts there. */
async function checkpointWith(name: string, make: (path: string) => Promise<void> | void): Promise<string> {
  const dir = join(work, `ckpt-${++count}`);
  await mkdir(dir);
  for (const [file, body] of [
    ['config.json', JSON.stringify(CONFIG)],
    ['vocab.txt', VOCAB],
  ]) {
    if (file !== name) await writeFile(join(dir, file!), body!);
  }
  if (name !== 'model.safetensors') await writeSafetensors(join(dir, 'model.safetensors'), new Map([['x', { shape: [1], data: new Float32Array([1]) }]]));
  await make(join(dir, name));
  return dir;
}

const toZero = (path: string) => symlink('/dev/zero', path);
const toFifo = (path: string) => {
  execFileSync('mkfifo', [path]);
};
const toLoop = (path: string) => symlink(path, path);

/** Expects `promise` to fail at once with a TunaError of `code` naming `file`, with a message matching `message`. */
async function refused(promise: Promise<unknown>, code: string, file: string, message: RegExp): Promise<void> {
  const started = Date.now();
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isTunaError(e), `a TunaError, got ${String(e)}`);
    assert.equal((e as TunaError).code, code, (e as Error).message);
    assert.ok((e as Error).message.includes(file), `${(e as Error).message} names ${file}`);
    assert.match((e as Error).message, message);
    return true;
  });
  assert.ok(Date.now() - started < 3000, 'refused at once');
}

test('config.json as a link to /dev/zero, a named pipe without a writer, a link loop or a directory is refused by name, without hanging', async () => {
  const zero = await checkpointWith('config.json', toZero);
  await refused(readConfig(zero), 'file_unreadable', join(zero, 'config.json'), /\(the model config\): is a character device, not a file/);
  await refused(readCheckpoint(zero), 'file_unreadable', join(zero, 'config.json'), /character device/);
  const fifo = await checkpointWith('config.json', toFifo);
  await refused(readConfig(fifo), 'file_unreadable', join(fifo, 'config.json'), /config\.json \(the model config\): is a named pipe; /);
  const empty = await checkpointWith('config.json', (p) => writeFile(p, ' \n'));
  await refused(readConfig(empty), 'invalid_checkpoint', join(empty, 'config.json'), /config\.json: is empty; it must hold the model's config/);
  const loop = await checkpointWith('config.json', toLoop);
  await refused(readConfig(loop), 'file_system', join(loop, 'config.json'), /cannot read: the path has a symbolic-link loop; fix or remove the link \(ELOOP\)/);
  const dir = await checkpointWith('config.json', (p) => mkdir(p));
  await refused(readConfig(dir), 'file_unreadable', join(dir, 'config.json'), /is a directory, not a file/);
});

test('a model path under a file, or a checkpoint directory that is a link loop, is reported with the path and the fix', async () => {
  const file = join(work, 'a-file');
  await writeFile(file, 'not a directory');
  const under = join(file, 'model');
  await refused(readConfig(under), 'file_system', under, /a part of the path is a file, not a directory; check the path \(ENOTDIR\)/);
  await refused(readCheckpoint(under), 'file_system', under, /\(ENOTDIR\)/);
  const loop = join(work, 'dir-loop');
  await symlink(loop, loop);
  await refused(readCheckpoint(loop), 'file_system', loop, /\(ELOOP\)/);
  await refused(readConfig(join(work, 'absent')), 'file_not_found', join(work, 'absent'), /no such checkpoint directory/);
});

test('model.safetensors (or its index) as a link to /dev/zero, a named pipe or a link loop is refused by name, not taken as "no weights"', async () => {
  const zero = await checkpointWith('model.safetensors', toZero);
  await refused(readCheckpoint(zero), 'file_unreadable', join(zero, 'model.safetensors'), /\(safetensors weights\): is a character device/);
  await refused(PreTrainedModel.fromPretrained(zero, { initMissingWeights: true }), 'file_unreadable', join(zero, 'model.safetensors'), /character device/);
  const fifo = await checkpointWith('model.safetensors', toFifo);
  await refused(readCheckpoint(fifo), 'file_unreadable', join(fifo, 'model.safetensors'), /is a named pipe; give a regular file/);
  const loop = await checkpointWith('model.safetensors', toLoop);
  await refused(readCheckpoint(loop), 'file_system', join(loop, 'model.safetensors'), /symbolic-link loop/);
  const index = await checkpointWith('model.safetensors.index.json', toZero);
  await rm(join(index, 'model.safetensors'));
  await refused(readCheckpoint(index), 'file_unreadable', join(index, 'model.safetensors.index.json'), /character device/);
});

test('tokenizer files as links to /dev/zero, named pipes without a writer or link loops are refused by name, without hanging', async () => {
  for (const name of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
    const zero = await checkpointWith(name, toZero);
    await refused(BertTokenizer.fromDirectory(zero), 'file_unreadable', join(zero, name), /\(a tokenizer file\): is a character device, not a file/);
    const loop = await checkpointWith(name, toLoop);
    await refused(BertTokenizer.fromDirectory(loop), 'file_system', join(loop, name), /\(ELOOP\)/);
    const dangling = await checkpointWith(name, (p) => symlink(join(work, 'nothing-here'), p));
    await refused(BertTokenizer.fromDirectory(dangling), 'file_not_found', join(dangling, name), /is a symbolic link to nothing/);
  }
  for (const name of ['tokenizer.json', 'vocab.txt']) {
    const fifo = await checkpointWith(name, toFifo);
    await refused(BertTokenizer.fromDirectory(fifo), 'file_unreadable', join(fifo, name), /\(a tokenizer file\): is a named pipe; /);
  }
  const empty = await checkpointWith('tokenizer.json', (p) => writeFile(p, ''));
  await refused(BertTokenizer.fromDirectory(empty), 'invalid_tokenizer', join(empty, 'tokenizer.json'), /tokenizer\.json: is empty; restore it/);
  const file = join(work, 'tok-file');
  await writeFile(file, '');
  await refused(BertTokenizer.fromDirectory(join(file, 'sub')), 'file_system', join(file, 'sub'), /\(ENOTDIR\)/);
  // The good directory still loads.
  const good = await checkpointWith('special_tokens_map.json', () => {});
  assert.equal((await BertTokenizer.fromDirectory(good)).vocabSize, 8);
});

test('tuna_data_config.json as a link to /dev/zero is refused by name', async () => {
  const dir = await checkpointWith('tuna_data_config.json', toZero);
  await refused(readDataConfig(dir), 'file_unreadable', join(dir, 'tuna_data_config.json'), /character device/);
});

test('every size field of config.json has an upper bound, refused as too large naming the file and the field', () => {
  const source = '/models/x/config.json';
  const cases: [string, number][] = [
    ['vocab_size', 1e8],
    ['hidden_size', 1e9],
    ['num_hidden_layers', 1e5],
    ['intermediate_size', 1e9],
    ['max_position_embeddings', 1e9],
    ['type_vocab_size', 1e8],
  ];
  for (const [field, value] of cases) {
    const json = { ...CONFIG, [field]: value, ...(field === 'hidden_size' ? { num_attention_heads: 1 } : {}) };
    assert.throws(
      () => parseBertConfig(json, source),
      (e: unknown) => {
        assert.ok(isTunaError(e));
        assert.equal(e.code, 'too_large');
        assert.equal(e.file, source);
        assert.equal(e.field, field);
        assert.match(e.message, new RegExp(`^/models/x/config\\.json: field "${field}" is ${value}, larger than the \\d+ tuna builds`));
        return true;
      },
      field,
    );
    // The limit itself is accepted.
    const limit = BERT_SIZE_LIMITS[field as keyof typeof BERT_SIZE_LIMITS];
    assert.equal(parseBertConfig({ ...CONFIG, [field]: limit, ...(field === 'hidden_size' ? { num_attention_heads: 1 } : {}) }, source)[field as 'vocab_size'], limit);
  }
  assert.throws(() => parseBertConfig({ ...CONFIG, num_labels: MAX_NUM_LABELS + 1 }, source), { code: 'too_large', field: 'num_labels' });
  const bad: [Record<string, unknown>, string, RegExp][] = [
    [{ hidden_size: 0 }, 'hidden_size', /must be at least 1, got 0/],
    [{ hidden_size: 2.5 }, 'hidden_size', /must be an integer, got 2.5/],
    [{ num_hidden_layers: -1 }, 'num_hidden_layers', /must be at least 0/],
    [{ vocab_size: '30522' }, 'vocab_size', /must be a number, got "30522"/],
    [{ hidden_size: 6, num_attention_heads: 4 }, 'hidden_size', /must be divisible by num_attention_heads \(4\)/],
    [{ pad_token_id: 8 }, 'pad_token_id', /is 8, not a token id of the vocabulary of 8/],
  ];
  for (const [fields, field, message] of bad) {
    assert.throws(
      () => parseBertConfig({ ...CONFIG, ...fields }, source),
      (e: unknown) => isTunaError(e) && e.code === 'invalid_config' && e.field === field && message.test(e.message),
    );
  }
});

test('a checkpoint whose config asks for gigabytes is refused at once, before anything is allocated', async () => {
  for (const [field, value] of [
    ['type_vocab_size', 1e8],
    ['num_hidden_layers', 1e5],
    ['hidden_size', 1e9],
  ] as const) {
    const dir = await checkpointWith('config.json', (p) => writeFile(p, JSON.stringify({ ...CONFIG, [field]: value, num_attention_heads: 1 })));
    const before = process.memoryUsage().rss;
    await refused(PreTrainedModel.fromPretrained(dir, { initMissingWeights: true }), 'too_large', join(dir, 'config.json'), new RegExp(`field "${field}" is ${value}`));
    assert.ok(process.memoryUsage().rss - before < 200 * 2 ** 20, 'no large allocation');
  }
});
