// The assistant's PostgreSQL store against a real server (a fresh PostgreSQL 15 cluster): what the
// SQLite store is tested for (sessions, redacted messages, feedback joined to the user message),
// the store picked from the configuration's URL, connection errors, and the chat service storing
// into PostgreSQL end to end.
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { PostgresStore, SqliteStore, createAssistantServer, loadConfig, openAssistantStore, trainAssistant } from '../src/apps/assistant/index.js';
import { type TestServer, freePort, startPostgres } from './helpers/servers.js';

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const FIXTURE = new URL('./fixtures/assistant/bot.yaml', import.meta.url).pathname;
const dir = tempDirSync('assistant-pg');
let server: TestServer;

before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const rows = async (sql: string) => {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};

test('PostgreSQL store: sessions, redacted messages, feedback joined to the user message, read back by another connection', async () => {
  const store = new PostgresStore(server.url);
  const s = await store.session('s1');
  assert.equal(s.lastIntent, null);
  assert.equal(s.pendingChoice, null);
  assert.ok(!Number.isNaN(Date.parse(s.createdAt)));
  await store.addMessage({ sessionId: 's1', role: 'user', text: 'my card 4111 1111 1111 1111 is lost, mail me at a.b@example.com', intent: 'lost_card', confidence: 0.9 });
  const reply = await store.addMessage({
    sessionId: 's1',
    role: 'assistant',
    text: 'I have blocked your card.',
    intent: 'lost_card',
    confidence: 0.9,
    action: 'block_card',
    modelVersion: '1',
  });
  assert.equal(typeof reply.id, 'number');
  assert.equal(reply.confidence, 0.9);
  await store.updateSession('s1', { lastIntent: 'lost_card', pendingChoice: ['a', 'b'] });
  const f = await store.addFeedback({ messageId: reply.id, helpful: false, intent: 'report_fraud', comment: 'call +1 555 123 4567' });
  assert.equal(f.userText, 'my card [CARD] is lost, mail me at [EMAIL]');
  assert.equal(f.predictedIntent, 'lost_card');
  assert.equal(f.comment, 'call [PHONE]');
  assert.equal(f.helpful, false);
  assert.deepEqual((await store.session('s1')).pendingChoice, ['a', 'b']);
  assert.equal((await store.session('s1')).lastIntent, 'lost_card');
  assert.equal((await store.messages('s1', 1))[0]!.id, reply.id);
  assert.deepEqual(
    (await store.messages('s1')).map((m) => m.role),
    ['user', 'assistant'],
  );
  assert.equal(await store.message(999_999), undefined);
  assert.deepEqual(
    (await store.feedback()).map((x) => x.id),
    [f.id],
  );
  // The same session asked for at once by many requests is created once.
  const same = await Promise.all(Array.from({ length: 8 }, () => store.session('busy')));
  assert.ok(same.every((x) => x.id === 'busy' && x.createdAt === same[0]!.createdAt));
  await store.close();

  // What the server holds, read with another connection.
  const stored = await rows("SELECT role, text, intent, action, model_version FROM assistant_messages WHERE session_id = 's1' ORDER BY id");
  assert.equal(stored.length, 2);
  assert.doesNotMatch(JSON.stringify(stored), /4111|example\.com/);
  assert.deepEqual(stored[1], { role: 'assistant', text: 'I have blocked your card.', intent: 'lost_card', action: 'block_card', model_version: '1' });
  assert.deepEqual(await rows('SELECT comment FROM assistant_feedback'), [{ comment: 'call [PHONE]' }]);
  // A second store on the same database finds the tables there and keeps the data.
  const again = new PostgresStore(server.url);
  assert.equal((await again.messages('s1')).length, 2);
  await again.close();
});

test('the store follows the database setting: a postgres:// URL is kept as given, a file is resolved and opened with SQLite', async () => {
  const write = (name: string, database: string) => {
    const file = join(dir, name);
    writeFileSync(file, `intents:\n  - name: a\n    response: r\n    examples: [x, y]\n  - name: b\n    response: r\n    examples: [z, w]\ndatabase: ${database}\n`);
    return file;
  };
  const url = `postgresql://tuna@db.example.internal:6543/bot`;
  assert.equal((await loadConfig(write('pg.yaml', url))).database, url);
  assert.equal((await loadConfig(write('file.yaml', 'conv.db'))).database, join(dir, 'conv.db'));
  const sqlite = openAssistantStore(join(dir, 'conv.db'));
  assert.ok(sqlite instanceof SqliteStore);
  await sqlite.close();
  const pgStore = openAssistantStore(server.url);
  assert.ok(pgStore instanceof PostgresStore);
  await pgStore.close();
});

test('a server that cannot be reached: store_error naming host:port, never the password', async () => {
  const port = await freePort();
  const store = new PostgresStore(`postgres://tuna:s3cret-pw@127.0.0.1:${port}/tuna`);
  await assert.rejects(store.session('x'), (e: { code: string; message: string }) => {
    assert.equal(e.code, 'store_error');
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(e.message, /s3cret/);
    return true;
  });
  await store.close();
  // A database that does not exist on a running server.
  const missing = new PostgresStore(server.url.replace(/\/tuna$/, '/no_such_db'));
  await assert.rejects(missing.session('x'), (e: { code: string; message: string }) => e.code === 'store_error' && e.message.includes(`127.0.0.1:${server.port}`));
  await missing.close();
});

test('the chat service stores its conversations and feedback in PostgreSQL, redacted', async () => {
  const c = await loadConfig(FIXTURE);
  const modelDir = join(dir, 'model');
  await trainAssistant({ ...c, model: BASE, faq: { ...c.faq, model: BASE }, database: server.url, training: { ...c.training, epochs: 4, threads: 1 } }, modelDir);
  // The database comes from the version's manifest, which holds the URL.
  const s = await createAssistantServer({ model: modelDir, threads: 1, watch: false });
  try {
    const url = await s.app.listen({ port: 0, host: '127.0.0.1' });
    const post = async (path: string, body: unknown) =>
      (await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json() as Promise<Record<string, unknown>>;
    const r = await post('/v1/chat', { session_id: 'web-1', text: 'i lost my card, write to jo@example.org' });
    assert.equal(r.model_version, 1);
    const fb = await post('/v1/feedback', { message_id: r.message_id, helpful: false, intent: 'lost_card' });
    assert.equal(fb.message_id, r.message_id);
  } finally {
    await s.close();
  }
  const stored = await rows("SELECT role, text, model_version FROM assistant_messages WHERE session_id = 'web-1' ORDER BY id");
  assert.equal(stored.length, 2);
  assert.deepEqual(stored[0], { role: 'user', text: 'i lost my card, write to [EMAIL]', model_version: '1' });
  const feedback = await rows("SELECT f.helpful, f.intent FROM assistant_feedback f JOIN assistant_messages m ON m.id = f.message_id WHERE m.session_id = 'web-1'");
  assert.deepEqual(feedback, [{ helpful: false, intent: 'lost_card' }]);
});
