import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError, loadBert, saveBert } from '../src/models/bert/pretrained.js';
import { parseSafetensors } from '../src/io/safetensors.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));

test('loading a checkpoint: every tensor used, legacy names and F16/BF16 read', async () => {
  for (const name of ['BertForPreTraining', 'BertForMaskedLM', 'BertForNextSentencePrediction', 'BertModel']) {
    const m = await loadBert(fixture(name));
    assert.deepEqual(m.report, { missing: [], unexpected: [], mismatched: [] }, name);
  }
});

test('a pre-training checkpoint loads into a new classifier: head reported missing, cls.* unexpected', async () => {
  const m = await loadBert(fixture('BertForPreTraining'), { architecture: 'BertForSequenceClassification' });
  assert.deepEqual(m.report.missing, ['classifier.weight', 'classifier.bias']);
  assert.ok(m.report.unexpected.includes('cls.seq_relationship.weight'));
  assert.ok(m.report.unexpected.every((k) => k.startsWith('cls.')));
  const bare = await loadBert(fixture('BertModel'), { architecture: 'BertForTokenClassification' });
  assert.deepEqual(bare.report.missing, ['classifier.weight', 'classifier.bias'], 'a BertModel checkpoint (no bert. prefix) loads under a head');
});

test('a different label set re-initialises the classifier (ignore_mismatched_sizes)', async () => {
  const m = await loadBert(fixture('BertForSequenceClassification'), { config: { id2label: { 0: 'a', 1: 'b' }, label2id: { a: 0, b: 1 } } });
  assert.deepEqual(m.report.mismatched.map((x) => x.name), ['classifier.weight', 'classifier.bias']);
  assert.deepEqual(m.store.get('classifier.weight')!.shape, [2, 32]);
});

test('save then load round-trips bit for bit', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-ckpt-'));
  for (const name of ['BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining']) {
    const a = await loadBert(fixture(name));
    await saveBert(join(dir, name), a);
    const b = await loadBert(join(dir, name));
    assert.deepEqual(b.report, { missing: [], unexpected: [], mismatched: [] });
    assert.deepEqual(b.config, a.config);
    for (const p of a.store.list()) assert.deepEqual(b.store.get(p.name)!.data, p.data, `${name} ${p.name}`);
    const { tensors } = parseSafetensors(await readFile(join(dir, name, 'model.safetensors')));
    assert.ok(!tensors.has('cls.predictions.decoder.weight'), 'the tied decoder is not written twice');
    const again = join(dir, `${name}-again`);
    await saveBert(again, b);
    assert.deepEqual(await readFile(join(again, 'model.safetensors')), await readFile(join(dir, name, 'model.safetensors')));
  }
});

test('pickled weights are refused with a conversion hint; a missing config is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-pickle-'));
  await copyFile(join(fixture('BertModel'), 'config.json'), join(dir, 'config.json'));
  await writeFile(join(dir, 'pytorch_model.bin'), 'not loaded');
  await assert.rejects(loadBert(dir), (e: unknown) => e instanceof CheckpointError && /never executes pickle/.test(String(e)) && /safe_serialization/.test(String(e)));
  const empty = join(dir, 'empty');
  await mkdir(empty);
  await assert.rejects(loadBert(empty), /no config\.json/);
});
