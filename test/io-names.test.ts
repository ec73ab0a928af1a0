import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readSafetensorsHeader } from '../src/io/safetensors.js';
import { type MatchOptions, matchKeys as matchAny, normalizeLegacyKey as normalizeBertKey } from '../src/io/names.js';
import { BERT_KEY_RULES } from '../src/models/bert/names.js';

const matchKeys = (expected: Iterable<string>, keys: Iterable<string>, opts: MatchOptions = BERT_KEY_RULES) => matchAny(expected, keys, opts);

/** Tensor names of a fixture checkpoint written by transformers (tools/make-bert-fixtures.py). */
async function keysOf(name: string): Promise<string[]> {
  const header = await readSafetensorsHeader(fileURLToPath(new URL(`./fixtures/bert/${name}/model.safetensors`, import.meta.url)));
  return header.tensors.map((t) => t.name).sort();
}

/** The parameter names a transformers model's state_dict has: the fixture's (normalised) keys plus the tied ones it drops on save. */
async function modelNames(name: string): Promise<string[]> {
  const keys = (await keysOf(name)).map(normalizeBertKey);
  if (name === 'BertForMaskedLM' || name === 'BertForPreTraining') keys.push('cls.predictions.decoder.weight', 'cls.predictions.decoder.bias');
  return keys.sort();
}

test('normalizeBertKey renames legacy LayerNorm gamma/beta only', () => {
  assert.equal(normalizeBertKey('bert.embeddings.LayerNorm.gamma'), 'bert.embeddings.LayerNorm.weight');
  assert.equal(normalizeBertKey('bert.encoder.layer.3.output.LayerNorm.beta'), 'bert.encoder.layer.3.output.LayerNorm.bias');
  assert.equal(normalizeBertKey('cls.predictions.transform.LayerNorm.gamma'), 'cls.predictions.transform.LayerNorm.weight');
  assert.equal(normalizeBertKey('bert.embeddings.word_embeddings.weight'), 'bert.embeddings.word_embeddings.weight');
  assert.equal(normalizeBertKey('bert.gammatone.weight'), 'bert.gammatone.weight');
});

test('same architecture: everything maps, legacy names included', async () => {
  for (const name of ['BertModel', 'BertForSequenceClassification', 'BertForPreTraining', 'BertForMaskedLM', 'BertForNextSentencePrediction']) {
    const expected = await modelNames(name);
    const keys = await keysOf(name);
    const r = matchKeys(expected, keys);
    assert.deepEqual(r.missing, [], name);
    assert.deepEqual(r.unexpected, [], name);
    assert.equal(r.mapping.size, expected.length, name);
  }
  const legacy = matchKeys(await modelNames('BertForPreTraining'), await keysOf('BertForPreTraining'));
  assert.equal(legacy.mapping.get('bert.embeddings.LayerNorm.weight'), 'bert.embeddings.LayerNorm.gamma');
  assert.equal(legacy.mapping.get('cls.predictions.transform.LayerNorm.bias'), 'cls.predictions.transform.LayerNorm.beta');
});

test('a pre-training checkpoint into a sequence classifier: new head missing, cls.* unexpected', async () => {
  const r = matchKeys(await modelNames('BertForSequenceClassification'), await keysOf('BertForPreTraining'), { prefix: 'bert.' });
  assert.deepEqual(r.missing, ['classifier.bias', 'classifier.weight']);
  assert.deepEqual(r.unexpected, [
    'cls.predictions.bias',
    'cls.predictions.transform.LayerNorm.beta',
    'cls.predictions.transform.LayerNorm.gamma',
    'cls.predictions.transform.dense.bias',
    'cls.predictions.transform.dense.weight',
    'cls.seq_relationship.bias',
    'cls.seq_relationship.weight',
  ]);
  assert.equal(r.mapping.get('bert.pooler.dense.weight'), 'bert.pooler.dense.weight');
});

test('the bert. prefix is reconciled both ways, as transformers does', async () => {
  // A BertModel checkpoint (no prefix) into a model with a head.
  const up = matchKeys(await modelNames('BertForSequenceClassification'), await keysOf('BertModel'));
  assert.deepEqual(up.missing, ['classifier.bias', 'classifier.weight']);
  assert.deepEqual(up.unexpected, []);
  assert.equal(up.mapping.get('bert.embeddings.word_embeddings.weight'), 'embeddings.word_embeddings.weight');
  // A checkpoint with a head into BertModel: the head's keys are unexpected.
  const down = matchKeys(await modelNames('BertModel'), await keysOf('BertForSequenceClassification'));
  assert.deepEqual(down.missing, []);
  assert.deepEqual(down.unexpected, ['classifier.bias', 'classifier.weight']);
  assert.equal(down.mapping.get('encoder.layer.1.output.dense.weight'), 'bert.encoder.layer.1.output.dense.weight');
  // A pre-training checkpoint into BertModel: cls.* unexpected even though the decoder is tied to an embedding BertModel has.
  const pre = matchKeys(await modelNames('BertModel'), [...(await keysOf('BertForPreTraining')), 'cls.predictions.decoder.weight']);
  assert.deepEqual(pre.missing, []);
  assert.ok(pre.unexpected.includes('cls.predictions.decoder.weight') && pre.unexpected.every((k) => k.startsWith('cls.')));
});

test('tied decoder: absent weight comes from the word embeddings, decoder.bias and predictions.bias alias each other', async () => {
  const expected = await modelNames('BertForMaskedLM');
  const saved = await keysOf('BertForMaskedLM');
  assert.ok(!saved.includes('cls.predictions.decoder.weight') && !saved.includes('cls.predictions.decoder.bias'));
  const r = matchKeys(expected, saved);
  assert.deepEqual(r.missing, []);
  assert.equal(r.mapping.get('cls.predictions.decoder.weight'), 'bert.embeddings.word_embeddings.weight');
  assert.equal(r.mapping.get('cls.predictions.decoder.bias'), 'cls.predictions.bias');
  // A checkpoint that stored only the decoder bias fills cls.predictions.bias.
  const onlyDecoderBias = saved.filter((k) => k !== 'cls.predictions.bias').concat('cls.predictions.decoder.bias');
  const r2 = matchKeys(expected, onlyDecoderBias);
  assert.deepEqual(r2.missing, []);
  assert.equal(r2.mapping.get('cls.predictions.bias'), 'cls.predictions.decoder.bias');
  // A model that ties internally (no decoder names) loading an old checkpoint that stored every copy:
  // the copies and the legacy position_ids buffer are skipped, not reported.
  const tiedModel = expected.filter((k) => !k.startsWith('cls.predictions.decoder.'));
  const old = [...saved, 'cls.predictions.decoder.weight', 'cls.predictions.decoder.bias', 'bert.embeddings.position_ids'];
  const r3 = matchKeys(tiedModel, old);
  assert.deepEqual(r3.missing, []);
  assert.deepEqual(r3.unexpected, []);
  assert.deepEqual(r3.ignored, ['cls.predictions.decoder.weight', 'cls.predictions.decoder.bias', 'bert.embeddings.position_ids']);
});

test('a checkpoint with both legacy and current names uses the current one and reports the other', () => {
  const r = matchKeys(
    ['bert.embeddings.LayerNorm.weight', 'bert.embeddings.LayerNorm.bias'],
    ['bert.embeddings.LayerNorm.gamma', 'bert.embeddings.LayerNorm.weight', 'bert.embeddings.LayerNorm.beta'],
  );
  assert.equal(r.mapping.get('bert.embeddings.LayerNorm.weight'), 'bert.embeddings.LayerNorm.weight');
  assert.equal(r.mapping.get('bert.embeddings.LayerNorm.bias'), 'bert.embeddings.LayerNorm.beta');
  assert.deepEqual(r.unexpected, ['bert.embeddings.LayerNorm.gamma']);
  const custom = matchKeys(['roberta.x', 'head.y'], ['x', 'y'], { prefix: 'roberta.', aliases: [], ignoreUnexpected: [] });
  assert.deepEqual([...custom.mapping], [['roberta.x', 'x']]);
  assert.deepEqual(custom.missing, ['head.y']);
  assert.deepEqual(custom.unexpected, ['y']);
});
