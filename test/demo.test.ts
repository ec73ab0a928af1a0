// The one-command demo (reduced to a few steps) on the bundled English model, and the choice of a
// bundled model by the language of the data when `tuna train` is given no --model.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../src/cli/main.js';
import { bundledModelDir, detectLanguage, hasBundledModel } from '../src/models/bundled.js';

const work = mkdtempSync(join(tmpdir(), 'tuna-demo-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('the language of the data picks the bundled model', () => {
  assert.equal(detectLanguage(['Where is my card?', 'I want a refund']), 'en');
  assert.equal(detectLanguage(['很快，好吃，味道足', '送餐太慢了']), 'zh');
  assert.equal(detectLanguage(['iPhone 很好用，推荐']), 'zh');
  for (const lang of ['en', 'zh'] as const) assert.ok(hasBundledModel(lang), `${bundledModelDir(lang)} is part of the repository`);
});

test('tuna demo (a few steps): fine-tunes the bundled English model, reports, predicts unseen messages', async () => {
  const out = join(work, 'spam');
  let stdout = '';
  let stderr = '';
  const code = await run(['demo', '--output', out, '--max-steps', '4', '--progress', 'none'], {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
  });
  assert.equal(code, 0, stderr);
  assert.match(stderr, /bundled English model/);
  assert.match(stdout, /test set \(300 examples\)/);
  assert.match(stdout, /ham\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+\d+/);
  assert.match(stdout, /unseen messages\n(\s+(spam|ham)\s+[\d.]+\s+.+\n){4}/);
  assert.match(stdout, /npx tuna predict --model/);
  assert.match(stdout, /npx tuna serve --model \S+ --port 8080/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(Object.values(config.id2label), ['ham', 'spam']);
});

test('tuna train without --model fine-tunes the bundled Chinese model on Chinese reviews', async () => {
  const out = join(work, 'waimai');
  let stdout = '';
  let stderr = '';
  const data = new URL('./fixtures/e2e/', import.meta.url).pathname;
  const code = await run(
    ['train', '--train', `${data}waimai-train.csv`, '--text-column', 'review', '--output', out, '--max-steps', '3', '--max-length', '64', '--progress', 'none', '--json'],
    { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) },
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /bundled Chinese model/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  const bundled = JSON.parse(readFileSync(join(bundledModelDir('zh'), 'config.json'), 'utf8'));
  assert.equal(config.vocab_size, bundled.vocab_size);
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.equal(JSON.parse(stdout).global_step, 3);
});
