// The assistant's chat page at `/` in headless Chromium, on the tiny assistant trained from
// test/fixtures/assistant/bot.yaml: a message is answered as `POST /v1/chat` answers it, and the
// "helpful" button stores a feedback row.
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser, Page } from 'playwright-core';
import { type AssistantServer, createAssistantServer, loadConfig, trainAssistant } from '../src/apps/assistant/index.js';
import { launchChromium } from './helpers/browser.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked field by field
type Json = any;

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/assistant/bot.yaml', import.meta.url).pathname;
const dir = tempDirSync('assistant-page');
const database = join(dir, 'conv.db');
const pageErrors: string[] = [];
let server: AssistantServer;
let url = '';
let browser: Browser;
let page: Page;

before(async () => {
  const c = await loadConfig(FIXTURE);
  await trainAssistant(
    { ...c, model: BASE, faq: { ...c.faq, model: BASE }, database, training: { ...c.training, epochs: 30, learningRate: 0.005, threads: 1 } },
    join(dir, 'model'),
  );
  server = await createAssistantServer({ model: join(dir, 'model'), threads: 1 });
  url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('the chat page: a reply as POST /v1/chat gives it, with its intent, and "helpful" stores feedback', async () => {
  const res = await page.goto(`${url}/`);
  assert.equal(res?.status(), 200);
  const csp = res?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
  assert.match(csp, /default-src 'none'/);

  const text = 'i lost my card';
  await page.fill('#text', text);
  await page.click('#send');
  await page.waitForSelector('.msg.bot');
  const shown = await page.$eval('.msg.bot', (li) => ({
    text: li.querySelector('.text')!.textContent,
    meta: li.querySelector('.meta')!.textContent,
    id: Number((li as HTMLElement).dataset.messageId),
  }));
  assert.deepEqual(await page.$$eval('.msg.user', (us) => us.map((u) => u.textContent)), [text]);

  const fresh = await fetch(`${url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session_id: 'fresh', text }),
  });
  const expected = (await fresh.json()) as Json;
  assert.equal(shown.text, expected.reply);
  if (expected.intent !== null) assert.ok(shown.meta!.includes(`intent ${expected.intent}`), shown.meta!);
  if (expected.confidence !== null) assert.ok(shown.meta!.includes(`confidence ${expected.confidence.toFixed(3)}`), shown.meta!);
  if (expected.action) assert.ok(shown.meta!.includes(`action ${expected.action}`), shown.meta!);
  if (expected.source) assert.ok(shown.meta!.includes(`FAQ ${expected.source.id}`), shown.meta!);
  assert.ok(shown.id >= 1 && shown.id !== expected.message_id);

  await page.click('.msg.bot .helpful');
  await page.waitForSelector('.msg.bot .feedback[data-sent="true"]');
  assert.match((await page.textContent('.msg.bot .status')) ?? '', /thanks/);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /tuna_assistant_feedback_total\{helpful="true"\} 1/);
  const db = new Database(database, { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT message_id, helpful FROM feedback').all(), [{ message_id: shown.id, helpful: 1 }]);
  } finally {
    db.close();
  }

  const shots = tempDirSync('assistant-page-shot');
  await page.screenshot({ path: join(shots, 'chat.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
