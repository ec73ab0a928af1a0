// The explicit out-of-scope class end to end on the tiny BERT of test/fixtures/sentence/base: the
// classifier learns it as its last label, the manifest keeps it apart from the intents, and a
// message like its examples is refused whatever the thresholds.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Nlu, OUT_OF_SCOPE_CLASS, loadConfig, trainAssistant } from '../src/apps/assistant/index.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/assistant/bot.yaml', import.meta.url).pathname;
const OUT_OF_SCOPE = [
  'the cat sat on the mat',
  'the dog is sleeping',
  'a man plays guitar',
  'the weather today',
  'is it rain today',
  'the woman eats bread',
  'a cat on the rug',
  'the weather is sunny',
];

test('out_of_scope.class: the classifier learns the class after the intents and refuses messages like its examples', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tuna-oos-class-'));
  const c = await loadConfig(FIXTURE);
  const config = {
    ...c,
    model: BASE,
    faq: { ...c.faq, model: BASE },
    outOfScope: OUT_OF_SCOPE,
    outOfScopeClass: true,
    database: join(dir, 'conv.db'),
    training: { ...c.training, epochs: 30, learningRate: 0.005, threads: 1 },
  };
  const r = await trainAssistant(config, join(dir, 'model'));
  const m = r.manifest;
  assert.deepEqual(m.intents, ['lost_card', 'reset_password', 'store_hours', 'transfer']);
  assert.equal(m.out_of_scope_class, OUT_OF_SCOPE_CLASS);
  assert.equal(m.thresholds.method, 'out-of-scope examples');
  // 32 intent examples and 8 out-of-scope ones, a quarter of each held out.
  assert.equal(m.calibration.validation_examples, 10);
  assert.equal(m.calibration.out_of_scope_examples, 2);
  const classifier = JSON.parse(readFileSync(join(r.dir, 'classifier', 'config.json'), 'utf8'));
  assert.deepEqual(classifier.id2label, { 0: 'lost_card', 1: 'reset_password', 2: 'store_hours', 3: 'transfer', 4: OUT_OF_SCOPE_CLASS });

  const nlu = await Nlu.load(r.dir, { threads: 1 });
  try {
    const [p, q] = await nlu.probabilities(['reset my password', 'the cat sat on the mat']);
    assert.equal(p!.length, 4);
    const intentShare = q!.reduce((a, b) => a + b, 0);
    assert.ok(intentShare < 0.5, `the class keeps the most of the probability: intents have ${intentShare}`);
    const [seen, intent] = await nlu.understandMany(['the cat sat on the mat', 'reset my password']);
    assert.equal(seen!.decision, 'out_of_scope');
    assert.ok(m.intents.includes(seen!.top.intent), 'the top entry is still an intent');
    assert.equal(intent!.decision, 'intent');
    assert.equal(intent!.top.intent, 'reset_password');
  } finally {
    await nlu.dispose();
  }
});
