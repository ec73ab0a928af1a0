// Slots on a bot trained on the tiny BERT of test/fixtures/sentence/base and a token classifier
// whose logits per word are chosen (test/helpers/pipeline-models.ts), so the entities of every
// message are known: the configuration, a slot question and the message that answers it,
// placeholders in responses, `slots` in `/v1/chat` answers, slots stored redacted in SQLite (and
// an older SQLite file migrated) and in PostgreSQL.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  type AssistantServer,
  AssistantError,
  PostgresStore,
  SQLITE_SCHEMA_VERSION,
  SlotFiller,
  SqliteStore,
  createAssistantServer,
  fillPlaceholders,
  loadConfig,
  missingSlots,
  slotPrompt,
  trainAssistant,
} from '../src/apps/assistant/index.js';

import { tempDir, writeTokenLogitModel } from './helpers/pipeline-models.js';
import { type TestServer, startPostgres } from './helpers/servers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked field by field
type Json = any;

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];
const O = [4, 0, 0, 0, 0];
// jo@example.org is one PER entity (jo, @, example, ., org), so the slot it fills holds an e-mail address.
const NER_LOGITS: Record<string, number[]> = {
  paris: [0, 0, 0, 5, 0],
  london: [0, 0, 0, 5, 0],
  anna: [0, 5, 0, 0, 0],
  jo: [0, 5, 0, 0, 0],
  '@': [0, 0, 5, 0, 0],
  example: [0, 0, 5, 0, 0],
  '.': [0, 0, 5, 0, 0],
  org: [0, 0, 5, 0, 0],
  '[UNK]': O,
};
const NER_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...Object.keys(NER_LOGITS).filter((t) => t !== '[UNK]')];

const BOT = (ner: string) => `
name: slot-bot
model: ${BASE}
slots:
  model: ${ner}
  fill: { city: LOC, person: PER }
  prompts: { city: Which city? }
intents:
  - name: store_hours
    requires: [city]
    response: The store in {city} is open from nine to five.
    examples: [what time is the store open, when does the store open, store open, what time do you close, store close time, is the store open today, time the store is open, open store]
  - name: transfer
    requires: [person]
    response: I will send the money to {person}.
    examples: [how do i send money, transfer money, send money, bank transfer, i transfer money, money transfer, how do i transfer money, send money to my account]
  - name: reset_password
    response: You can reset your password from the sign-in page.
    examples: [how do i reset my password, reset my password, i lost my password, password reset, how do i reset the password, reset password, my password, the password]
thresholds: { confidence: 0, margin: 0 }
training: { epochs: 30, batch_size: 8, learning_rate: 0.005, validation_split: 0.25, max_length: 24, threads: 1 }
`;

let dir: string;
let ner: string;
let server: AssistantServer | undefined;
let url = '';
let postgres: TestServer | undefined;

before(async () => {
  dir = await tempDir('assistant-slots');
  ner = await writeTokenLogitModel(join(dir, 'ner'), NER_VOCAB, LABELS, NER_LOGITS);
  writeFileSync(join(dir, 'bot.yaml'), BOT(ner));
});
after(async () => {
  await server?.close();
  await postgres?.stop();
});

test('config: slots with their entity groups and prompts, intents that require them; unknown slots are named', async () => {
  const c = await loadConfig(join(dir, 'bot.yaml'));
  assert.deepEqual(c.slots, { model: ner, fill: { city: 'LOC', person: 'PER' }, prompts: { city: 'Which city?' } });
  assert.deepEqual(c.intents[0]!.requires, ['city']);
  assert.equal(c.intents[2]!.requires, undefined);
  writeFileSync(join(dir, 'bad.yaml'), BOT(ner).replace('requires: [person]', 'requires: [person, date]'));
  await assert.rejects(loadConfig(join(dir, 'bad.yaml')), (e: unknown) => {
    assert.ok(e instanceof AssistantError && e.code === 'invalid_config');
    assert.match(e.message, /bad\.yaml: intents\[1\]\.requires\[1\]: "date" is not a slot/);
    return true;
  });
  writeFileSync(join(dir, 'bad.yaml'), BOT(ner).replace('prompts: { city: Which city? }', 'prompts: { town: Which town? }'));
  await assert.rejects(loadConfig(join(dir, 'bad.yaml')), /slots\.prompts\.town: is not a slot of slots\.fill \(city, person\)/);
  writeFileSync(join(dir, 'bad.yaml'), BOT(ner).replace(`  model: ${ner}\n`, ''));
  await assert.rejects(loadConfig(join(dir, 'bad.yaml')), /slots\.model: is required/);
});

test('slot filling: the first entity of each slot group, by its text in the message; prompts and placeholders', async () => {
  const filler = await SlotFiller.load({ model: ner, fill: { city: 'LOC', person: 'PER' }, prompts: {} }, { threads: 1 });
  try {
    assert.deepEqual(await filler.extract('Send it to Anna in Paris or London'), { city: 'Paris', person: 'Anna' });
    assert.deepEqual(await filler.extract('mail jo@example.org now'), { person: 'jo@example.org' });
    assert.deepEqual(await filler.extract('what time is it'), {});
  } finally {
    await filler.dispose();
  }
  assert.deepEqual(missingSlots(['city', 'person'], { person: 'Anna' }), ['city']);
  assert.deepEqual(missingSlots(undefined, {}), []);
  assert.equal(slotPrompt({ model: ner, fill: {}, prompts: { city: 'Which city?' } }, 'city'), 'Which city?');
  assert.equal(slotPrompt(undefined, 'order_number'), 'What is the order number?');
  assert.equal(fillPlaceholders('In {city}, {person} {unknown} {}', { city: 'Paris', person: 'Anna' }), 'In Paris, Anna {unknown} {}');
});

const chat = async (session_id: string, text: string): Promise<Json> => {
  const res = await fetch(`${url}/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session_id, text }) });
  assert.equal(res.status, 200);
  return res.json();
};

test('dialogue over HTTP: a slot question, the next message fills it, slots kept by the session and stored redacted', async () => {
  const c = await loadConfig(join(dir, 'bot.yaml'));
  const database = join(dir, 'conv.db');
  const r = await trainAssistant({ ...c, database }, join(dir, 'model'));
  assert.deepEqual(r.manifest.slots, c.slots);
  assert.deepEqual(r.manifest.responses.store_hours!.requires, ['city']);
  server = await createAssistantServer({ model: join(dir, 'model'), threads: 1, watch: false });
  url = await server.app.listen({ port: 0, host: '127.0.0.1' });

  const ask = await chat('s1', 'when does the store open');
  assert.equal(ask.intent, 'store_hours');
  assert.equal(ask.action, 'ask_slot');
  assert.equal(ask.slot, 'city');
  assert.equal(ask.reply, 'Which city?');
  assert.deepEqual(ask.slots, {});
  // "Paris" alone is no intent the classifier knows; it answers the question.
  const answered = await chat('s1', 'Paris');
  assert.equal(answered.intent, 'store_hours');
  assert.equal(answered.action, null);
  assert.equal(answered.reply, 'The store in Paris is open from nine to five.');
  assert.deepEqual(answered.slots, { city: 'Paris' });
  assert.ok(answered.confidence > 0 && answered.confidence <= 1);
  // The session remembers the city; a city in the message replaces it.
  assert.equal((await chat('s1', 'what time is the store open')).reply, 'The store in Paris is open from nine to five.');
  assert.equal((await chat('s1', 'is the store in london open today')).reply, 'The store in london is open from nine to five.');
  // A slot question without a prompt; a slot holding personal data is redacted in the reply and the session.
  const who = await chat('s1', 'send money');
  assert.equal(who.intent, 'transfer');
  assert.equal(who.reply, 'What is the person?');
  assert.equal(who.slot, 'person');
  const sent = await chat('s1', 'jo@example.org');
  assert.equal(sent.intent, 'transfer');
  assert.equal(sent.reply, 'I will send the money to [EMAIL].');
  assert.deepEqual(sent.slots, { city: 'london', person: '[EMAIL]' });
  assert.equal(sent.slot, undefined);

  // A message that fills no slot but is another intent answers that one; the question is dropped.
  assert.equal((await chat('s2', 'send money')).action, 'ask_slot');
  const other = await chat('s2', 'reset my password');
  assert.equal(other.intent, 'reset_password');
  assert.equal(other.reply, 'You can reset your password from the sign-in page.');

  const db = new Database(database, { readonly: true });
  try {
    const rows = db.prepare('SELECT id, slots, pending_intent FROM sessions ORDER BY id').all() as { id: string; slots: string | null; pending_intent: string | null }[];
    assert.deepEqual(rows, [
      { id: 's1', slots: JSON.stringify({ city: 'london', person: '[EMAIL]' }), pending_intent: null },
      { id: 's2', slots: null, pending_intent: null },
    ]);
    assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
    const texts = (db.prepare('SELECT text FROM messages').all() as { text: string }[]).map((m) => m.text).join('\n');
    assert.ok(!texts.includes('jo@example.org'), texts);
  } finally {
    db.close();
  }
});

test('SQLite: a database of schema version 1 gains the slot columns and keeps its sessions', async () => {
  const file = join(dir, 'v1.db');
  const old = new Database(file);
  old.exec(`CREATE TABLE sessions (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_intent TEXT, pending_choice TEXT);
    INSERT INTO sessions VALUES ('old', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'transfer', NULL);`);
  old.pragma('user_version = 1');
  old.close();
  const store = new SqliteStore(file);
  try {
    const s = await store.session('old');
    assert.equal(s.lastIntent, 'transfer');
    assert.deepEqual(s.slots, {});
    assert.equal(s.pendingIntent, null);
    await store.updateSession('old', { slots: { person: 'call 555-123-4567' }, pendingIntent: 'transfer' });
    const t = await store.session('old');
    assert.deepEqual(t.slots, { person: 'call [PHONE]' });
    assert.equal(t.pendingIntent, 'transfer');
  } finally {
    await store.close();
  }
  const db = new Database(file, { readonly: true });
  assert.equal(db.pragma('user_version', { simple: true }), 2);
  db.close();
});

test('PostgreSQL: slots stored redacted with the pending intent; a table from before slots gains the columns', async () => {
  postgres = await startPostgres();
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  await client.query(`CREATE TABLE assistant_sessions (id TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, last_intent TEXT, pending_choice JSONB);
    INSERT INTO assistant_sessions VALUES ('old', now(), now(), 'transfer', NULL)`);
  const store = new PostgresStore(postgres.url);
  try {
    const s = await store.session('old');
    assert.equal(s.lastIntent, 'transfer');
    assert.deepEqual(s.slots, {});
    assert.equal(s.pendingIntent, null);
    await store.session('new');
    await store.updateSession('new', { slots: { person: 'jo@example.org', city: 'Paris' }, pendingIntent: 'transfer' });
    const t = await store.session('new');
    assert.deepEqual(t.slots, { person: '[EMAIL]', city: 'Paris' });
    assert.equal(t.pendingIntent, 'transfer');
    await store.updateSession('new', { pendingIntent: null });
    assert.equal((await store.session('new')).pendingIntent, null);
    const raw = (await client.query("SELECT slots::text AS slots FROM assistant_sessions WHERE id = 'new'")).rows[0].slots as string;
    assert.ok(!raw.includes('jo@example.org'), raw);
  } finally {
    await store.close();
    await client.end();
  }
});
