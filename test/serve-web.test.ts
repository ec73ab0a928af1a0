// The page at `/` in headless Chromium: type a text, pick a model and a task, run, see the
// prediction (labels with score bars, highlighted entities, fill-mask candidates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { pipeline, startServer, type TunaServer } from '../src/index.js';
import { launchChromium } from './helpers/browser.js';
import { BUNDLED_EN, CLASSIFIER_LABELS, makeClassifier, makeTokenClassifier } from './helpers/serve.js';

const NLI_DIR = new URL('./fixtures/zero-shot/nli', import.meta.url).pathname;
const CROSS_ENCODER_DIR = new URL('./fixtures/cross-encoder/base', import.meta.url).pathname;

let server: TunaServer;
let browser: Browser;
let page: Page;
let clsDir: string;
const pageErrors: string[] = [];

test.before(async () => {
  clsDir = await makeClassifier();
  server = await startServer({
    models: [`cls=${clsDir}`, `ner=${await makeTokenClassifier()}`, `en=${BUNDLED_EN}`, `nli=${NLI_DIR}`, `ce=${CROSS_ENCODER_DIR}`],
    port: 0,
    threads: 1,
    apiKey: 'web-key',
  });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(`${server.address}/`);
});

test.after(async () => {
  await browser?.close();
  await server?.close();
});

/** Selects model and task, types the text and runs it. */
async function runOnPage(model: string, task: string, text: string): Promise<void> {
  await page.selectOption('#model', model);
  await page.selectOption('#task', task);
  await page.fill('#text', text);
  await page.click('#run');
}

test('the page asks for the API key, then lists the models', async () => {
  await page.waitForSelector('#keyrow', { state: 'visible' });
  assert.match((await page.textContent('#result')) ?? '', /needs an API key/);
  await page.fill('#key', 'web-key');
  await page.dispatchEvent('#key', 'change');
  await page.waitForFunction(() => document.querySelectorAll('#model option').length === 5);
  assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['cls', 'ner', 'en', 'nli', 'ce']);
  assert.deepEqual(await page.$$eval('#task option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['classify', 'embed']);
});

test('classify: every label with a score bar, the scores the pipeline gives', async () => {
  const text = 'I was charged twice for one order';
  await runOnPage('cls', 'classify', text);
  await page.waitForSelector('[data-kind="labels"] .bar');
  const shown = await page.$$eval('[data-kind="labels"] .bar', (bars) =>
    bars.map((b) => [b.querySelector('.name')!.textContent, Number(b.querySelector('.score')!.textContent), (b.querySelector('.fill') as HTMLElement).style.width]),
  );
  const classifier = await pipeline('text-classification', clsDir, { threads: 1 });
  try {
    const [expected] = await classifier.runBatch([text], { topK: null });
    assert.deepEqual(
      shown.map((s) => s[0]),
      expected!.map((l) => l.label),
    );
    assert.deepEqual(shown.map((s) => s[0]).sort(), Object.values(CLASSIFIER_LABELS).sort());
    shown.forEach((s, i) => {
      assert.ok(Math.abs((s[1] as number) - expected![i]!.score) < 1e-4);
      assert.equal(s[2], `${(expected![i]!.score * 100).toFixed(1)}%`);
    });
  } finally {
    await classifier.dispose();
  }
});

test('the page renders: a screenshot of the result', async () => {
  const png = await page.screenshot({ fullPage: true });
  assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'a PNG image');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  assert.ok(width >= 320 && height >= 200, `${width} x ${height} pixels`);
});

test('ner: entities highlighted in the text', async () => {
  await runOnPage('ner', 'ner', 'John Smith lives in New York.');
  await page.waitForSelector('[data-kind="entities"] mark');
  const marks = await page.$$eval('[data-kind="entities"] mark', (ms) => ms.map((m) => [m.firstChild!.textContent, m.querySelector('sup')!.textContent]));
  assert.deepEqual(marks, [
    ['John Smith', 'PER'],
    ['New York', 'LOC'],
  ]);
  assert.equal(await page.textContent('[data-kind="entities"]'), 'John SmithPER lives in New YorkLOC.');
});

test('fill-mask: candidates with scores; embed: the vector size', async () => {
  await runOnPage('en', 'fill-mask', 'The man went to the [MASK].');
  await page.waitForSelector('[data-kind="candidates"] .bar');
  assert.equal(await page.$$eval('[data-kind="candidates"] .bar', (bars) => bars.length), 5);
  assert.match((await page.textContent('[data-kind="candidates"]')) ?? '', /best: the man went to the/);
  await runOnPage('en', 'embed', 'A sentence to embed.');
  await page.waitForSelector('[data-kind="embedding"]');
  assert.match((await page.textContent('[data-kind="embedding"]')) ?? '', /^256 dimensions, L2 norm \d/);
});

test('zero-shot: a bar per candidate label, the scores the pipeline gives; rerank: passages best first', async () => {
  const text = 'the battery died after two days';
  await page.selectOption('#model', 'nli');
  await page.selectOption('#task', 'zero-shot');
  assert.equal(await page.isVisible('#extra'), true, 'the candidate labels box is shown');
  await page.fill('#text', text);
  await page.fill('#extra', 'complaint, praise ,question');
  await page.click('#run');
  await page.waitForSelector('[data-kind="labels"] .bar');
  const shown = await page.$$eval('[data-kind="labels"] .bar', (bars) => bars.map((b) => [b.querySelector('.name')!.textContent, Number(b.querySelector('.score')!.textContent)]));
  const zeroShot = await pipeline('zero-shot-classification', NLI_DIR, { threads: 1 });
  try {
    const expected = await zeroShot(text, ['complaint', 'praise', 'question']);
    assert.deepEqual(
      shown.map(([name]) => name),
      expected.labels,
    );
    for (const [i, [, score]] of shown.entries()) assert.ok(Math.abs((score as number) - expected.scores[i]!) < 1e-4);
  } finally {
    await zeroShot.dispose();
  }

  const passages = ['open settings then reset password', 'the shop opens at nine', 'passwords need eight characters'];
  await page.selectOption('#model', 'ce');
  await page.selectOption('#task', 'rerank');
  assert.equal(await page.textContent('#textlabel'), 'Query');
  await page.fill('#text', 'how do i reset my password');
  await page.fill('#extra', passages.join('\n'));
  await page.click('#run');
  await page.waitForSelector('[data-kind="ranking"] .bar');
  const ranked = await page.$$eval('[data-kind="ranking"] .bar', (bars) => bars.map((b) => b.querySelector('.name')!.textContent));
  const ranker = await pipeline('text-ranking', CROSS_ENCODER_DIR, { threads: 1 });
  try {
    const expected = await ranker('how do i reset my password', passages);
    assert.deepEqual(
      ranked,
      expected.map((h) => passages[h.corpus_id]),
    );
  } finally {
    await ranker.dispose();
  }
  await page.selectOption('#model', 'cls');
  assert.equal(await page.isVisible('#extra'), false, 'the second box is hidden for tasks without one');
});

test('a request error is shown on the page; no script errors', async () => {
  await runOnPage('en', 'fill-mask', 'no mask in this text');
  await page.waitForSelector('#result .error');
  assert.match((await page.textContent('#result .error')) ?? '', /no \[MASK\]/);
  // The browser logs each 4xx answer (the 401 before the key, the 400 above) as a failed resource.
  assert.deepEqual(
    pageErrors.filter((e) => !/status of (401|400)/.test(e)),
    [],
    'no script or content-security-policy errors',
  );
});
