// ERNIE against transformers 5.18 (tools/make-family-fixtures-a.py), with task-type embeddings
// (use_task_id): every head's outputs (next-sentence and pre-training heads included), the encoder under the classifier, 20 training steps, saved
// names and config, the F32 ONNX export, and train, predict and serve through the command line.
// (transformers.js has no ERNIE models, so the export is run by ONNX Runtime only.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { architectureEntry } from '../src/models/registry.js';
import { checkDeclaredEqualsUsed } from './helpers/declared-parameters.js';
import { trainPredictServe } from './helpers/family-cli.js';
import { checkExport, checkLogits, checkSave, checkSparseMaskedLm, checkTraining } from './helpers/family-fixtures.js';

const fixture = (arch: string) => fileURLToPath(new URL(`./fixtures/ernie/${arch}/`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-family-ernie-'));
after(() => rmSync(work, { recursive: true, force: true }));

const ARCHS = ['ErnieForSequenceClassification', 'ErnieForTokenClassification', 'ErnieForMaskedLM', 'ErnieForNextSentencePrediction', 'ErnieForPreTraining'] as const;
/** The fine-tuning heads: these have training references and export. */
const TRAINED = ['ErnieForSequenceClassification', 'ErnieForTokenClassification', 'ErnieForMaskedLM'] as const;

test('registry: ernie heads, and every head declares exactly the parameters its graph uses', () => {
  assert.equal(architectureEntry('ErnieForPreTraining')?.head, 'pretraining');
  assert.equal(architectureEntry('ErnieForTokenClassification')?.family.modelType, 'ernie');
  const sizes = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 32, vocab_size: 64, max_position_embeddings: 24 };
  for (const use_task_id of [true, false]) checkDeclaredEqualsUsed('ernie', { model_type: 'ernie', ...sizes, use_task_id });
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

for (const arch of TRAINED) {
  test(`${arch}: 20 AdamW steps match transformers within 1e-3 relative`, async () => {
    const worst = await checkTraining(fixture(arch));
    console.log(`${arch} training: max relative loss difference ${worst.toExponential(2)}`);
  });
}

test('ErnieForMaskedLM: the loss over masked tokens only (tuna pretrain) equals the dense loss, gradients too', async () => {
  await checkSparseMaskedLm(fixture('ErnieForMaskedLM'));
});

test('F32 ONNX export (input_ids, attention_mask, token_type_ids) matches transformers', async () => {
  for (const arch of [...TRAINED, 'ErnieForPreTraining']) {
    const { worst } = await checkExport(fixture(arch), work, ['input_ids', 'attention_mask', 'token_type_ids']);
    console.log(`${arch} export: max abs difference ${worst.toExponential(2)}`);
  }
});

test('tuna train, predict and serve an ERNIE classifier; the saved config keeps the task-type fields', async () => {
  const config = await trainPredictServe(fixture('ErnieForSequenceClassification'), join(work, 'cli'), 64, 16);
  assert.equal(config.model_type, 'ernie');
  assert.deepEqual(config.architectures, ['ErnieForSequenceClassification']);
  assert.equal(config.use_task_id, true);
  assert.equal(config.task_type_vocab_size, 3);
});
