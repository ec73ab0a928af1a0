// text-classification against an independent reference: softmax/sigmoid of the logits that
// PreTrainedModel.forward (the unfrozen, separately built graph) gives for the same tokenization.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoModelForSequenceClassification, BertTokenizer, pipeline, PipelineError, type PreTrainedModel, type TextClassificationPipeline } from '../src/index.js';
import { tempDir, writeSequenceClassifier } from './helpers/pipeline-models.js';

const LABELS = { 0: 'negative', 1: 'neutral', 2: 'positive' };
const TEXTS = ['I love it', 'This is the worst purchase I have ever made, do not buy.', 'ok', 'The delivery came on time and the box was intact.'];

let dir: string;
let classifier: TextClassificationPipeline;
let reference: PreTrainedModel;
let tokenizer: BertTokenizer;

test.before(async () => {
  dir = await writeSequenceClassifier(await tempDir('cls'), LABELS);
  classifier = await pipeline('text-classification', dir, { threads: 1 });
  reference = await AutoModelForSequenceClassification.fromPretrained(dir, { threads: 1 });
  tokenizer = await BertTokenizer.fromDirectory(dir);
});
test.after(async () => {
  await classifier.dispose();
  await reference.dispose();
});

/** Logits of the reference model for one input. */
async function logits(text: string, pair?: string): Promise<number[]> {
  const enc = tokenizer.encode(text, pair, { maxLength: 128 });
  const t = (xs: number[]) => ({ dtype: 'int64' as const, dims: [1, xs.length], data: BigInt64Array.from(xs, BigInt) });
  const out = await reference.forward({ input_ids: t(enc.inputIds), attention_mask: t(enc.attentionMask), token_type_ids: t(enc.tokenTypeIds) });
  return Array.from(out.logits!.data as Float32Array);
}
const softmax = (z: number[]) => {
  const e = z.map((x) => Math.exp(x - Math.max(...z)));
  return e.map((x) => x / e.reduce((a, b) => a + b));
};

test('scores are the softmax of the model logits; the default is the best label', async () => {
  for (const text of TEXTS) {
    const probs = softmax(await logits(text));
    const best = probs.indexOf(Math.max(...probs));
    const [top, ...rest] = await classifier(text);
    assert.equal(rest.length, 0);
    assert.equal(top!.label, Object.values(LABELS)[best]);
    assert.ok(Math.abs(top!.score - probs[best]!) < 1e-5);
  }
});

test('topK: null or 0 gives every label, best first, summing to 1; topK 2 the two best', async () => {
  for (const topK of [null, 0]) {
    const all = await classifier(TEXTS[1]!, { topK });
    assert.deepEqual(all.map((l) => l.label).sort(), ['negative', 'neutral', 'positive']);
    assert.ok(Math.abs(all.reduce((s, l) => s + l.score, 0) - 1) < 1e-6);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.score >= all[i]!.score);
  }
  const two = await classifier(TEXTS, { topK: 2 });
  assert.equal(two.length, TEXTS.length);
  for (const [i, r] of (two as { label: string; score: number }[][]).entries()) assert.deepEqual(r, (await classifier(TEXTS[i]!, { topK: null })).slice(0, 2));
  const firsts = await classifier(TEXTS);
  assert.deepEqual(firsts, await Promise.all(TEXTS.map(async (t) => (await classifier(t))[0])), 'a list with topK 1: one label per input');
});

test('functionToApply: sigmoid and none', async () => {
  const z = await logits(TEXTS[0]!);
  const raw = await classifier(TEXTS[0]!, { topK: null, functionToApply: 'none' });
  for (const l of raw) assert.ok(Math.abs(l.score - z[Object.values(LABELS).indexOf(l.label)]!) < 1e-5);
  const sig = await classifier(TEXTS[0]!, { topK: null, functionToApply: 'sigmoid' });
  for (const l of sig) assert.ok(Math.abs(l.score - 1 / (1 + Math.exp(-z[Object.values(LABELS).indexOf(l.label)]!))) < 1e-5);
});

test('multi-label checkpoints default to sigmoid', async () => {
  const multi = await writeSequenceClassifier(await tempDir('cls-multi'), { 0: 'billing', 1: 'shipping' }, 'multi_label_classification');
  const pipe = await pipeline('text-classification', multi, { threads: 1 });
  const model = await AutoModelForSequenceClassification.fromPretrained(multi, { threads: 1 });
  try {
    const enc = tokenizer.encode('where is my parcel', undefined, { maxLength: 128 });
    const t = (xs: number[]) => ({ dtype: 'int64' as const, dims: [1, xs.length], data: BigInt64Array.from(xs, BigInt) });
    const z = Array.from(
      (await model.forward({ input_ids: t(enc.inputIds), attention_mask: t(enc.attentionMask), token_type_ids: t(enc.tokenTypeIds) })).logits!.data as Float32Array,
    );
    const all = await pipe('where is my parcel', { topK: null });
    for (const l of all) assert.ok(Math.abs(l.score - 1 / (1 + Math.exp(-z[l.label === 'billing' ? 0 : 1]!))) < 1e-5);
  } finally {
    await pipe.dispose();
    await model.dispose();
  }
});

test('text pairs are encoded as [CLS] text [SEP] pair [SEP]', async () => {
  const probs = softmax(await logits('the parcel arrived', 'my order came'));
  const all = await classifier({ text: 'the parcel arrived', textPair: 'my order came' }, { topK: null });
  for (const l of all) assert.ok(Math.abs(l.score - probs[Object.values(LABELS).indexOf(l.label)]!) < 1e-5);
  const single = await classifier({ text: 'the parcel arrived' }, { topK: null });
  assert.deepEqual(single, await classifier('the parcel arrived', { topK: null }));
});

test('results do not depend on batch size or input order', async () => {
  const inputs = [...TEXTS, 'short', 'a somewhat longer text about nothing in particular at all', { text: 'pair a', textPair: 'pair b' }];
  const base = await classifier.runBatch(inputs, { topK: null, batchSize: 1 });
  const batched = await classifier.runBatch(inputs, { topK: null, batchSize: 3 });
  const order = [5, 2, 0, 6, 1, 4, 3];
  const shuffled = await classifier.runBatch(
    order.map((i) => inputs[i]!),
    { topK: null },
  );
  for (const [i, r] of base.entries()) {
    const others = [batched[i]!, shuffled[order.indexOf(i)]!];
    for (const o of others) {
      assert.deepEqual(
        o.map((l) => l.label),
        r.map((l) => l.label),
      );
      o.forEach((l, k) => assert.ok(Math.abs(l.score - r[k]!.score) < 1e-5));
    }
  }
});

test('errors name the input or option and what to do', async () => {
  const fails = async (p: Promise<unknown>, code: string, field: string, pattern: RegExp) =>
    assert.rejects(p, (e: PipelineError) => e instanceof PipelineError && e.code === code && e.field === field && pattern.test(e.message));
  await fails(classifier(''), 'invalid_input', 'inputs', /inputs is empty/);
  await fails(classifier(['ok', 3 as never]), 'invalid_input', 'inputs[1]', /must be a text or a \{text, textPair\} object, got number/);
  await fails(classifier({ text: 'a', textPair: '' }), 'invalid_input', 'inputs.textPair', /empty/);
  await fails(classifier('a', { topK: -1 }), 'invalid_option', 'topK', /integer/);
  await fails(classifier('a', { functionToApply: 'relu' as never }), 'invalid_option', 'functionToApply', /'softmax', 'sigmoid', 'none'/);
  await fails(classifier('a', { batchSize: 0 }), 'invalid_option', 'batchSize', /positive integer/);
  await fails(pipeline('summarization' as never, dir), 'unknown_task', 'task', /'text-classification', 'token-classification', 'fill-mask', 'feature-extraction'/);
  await fails(pipeline('text-classification', dir, { maxLength: 1000 }), 'invalid_option', 'maxLength', /from 3 to 128/);
  await fails(pipeline('fill-mask', dir), 'wrong_task', 'task', /masked-LM head.*BertForSequenceClassification/);
  const bare = await tempDir('cls-bare');
  await writeSequenceClassifier(bare, LABELS);
  const config = JSON.parse(await readFile(join(bare, 'config.json'), 'utf8'));
  await writeFile(join(bare, 'config.json'), JSON.stringify({ ...config, architectures: ['BertModel'] }));
  await fails(pipeline('text-classification', bare), 'wrong_task', 'task', /BertForSequenceClassification.*the checkpoint is a BertModel.*tuna train --task text-classification/);
});

test('the pipeline is a function carrying its checkpoint, and refuses work once disposed', async () => {
  const pipe = await pipeline('text-classification', dir, { threads: 1, batchSize: 2 });
  assert.equal(typeof pipe, 'function');
  assert.equal(pipe.task, 'text-classification');
  assert.equal(pipe.model, dir);
  assert.equal(pipe.maxLength, 128);
  assert.deepEqual(pipe.config.id2label, LABELS);
  assert.deepEqual(await pipe.run('ok'), await pipe('ok'));
  await pipe.dispose();
  await assert.rejects(pipe('ok'), (e: PipelineError) => e.code === 'disposed');
});
