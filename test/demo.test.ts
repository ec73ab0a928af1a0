// The one-command demo (reduced to a few steps) on the bundled English model, and the choice of a
// bundled model by the language of the data when `tuna train` is given no --model.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import { shellWord, tunaInvocation } from '../src/cli/commands/demo.js';
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
  assert.match(stderr, /learning rate 3e-4 \(the default for hidden size 256/);
  // The next commands work from any directory: absolute paths, and tuna by the absolute path of bin/tuna.js.
  const bin = fileURLToPath(new URL('../bin/tuna.js', import.meta.url));
  const tuna = tunaInvocation({ PATH: '' });
  assert.equal(tuna, `node ${bin}`);
  assert.doesNotMatch(stdout, /npx /);
  assert.ok(stdout.includes(`${tuna} predict --model ${out} --text`), stdout);
  assert.ok(stdout.includes(`${tuna} serve --model ${out} --port 8080`), stdout);
  assert.ok(stdout.includes(`${tuna} eval --model ${out} --data ${fileURLToPath(new URL('../examples/data/spam-test.csv', import.meta.url))}`), stdout);
  const zh = /train --train (\S+) --test (\S+) --text-column review --output (\S+)/.exec(stdout);
  assert.ok(zh, stdout);
  for (const path of zh.slice(1)) assert.ok(isAbsolute(path), path);
  assert.ok(existsSync(zh[1]!) && existsSync(zh[2]!));
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.deepEqual(Object.values(config.id2label), ['ham', 'spam']);

  // Running the demo again replaces its earlier model instead of refusing the directory.
  stderr = '';
  const again = await run(['demo', '--output', out, '--max-steps', '1', '--progress', 'none'], { stdout: () => {}, stderr: (s) => void (stderr += s) });
  assert.equal(again, 0, stderr);
  assert.match(stderr, /removed the earlier run/);
  assert.equal(JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8')).global_step, 1);
});

test('commands to print: shell-safe words; tuna by name when the tuna on PATH is this one', () => {
  assert.equal(shellWord('/tmp/a-b_c/d.csv'), '/tmp/a-b_c/d.csv');
  assert.equal(shellWord("/tmp/my dir/it's"), "'/tmp/my dir/it'\\''s'");
  const dir = mkdtempSync(join(work, 'path-'));
  symlinkSync(fileURLToPath(new URL('../bin/tuna.js', import.meta.url)), join(dir, 'tuna'));
  assert.equal(tunaInvocation({ PATH: `/nonexistent${delimiter}${dir}` }), 'tuna');
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
  assert.match(stderr, /learning rate 3e-4 \(the default for hidden size 256; set it with --lr\)/);
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  const bundled = JSON.parse(readFileSync(join(bundledModelDir('zh'), 'config.json'), 'utf8'));
  assert.equal(config.vocab_size, bundled.vocab_size);
  assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
  assert.equal(JSON.parse(stdout).global_step, 3);
});
