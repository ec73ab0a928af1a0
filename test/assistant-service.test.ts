// The assistant end to end on the tiny BERT of test/fixtures/sentence/base: training (versions,
// calibration), the dialogue (intent, FAQ, fallback with a retried webhook handoff), the HTTP
// service on a real port with a real SQLite file, metrics, feedback, and evaluation.
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  type AssistantServer,
  Dialogue,
  MANIFEST,
  Nlu,
  SqliteStore,
  createAssistantServer,
  intentTitle,
  evaluateFaq,
  evaluateIntents,
  loadConfig,
  resolveVersionDir,
  setCurrentVersion,
  trainAssistant,
} from '../src/apps/assistant/index.js';
import { createProgram } from '../src/cli/main.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies and rows, checked field by field
type Json = any;

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/assistant/bot.yaml', import.meta.url).pathname;
const dir = tempDirSync('assistant');
const modelDir = join(dir, 'model');
const hooks: { status: number; body: Json }[] = [];
// A message that is none of the intents and no FAQ question (with personal data to redact).
const NONSENSE = 'x jo@example.org 555-123-4567';
const NONSENSE_STORED = 'x [EMAIL] [PHONE]';
let webhook: Server;
let webhookUrl = '';

before(async () => {
  // A webhook that fails its first call (500), so the handoff has to retry.
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = hooks.length === 0 ? 500 : 200;
      hooks.push({ status, body: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as { port: number }).port}/hook`;
});
after(async () => {
  await server?.close();
  webhook.closeAllConnections();
  webhook.close();
});

test('train: a versioned model with calibration that lowers the validation NLL, and the current pointer', async () => {
  const c = await loadConfig(FIXTURE);
  const config = {
    ...c,
    model: BASE,
    faq: { ...c.faq, model: BASE },
    database: join(dir, 'conv.db'),
    handoff: { webhook: webhookUrl, retries: 2, timeoutMs: 2000 },
    training: { ...c.training, epochs: 30, learningRate: 0.005, threads: 1 },
  };
  const r = await trainAssistant(config, modelDir);
  assert.equal(r.version, 1);
  assert.equal(readFileSync(join(modelDir, 'current'), 'utf8'), '1\n');
  const m = r.manifest;
  assert.deepEqual(m.intents, ['lost_card', 'reset_password', 'store_hours', 'transfer']);
  assert.equal(m.calibration.validation_examples, 8);
  assert.ok(m.calibration.nll_after <= m.calibration.nll_before, `NLL ${m.calibration.nll_before} -> ${m.calibration.nll_after}`);
  assert.ok(Number.isFinite(m.calibration.ece_after) && m.temperature > 0);
  assert.equal(m.thresholds.method, 'quantile');
  assert.ok(m.thresholds.confidence > 0 && m.thresholds.confidence <= 1 && m.thresholds.margin <= 0.2);
  assert.ok(m.calibration.accuracy >= 0.75, `validation accuracy ${m.calibration.accuracy}`);
  assert.equal((await resolveVersionDir(modelDir)).dir, r.dir);

  // Version 2: the same model with strict thresholds (nothing is answered as an intent) and an FAQ
  // threshold just under the match of an FAQ question; `current` switches to it.
  const v2 = join(modelDir, 'versions', '2');
  cpSync(r.dir, v2, { recursive: true });
  const nlu = await Nlu.load(r.dir, { threads: 1 });
  const [music, nonsense] = await nlu.searchFaq(['do you play music in the store', NONSENSE], 3);
  await nlu.dispose();
  assert.equal(music!.best!.id, 'music');
  assert.ok(nonsense!.best!.score < music!.best!.score, `nonsense ${nonsense!.best!.score} vs ${music!.best!.score}`);
  writeFileSync(join(v2, MANIFEST), JSON.stringify({ ...m, version: 2, thresholds: { ...m.thresholds, confidence: 1.01, margin: 0, faq: music!.best!.score - 1e-4 } }));
  await setCurrentVersion(modelDir, 2);
  assert.equal((await resolveVersionDir(modelDir)).version, 2);
});

test('dialogue: a clarification question offers the two most probable intents, and "the second" picks one', async () => {
  // A margin no gap reaches: every message is a close call between its two best intents.
  const v3 = join(dir, 'clarify');
  cpSync(join(modelDir, 'versions', '1'), v3, { recursive: true });
  const m = JSON.parse(readFileSync(join(v3, MANIFEST), 'utf8'));
  writeFileSync(join(v3, MANIFEST), JSON.stringify({ ...m, thresholds: { ...m.thresholds, confidence: 0, margin: 1.01 } }));
  const nlu = await Nlu.load(v3, { threads: 1 });
  const store = new SqliteStore(':memory:');
  const dialogue = new Dialogue(nlu, store);
  const u = await nlu.understand('i lost my card');
  const ask = await dialogue.handle('c', 'i lost my card');
  assert.equal(ask.action, 'clarify');
  assert.deepEqual(ask.options, [u.top.intent, u.second!.intent]);
  assert.equal(ask.reply, `Did you mean ${intentTitle(u.top.intent)} or ${intentTitle(u.second!.intent)}?`);
  assert.deepEqual((await store.session('c')).pendingChoice, ask.options);
  const picked = await dialogue.handle('c', 'the second');
  assert.equal(picked.kind, 'intent');
  assert.equal(picked.intent, u.second!.intent);
  const session = await store.session('c');
  assert.equal(session.lastIntent, u.second!.intent);
  assert.equal(session.pendingChoice, null);
  assert.equal((await store.messages('c')).length, 4);
  await nlu.dispose();
  await store.close();
});

let server: AssistantServer | undefined;
let url = '';
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Json };
};

test('HTTP: intents on version 1; FAQ answers, fallback and a retried handoff on version 2; feedback; metrics; rows in SQLite', async () => {
  // Version 1 (auto thresholds): a training utterance is answered with its intent's action.
  const v1 = await createAssistantServer({ model: join(modelDir, 'versions', '1'), threads: 1, handoffBackoffMs: 10 });
  const v1url = await v1.app.listen({ port: 0, host: '127.0.0.1' });
  const r1 = await fetch(`${v1url}/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session_id: 'a', text: 'i lost my card' }),
  });
  const b1 = (await r1.json()) as Json;
  assert.equal(r1.status, 200);
  assert.equal(b1.intent, 'lost_card');
  assert.equal(b1.action, 'block_card');
  assert.equal(b1.reply, 'I have blocked your card.');
  assert.ok(b1.confidence > 0.5 && b1.confidence <= 1);
  assert.equal(b1.source, null);
  await v1.close();

  server = await createAssistantServer({ model: modelDir, threads: 1, handoffBackoffMs: 10 });
  url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const faq = await post('/v1/chat', { session_id: 's1', text: 'do you play music in the store' });
  assert.equal(faq.status, 200);
  assert.equal(faq.body.source.id, 'music');
  assert.equal(faq.body.reply, 'Yes: piano and guitar music.');
  assert.equal(faq.body.intent, null);
  assert.equal(faq.body.model_version, 2);

  const fallback = await post('/v1/chat', { session_id: 's1', text: NONSENSE });
  assert.equal(fallback.body.action, 'handoff');
  assert.equal(fallback.body.source, null);
  assert.match(fallback.body.reply, /don't know/);
  await server.dialogue.idle();
  assert.equal(hooks.length, 2, 'one failed call (500) and one retry');
  const payload = hooks[1]!.body;
  assert.equal(payload.session_id, 's1');
  assert.deepEqual(
    payload.transcript.map((t: Json) => t.role),
    ['user', 'assistant', 'user', 'assistant'],
  );
  assert.equal(payload.transcript[2].text, NONSENSE_STORED);

  // Feedback on a reply; on a user message or an unknown id it is refused.
  const fb = await post('/v1/feedback', { message_id: fallback.body.message_id, helpful: false, intent: 'weather_report' });
  assert.equal(fb.status, 200);
  assert.equal(fb.body.new_intent, true);
  assert.equal((await post('/v1/feedback', { message_id: fallback.body.message_id - 1, helpful: true })).status, 404);
  const bad = await post('/v1/chat', { session_id: 's1', text: '   ' });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body.error.field, 'text');
  assert.equal((await post('/v1/chat', { session_id: 's1', text: 'hi', extra: 1 })).body.error.code, 'invalid_request');

  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /tuna_assistant_replies_total\{kind="faq",intent=""\} 1/);
  assert.match(metrics, /tuna_assistant_fallbacks_total 1/);
  assert.match(metrics, /tuna_assistant_handoffs_total\{delivered="true"\} 1/);
  assert.match(metrics, /tuna_assistant_reply_duration_seconds_count\{kind="fallback"\} 1/);
  await server.close();
  server = undefined;

  const db = new Database(join(dir, 'conv.db'), { readonly: true });
  const rows = db.prepare("SELECT role, text, intent, source, action FROM messages WHERE session_id = 's1' ORDER BY id").all() as Json[];
  assert.equal(rows.length, 4);
  assert.equal(rows[1].source, 'music');
  assert.equal(rows[2].text, NONSENSE_STORED);
  assert.equal(rows[3].action, 'handoff');
  assert.deepEqual(db.prepare('SELECT helpful, intent FROM feedback').all(), [{ helpful: 0, intent: 'weather_report' }]);
  db.close();
});

test('eval: out-of-scope precision/recall, MCC and FAQ accuracy@1 and nDCG@10, from the library and tuna assistant eval --json', async () => {
  const strict = await Nlu.load(modelDir, { threads: 1 });
  const data = [
    { text: 'i lost my card', label: 'lost_card' },
    { text: 'reset my password', label: 'reset_password' },
    { text: 'the cat sat on the mat', label: 'oos' },
  ];
  const r = await evaluateIntents(strict, data);
  // Version 2 refuses everything: every in-scope message counts as out of scope.
  assert.equal(r.in_scope_accuracy, 0);
  assert.equal(r.oos_recall, 1);
  assert.equal(r.oos_precision, 1 / 3);
  assert.equal(r.mcc, 0);
  const f = await evaluateFaq(strict, [
    { text: 'is the weather sunny today', faqId: 'weather' },
    { text: 'do you play music in the store', faqId: 'music' },
  ]);
  assert.equal(f.queries, 2);
  assert.ok(f.accuracy_at_1 >= 0.5 && f.ndcg_at_10 >= f.accuracy_at_1 * 0.6);
  await strict.dispose();

  writeFileSync(join(dir, 'labelled.jsonl'), data.map((d) => JSON.stringify(d)).join('\n'));
  writeFileSync(join(dir, 'faq-queries.jsonl'), '{"text": "is the weather sunny today", "faq_id": "weather"}\n');
  let stdout = '';
  const program = createProgram({ stdout: (s: string) => void (stdout += s), stderr: () => {} } as never);
  await program.parseAsync([
    'node',
    'tuna',
    'assistant',
    'eval',
    '--model',
    join(modelDir, 'versions', '1'),
    '--data',
    join(dir, 'labelled.jsonl'),
    '--faq-data',
    join(dir, 'faq-queries.jsonl'),
    '--json',
    '--threads',
    '1',
  ]);
  const out = JSON.parse(stdout);
  assert.equal(out.version, 1);
  assert.equal(out.intents.in_scope, 2);
  assert.equal(out.intents.out_of_scope, 1);
  assert.ok('lost_card' in out.intents.report && 'macro avg' in out.intents.report);
  assert.equal(out.faq.accuracy_at_1, 1);
  assert.equal(out.faq.ndcg_at_10, 1);
});
