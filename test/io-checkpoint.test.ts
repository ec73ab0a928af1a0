import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointError, configJson, readCheckpoint, writeCheckpoint } from '../src/io/checkpoint.js';
import { type NamedTensor, readSafetensors, readSafetensorsHeader, writeSafetensors } from '../src/io/safetensors.js';

const bert = (name: string) => fileURLToPath(new URL(`./fixtures/bert/${name}/`, import.meta.url));
const temps: string[] = [];
const tmp = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tuna-ckpt-io-'));
  temps.push(dir);
  return dir;
};
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

test('reads the Hugging Face fixture checkpoints: config, float32 tensors, files', async () => {
  for (const name of ['BertModel', 'BertForSequenceClassification', 'BertForMaskedLM', 'BertForPreTraining', 'BertForTokenClassification']) {
    const dir = bert(name);
    const ckpt = await readCheckpoint(dir);
    assert.equal(ckpt.config.model_type, 'bert');
    assert.deepEqual(ckpt.config.architectures, [name]);
    assert.deepEqual(ckpt.files, [resolve(dir, 'config.json'), resolve(dir, 'model.safetensors')]);
    assert.equal(ckpt.metadata.format, 'pt');
    const direct = await readSafetensors(join(dir, 'model.safetensors'));
    assert.deepEqual([...ckpt.tensors.keys()], [...direct.tensors.keys()].sort());
    for (const [key, t] of ckpt.tensors) {
      assert.ok(t.data instanceof Float32Array, `${name} ${key}`);
      assert.deepEqual(t.data, direct.tensors.get(key)!.data);
    }
  }
});

test('write then read round-trips; config.json is sorted, indented JSON; weights carry format pt', async () => {
  const dir = join(await tmp(), 'new', 'model');
  const tensors = new Map<string, NamedTensor>([
    ['classifier.weight', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
    ['bert.embeddings.word_embeddings.weight', { shape: [3, 2], data: new Float32Array([0.5, -0.5, 1, -1, 2, -2]) }],
    ['half', { shape: [2], data: new Float32Array([0.1, 3]), dtype: 'F16' }],
    ['brain', { shape: [1], data: new Float64Array([1.5]), dtype: 'BF16' }],
    ['ids', { shape: [2], data: new BigInt64Array([0n, 1n]) }],
  ]);
  const config = { model_type: 'bert', id2label: { '1': 'pos', '0': 'neg' }, architectures: ['BertForSequenceClassification'], hidden_size: 2 };
  const written = await writeCheckpoint(dir, { config, tensors, extraFiles: { 'vocab.txt': '[PAD]\n[UNK]\n', 'tokenizer_config.json': new TextEncoder().encode('{}\n') } });
  assert.deepEqual(
    written.map((p) => p.slice(dir.length + 1)),
    ['model.safetensors', 'vocab.txt', 'tokenizer_config.json', 'config.json'],
  );
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors', 'tokenizer_config.json', 'vocab.txt']);
  const text = await readFile(join(dir, 'config.json'), 'utf8');
  assert.equal(
    text,
    '{\n  "architectures": [\n    "BertForSequenceClassification"\n  ],\n  "hidden_size": 2,\n  "id2label": {\n    "0": "neg",\n    "1": "pos"\n  },\n  "model_type": "bert"\n}\n',
  );
  assert.equal(configJson(config), text);
  assert.equal(await readFile(join(dir, 'vocab.txt'), 'utf8'), '[PAD]\n[UNK]\n');
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  assert.deepEqual(header.metadata, { format: 'pt' });
  const back = await readCheckpoint(dir);
  assert.deepEqual(back.config, config);
  assert.deepEqual([...back.tensors.keys()], ['bert.embeddings.word_embeddings.weight', 'brain', 'classifier.weight', 'half', 'ids']);
  assert.deepEqual(back.tensors.get('classifier.weight')!.data, tensors.get('classifier.weight')!.data);
  assert.deepEqual([...(back.tensors.get('half')!.data as Float32Array)], [0.0999755859375, 3]);
  assert.equal(back.tensors.get('half')!.stored, 'F16');
  assert.deepEqual([...(back.tensors.get('brain')!.data as Float32Array)], [1.5]);
  assert.ok(back.tensors.get('ids')!.data instanceof BigInt64Array);
});

test('sharded checkpoints: written with an index like save_pretrained, read back, replaced cleanly', async () => {
  const dir = await tmp();
  const tensors = new Map<string, NamedTensor>();
  for (let i = 0; i < 5; i++) tensors.set(`layer.${i}.weight`, { shape: [4, 4], data: new Float32Array(16).fill(i) });
  const written = await writeCheckpoint(dir, { config: { model_type: 'bert' }, tensors, maxShardBytes: 130 });
  assert.deepEqual(
    written.map((p) => p.slice(dir.length + 1)),
    ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json', 'config.json'],
  );
  const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8'));
  assert.equal(index.metadata.total_size, 5 * 64);
  assert.equal(index.weight_map['layer.4.weight'], 'model-00003-of-00003.safetensors');
  const back = await readCheckpoint(dir);
  assert.equal(back.files.length, 4);
  for (const [k, t] of tensors) assert.deepEqual(back.tensors.get(k)!.data, t.data);
  // Saving again as one file removes the old shards and index.
  await writeCheckpoint(dir, { config: { model_type: 'bert' }, tensors });
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'model.safetensors']);
});

test('broken sharded checkpoints are refused with the file named', async () => {
  const dir = await tmp();
  const tensors = new Map<string, NamedTensor>([
    ['a', { shape: [1], data: new Float32Array([1]) }],
    ['b', { shape: [1], data: new Float32Array([2]) }],
  ]);
  await writeCheckpoint(dir, { config: {}, tensors, maxShardBytes: 4 });
  const indexPath = join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(await readFile(indexPath, 'utf8'));
  index.weight_map.c = 'model-00003-of-00003.safetensors';
  await writeFile(indexPath, JSON.stringify(index));
  await assert.rejects(
    readCheckpoint(dir),
    (e: unknown) => e instanceof CheckpointError && /model-00003-of-00003\.safetensors: shard named by model\.safetensors\.index\.json is missing/.test(e.message),
  );
  delete index.weight_map.c;
  index.weight_map.b = 'model-00001-of-00002.safetensors';
  await writeFile(indexPath, JSON.stringify(index));
  await assert.rejects(readCheckpoint(dir), /model-00001-of-00002\.safetensors: lacks tensor "b" that model\.safetensors\.index\.json places in it/);
  index.weight_map.b = 'model-00002-of-00002.safetensors';
  index.weight_map.a = 'model-00002-of-00002.safetensors';
  await writeFile(indexPath, JSON.stringify(index));
  await assert.rejects(readCheckpoint(dir), /model-00002-of-00002\.safetensors: lacks tensor "a"/);
  index.weight_map.b = '../outside.safetensors';
  await writeFile(indexPath, JSON.stringify(index));
  await assert.rejects(readCheckpoint(dir), /tensor "b" maps to "\.\.\/outside\.safetensors", which is not a safetensors file name in this directory/);
});

test('pickled weights are refused with the conversion command; missing files are named', async () => {
  const dir = await tmp();
  await copyFile(join(bert('BertModel'), 'config.json'), join(dir, 'config.json'));
  await writeFile(join(dir, 'pytorch_model.bin'), 'PK\x03\x04 not really a zip');
  await assert.rejects(readCheckpoint(dir), (e: unknown) => {
    assert.ok(e instanceof CheckpointError);
    assert.match(e.message, /only pickled weights \(pytorch_model\.bin\); tuna never executes pickle files/);
    assert.match(e.message, /python -c "from transformers import AutoModel; AutoModel\.from_pretrained\('.*'\)\.save_pretrained\('.*', safe_serialization=True\)"/);
    return true;
  });
  const noConfig = await tmp();
  await copyFile(join(bert('BertModel'), 'model.safetensors'), join(noConfig, 'model.safetensors'));
  await assert.rejects(readCheckpoint(noConfig), (e: unknown) => e instanceof CheckpointError && e.message.includes(`${noConfig}: no config.json`));
  const noWeights = await tmp();
  await writeFile(join(noWeights, 'config.json'), '{"model_type": "bert"}');
  await writeFile(join(noWeights, 'tf_model.h5'), '');
  await assert.rejects(readCheckpoint(noWeights), /no model\.safetensors \(or model\.safetensors\.index\.json with shards\); found tf_model\.h5/);
  await writeFile(join(noWeights, 'config.json'), '{"model_type": ');
  await assert.rejects(readCheckpoint(noWeights), /config\.json: not valid JSON/);
  await assert.rejects(readCheckpoint(join(noWeights, 'absent')), /absent: no such checkpoint directory/);
  const corrupt = await tmp();
  await copyFile(join(bert('BertModel'), 'config.json'), join(corrupt, 'config.json'));
  const bytes = await readFile(join(bert('BertModel'), 'model.safetensors'));
  await writeFile(join(corrupt, 'model.safetensors'), bytes.subarray(0, bytes.length - 10));
  await assert.rejects(
    readCheckpoint(corrupt),
    (e: unknown) => e instanceof CheckpointError && /model\.safetensors: tensor ".*": data_offsets .* run past the end of the file/.test(e.message),
  );
});

test('select reads only the named tensors; writing refuses unsafe extra file names', async () => {
  const ckpt = await readCheckpoint(bert('BertForPreTraining'), { select: (n) => !n.startsWith('cls.') });
  assert.ok(ckpt.tensors.size > 10 && [...ckpt.tensors.keys()].every((k) => !k.startsWith('cls.')));
  const dir = await tmp();
  await assert.rejects(writeCheckpoint(dir, { config: {}, tensors: new Map(), extraFiles: { '../x': 'y' } }), /cannot write extra file "\.\.\/x"/);
  await assert.rejects(writeCheckpoint(dir, { config: [] as unknown as Record<string, unknown>, tensors: new Map() }), CheckpointError);
  await assert.rejects(
    writeCheckpoint(dir, { config: {}, tensors: new Map([['w', { shape: [2], data: new Float32Array(3) }]]) }),
    (e: unknown) => e instanceof CheckpointError && /tensor "w": has 3 values but shape \[2\] needs 2/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), [], 'nothing written when the weights cannot be');
  // A legacy checkpoint with F64 weights reads as float32.
  const legacy = join(dir, 'legacy');
  await mkdir(legacy);
  await writeFile(join(legacy, 'config.json'), '{}');
  await writeSafetensors(join(legacy, 'model.safetensors'), new Map([['w', { shape: [2], data: new Float64Array([0.1, 2]) }]]));
  const w = (await readCheckpoint(legacy)).tensors.get('w')!;
  assert.ok(w.data instanceof Float32Array);
  assert.equal(w.stored, 'F64');
  assert.deepEqual([...w.data], [Math.fround(0.1), 2]);
});
