// Retraining from stored feedback (`tuna assistant retrain`) and the switch of a running service
// to the new version: the tiny fixture bot, feedback given over HTTP (a new intent with its
// examples, a correction, an unhelpful reply), a retrain while concurrent clients keep chatting,
// zero failed requests and later replies from the new version; POST /admin/reload with its key.
import assert from 'node:assert/strict';
import { tempDirSync } from './helpers/temp.js';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createAssistantServer, extendClassifier, loadConfig, trainAssistant } from '../src/apps/assistant/index.js';
import { createProgram } from '../src/cli/main.js';
import { readCheckpoint } from '../src/index.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, checked field by field
type Json = any;

const BASE = new URL('./fixtures/sentence/base/', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/assistant/', import.meta.url).pathname;
const dir = tempDirSync('assistant-retrain');
const modelDir = join(dir, 'model');
const configFile = join(dir, 'bot.yaml');
const WEATHER = ['what is the weather today', 'is it sunny today', 'is the weather cold', 'the weather is hot today'];

const post = async (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Json };
};

test('retrain: feedback becomes a new version from the current weights while concurrent clients chat; the service switches with no failed request', async () => {
  copyFileSync(join(FIXTURES, 'faq.csv'), join(dir, 'faq.csv'));
  writeFileSync(configFile, `${readFileSync(join(FIXTURES, 'bot.yaml'), 'utf8')}  threads: 1\nmodel: ${BASE}\ndatabase: conv.db\n`);
  const config = await loadConfig(configFile);
  const v1 = await trainAssistant(config, modelDir);
  const watching = await createAssistantServer({ model: modelDir, threads: 1, watchPollMs: 200 });
  const manual = await createAssistantServer({ model: modelDir, threads: 1, watch: false, adminKey: 'admin-secret' });
  try {
    const url = await watching.app.listen({ port: 0, host: '127.0.0.1' });
    const manualUrl = await manual.app.listen({ port: 0, host: '127.0.0.1' });

    // Feedback as users give it: a new intent (four messages), a correction, an unhelpful reply.
    for (const [i, text] of WEATHER.entries()) {
      const r = await post(`${url}/v1/chat`, { session_id: `w${i}`, text });
      assert.equal((await post(`${url}/v1/feedback`, { message_id: r.body.message_id, helpful: false, intent: 'weather_report' })).body.new_intent, true);
    }
    const c = await post(`${url}/v1/chat`, { session_id: 'c', text: 'send money to the bank' });
    await post(`${url}/v1/feedback`, { message_id: c.body.message_id, helpful: false, intent: c.body.intent === 'transfer' ? 'lost_card' : 'transfer' });
    const u = await post(`${url}/v1/chat`, { session_id: 'u', text: 'the dog lay on the rug' });
    await post(`${url}/v1/feedback`, { message_id: u.body.message_id, helpful: false });

    // Clients that keep chatting through the retrain and the switch.
    const results: { status: number; version: number; startedAfterSwitch: boolean }[] = [];
    let switchedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const started = performance.now();
        try {
          const r = await post(`${url}/v1/chat`, { session_id: `load-${n}-${i % 3}`, text: i % 2 ? 'i lost my card' : 'reset my password' });
          results.push({ status: r.status, version: r.body.model_version, startedAfterSwitch: started > switchedAt });
        } catch {
          results.push({ status: 0, version: 0, startedAfterSwitch: started > switchedAt });
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const clients = [0, 1, 2].map(client);

    let stdout = '';
    const program = createProgram({ stdout: (s: string) => void (stdout += s), stderr: () => {} } as never);
    await program.parseAsync(['node', 'tuna', 'assistant', 'retrain', '--config', configFile, '--model', modelDir, '--threads', '1', '--json']);
    const out = JSON.parse(stdout);
    assert.equal(out.version, 2);
    assert.equal(out.from, 1);
    assert.deepEqual(out.feedback.newIntents, ['weather_report']);
    assert.equal(out.feedback.corrections, 5);
    assert.equal(out.feedback.outOfScope.length, 1);
    assert.equal(readFileSync(join(modelDir, 'current'), 'utf8'), '2\n');

    // The watcher sees `current` change and switches.
    for (let i = 0; i < 200; i++) {
      const h = (await (await fetch(`${url}/healthz`)).json()) as Json;
      if (h.model_version === 2) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    switchedAt = performance.now();
    const before = results.length;
    while (results.length < before + 8) await new Promise((r) => setTimeout(r, 20));
    stop = true;
    await Promise.all(clients);

    assert.ok(results.length >= 8, `${results.length} requests`);
    assert.deepEqual(
      results.filter((r) => r.status !== 200),
      [],
      'no failed request',
    );
    assert.ok(
      results.some((r) => r.version === 1),
      'requests answered by version 1 during the retrain',
    );
    const later = results.filter((r) => r.startedAfterSwitch);
    assert.ok(later.length >= 4 && later.every((r) => r.version === 2), JSON.stringify(later));
    const h = (await (await fetch(`${url}/healthz`)).json()) as Json;
    assert.equal(h.model_version, 2);
    assert.equal(h.intents, 5);

    // The new version knows the new intent and the head started from version 1's weights.
    const m2 = JSON.parse(readFileSync(join(modelDir, 'versions', '2', 'assistant.json'), 'utf8'));
    assert.deepEqual(m2.intents, ['lost_card', 'reset_password', 'store_hours', 'transfer', 'weather_report']);
    assert.equal(m2.responses.weather_report.action, 'handoff');
    const weather = await post(`${url}/v1/chat`, { session_id: 'after', text: 'is the weather sunny today' });
    assert.equal(weather.body.model_version, 2);

    // The admin endpoint: refused without the key or with a wrong one; with it, the switch.
    assert.equal((await post(`${manualUrl}/admin/reload`, {})).status, 401);
    assert.equal((await post(`${manualUrl}/admin/reload`, {}, { authorization: 'Bearer nope' })).status, 401);
    const reload = await post(`${manualUrl}/admin/reload`, {}, { authorization: 'Bearer admin-secret' });
    assert.equal(reload.status, 200);
    assert.deepEqual(reload.body, { switched: true, model_version: 2, previous_version: 1 });
    assert.equal((await post(`${manualUrl}/v1/chat`, { session_id: 'm', text: 'i lost my card' })).body.model_version, 2);
    assert.equal((await post(`${url}/admin/reload`, {})).status, 404, 'no admin endpoint without a key');
  } finally {
    await watching.close();
    await manual.close();
  }

  // The warm start on its own: old rows kept by name, the new intent's row at zero.
  const warm = join(dir, 'warm');
  const added = await extendClassifier(join(v1.dir, 'classifier'), warm, ['a_new', 'lost_card', 'reset_password', 'store_hours', 'transfer']);
  assert.deepEqual(added, { added: ['a_new'], removed: [] });
  const oldW = (await readCheckpoint(join(v1.dir, 'classifier'))).tensors.get('classifier.weight')!;
  const newW = (await readCheckpoint(warm)).tensors.get('classifier.weight')!;
  const h = oldW.shape[1]!;
  assert.deepEqual(newW.shape, [5, h]);
  assert.ok((newW.data as Float32Array).subarray(0, h).every((x) => x === 0));
  assert.deepEqual([...(newW.data as Float32Array).subarray(h)], [...(oldW.data as Float32Array)]);
});
