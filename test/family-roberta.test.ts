// RoBERTa and XLM-RoBERTa against transformers 5.18 (tools/make-family-fixtures-a.py): every head's
// outputs, the encoder under the classifier, 20 training steps, saved names and config, and the F32
// ONNX export run by ONNX Runtime and by transformers.js.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { architectureEntry, familyOf } from '../src/models/registry.js';
import { checkDeclaredEqualsUsed } from './helpers/declared-parameters.js';
import { checkExport, checkLogits, checkSave, checkSparseMaskedLm, checkTraining, checkTransformersJs } from './helpers/family-fixtures.js';

const fixture = (family: string, arch: string) => fileURLToPath(new URL(`./fixtures/${family}/${arch}/`, import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'tuna-family-roberta-'));
after(() => rmSync(work, { recursive: true, force: true }));

const ARCHS = ['RobertaForSequenceClassification', 'RobertaForTokenClassification', 'RobertaForMaskedLM'] as const;
const CASES = [
  ['roberta', 'RobertaForSequenceClassification'],
  ['roberta', 'RobertaForTokenClassification'],
  ['roberta', 'RobertaForMaskedLM'],
  ['xlm-roberta', 'XLMRobertaModel'],
  ['xlm-roberta', 'XLMRobertaForMaskedLM'],
] as const;

test('registry: roberta and xlm-roberta are families with their own class names', () => {
  assert.equal(familyOf('roberta').architectures['masked-lm'], 'RobertaForMaskedLM');
  assert.equal(architectureEntry('XLMRobertaForTokenClassification')?.family.modelType, 'xlm-roberta');
  assert.equal(architectureEntry('RobertaForSequenceClassification')?.head, 'sequence-classification');
  const sizes = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 32, vocab_size: 64, max_position_embeddings: 24 };
  checkDeclaredEqualsUsed('roberta', { model_type: 'roberta', ...sizes });
  checkDeclaredEqualsUsed('xlm-roberta', { model_type: 'xlm-roberta', ...sizes });
});

for (const [family, arch] of CASES) {
  test(`${arch}: outputs match transformers within 1e-4 (plain and fused graphs)`, async () => {
    const worst = await checkLogits(fixture(family, arch));
    console.log(`${arch}: max abs difference ${worst.toExponential(2)}`);
  });
  test(`${arch}: tuna saves the names, shapes and config transformers saved`, async () => {
    await checkSave(fixture(family, arch));
  });
}

for (const arch of ARCHS) {
  test(`${arch}: 20 AdamW steps match transformers within 1e-3 relative`, async () => {
    const worst = await checkTraining(fixture('roberta', arch));
    console.log(`${arch} training: max relative loss difference ${worst.toExponential(2)}`);
  });
}

test('RobertaForMaskedLM: the loss over masked tokens only (tuna pretrain) equals the dense loss, gradients too', async () => {
  await checkSparseMaskedLm(fixture('roberta', 'RobertaForMaskedLM'));
});

test('F32 ONNX export (input_ids, attention_mask) matches transformers, in ONNX Runtime and in transformers.js', async () => {
  for (const [family, arch] of [CASES[0], CASES[3]] as const) {
    const dir = fixture(family, arch);
    const { out, worst } = await checkExport(dir, work, ['input_ids', 'attention_mask']);
    const tjs = await checkTransformersJs(out, dir);
    console.log(`${arch} export: max abs difference ${worst.toExponential(2)}; transformers.js ${tjs.toExponential(2)}`);
  }
});
