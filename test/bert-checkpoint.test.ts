import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, mkdir, copyFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointError } from '../src/io/checkpoint.js';
import { PreTrainedModel } from '../src/models/pretrained-model.js';
import { parseSafetensors } from '../src/io/safetensors.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));
const clean = { missing: [], unexpected: [], mismatched: [], fromScratch: false };

test('loading a checkpoint: every tensor used, legacy names and F16/BF16 read', async () => {
  for (const name of ['BertForPreTraining', 'BertForMaskedLM', 'BertForNextSentencePrediction', 'BertModel']) {
    const m = await PreTrainedModel.fromPretrained(fixture(name));
    assert.deepEqual(m.loadReport, clean, name);
    assert.equal(m.architecture, name);
  }
});

test('a pre-training checkpoint loads into a new classifier: head reported missing, cls.* unexpected', async () => {
  const m = await PreTrainedModel.fromPretrained(fixture('BertForPreTraining'), { head: 'sequence-classification' });
  assert.deepEqual(m.loadReport.missing, ['classifier.weight', 'classifier.bias']);
  assert.ok(m.loadReport.unexpected.includes('cls.seq_relationship.weight'));
  assert.ok(m.loadReport.unexpected.every((k) => k.startsWith('cls.')));
  const bare = await PreTrainedModel.fromPretrained(fixture('BertModel'), { head: 'token-classification' });
  assert.deepEqual(bare.loadReport.missing, ['classifier.weight', 'classifier.bias'], 'a BertModel checkpoint (no bert. prefix) loads under a head');
  await assert.rejects(
    PreTrainedModel.fromPretrained(fixture('BertModel'), { head: 'token-classification', missing: 'error' }),
    (e: unknown) => e instanceof CheckpointError && /lacks 2 parameter\(s\).*classifier\.weight \(missing\)/.test(e.message),
    'inference refuses a checkpoint without the head it needs',
  );
});

test('a different label set re-initialises the classifier (ignore_mismatched_sizes)', async () => {
  const m = await PreTrainedModel.fromPretrained(fixture('BertForSequenceClassification'), { id2label: { 0: 'a', 1: 'b' } });
  assert.deepEqual(
    m.loadReport.mismatched.map((x) => x.name),
    ['classifier.weight', 'classifier.bias'],
  );
  assert.deepEqual(m.store.get('classifier.weight')!.shape, [2, 32]);
});

test('save then load round-trips bit for bit', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-ckpt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining']) {
    const a = await PreTrainedModel.fromPretrained(fixture(name));
    await a.savePretrained(join(dir, name));
    const b = await PreTrainedModel.fromPretrained(join(dir, name));
    assert.deepEqual(b.loadReport, clean);
    assert.deepEqual(b.config, a.config);
    for (const p of a.store.list()) assert.deepEqual(b.store.get(p.name)!.data, p.data, `${name} ${p.name}`);
    const { tensors } = parseSafetensors(await readFile(join(dir, name, 'model.safetensors')));
    assert.ok(!tensors.has('cls.predictions.decoder.weight'), 'the tied decoder is not written twice');
    const again = join(dir, `${name}-again`);
    await b.savePretrained(again);
    assert.deepEqual(await readFile(join(again, 'model.safetensors')), await readFile(join(dir, name, 'model.safetensors')));
  }
});

test('pickled weights are refused with a conversion hint; a missing config and missing weights are named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-pickle-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await copyFile(join(fixture('BertModel'), 'config.json'), join(dir, 'config.json'));
  await writeFile(join(dir, 'pytorch_model.bin'), 'not loaded');
  await assert.rejects(
    PreTrainedModel.fromPretrained(dir),
    (e: unknown) => e instanceof CheckpointError && /never executes pickle/.test(String(e)) && /safe_serialization/.test(String(e)),
  );
  const empty = join(dir, 'empty');
  await mkdir(empty);
  await assert.rejects(PreTrainedModel.fromPretrained(empty), /no config\.json/);
  const configOnly = join(dir, 'config-only');
  await mkdir(configOnly);
  await copyFile(join(fixture('BertModel'), 'config.json'), join(configOnly, 'config.json'));
  await assert.rejects(PreTrainedModel.fromPretrained(configOnly), (e: unknown) => e instanceof CheckpointError && /no weights/.test(e.message));
  const fresh = await PreTrainedModel.fromPretrained(configOnly, { initMissingWeights: true });
  assert.equal(fresh.loadReport.fromScratch, true);
});
