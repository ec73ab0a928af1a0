// Out-of-scope handling beyond the thresholds, end to end on the tiny BERT of
// test/fixtures/sentence/base: the explicit out-of-scope class (the classifier's last label, kept
// apart from the intents, refusing messages like its examples whatever the thresholds), and the
// similarity rule (intent centroids of [CLS] vectors and a tuned cosine threshold).
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AssistantConfig, Nlu, OUT_OF_SCOPE_CLASS, loadCentroids, loadConfig, nearestCentroidCosine, trainAssistant } from '../src/apps/assistant/index.js';
import { pipeline } from '../src/index.js';

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

/** The fixture bot on the tiny base with the out-of-scope examples above and `options`, in a new directory. */
async function fixtureConfig(options: Partial<AssistantConfig>): Promise<{ dir: string; config: AssistantConfig }> {
  const dir = tempDirSync('oos');
  const c = await loadConfig(FIXTURE);
  const config = {
    ...c,
    model: BASE,
    faq: { ...c.faq, model: BASE },
    outOfScope: OUT_OF_SCOPE,
    database: join(dir, 'conv.db'),
    training: { ...c.training, epochs: 30, learningRate: 0.005, threads: 1 },
    ...options,
  };
  return { dir, config };
}

test('out_of_scope.class: the classifier learns the class after the intents and refuses messages like its examples', async () => {
  const { dir, config } = await fixtureConfig({ outOfScopeClass: true });
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

test('out_of_scope.similarity: intent centroids of [CLS] vectors saved with the version, a tuned cosine threshold, refusals below it', async () => {
  const { dir, config } = await fixtureConfig({ outOfScopeSimilarity: true });
  const r = await trainAssistant(config, join(dir, 'model'));
  const similarity = r.manifest.thresholds.similarity!;
  assert.ok(Number.isFinite(similarity) && similarity > -1 && similarity < 1, `${similarity}`);
  const centroids = await loadCentroids(r.dir, 4);
  assert.equal(centroids.size, 32);
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(Math.hypot(...centroids.data.subarray(i * 32, (i + 1) * 32)) - 1) < 1e-5, 'unit-length centroids');

  // The decision follows the cosine of each message's vector from the classifier's own run.
  const classifier = await pipeline('text-classification', join(r.dir, 'classifier'), { threads: 1, clsVector: true });
  const nlu = await Nlu.load(r.dir, { threads: 1 });
  try {
    const texts = [...OUT_OF_SCOPE, 'reset my password', 'send money', 'store open', 'lost card'];
    const runs = await classifier.runWithLogits(texts);
    const understood = await nlu.understandMany(texts);
    const far = runs.map((x) => nearestCentroidCosine(x.clsVector!, centroids) < similarity);
    assert.ok(far.some((f) => f) && far.some((f) => !f), `some messages on each side: ${far}`);
    far.forEach((f, i) => {
      if (f) assert.equal(understood[i]!.decision, 'out_of_scope', texts[i]);
    });
    assert.equal(understood[texts.indexOf('reset my password')]!.decision, 'intent');
  } finally {
    await Promise.all([nlu.dispose(), classifier.dispose()]);
  }
  // A configured threshold is kept as given; 1.01 refuses everything.
  const strict = await trainAssistant({ ...config, thresholds: { ...config.thresholds, similarity: 1.01 } }, join(dir, 'model'), { epochs: 1 });
  assert.equal(strict.manifest.thresholds.similarity, 1.01);
  const nlu2 = await Nlu.load(strict.dir, { threads: 1 });
  try {
    assert.ok((await nlu2.understandMany(['reset my password', 'lost card'])).every((u) => u.decision === 'out_of_scope'));
  } finally {
    await nlu2.dispose();
  }
});

test('a validation file replaces the split: every example trains, its messages calibrate and tune', async () => {
  const validation = {
    intents: [
      { text: 'reset the password', label: 'reset_password' },
      { text: 'my card is lost', label: 'lost_card' },
      { text: 'store open today', label: 'store_hours' },
      { text: 'send the money', label: 'transfer' },
    ],
    outOfScope: ['the dog sat on the rug', 'the weather is cold'],
  };
  const { dir, config } = await fixtureConfig({ validation, outOfScopeClass: true });
  const r = await trainAssistant(config, join(dir, 'model'));
  // 32 intent examples and 8 out-of-scope ones all train; the file's 4 + 2 messages tune.
  assert.equal(r.manifest.training.examples, 40);
  assert.equal(r.manifest.calibration.validation_examples, 6);
  assert.equal(r.manifest.calibration.out_of_scope_examples, 2);
  assert.equal(r.manifest.thresholds.method, 'out-of-scope examples');
  // Without the class, the file's out-of-scope messages tune the rule and the configured ones do not train.
  const plain = await trainAssistant({ ...config, outOfScopeClass: false }, join(dir, 'plain'));
  assert.equal(plain.manifest.training.examples, 32);
  assert.equal(plain.manifest.calibration.validation_examples, 4);
  assert.equal(plain.manifest.calibration.out_of_scope_examples, 2);
});
