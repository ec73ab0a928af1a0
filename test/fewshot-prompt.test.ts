// Prompt-based fine-tuning of a tiny masked LM: training lowers the loss over the label words and
// raises the training-set accuracy; the saved model predicts through pipeline('text-classification')
// exactly as the zero-shot cloze scorer scores the same template and verbalizer on its weights.
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type PromptConfig, type PromptExample, parseVerbalizer, savePromptModel, trainPrompt } from '../src/fewshot/prompt.js';
import { AutoModelForMaskedLM, AutoTokenizer } from '../src/models/auto.js';
import type { PreTrainedModel } from '../src/models/pretrained-model.js';
import type { Tokenizer } from '../src/models/registry.js';
import { pipeline } from '../src/pipelines/index.js';
import { tempDir } from './helpers/pipeline-models.js';

const MLM = join(import.meta.dirname, 'fixtures', 'zero-shot', 'mlm');
const TEMPLATE = '{text} it was [MASK].';
const VERBALIZER = parseVerbalizer('positive=great|good,negative=terrible');
const CONFIG: PromptConfig = { templates: [TEMPLATE], labels: ['positive', 'negative'], verbalizer: VERBALIZER };
const TRAIN: PromptExample[] = [
  { text: 'i love this movie', label: 0 },
  { text: 'we love the new film', label: 0 },
  { text: 'my team won the game', label: 0 },
  { text: 'a very good story', label: 0 },
  { text: 'i hate this movie', label: 1 },
  { text: 'we hate the old film', label: 1 },
  { text: 'my team lost the game', label: 1 },
  { text: 'a very bad story', label: 1 },
];

let model: PreTrainedModel;
let tokenizer: Tokenizer;
let dir: string;
// The fixture's tokenizer files are copied as they are (tokenizer.json, tokenizer_config.json).
const save = async (d: string, config: PromptConfig) => {
  await savePromptModel(d, model, undefined, config);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await cp(join(MLM, f), join(d, f));
};
const accuracy = async (d: string) => {
  const classifier = await pipeline('text-classification', d);
  const out = (await classifier.runBatch(TRAIN.map((e) => e.text))).map((r) => r[0]!.label);
  await classifier.dispose();
  return out.filter((l, i) => l === CONFIG.labels[TRAIN[i]!.label]).length / TRAIN.length;
};

before(async () => {
  model = await AutoModelForMaskedLM.fromPretrained(MLM);
  tokenizer = await AutoTokenizer.fromPretrained(MLM);
  dir = await tempDir('tuna-prompt-');
});
after(() => model.dispose());

test('prompt-based training lowers the label-word loss and raises training accuracy; predictions equal the cloze scorer', async (t) => {
  await save(join(dir, 'before'), CONFIG);
  const before = await accuracy(join(dir, 'before'));
  const result = await trainPrompt({
    model,
    tokenizer,
    config: CONFIG,
    examples: TRAIN,
    batchSize: 8,
    maxSteps: 30,
    learningRate: 3e-3,
    maxLength: 32,
    seed: 13,
    disableDropout: true,
  });
  assert.equal(result.steps, 30);
  const first = result.losses[0]!;
  const last = result.losses.at(-1)!;
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
  const out = join(dir, 'after');
  await save(out, CONFIG);
  const after = await accuracy(out);
  assert.ok(after > before && after === 1, `training accuracy ${before} -> ${after}`);
  t.diagnostic(`loss ${first.toFixed(4)} -> ${last.toFixed(4)}, training accuracy ${before} -> ${after}`);

  // The same scores as zero-shot cloze mode with the same template and verbalizer.
  const classifier = await pipeline('text-classification', out);
  const zeroShot = await pipeline('zero-shot-classification', out, { mode: 'cloze' });
  for (const e of TRAIN) {
    const mine = (await classifier(e.text, { topK: null })) as { label: string; score: number }[];
    const z = (await zeroShot(e.text, { template: TEMPLATE, verbalizer: VERBALIZER })) as { labels: string[]; scores: number[] };
    assert.deepEqual(
      mine.map((m) => m.label),
      z.labels,
    );
    mine.forEach((m, i) => assert.ok(Math.abs(m.score - z.scores[i]!) < 1e-6, `${e.text}: ${m.score} vs ${z.scores[i]}`));
  }
  await classifier.dispose();
  await zeroShot.dispose();
});

test('several templates average their label probabilities; pairs fill {text_pair}', async () => {
  const config: PromptConfig = { ...CONFIG, templates: [TEMPLATE, '{text} ? [MASK] , {text_pair}'] };
  const out = join(dir, 'two');
  await save(out, config);
  const classifier = await pipeline('text-classification', out);
  const single = await pipeline('text-classification', join(dir, 'after'));
  const input = { text: 'i love this movie', textPair: 'a good story' };
  const both = (await classifier(input, { topK: null })) as { label: string; score: number }[];
  const first = (await single(input.text, { topK: null })) as { label: string; score: number }[];
  const sum = both.reduce((s, x) => s + x.score, 0);
  assert.ok(Math.abs(sum - 1) < 1e-6);
  assert.notDeepEqual(both, first);
  await assert.rejects(() => classifier('no pair here'), /text_pair/);
  await classifier.dispose();
  await single.dispose();
});

test('label words of several pieces train and predict as the cloze scorer scores them', async (t) => {
  // "wonderful" is wonder + ##ful in this vocabulary: its prompt has two masks.
  const verbalizer = { positive: ['wonderful', 'good'], negative: ['bad'] };
  const config: PromptConfig = { ...CONFIG, verbalizer };
  // The first step's loss is the cross-entropy of the cloze scores on the weights before it.
  await save(join(dir, 'pieces-before'), config);
  const before = await pipeline('text-classification', join(dir, 'pieces-before'));
  const ranked = (await before.runBatch(
    TRAIN.map((e) => e.text),
    { topK: null },
  )) as { label: string; score: number }[][];
  await before.dispose();
  const expected = -ranked.reduce((s, r, i) => s + Math.log(r.find((x) => x.label === CONFIG.labels[TRAIN[i]!.label])!.score), 0) / TRAIN.length;
  const result = await trainPrompt({ model, tokenizer, config, examples: TRAIN, batchSize: 8, maxSteps: 15, learningRate: 3e-3, maxLength: 32, seed: 5, disableDropout: true });
  assert.ok(result.losses.at(-1)! < result.losses[0]!, `loss ${result.losses[0]} -> ${result.losses.at(-1)}`);
  assert.ok(Math.abs(result.losses[0]! - expected) < 1e-4, `first loss ${result.losses[0]} vs cloze cross-entropy ${expected}`);
  t.diagnostic(`first loss ${result.losses[0]!.toFixed(6)} vs cloze cross-entropy ${expected.toFixed(6)}`);
  const out = join(dir, 'pieces');
  await save(out, config);
  const classifier = await pipeline('text-classification', out);
  const zeroShot = await pipeline('zero-shot-classification', out, { mode: 'cloze' });
  for (const e of TRAIN.slice(0, 4)) {
    const mine = (await classifier(e.text, { topK: null })) as { label: string; score: number }[];
    const z = (await zeroShot(e.text, { template: TEMPLATE, verbalizer })) as { labels: string[]; scores: number[] };
    mine.forEach((m) => assert.ok(Math.abs(m.score - z.scores[z.labels.indexOf(m.label)]!) < 1e-6, `${e.text} ${m.label}`));
  }
  await classifier.dispose();
  await zeroShot.dispose();
});

test('the verbalizer is checked', () => {
  assert.throws(() => parseVerbalizer('positive=great'), /at least two labels/);
  assert.throws(() => parseVerbalizer('positive,negative=bad'), /label=word/);
  assert.deepEqual(parseVerbalizer('a=x|y|x,b=z'), { a: ['x', 'y'], b: ['z'] });
});
