// DistilBERT against transformers 5.18 (tools/make-family-fixtures-a.py): every head's outputs, the
// encoder under the classifier, 20 training steps, saved names and config, the F32 ONNX export run
// by ONNX Runtime and by transformers.js, and train, predict and serve through the command line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDistilBertConfig } from '../src/models/distilbert/config.js';
import { architectureEntry } from '../src/models/registry.js';
import { checkDeclaredEqualsUsed } from './helpers/declared-parameters.js';
import { trainPredictServe } from './helpers/family-cli.js';
import { checkExport, checkLogits, checkSave, checkSparseMaskedLm, checkTraining, checkTransformersJs } from './helpers/family-fixtures.js';

const fixture = (arch: string) => fileURLToPath(new URL(`./fixtures/distilbert/${arch}/`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-family-distilbert-'));
after(() => rmSync(work, { recursive: true, force: true }));

const ARCHS = ['DistilBertForSequenceClassification', 'DistilBertForTokenClassification', 'DistilBertForMaskedLM'] as const;

test('registry and config: distilbert heads, its own field names, declared parameters equal those used', () => {
  assert.equal(architectureEntry('DistilBertForMaskedLM')?.family.modelType, 'distilbert');
  assert.equal(architectureEntry('DistilBertModel')?.head, 'base');
  const config = parseDistilBertConfig({ model_type: 'distilbert', dim: 64, n_heads: 4 });
  assert.equal(config.hidden_size, 64);
  assert.equal(config.n_layers, 6);
  assert.throws(() => parseDistilBertConfig({ dim: 30, n_heads: 4 }), /field "dim" \(30\) must be divisible by n_heads \(4\)/);
  assert.throws(() => parseDistilBertConfig({ activation: 'tanh' }), /field "activation"/);
  checkDeclaredEqualsUsed('distilbert', { model_type: 'distilbert', dim: 32, n_layers: 2, n_heads: 4, hidden_dim: 32, vocab_size: 64, max_position_embeddings: 24 });
});

for (const arch of ARCHS) {
  test(`${arch}: outputs match transformers within 1e-4 (plain and fused graphs)`, async () => {
    const worst = await checkLogits(fixture(arch));
    console.log(`${arch}: max abs difference ${worst.toExponential(2)}`);
  });
  test(`${arch}: tuna saves the names, shapes and config transformers saved`, async () => {
    await checkSave(fixture(arch));
  });
}

for (const arch of ARCHS) {
  test(`${arch}: 20 AdamW steps match transformers within 1e-3 relative`, async () => {
    const worst = await checkTraining(fixture(arch));
    console.log(`${arch} training: max relative loss difference ${worst.toExponential(2)}`);
  });
}

test('DistilBertForMaskedLM: the loss over masked tokens only (tuna pretrain) equals the dense loss, gradients too', async () => {
  await checkSparseMaskedLm(fixture('DistilBertForMaskedLM'));
});

test('F32 ONNX export (input_ids, attention_mask) matches transformers, in ONNX Runtime and in transformers.js', async () => {
  for (const arch of ARCHS) {
    const dir = fixture(arch);
    const { out, worst } = await checkExport(dir, work, ['input_ids', 'attention_mask']);
    const tjs = await checkTransformersJs(out, dir);
    console.log(`${arch} export: max abs difference ${worst.toExponential(2)}; transformers.js ${tjs.toExponential(2)}`);
  }
});

test('tuna train, predict and serve a DistilBERT classifier; config.json keeps DistilBERT field names', async () => {
  const config = await trainPredictServe(fixture('DistilBertForSequenceClassification'), join(work, 'cli'), 64, 16);
  assert.equal(config.model_type, 'distilbert');
  assert.deepEqual(config.architectures, ['DistilBertForSequenceClassification']);
  assert.equal(config.dim, 32);
  assert.equal(config.hidden_size, undefined);
});
